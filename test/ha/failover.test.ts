import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import pg from 'pg';
import { BIN, REPO_ROOT, runCli, tempDir, uniqueName } from '../support/fixtures.js';
import { HA_SUPERUSER_PASSWORD, haAvailable, startHaCluster, type HaCluster } from '../support/patroni.js';

/**
 * Issues #20 and #21: one configuration (the cluster's host list) through a switchover and a
 * crashed primary, on a real Patroni cluster the test starts itself. Commands that write find
 * the primary; --wait rides out a failover mid-run; nothing is applied twice or half.
 */
const describeHa = haAvailable() ? describe : describe.skip;

describeHa('an HA cluster (Patroni + etcd, three PostgreSQL 15 nodes) behind one host list', () => {
  let cluster: HaCluster;
  const database = uniqueName('ha_db');
  const role = uniqueName('ha_app');
  const envFile = path.join(tempDir(), '.env');
  const env = () => ({
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    CI: 'true',
    TOFU_REGISTRY_DB_HOST: cluster.hosts,
    TOFU_REGISTRY_DB_PORT: cluster.ports,
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_NAME: database,
    TOFU_REGISTRY_DB_ADMIN_USER: 'postgres',
    TOFU_REGISTRY_DB_ADMIN_PASSWORD: HA_SUPERUSER_PASSWORD,
  });
  const bare = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });

  async function onLeader<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const leader = await cluster.waitHealthy();
    const client = new pg.Client({ host: '127.0.0.1', port: leader.port, user: 'postgres', password: HA_SUPERUSER_PASSWORD, database });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  /** Applied once each, whole: a bookkeeping row for every migration, its table with its row, and nothing else. */
  async function appliedExactlyOnce(prefix: string, count: number): Promise<void> {
    const state = await onLeader(async (c) => ({
      rows: (await c.query(`SELECT name FROM tofu_registry_migrations WHERE name LIKE $1 ORDER BY name`, [`${prefix}%`])).rows.map((r) => r.name as string),
      tables: (await c.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE $1 AND relkind = 'r'`, [`${prefix}%`])).rows[0].n as number,
    }));
    expect(state.rows).toHaveLength(count);
    expect(new Set(state.rows).size).toBe(count);
    expect(state.tables).toBe(count);
  }

  /** The bundled migrations (setup applied them) and `count` more after them. */
  function migrations(prefix: string, first: number, count: number): string {
    const dir = tempDir();
    for (const file of readdirSync(path.join(REPO_ROOT, 'sql'))) copyFileSync(path.join(REPO_ROOT, 'sql', file), path.join(dir, file));
    for (let i = first; i < first + count; i++) {
      // Each one takes a moment, so the failover lands in the middle of the run.
      writeFileSync(path.join(dir, `${i}_${prefix}${i}.sql`), `CREATE TABLE ${prefix}${i} (id int);\nINSERT INTO ${prefix}${i} VALUES (${i});\nSELECT pg_sleep(0.3);\n`);
    }
    return dir;
  }

  beforeAll(async () => {
    cluster = await startHaCluster();
    await cluster.waitHealthy();
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('setup finds the primary in the list; the env file keeps the list; test-connection names every host', async () => {
    const leader = await cluster.waitHealthy();
    const result = await runCli(['--env-file', envFile, 'setup', '--user', role], env(), { timeoutMs: 120_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const file = parse(readFileSync(envFile));
    expect(file).toMatchObject({ TOFU_REGISTRY_DB_HOST: cluster.hosts, TOFU_REGISTRY_DB_PORT: cluster.ports, TOFU_REGISTRY_DB_TARGET_SESSION_ATTRS: 'read-write' });
    const check = await runCli(['--env-file', envFile, '--json', 'test-connection'], bare());
    expect(check.code).toBe(0);
    const report = JSON.parse(check.stdout);
    expect(report.hosts).toHaveLength(3);
    expect(report.hosts.find((h: { chosen: boolean }) => h.chosen).port).toBe(leader.port);
    for (const host of report.hosts.filter((h: { chosen: boolean }) => !h.chosen)) expect(host.outcome).toMatch(/standby|read-only|not tried/);
  }, 180_000);

  test('migrate --wait 60 across a switchover: exit 0, each migration recorded once', async () => {
    const dir = migrations('sw_', 101, 40);
    const child = spawn(process.execPath, ['--', BIN, '--env-file', envFile, '--json', 'migrate', '--dir', dir, '--wait', '60'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await cluster.switchover();
    const code = await exited;
    expect({ code, stdout: code === 0 ? '' : stdout }).toEqual({ code: 0, stdout: '' });
    const document = JSON.parse(stdout);
    expect(document.ok).toBe(true);
    expect(document.retries.length).toBeGreaterThan(0); // the switchover did cut the run off
    await appliedExactlyOnce('sw_', 40);
  }, 180_000);

  test('migrate --wait 60 across a crashed primary: exit 0, each migration recorded once; the same file works after', async () => {
    const dir = migrations('cr_', 201, 40);
    const child = spawn(process.execPath, ['--', BIN, '--env-file', envFile, '--json', 'migrate', '--dir', dir, '--wait', '60'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const crashed = await cluster.crashLeader();
    const code = await exited;
    expect({ code, stdout: code === 0 ? '' : stdout }).toEqual({ code: 0, stdout: '' });
    const document = JSON.parse(stdout);
    expect(document.ok).toBe(true);
    expect(document.retries.length).toBeGreaterThan(0);
    await appliedExactlyOnce('cr_', 40);
    cluster.restart(crashed);
    await cluster.waitHealthy();
    // The configuration written before the failover connects unchanged.
    expect((await runCli(['--env-file', envFile, 'test-connection'], bare())).code).toBe(0);
  }, 240_000);
});
