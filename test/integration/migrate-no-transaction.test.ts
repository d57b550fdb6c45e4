import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSettings } from '../../src/core/config/settings.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { setup } from '../../src/core/provision/setup.js';
import { startPgbouncer } from '../support/pgbouncer.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Issue #21, item 7: migrations marked `--! no-transaction` (CREATE INDEX CONCURRENTLY, VACUUM),
 * run one statement at a time outside a transaction, exactly once among concurrent runners
 * (through PgBouncer in transaction mode too), recorded only once every statement succeeded.
 */

const MARKER = '--! no-transaction';

async function freshDatabase(prefix: string): Promise<string> {
  const db = uniqueName(prefix);
  await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrate: false });
  return db;
}

async function inspect(db: string): Promise<{ versions: string[]; runs: string[]; leases: number; indexes: Record<string, boolean> }> {
  return withSuperClient(db, async (c) => ({
    versions: (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version::int')).rows.map((r) => r.version),
    runs: (await c.query(`SELECT step FROM runs ORDER BY step`)).rows.map((r) => r.step),
    leases: Number((await c.query('SELECT count(*) AS n FROM tofu_registry_migration_leases')).rows[0].n),
    indexes: Object.fromEntries(
      (await c.query(`SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'items_%' ORDER BY 1`)).rows.map((r) => [r.relname, r.indisvalid]),
    ),
  }));
}

/** A transactional migration, a no-transaction one between, another transactional one; `runs` counts each statement's execution. */
function mixedFolder(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, '001_items.sql'), 'CREATE TABLE items (id int, v int);\nINSERT INTO items SELECT g, g FROM generate_series(1, 500) g;\nCREATE TABLE runs (step text);\n');
  writeFileSync(
    path.join(dir, '002_items_index.sql'),
    `${MARKER}\n-- built without blocking writes\nINSERT INTO runs VALUES ('2a');\nSELECT pg_sleep(0.3);\nCREATE INDEX CONCURRENTLY items_v_idx ON items (v);\nVACUUM (ANALYZE) items;\nINSERT INTO runs VALUES ('2b');\n`,
  );
  writeFileSync(path.join(dir, '003_after.sql'), `INSERT INTO runs VALUES ('3');\n`);
  return dir;
}

