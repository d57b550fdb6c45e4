import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { adminEnv, BIN, dropDatabaseAndRole, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Issue #21, item 1: a network path that stops forwarding without a reset. Before, `migrate` never
 * returned, and the server kept the killed runner's transaction (and the migration lock) open
 * until the statement timeout of every other runner had run out.
 */

const NETWORK_TIMEOUT = 2; // seconds, TOFU_REGISTRY_DB_NETWORK_TIMEOUT in these tests
const envFileArg = () => ['--env-file', path.join(tempDir(), '.env')];

async function migrationState(db: string): Promise<{ table: boolean; rows: string[] }> {
  return withSuperClient(db, async (c) => ({
    table: (await c.query(`SELECT to_regclass('public.slow_t') IS NOT NULL AS t`)).rows[0].t,
    rows: (await c.query(`SELECT version FROM tofu_registry_migrations ORDER BY version::int`)).rows.map((r) => r.version),
  }));
}

async function openTransactions(db: string): Promise<number> {
  return withSuperClient(db, async (c) =>
    Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [db])).rows[0].n),
  );
}

describe('a silent network partition in the middle of migrate', () => {
  let proxy: FaultProxy;
  let db: string;
  let dir: string;
  beforeEach(async () => {
    db = uniqueName('partition');
    dir = tempDir();
    writeFileSync(path.join(dir, '000_first.sql'), 'CREATE TABLE first_t (id int);\n');
    writeFileSync(path.join(dir, '001_slow.sql'), 'CREATE TABLE slow_t (id int);\nSELECT pg_sleep(1);\n');
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], adminEnv({ TOFU_REGISTRY_DB_NAME: db }))).code).toBe(0);
    const env = adminEnv();
    proxy = await startFaultProxy({ host: env.TOFU_REGISTRY_DB_HOST!, port: Number(env.TOFU_REGISTRY_DB_PORT) });
  });
  afterEach(async () => {
    await proxy.close();
    await dropDatabaseAndRole(db);
  });

  const throughProxy = () =>
    adminEnv({
      TOFU_REGISTRY_DB_NAME: db,
      TOFU_REGISTRY_DB_PORT: String(proxy.port),
      TOFU_REGISTRY_DB_NETWORK_TIMEOUT: String(NETWORK_TIMEOUT),
      TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '2',
    });

  test.each([
    ['the whole path (new connections too)', 'all'],
    ['only the migration session\'s path (an expired NAT or firewall entry)', 'session'],
  ] as const)('%s goes silent: the CLI gives up with exit 3 within the network timeout and a new connection\'s, and nothing half-applied stays', async (_what, scope) => {
    const fired = proxy.afterClientSends('pg_sleep', 'lose-answer');
    const started = Date.now();
    const run = runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], throughProxy(), { timeoutMs: 40_000 });
    await fired;
    if (scope === 'all') proxy.swallow('both');
    const result = await run;
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout);
    expect(out.error.code).toBe('CONNECTION_LOST');
    expect(out.error.message).toContain(`for ${NETWORK_TIMEOUT} s`);
    expect(out.migrations.map((m: { fileName: string; outcome: string }) => `${m.fileName}:${m.outcome}`)).toEqual(['000_first.sql:applied', '001_slow.sql:failed']);
    // The documented bound: T of silence, then a check that may take up to the connect timeout.
    expect(seconds).toBeLessThan(NETWORK_TIMEOUT + 2 + 4);
    // The server rolled the half of 001 back on its own; a direct rerun completes it at once.
    await new Promise((r) => setTimeout(r, (NETWORK_TIMEOUT + 1) * 1000));
    expect(await openTransactions(db)).toBe(0);
    expect(await migrationState(db)).toEqual({ table: false, rows: ['0'] });
    const rerun = await runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_STATEMENT_TIMEOUT: '5' }));
    expect(rerun.code).toBe(0);
    expect(await migrationState(db)).toEqual({ table: true, rows: ['0', '1'] });
  }, 60_000);

  test('the runner is killed while partitioned: the server frees the migration lock within the network timeout, and the next runner does not wait for it', async () => {
    const fired = proxy.afterClientSends('pg_sleep', 'lose-answer');
    const child = spawn(process.execPath, ['--', BIN, ...envFileArg(), 'migrate', '--dir', dir], { env: throughProxy(), stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await fired;
    // The server finishes 001 and waits for a COMMIT that will never come, holding the lock;
    // the proxy hides the client's death from it, as a partition does.
    await new Promise((r) => setTimeout(r, 1200));
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    // Before: this run waited for the lock until its statement timeout (exit 5).
    const next = await runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_STATEMENT_TIMEOUT: '15' }), { timeoutMs: 30_000 });
    expect(next.code).toBe(0);
    expect((Date.now() - killedAt) / 1000).toBeLessThan(NETWORK_TIMEOUT + 4);
    expect(JSON.parse(next.stdout).applied).toBe(1);
    expect(await migrationState(db)).toEqual({ table: true, rows: ['0', '1'] });
    expect(await openTransactions(db)).toBe(0);
  }, 60_000);
});
