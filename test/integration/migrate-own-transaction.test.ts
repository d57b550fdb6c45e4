import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { createUser } from '../../src/core/provision/create-user/create-user.js';
import { sha256Hex } from '../../src/core/migrations/files.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { adminEnv, contextFor, databaseExists, dropDatabaseAndRole, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Each migration runs in a transaction of its own, with the migration lock and its
 * bookkeeping row. A file that ends that transaction (COMMIT, ROLLBACK) would commit half of
 * itself, release the lock and be recorded apart from its work: refused before anything runs,
 * and caught by the server if the scan missed it.
 */
async function publicTables(database: string): Promise<string[]> {
  return withSuperClient(database, async (c) =>
    (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename as string),
  );
}

function folderWith(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('a migration may not end its own transaction', () => {
  test.each([
    ['COMMIT', 'CREATE TABLE k1 (id int);\nCOMMIT;\nCREATE TABLE k2 (id int);\nSELECT 1/0;\n', '002_commit.sql:2 (COMMIT)'],
    ['ROLLBACK', 'CREATE TABLE rx1 (id int);\nROLLBACK;\nCREATE TABLE rx2 (id int);\n', '002_rollback.sql:2 (ROLLBACK)'],
  ])('%s in a pending file: exit 2 before anything runs, the earlier file included', async (what, sql, where) => {
    const db = uniqueName('mig_txn');
    const dir = folderWith({ '001_ok.sql': 'CREATE TABLE ok (id int);\n', [`002_${what.toLowerCase()}.sql`]: sql });
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    try {
      await expect(migrate(context, { migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_TRANSACTION_CONTROL', exitCode: 2, message: expect.stringContaining(where) });
      expect(await publicTables(db)).toEqual([]);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('create-db on a new name with such a file: refused before the database is created', async () => {
    const db = uniqueName('mig_txn_new');
    const dir = folderWith({ '001_commit.sql': 'CREATE TABLE a (id int);\nCOMMIT;\n' });
    await expect(createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_TRANSACTION_CONTROL', exitCode: 2 });
    expect(await databaseExists(db)).toBe(false);
  });

  test('an applied file is not scanned again: only pending files are refused', async () => {
    // A file with a COMMIT that was applied before this check existed must not block every later run.
    const db = uniqueName('mig_txn_applied');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrationsDir: folderWith({ '001_old.sql': 'CREATE TABLE old (id int);\n' }) });
    try {
      const oldWithCommit = 'CREATE TABLE old (id int);\nCOMMIT;\n';
      await withSuperClient(db, (c) => c.query(`UPDATE tofu_registry_migrations SET checksum = $1`, [sha256Hex(oldWithCommit)]));
      const result = await migrate(context, { migrationsDir: folderWith({ '001_old.sql': oldWithCommit, '002_next.sql': 'CREATE TABLE next (id int);\n' }) });
      expect(result.appliedCount).toBe(1);
      expect(await publicTables(db)).toEqual(['next', 'old', 'tofu_registry_migrations']);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('a ROLLBACK the scan cannot see (standard_conforming_strings off): the server-side guard fails the migration, nothing is recorded or left', async () => {
    // With standard_conforming_strings off for the database, '\'' is a string holding one
    // quote; the scan reads strings as PostgreSQL does by default, and takes the rest of the
    // line for a string. The server runs the ROLLBACK; the guard after the file catches it.
    const db = uniqueName('mig_txn_guard');
    const dir = folderWith({ '001_sneaky.sql': "CREATE TABLE g1 (id int);\nSELECT '\\''; ROLLBACK; CREATE TABLE g2 (id int); SELECT '';\n" });
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    await withSuperClient('postgres', (c) => c.query(`ALTER DATABASE "${db}" SET standard_conforming_strings = off`));
    try {
      await expect(migrate(context, { migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_ENDS_TRANSACTION', exitCode: 5 });
      // The file's ROLLBACK took g1 and the bookkeeping table created in its transaction with
      // it; g2, in the implicit transaction that followed, went with the guard's error.
      expect(await publicTables(db)).toEqual([]);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });
});

describe('what a migration may do inside its transaction', () => {
  test('RESET ALL, SET LOCAL, savepoints: applied and recorded (the guard follows the transaction id, not a setting)', async () => {
    const db = uniqueName('mig_reset');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    try {
      const dir = folderWith({
        '001_settings.sql': 'CREATE TABLE r1 (id int);\nRESET ALL;\nSET LOCAL search_path = public;\nSAVEPOINT a;\nCREATE TABLE r2 (id int);\nROLLBACK WORK TO SAVEPOINT a;\n',
      });
      expect((await migrate(context, { migrationsDir: dir })).appliedCount).toBe(1);
      expect(await publicTables(db)).toEqual(['r1', 'tofu_registry_migrations']);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });
});

describe('the bookkeeping table stays read-only for the application role', () => {
  test('create-user before the first migration: the default privileges do not give the role writes on it', async () => {
    const db = uniqueName('mig_bk');
    const role = uniqueName('mig_bk_role');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const context = { settings: contextFor(env).settings };
    await createDatabase(context, { migrate: false });
    try {
      await createUser({ settings: { ...context.settings, envFile: path.join(tempDir(), '.env') } });
      await migrate(context);
      const privileges = await withSuperClient(db, async (c) =>
        (
          await c.query(
            `SELECT string_agg(p, ',' ORDER BY p) AS p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
              WHERE has_table_privilege($1, 'public.tofu_registry_migrations', p)`,
            [role],
          )
        ).rows[0].p,
      );
      expect(privileges).toBe('SELECT');
    } finally {
      await dropDatabaseAndRole(db, role);
    }
  });
});

describe('a runtime error (no position from the server) names the statement that failed', () => {
  test.each([
    ['a unique violation on line 4', 'CREATE TABLE u (id int PRIMARY KEY);\n-- two rows with one key\nINSERT INTO u VALUES (1);\n  INSERT INTO u VALUES (1);\n', 4, 3, 'Key (id)=(1) already exists.'],
    // A SQL-standard body (BEGIN ATOMIC) from PostgreSQL 14 on; a dollar-quoted one before.
    ['a division by zero after a function body', `CREATE FUNCTION f() RETURNS int LANGUAGE sql\n${testServer().majorVersion >= 14 ? 'BEGIN ATOMIC\n  SELECT 1;\nEND' : 'AS $f$\n  SELECT 1;\n$f$'};\nSELECT 'a;b', $$;$$;\nSELECT 1/0;\n`, 6, 1, undefined],
  ])('%s', async (_what, sql, line, column, detail) => {
    const db = uniqueName('mig_runtime');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    try {
      const error = await migrate(context, { migrationsDir: folderWith({ '001_fails.sql': sql }) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MIGRATION_FAILED', data: { file: '001_fails.sql', line, column } });
      expect((error as Error).message).toContain(`001_fails.sql:${line}:${column}`);
      if (detail) expect((error as Error).message).toContain(detail);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });
});