describe('--! no-transaction migrations', () => {
  test('run outside a transaction, between transactional ones, and are recorded once all their statements succeeded', async () => {
    const db = await freshDatabase('notx');
    const dir = mixedFolder();
    try {
      const result = await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir });
      expect(result.results.map((r) => `${r.fileName}:${r.outcome}:${r.transaction}`)).toEqual([
        '001_items.sql:applied:true',
        '002_items_index.sql:applied:false',
        '003_after.sql:applied:true',
      ]);
      expect(await inspect(db)).toEqual({ versions: ['1', '2', '3'], runs: ['2a', '2b', '3'], leases: 0, indexes: { items_v_idx: true } });
      const again = await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir });
      expect(again.appliedCount).toBe(0);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test.each([
    ['a COMMIT', `${MARKER}\nCREATE INDEX CONCURRENTLY items_x ON items (id);\nCOMMIT;\n`, 'MIGRATION_TRANSACTION_CONTROL', '002_bad.sql:3 (COMMIT)'],
    ['a BEGIN', `${MARKER}\nBEGIN;\nCREATE INDEX CONCURRENTLY items_x ON items (id);\n`, 'MIGRATION_TRANSACTION_CONTROL', '002_bad.sql:2 (BEGIN)'],
    ['an unnamed CREATE INDEX CONCURRENTLY', `${MARKER}\nCREATE INDEX CONCURRENTLY ON items (id);\n`, 'MIGRATION_INDEX_UNNAMED', '002_bad.sql:2'],
    ['a misspelt marker', `--! no-transactions\nCREATE INDEX CONCURRENTLY items_x ON items (id);\n`, 'MIGRATION_HEADER_UNKNOWN', '--! no-transactions'],
  ])('a file with %s is refused before anything runs (exit 2)', async (_what, sql, code, where) => {
    const db = await freshDatabase('notx_bad');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_items.sql'), 'CREATE TABLE items (id int);\n');
    writeFileSync(path.join(dir, '002_bad.sql'), sql);
    try {
      const failure = (await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
      expect(failure).toBeInstanceOf(RegistryDbError);
      expect({ code: failure.code, exit: failure.exitCode }).toEqual({ code, exit: 2 });
      expect(failure.message).toContain(where);
      expect(await withSuperClient(db, async (c) => (await c.query(`SELECT to_regclass('public.items') IS NULL AS nothing`)).rows[0].nothing)).toBe(true);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('without the marker, CREATE INDEX CONCURRENTLY fails in its transaction as before, and the hint names the marker', async () => {
    const db = await freshDatabase('notx_nomarker');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_items.sql'), 'CREATE TABLE items (id int);\nCREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n');
    try {
      const failure = (await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
      expect({ code: failure.code, exit: failure.exitCode, sqlState: failure.sqlState }).toEqual({ code: 'MIGRATION_FAILED', exit: 5, sqlState: '25001' });
      expect(failure.hint).toContain('put it in a file of its own that starts with the line "--! no-transaction"');
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('a statement that fails: the error names its line, says the statements before it stay, and the lease is given back', async () => {
    const db = await freshDatabase('notx_fail');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_runs.sql'), 'CREATE TABLE runs (step text);\n');
    writeFileSync(path.join(dir, '002_typo.sql'), `${MARKER}\nINSERT INTO runs VALUES ('first');\n  SELEC 2;\n`);
    try {
      const failure = (await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
      expect({ code: failure.code, exit: failure.exitCode }).toEqual({ code: 'MIGRATION_FAILED', exit: 5 });
      expect(failure.message).toContain('002_typo.sql:3:3');
      expect(failure.message).toContain('\n    SELEC 2;\n    ^');
      expect(failure.hint).toContain('The first 1 of the 2 statements of 002_typo.sql ran and stay');
      expect(failure.hint).toContain('runs again from its first statement');
      const state = await withSuperClient(db, async (c) => ({
        versions: (await c.query('SELECT version FROM tofu_registry_migrations')).rows.map((r) => r.version),
        leases: Number((await c.query('SELECT count(*) AS n FROM tofu_registry_migration_leases')).rows[0].n),
      }));
      expect(state).toEqual({ versions: ['1'], leases: 0 });
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test.each([
    ['CREATE UNIQUE INDEX CONCURRENTLY', 'CREATE UNIQUE INDEX CONCURRENTLY items_v_key ON items (v);'],
    ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS (which would skip the broken index)', 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_v_key ON items (v);'],
  ])('%s that fails halfway leaves an INVALID index: the rerun drops it and builds it again', async (_what, statement) => {
    const db = await freshDatabase('notx_invalid');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_items.sql'), 'CREATE TABLE items (id int, v int);\nINSERT INTO items VALUES (1, 1), (2, 1);\nCREATE TABLE runs (step text);\n');
    writeFileSync(path.join(dir, '002_unique.sql'), `${MARKER}\nINSERT INTO runs VALUES ('before');\n${statement}\n`);
    const context = () => contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    try {
      const failure = (await migrate(context(), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
      expect({ code: failure.code, sqlState: failure.sqlState }).toEqual({ code: 'MIGRATION_FAILED', sqlState: '23505' });
      expect(failure.message).toContain('002_unique.sql:3:1');
      expect(failure.hint).toContain('The index build it started stays behind, INVALID');
      expect(await inspect(db)).toEqual({ versions: ['1'], runs: ['before'], leases: 0, indexes: { items_v_key: false } });
      await withSuperClient(db, (c) => c.query('UPDATE items SET v = 2 WHERE id = 2'));
      const rerun = await migrate(context(), { migrationsDir: dir });
      expect(rerun.results[0]).toMatchObject({ fileName: '002_unique.sql', outcome: 'applied', transaction: false });
      expect(rerun.results[0]!.notes).toEqual([expect.stringContaining('dropped the INVALID index public.items_v_key')]);
      // The file ran again from the top: its first statement twice, as documented.
      expect(await inspect(db)).toEqual({ versions: ['1', '2'], runs: ['before', 'before'], leases: 0, indexes: { items_v_key: true } });
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('4 concurrent runners apply it exactly once (each statement ran once)', async () => {
    const db = await freshDatabase('notx_race');
    const dir = mixedFolder();
    try {
      const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir })));
      expect(runs.reduce((sum, run) => sum + run.appliedCount, 0)).toBe(3);
      expect(await inspect(db)).toEqual({ versions: ['1', '2', '3'], runs: ['2a', '2b', '3'], leases: 0, indexes: { items_v_idx: true } });
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('4 concurrent runners through PgBouncer in transaction mode (where a session lock would not hold) apply it exactly once', async () => {
    const bouncer = await startPgbouncer(testServer(), { poolSize: 2 });
    const db = await freshDatabase('notx_bouncer');
    const dir = mixedFolder();
    try {
      const viaBouncer = () => contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_HOST: bouncer.host, TOFU_REGISTRY_DB_PORT: String(bouncer.port) }));
      const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(viaBouncer(), { migrationsDir: dir })));
      expect(runs.reduce((sum, run) => sum + run.appliedCount, 0)).toBe(3);
      expect(await inspect(db)).toEqual({ versions: ['1', '2', '3'], runs: ['2a', '2b', '3'], leases: 0, indexes: { items_v_idx: true } });
      // Nothing was set on the pooled server connections for the session (the runners saw a pooler).
      const leaked = await withSuperClient(db, async (c) =>
        Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [db])).rows[0].n),
      );
      expect(leaked).toBe(0);
    } finally {
      await bouncer.stop();
      await dropDatabaseAndRole(db);
    }
  });

  test('setup with a no-transaction migration: the application role may read the lease table, not write it, and test-connection passes', async () => {
    const db = uniqueName('notx_setup');
    const role = uniqueName('notx_role');
    const dir = tempDir();
    const bundled = path.join(REPO_ROOT, 'sql');
    for (const file of readdirSync(bundled).filter((f) => f.endsWith('.sql'))) copyFileSync(path.join(bundled, file), path.join(dir, file));
    writeFileSync(path.join(dir, '900_modules_version_idx.sql'), `${MARKER}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS modules_version_idx ON modules (version);\n`);
    const envFile = path.join(tempDir(), '.env');
    try {
      const result = await setup({ settings: resolveSettings({ env: adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role }), flags: { envFile } }) }, { migrationsDir: dir });
      expect(result.connection?.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}:${c.status}`)).toEqual(['dns:skip']);
      expect(result.ok).toBe(true);
      const privileges = await withSuperClient(db, async (c) =>
        (await c.query(`SELECT has_table_privilege($1, 'public.tofu_registry_migration_leases', 'SELECT') AS s, has_table_privilege($1, 'public.tofu_registry_migration_leases', 'INSERT') AS i`, [role])).rows[0],
      );
      expect(privileges).toEqual({ s: true, i: false });
    } finally {
      await dropDatabaseAndRole(db, role);
    }
  });
});
