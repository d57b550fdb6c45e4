import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPrimaryAndStandby } from '../support/standby.js';
import pg from 'pg';
import { adminEnv, BIN, dropDatabaseAndRole, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

const envFileArg = () => ['--env-file', path.join(tempDir(), '.env')];

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function slowMigrationRunning(db: string): Promise<boolean> {
  return withSuperClient('postgres', async (c) =>
    (await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(3)%' AND state = 'active'`, [db])).rowCount! > 0,
  );
}

async function migrationState(db: string): Promise<{ table: boolean; rows: string[] }> {
  return withSuperClient(db, async (c) => ({
    table: (await c.query(`SELECT to_regclass('public.slow_table') IS NOT NULL AS t`)).rows[0].t,
    rows: (await c.query(`SELECT version FROM tofu_registry_migrations ORDER BY version::int`)).rows.map((r) => r.version),
  }));
}

function slowMigrations(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, '001_fast.sql'), 'CREATE TABLE fast_table (id int);\n');
  writeFileSync(path.join(dir, '002_slow.sql'), 'CREATE TABLE slow_table (id int);\nINSERT INTO slow_table VALUES (1);\nSELECT pg_sleep(3);\n');
  return dir;
}

describe('crashes and interrupts leave no partial migration', () => {
  test.each([
    ['SIGKILL', null],
    ['SIGINT', 130],
  ] as const)('%s in the middle of a slow migration: nothing of it remains; the next run completes it', async (signal, expectedCode) => {
    const db = uniqueName('crash');
    const dir = slowMigrations();
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env)).code).toBe(0);
    const child = spawn(process.execPath, ['--', BIN, ...envFileArg(), 'migrate', '--dir', dir], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => slowMigrationRunning(db));
    child.kill(signal);
    expect(await exited).toBe(expectedCode);
    // The killed run's transaction is rolled back: 001 committed, 002 left no table and no row.
    expect(await migrationState(db)).toEqual({ table: false, rows: ['1'] });
    const rerun = await runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], env);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).applied).toBe(1);
    expect(await migrationState(db)).toEqual({ table: true, rows: ['1', '2'] });
    await dropDatabaseAndRole(db);
  });

  test('SIGINT with --json during a 30 s statement: the server cancels it, stdout holds one JSON document, the next run does not wait', async () => {
    const db = uniqueName('cancel');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_long.sql'), 'CREATE TABLE long_table (id int);\nSELECT pg_sleep(30);\n');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env)).code).toBe(0);
    const child = spawn(process.execPath, ['--', BIN, ...envFileArg(), '--json', 'migrate', '--dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const running = async () =>
      withSuperClient('postgres', async (c) => (await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(30)%' AND state = 'active'`, [db])).rowCount! > 0);
    await waitFor(running);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, command: 'migrate', error: { code: 'INTERRUPTED' } });
    // Before, the backend went on sleeping (holding the migration lock) for the rest of the 30 s.
    await waitFor(async () => !(await running()), 3000);
    writeFileSync(path.join(dir, '001_long.sql'), 'CREATE TABLE long_table (id int);\n');
    expect((await runCli([...envFileArg(), 'migrate', '--dir', dir], env)).code).toBe(0);
    await dropDatabaseAndRole(db);
  });

  test('6 concurrent create-db runs of one name and 8 concurrent migrate runs all exit 0', async () => {
    const db = uniqueName('race_cli');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    const creates = await Promise.all(Array.from({ length: 6 }, () => runCli([...envFileArg(), '--json', 'create-db'], env)));
    expect(creates.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(creates.map((r) => JSON.parse(r.stdout).created).filter(Boolean)).toHaveLength(1);
    const dir = tempDir();
    for (let i = 100; i < 110; i++) writeFileSync(path.join(dir, `${i}_m.sql`), `CREATE TABLE m${i} (id int);\n`);
    // The folder adds migrations 100-109 on top of nothing: use a fresh database for it.
    const db2 = uniqueName('race_cli_m');
    const env2 = adminEnv({ TOFU_REGISTRY_DB_NAME: db2 });
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env2)).code).toBe(0);
    const migrations = await Promise.all(Array.from({ length: 8 }, () => runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], env2)));
    expect(migrations.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(migrations.reduce((sum, r) => sum + JSON.parse(r.stdout).applied, 0)).toBe(10);
    await dropDatabaseAndRole(db);
    await dropDatabaseAndRole(db2);
  });
});

describe('a read-only standby is refused', () => {
  let servers: Awaited<ReturnType<typeof startPrimaryAndStandby>>;
  beforeAll(async () => {
    servers = await startPrimaryAndStandby();
  }, 60_000);
  afterAll(async () => {
    await servers?.stop();
  });

  test('create-db and migrate exit 3 and say that the primary is needed', async () => {
    const { standby } = servers;
    const name = uniqueName('standby');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: name, TOFU_REGISTRY_DB_PORT: String(standby.port) });
    const create = await runCli([...envFileArg(), 'create-db'], env);
    expect(create.code).toBe(3);
    expect(create.stderr).toContain('read-only standby');
    expect(create.stderr).toContain('primary');
    // An existing database for migrate: made on the primary, replicated to the standby.
    const existing = uniqueName('standby_existing');
    const primaryAdmin = new pg.Client({ host: servers.primary.host, port: servers.primary.port, user: 'postgres', password: servers.primary.password, database: 'postgres' });
    await primaryAdmin.connect();
    await primaryAdmin.query(`CREATE DATABASE "${existing}"`).finally(() => primaryAdmin.end());
    const onStandby = async () => {
      const c = new pg.Client({ host: standby.host, port: standby.port, user: 'postgres', password: standby.password, database: 'postgres' });
      await c.connect();
      try {
        return (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [existing])).rowCount === 1;
      } finally {
        await c.end();
      }
    };
    await waitFor(onStandby);
    const migrate = await runCli([...envFileArg(), '--json', 'migrate'], adminEnv({ TOFU_REGISTRY_DB_NAME: existing, TOFU_REGISTRY_DB_PORT: String(standby.port) }));
    expect(migrate.code).toBe(3);
    expect(JSON.parse(migrate.stdout).error.code).toBe('READ_ONLY_STANDBY');
    // Nothing was created: not on the standby, and so not on the primary it replicates.
    const primary = new pg.Client({ host: servers.primary.host, port: servers.primary.port, user: 'postgres', password: servers.primary.password, database: 'postgres' });
    await primary.connect();
    try {
      expect((await primary.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name])).rows[0].n).toBe(0);
    } finally {
      await primary.end();
    }
  });
});
