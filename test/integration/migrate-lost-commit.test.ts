import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { RegistryDbError } from '../../src/core/errors.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { startFaultProxy, type FaultProxy, type TriggeredFault } from '../support/fault-proxy.js';
import { adminEnv, contextFor, dropDatabaseAndRole, runCli, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Issue #21, item 2: the answer to a migration's COMMIT is lost. The server applied (or did not
 * apply) it; the run must say which, after asking the server over a new connection, with the
 * exit code that matches. Before, it said "Migration … failed" (exit 3), or hung for ever.
 */

const NETWORK_TIMEOUT = '2';

async function bookkept(db: string): Promise<string[]> {
  return withSuperClient(db, async (c) => (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version::int')).rows.map((r) => r.version as string));
}

describe('the answer to a COMMIT is lost', () => {
  let proxy: FaultProxy;
  let db: string;
  let dir: string;
  beforeEach(async () => {
    db = uniqueName('lostcommit');
    dir = tempDir();
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrate: false });
    proxy = await startFaultProxy(testServer());
  });
  afterEach(async () => {
    await proxy.close();
    await dropDatabaseAndRole(db);
  });

  const viaProxy = () =>
    contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_PORT: String(proxy.port), TOFU_REGISTRY_DB_NETWORK_TIMEOUT: NETWORK_TIMEOUT, TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '2' }));

  test.each([
    ['reset right after it (the connection breaks)', 'reset-after'],
    ['swallowed (the path goes silent)', 'lose-answer'],
  ] as const)('the run\'s last COMMIT, its answer %s: the migration is reported applied, the run succeeds', async (_what, fault: TriggeredFault) => {
    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id int);\n');
    writeFileSync(path.join(dir, '002_two.sql'), 'CREATE TABLE two (id int);\n');
    // The second COMMIT the client sends is the run's last, alone in its message (the first rides with 002's opening).
    const fired = proxy.afterClientSends('COMMIT', fault, 2);
    const result = await migrate(viaProxy(), { migrationsDir: dir });
    await fired;
    expect(result.appliedCount).toBe(2);
    expect(result.results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_one.sql:applied', '002_two.sql:applied']);
    expect(result.results[1]).toMatchObject({ answerLost: true });
    expect(result.results[1]!.notes![0]).toContain("the server's answer to its COMMIT was lost; 002_two.sql is recorded in the bookkeeping as applied");
    expect(await bookkept(db)).toEqual(['1', '2']);
  }, 30_000);

  test('a COMMIT that travels with the next migration\'s opening is lost: that migration is applied, the run stops with exit 3 and says so; a rerun applies the rest once', async () => {
    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id int);\n');
    writeFileSync(path.join(dir, '002_two.sql'), 'CREATE TABLE two (id int);\n');
    const fired = proxy.afterClientSends('COMMIT', 'reset-after', 1);
    const failure = (await migrate(viaProxy(), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
    await fired;
    expect(failure).toBeInstanceOf(RegistryDbError);
    expect(failure.exitCode).toBe(3);
    expect(failure.message).toContain('001_one.sql was applied all the same');
    const results = (failure.data as { results: { fileName: string; outcome: string; answerLost?: boolean }[] }).results;
    expect(results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_one.sql:applied', '002_two.sql:not-executed']);
    expect(results[0]!.answerLost).toBe(true);
    expect(await bookkept(db)).toEqual(['1']);
    const rerun = await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir });
    expect(rerun.appliedCount).toBe(1);
    expect(await bookkept(db)).toEqual(['1', '2']);
  }, 30_000);

  test('a COMMIT that never reached the server: the check waits for the server to roll it back, and the migration is reported not applied (exit 3)', async () => {
    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id int);\n');
    const fired = proxy.afterClientSends('COMMIT', 'drop');
    const failure = (await migrate(viaProxy(), { migrationsDir: dir }).catch((e: unknown) => e)) as RegistryDbError;
    await fired;
    expect(failure).toBeInstanceOf(RegistryDbError);
    expect(failure.exitCode).toBe(3);
    expect(failure.code).toBe('CONNECTION_LOST');
    expect(failure.message).toContain('It was not applied');
    expect(failure.message).toContain('001_one.sql is not recorded');
    const results = (failure.data as { results: { fileName: string; outcome: string }[] }).results;
    expect(results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_one.sql:failed']);
    expect(await withSuperClient(db, async (c) => (await c.query(`SELECT to_regclass('public.one') IS NULL AS gone`)).rows[0].gone)).toBe(true);
    const rerun = await migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir });
    expect(rerun.appliedCount).toBe(1);
  }, 30_000);

  test('the COMMIT that records a no-transaction file, its answer reset: the file is reported applied, not run again', async () => {
    writeFileSync(path.join(dir, '001_runs.sql'), 'CREATE TABLE runs (n int);\n');
    writeFileSync(path.join(dir, '002_once.sql'), '--! no-transaction\nINSERT INTO runs VALUES (1);\nCREATE INDEX CONCURRENTLY runs_n_idx ON runs (n);\n');
    // The COMMITs sent: 001's (alone, before the lease is taken), the lease's, then the record's.
    const fired = proxy.afterClientSends('COMMIT', 'reset-after', 3);
    const result = await migrate(viaProxy(), { migrationsDir: dir });
    await fired;
    expect(result.results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['001_runs.sql:applied', '002_once.sql:applied']);
    expect(result.results[1]).toMatchObject({ transaction: false, answerLost: true });
    expect(await bookkept(db)).toEqual(['1', '2']);
    expect(await withSuperClient(db, async (c) => (await c.query('SELECT count(*)::int AS n FROM runs')).rows[0].n)).toBe(1);
  }, 30_000);

  test('the CLI: exit 0, and a warning, when the last COMMIT took effect', async () => {
    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id int);\n');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_PORT: String(proxy.port), TOFU_REGISTRY_DB_NETWORK_TIMEOUT: NETWORK_TIMEOUT });
    void proxy.afterClientSends('COMMIT', 'reset-after');
    const human = await runCli(['--env-file', path.join(tempDir(), '.env'), 'migrate', '--dir', dir], env);
    expect(human.code).toBe(0);
    expect(human.stderr).toContain("001_one.sql is applied: the server's answer to its COMMIT was lost");
    expect(human.stdout).toContain('Applied 001_one.sql');
    expect(await bookkept(db)).toEqual(['1']);
  }, 30_000);
});
