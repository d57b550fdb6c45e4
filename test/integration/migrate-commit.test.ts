import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { closeClient, connect } from '../../src/core/db/connection.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { applyPendingMigrations } from '../../src/core/migrations/engine.js';
import { loadMigrationFiles } from '../../src/core/migrations/files.js';
import { getMigrationStatus, migrate } from '../../src/core/migrations/migrate.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, settingsFor, superClient, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';
import { MIGRATION_LOCK_KEY } from '../../src/core/migrations/bookkeeping.js';

/** A migration that succeeds statement by statement and fails only at COMMIT (a deferred unique key). */
const FAILS_AT_COMMIT = 'CREATE TABLE deferred (id int, CONSTRAINT deferred_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO deferred VALUES (1), (1);\n';

async function publicTables(database: string): Promise<string[]> {
  return withSuperClient(database, async (c) =>
    (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename as string),
  );
}

async function bookkept(database: string): Promise<string[]> {
  return withSuperClient(database, async (c) => (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version::int')).rows.map((r) => r.version as string));
}

/** Waits until 001's pg_sleep runs: its transaction holds the migration lock by then. */
async function slowMigrationRunning(db: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const running = await withSuperClient('postgres', async (c) =>
      (await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(0.6)%'`, [db])).rowCount! > 0,
    );
    if (running) return;
  }
  throw new Error('001 never started');
}

/**
 * An empty database and two migrations, the first slow enough that another session can queue
 * for the migration lock while it runs (and get it when its COMMIT goes out).
 */
async function slowThenNext(prefix: string): Promise<{ db: string; dir: string }> {
  const db = uniqueName(prefix);
  const dir = tempDir();
  writeFileSync(path.join(dir, '001_slow.sql'), 'SELECT pg_sleep(0.6);\nCREATE TABLE slow (id int);\n');
  writeFileSync(path.join(dir, '002_next.sql'), 'CREATE TABLE next (id int);\n');
  await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrate: false });
  return { db, dir };
}

