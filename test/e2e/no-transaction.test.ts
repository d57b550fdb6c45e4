import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { startFaultProxy } from '../support/fault-proxy.js';
import { adminEnv, BIN, dropDatabaseAndRole, REPO_ROOT, runCli, superClient, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

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

test('the leases table is the tool\'s own, like the bookkeeping: status, create-user\'s summary and test-connection leave the application role without writes on it and count it nowhere', async () => {
  const db = uniqueName('notx_lease_priv');
  const user = uniqueName('notx_app');
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: user });
  const envFile = path.join(tempDir(), '.env');
  // The review's set-up: the bundled migrations and one --! no-transaction file after them.
  const dir = tempDir();
  cpSync(path.join(REPO_ROOT, 'sql'), dir, { recursive: true });
  writeFileSync(path.join(dir, '900_idx.sql'), '--! no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS modules_description_idx ON modules (description);\n');
  try {
    // create-user first (its default privileges would give writes on a table made later), then the leases table.
    expect((await runCli(['--env-file', envFile, 'setup'], env)).code).toBe(0);
    expect((await runCli(['--env-file', envFile, 'migrate', '--dir', dir], env)).code).toBe(0);
    const status = await runCli(['--env-file', envFile, 'status', '--dir', dir], env);
    expect(status.stderr).not.toContain('tofu_registry_migration_leases');
    expect(status.stdout).toMatch(/read\/write on 8 of 8 tables/); // the seed's 3 and 004's 5
    expect(status.code).toBe(0);
    // create-user on a database that has the leases table: the same grants, and a summary that counts the API's tables.
    const again = await runCli(['--env-file', envFile, 'create-user'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('SELECT, INSERT, UPDATE, DELETE on all 8 tables in schema public (and only SELECT on the tool\'s own tofu_registry_migration_leases, tofu_registry_migrations)');
    expect((await runCli(['--env-file', envFile, 'status', '--dir', dir], env)).code).toBe(0);
    const checked = await runCli(['--env-file', envFile, 'test-connection', '--dir', dir], env);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/✔ privileges +"[^"]+" can read and write all 8 tables, 4 sequences, call all 4 registry functions, and has nothing more/);
    const writes = await withSuperClient(db, async (c) =>
      (await c.query(`SELECT has_table_privilege($1, 'tofu_registry_migration_leases', 'SELECT') AS read,
                             has_table_privilege($1, 'tofu_registry_migration_leases', 'INSERT, UPDATE, DELETE') AS write`, [user])).rows[0]);
    expect(writes).toEqual({ read: true, write: false });
    // A role that may write it is warned, as for the bookkeeping.
    await withSuperClient(db, (c) => c.query(`GRANT INSERT ON tofu_registry_migration_leases TO "${user}"`));
    const warned = await runCli(['--env-file', envFile, 'test-connection', '--dir', dir], env);
    expect(warned.stdout).toContain(`"${user}" may change tofu_registry_migration_leases, which only migrate writes`);
  } finally {
    await dropDatabaseAndRole(db, user);
  }
}, 90_000);
