import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { startFaultProxy } from '../support/fault-proxy.js';
import { adminEnv, BIN, dropDatabaseAndRole, runCli, superClient, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

/** Issue #21, item 7, from the command line: what --dry-run and status show, and a runner that dies mid-file. */

const envFileArg = () => ['--env-file', path.join(tempDir(), '.env')];

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function folder(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, '001_items.sql'), 'CREATE TABLE items (id int);\nINSERT INTO items SELECT generate_series(1, 1000);\n');
  writeFileSync(path.join(dir, '002_items_idx.sql'), '--! no-transaction\nCREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n');
  return dir;
}

test('--dry-run prints the no-transaction file as it runs (lease, statements on their own, record); status marks it', async () => {
  const db = uniqueName('notx_cli');
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
  const dir = folder();
  // create-db --dry-run of a database that does not exist yet prints every file the same way.
  const planned = await runCli([...envFileArg(), 'create-db', '--dry-run', '--dir', dir], env);
  expect(planned.code).toBe(0);
  expect(planned.stdout).toMatch(/COMMIT;\nCREATE INDEX CONCURRENTLY items_id_idx ON items \(id\);\nBEGIN;/);
  expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env)).code).toBe(0);
  try {
    const dry = await runCli([...envFileArg(), 'migrate', '--dry-run', '--dir', dir], env);
    expect(dry.code).toBe(0);
    const script = dry.stdout;
    expect(script).toContain('-- 002_items_idx.sql (sha256 ');
    expect(script).toContain('--! no-transaction: outside a transaction, one statement at a time, under the migration lease');
    const noTx = script.slice(script.indexOf('-- 002_items_idx.sql'));
    expect(noTx).toContain('INSERT INTO public.tofu_registry_migration_leases');
    expect(noTx).toMatch(/COMMIT;\nCREATE INDEX CONCURRENTLY items_id_idx ON items \(id\);\nBEGIN;/);
    const status = await runCli([...envFileArg(), 'migrate', 'status', '--dir', dir], env);
    expect(status.stdout).toMatch(/pending\s+002_items_idx\.sql {2}\(no transaction\)/);
    const json = JSON.parse((await runCli([...envFileArg(), '--json', 'migrate', 'status', '--dir', dir], env)).stdout);
    expect(json.migrations.map((m: { fileName: string; transaction: boolean }) => `${m.fileName}:${m.transaction}`)).toEqual(['001_items.sql:true', '002_items_idx.sql:false']);
    const run = await runCli([...envFileArg(), 'migrate', '--dir', dir], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Applied 002_items_idx\.sql \(\d+ ms, outside a transaction\)/);
  } finally {
    await dropDatabaseAndRole(db);
  }
});

test('a runner dies in a partition while its CREATE INDEX CONCURRENTLY waits: the next run waits for the lease, cancels the orphaned build, drops the INVALID index and builds it', async () => {
  const db = uniqueName('notx_takeover');
  const dir = folder();
  const direct = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '2', TOFU_REGISTRY_DB_STATEMENT_TIMEOUT: '30' });
  expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], direct)).code).toBe(0);
  const onlyFirst = tempDir();
  writeFileSync(path.join(onlyFirst, '001_items.sql'), 'CREATE TABLE items (id int);\nINSERT INTO items SELECT generate_series(1, 1000);\n');
  expect((await runCli([...envFileArg(), 'migrate', '--dir', onlyFirst], direct)).code).toBe(0);
  const proxy = await startFaultProxy({ host: direct.TOFU_REGISTRY_DB_HOST!, port: Number(direct.TOFU_REGISTRY_DB_PORT) });
  // A writer's open transaction: CREATE INDEX CONCURRENTLY waits for it (after its INVALID index is in the catalog).
  const blocker: pg.Client = await superClient(db);
  try {
    await blocker.query('BEGIN');
    await blocker.query('INSERT INTO items VALUES (0)');
    const viaProxy = { ...direct, TOFU_REGISTRY_DB_PORT: String(proxy.port), TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '3', TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '2' };
    const first = spawn(process.execPath, ['--', BIN, ...envFileArg(), 'migrate', '--dir', dir], { env: viaProxy, stdio: 'ignore' });
    const exited = new Promise((resolve) => first.on('exit', resolve));
    let orphan = 0;
    await waitFor(async () => {
      orphan = await withSuperClient(db, async (c) =>
        Number((await c.query(`SELECT coalesce(max(pid), 0) AS pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '/* tofu-registry-db lease % */ CREATE INDEX CONCURRENTLY%'`, [db])).rows[0].pid),
      );
      return orphan > 0;
    });
    proxy.swallow('both');
    first.kill('SIGKILL');
    await exited;

    const status = JSON.parse((await runCli([...envFileArg(), '--json', 'migrate', 'status', '--dir', dir], direct)).stdout);
    expect(status.migrations[1]).toMatchObject({ fileName: '002_items_idx.sql', state: 'pending', transaction: false, lease: { live: true } });

    const second = runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], direct, { timeoutMs: 45_000 });
    // Once the dead runner's lease expired, the next run cancels its build, which leaves the INVALID index.
    await waitFor(async () =>
      withSuperClient(db, async (c) => (await c.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [orphan])).rowCount === 0),
    );
    expect(await withSuperClient(db, async (c) => (await c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_id_idx'::regclass`)).rows[0].indisvalid)).toBe(false);
    await blocker.query('COMMIT');
    const result = await second;
    expect(result.code).toBe(0);
    const migrations = JSON.parse(result.stdout).migrations;
    expect(migrations).toEqual([expect.objectContaining({ fileName: '002_items_idx.sql', outcome: 'applied', transaction: false })]);
    expect(migrations[0].notes).toEqual([expect.stringContaining('dropped the INVALID index public.items_id_idx')]);
    const state = await withSuperClient(db, async (c) => ({
      valid: (await c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_id_idx'::regclass`)).rows[0].indisvalid,
      versions: (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version::int')).rows.map((r) => r.version),
      leases: Number((await c.query('SELECT count(*) AS n FROM tofu_registry_migration_leases')).rows[0].n),
    }));
    expect(state).toEqual({ valid: true, versions: ['1', '2'], leases: 0 });
  } finally {
    await blocker.end().catch(() => undefined);
    await proxy.close();
    await dropDatabaseAndRole(db);
  }
}, 90_000);
