import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { closeClient, connect } from '../../src/core/connection.js';
import { createDatabase } from '../../src/core/create-database.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { applyPendingMigrations } from '../../src/core/migrate.js';
import { loadMigrationFiles } from '../../src/core/migration-files.js';
import { getMigrationStatus, migrate } from '../../src/core/run-migrations.js';
import { adminEnv, contextFor, dropDatabaseAndRole, settingsFor, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

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
      const result = await applyPendingMigrations(connection, files, { lockTimeoutMs: 5000, statementTimeoutMs: 60000, logger: silentLogger, freshDatabase: true });
      expect(result.appliedCount).toBe(5);
      expect(roundTrips).toBe(2 * 5 + 1);
      expect(await bookkept(db)).toEqual(['1', '2', '3', '4', '5']);
    } finally {
      await closeClient(connection.client);
      await dropDatabaseAndRole(db);
    }
  });
});
