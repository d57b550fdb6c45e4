import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  adminEnv,
  databaseExists,
  dropDatabaseAndRole,
  REPO_ROOT,
  runCli,
  tempDir,
  testServer,
  uniqueName,
  withSuperClient,
} from '../support/fixtures.js';

const envFileArg = () => ['--env-file', path.join(tempDir(), '.env')];

describe('tofu-registry-db create-db / migrate (built binary)', () => {
  test('create-db creates, re-runs cleanly, and --json prints one document', async () => {
    const db = uniqueName('e2e_cdb');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    const first = await runCli([...envFileArg(), 'create-db'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Created database ${db}`);
    expect(first.stdout).toContain('Applied 001_initial_schema');

    const second = await runCli([...envFileArg(), '--json', 'create-db'], env);
    expect(second.code).toBe(0);
    const doc = JSON.parse(second.stdout);
    expect(doc).toMatchObject({ ok: true, command: 'create-db', database: db, created: false, migrations: { appliedCount: 0 } });
    expect(second.stderr).toBe('');
    await dropDatabaseAndRole(db);
  });

  test('migrate status lists applied and pending; --dry-run prints SQL and changes nothing', async () => {
    const db = uniqueName('e2e_status');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env)).code).toBe(0);

    const dry = await runCli([...envFileArg(), 'migrate', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('CREATE TABLE IF NOT EXISTS modules');
    expect(dry.stdout).toContain('BEGIN;');
    const tables = await withSuperClient(db, async (c) => (await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n);
    expect(tables).toBe(0);

    const pending = await runCli([...envFileArg(), '--json', 'migrate', 'status'], env);
    const bundled = readdirSync(path.join(REPO_ROOT, 'sql')).filter((f) => f.endsWith('.sql')).length;
    expect(JSON.parse(pending.stdout)).toMatchObject({ ok: true, pendingCount: bundled, changedCount: 0 });

    expect((await runCli([...envFileArg(), 'migrate'], env)).code).toBe(0);
    const applied = await runCli([...envFileArg(), 'migrate', 'status'], env);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/applied\s+001_initial_schema\.sql/);
    expect(applied.stdout).toContain('0 pending, 0 changed');
    await dropDatabaseAndRole(db);
  });

  test.each([
    ['migrate status --name <db>', (db: string) => ['migrate', 'status', '--name', db]],
    ['migrate --name <db> status', (db: string) => ['migrate', '--name', db, 'status']],
  ])('%s reports on that database, not on TOFU_REGISTRY_DB_NAME', async (_form, args) => {
    const db = uniqueName('e2e_status_name');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: uniqueName('e2e_status_other') });
    expect((await runCli([...envFileArg(), 'create-db', '--name', db], env)).code).toBe(0);
    const status = await runCli([...envFileArg(), '--json', ...args(db)], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, database: db, pendingCount: 0 });
    await dropDatabaseAndRole(db);
  });

  test('a failing migration exits 5 with file, line and SQLSTATE; --json carries the error', async () => {
    const db = uniqueName('e2e_fail');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_ok.sql'), 'CREATE TABLE ok (id int);\n');
    writeFileSync(path.join(dir, '002_bad.sql'), 'CREATE TABLE bad (id int);\nINSERT INTO missing_table VALUES (1);\n');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    const human = await runCli([...envFileArg(), 'create-db', '--dir', dir], env);
    expect(human.code).toBe(5);
    expect(human.stderr).toContain('002_bad.sql:2:13');
    expect(human.stderr).toContain('SQLSTATE 42P01');
    expect(human.stderr).toContain('^');
    const json = await runCli([...envFileArg(), '--json', 'migrate', '--dir', dir], env);
    expect(json.code).toBe(5);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: false, command: 'migrate', error: { code: 'MIGRATION_FAILED', sqlstate: '42P01', details: { file: '002_bad.sql', line: 2 } } });
    expect(doc.migrations).toEqual([expect.objectContaining({ version: '2', outcome: 'failed' })]);
    const exists = await withSuperClient(db, async (c) => (await c.query(`SELECT to_regclass('bad') AS t`)).rows[0].t);
    expect(exists).toBeNull();
    await dropDatabaseAndRole(db);
  });

  test('exit codes: wrong admin password 4 (password not echoed), closed port 3, unknown host 3', async () => {
    const wrong = await runCli([...envFileArg(), 'create-db'], adminEnv({ TOFU_REGISTRY_DB_NAME: uniqueName('x'), TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'not-the-password-123' }));
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('28P01');
    expect(wrong.stderr + wrong.stdout).not.toContain('not-the-password-123');
    const closed = await runCli([...envFileArg(), '--json', 'migrate'], adminEnv({ TOFU_REGISTRY_DB_PORT: '1' }));
    expect(closed.code).toBe(3);
    expect(JSON.parse(closed.stdout).error.code).toBe('CONNECTION_REFUSED');
    const unknown = await runCli([...envFileArg(), 'migrate'], adminEnv({ TOFU_REGISTRY_DB_HOST: 'no-such-host.invalid' }));
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('Cannot resolve host');
  });

  test('a migration blocked by another session\'s lock fails with exit 5 within the lock timeout', async () => {
    const db = uniqueName('e2e_lock');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_LOCK_TIMEOUT: '1' });
    expect((await runCli([...envFileArg(), 'create-db'], env)).code).toBe(0);
    const dir = tempDir();
    writeFileSync(path.join(dir, '900_alter.sql'), 'ALTER TABLE modules ADD COLUMN extra int;\n');
    const blocker = await (await import('../support/fixtures.js')).superClient(db);
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE modules IN ACCESS SHARE MODE');
      const started = Date.now();
      const result = await runCli([...envFileArg(), 'migrate', '--dir', dir], env);
      const elapsed = Date.now() - started;
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('Gave up waiting for a lock');
      expect(result.stderr).toContain('55P03');
      expect(result.stderr).toMatch(/Blocked by pid \d+ \(postgres, idle in transaction\) holding AccessShareLock on modules/);
      expect(elapsed).toBeLessThan(15_000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    await dropDatabaseAndRole(db);
  });

  test('the admin password is not on the command line and not in any output with --verbose', async () => {
    const db = uniqueName('e2e_verbose');
    const server = testServer();
    const result = await runCli([...envFileArg(), '--verbose', 'create-db'], adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('CREATE DATABASE');
    expect(result.stdout + result.stderr).not.toContain(server.password);
    expect(await databaseExists(db)).toBe(true);
    await dropDatabaseAndRole(db);
  });
});