describe('a migration COMMIT that travels with the next migration', () => {
  test.each([
    ['in the middle: the COMMIT in the next preamble fails', ['001_one.sql', '002_deferred.sql', '003_three.sql'], ['applied', 'failed', 'not-executed']],
    ['last: the final COMMIT fails', ['001_one.sql', '002_deferred.sql'], ['applied', 'failed']],
  ])('%s, the failure is that migration\'s, and it leaves no trace', async (_what, names, outcomes) => {
    const db = uniqueName('mc_fail');
    const dir = tempDir();
    for (const name of names) writeFileSync(path.join(dir, name), name.includes('deferred') ? FAILS_AT_COMMIT : `CREATE TABLE ${name.slice(4, -4)} (id int);\n`);
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    try {
      const failure = await migrate(context, { migrationsDir: dir }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RegistryDbError);
      const error = failure as RegistryDbError;
      expect(error).toMatchObject({ exitCode: 5, code: 'MIGRATION_FAILED', sqlState: '23505' });
      expect(error.message).toContain('002_deferred.sql');
      const results = (error.data as { results: { fileName: string; outcome: string }[] }).results;
      expect(results.map((r) => r.outcome)).toEqual(outcomes);
      expect(await publicTables(db)).toEqual(['one', 'tofu_registry_migrations']);
      expect(await bookkept(db)).toEqual(['1']);
      const status = await getMigrationStatus(context, { migrationsDir: dir });
      expect(status.migrations.map((m) => `${m.version}:${m.state}`)).toEqual(names.map((_name, i) => `${i + 1}:${i === 0 ? 'applied' : 'pending'}`));
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('another runner holding the lock when the COMMIT travels: that migration stays applied, the next one waits for it and times out', async () => {
    const { db, dir } = await slowThenNext('mc_lock');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_STATEMENT_TIMEOUT: '1' }));
    const holder = await superClient(db);
    try {
      const running = migrate(context, { migrationsDir: dir }).catch((e: unknown) => e);
      await slowMigrationRunning(db); // 001 holds the migration lock (a fixed 200 ms was too short on a loaded machine)
      // Queued behind 001's transaction lock; granted when 001 commits, and held for 3 s.
      const held = holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]).then(() => new Promise((resolve) => setTimeout(resolve, 3000)));
      const failure = (await running) as RegistryDbError;
      expect(failure).toBeInstanceOf(RegistryDbError);
      // The wait is bounded by lock_timeout and statement_timeout alike (both 1 s here): either may fire first.
      expect(['LOCK_TIMEOUT', 'STATEMENT_TIMEOUT']).toContain(failure.code);
      expect(failure.exitCode).toBe(5);
      expect(failure.message).toContain('002_next.sql');
      const results = (failure.data as { results: { fileName: string; outcome: string }[] }).results;
      expect(results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_slow.sql:applied', '002_next.sql:failed']);
      expect(await publicTables(db)).toEqual(['slow', 'tofu_registry_migrations']);
      expect(await bookkept(db)).toEqual(['1']);
      await held;
    } finally {
      await holder.end();
      await dropDatabaseAndRole(db);
    }
  });

  test('the connection lost while waiting for another runner\'s lock: the migration committed before stays applied, not "failed"', async () => {
    const { db, dir } = await slowThenNext('mc_lost');
    // The migration's connection goes through a proxy that the test then kills: a network
    // that drops, with no error message from the server.
    const server = testServer();
    const proxy = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'lib', 'latency-proxy.mjs'), '0', server.host, String(server.port), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => proxy.stdout.once('data', (d) => resolve(Number(/listening (\d+)/.exec(String(d))![1]))));
    const holder = await superClient(db);
    try {
      const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_PORT: String(port) }));
      const running = migrate(context, { migrationsDir: dir }).catch((e: unknown) => e);
      await slowMigrationRunning(db); // 001 holds the migration lock (a fixed 200 ms was too short on a loaded machine)
      const locked = holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
      await locked; // granted once 001 committed; 002 now waits for it
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.kill('SIGKILL');
      const failure = (await running) as RegistryDbError;
      expect(failure).toBeInstanceOf(RegistryDbError);
      expect(failure.exitCode).toBe(3); // the connection, not the migration
      const results = (failure.data as { results: { fileName: string; outcome: string }[] }).results;
      expect(results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_slow.sql:applied', '002_next.sql:failed']);
      expect(await bookkept(db)).toEqual(['1']);
    } finally {
      proxy.kill('SIGKILL');
      await holder.end();
      await dropDatabaseAndRole(db);
    }
  });

  test('N pending migrations take 2N + 1 round trips on a fresh database (the COMMITs ride along)', async () => {
    const db = uniqueName('mc_trips');
    const dir = tempDir();
    for (let i = 1; i <= 5; i++) writeFileSync(path.join(dir, `00${i}_t${i}.sql`), `CREATE TABLE t${i} (id int);\n`);
    const settings = settingsFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase({ settings }, { migrate: false });
    const connection = await connect(settings, { role: 'admin', database: db });
    try {
      let roundTrips = 0;
      (connection.client as unknown as { connection: { on(e: string, f: () => void): void } }).connection.on('readyForQuery', () => roundTrips++);
      const files = await loadMigrationFiles(dir);
      const result = await applyPendingMigrations(connection, files, { lockTimeoutMs: 5000, statementTimeoutMs: 60000, networkTimeoutMs: 30000, logger: silentLogger, freshDatabase: true });
      expect(result.appliedCount).toBe(5);
      expect(roundTrips).toBe(2 * 5 + 1);
      expect(await bookkept(db)).toEqual(['1', '2', '3', '4', '5']);
    } finally {
      await closeClient(connection.client);
      await dropDatabaseAndRole(db);
    }
  });
});
