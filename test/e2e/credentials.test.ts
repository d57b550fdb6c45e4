import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'dotenv';
import {
  adminEnv,
  dropDatabaseAndRole,
  databaseExists,
  REPO_ROOT,
  runCli,
  roleExists,
  tempDir,
  testServer,
  uniqueName,
  withSuperClient,
} from '../support/fixtures.js';
import { sharedTempDir } from '../support/pg-server.js';

/**
 * Issue #17, run as a user would, with the built binary: the env file is never destroyed,
 * never mislabelled, never left stale, and a run that fails says what it changed.
 */
const PROD_ENV = [
  '# the registry API\'s own settings',
  'API_PORT=8080',
  'TOFU_REGISTRY_DB_HOST=db.prod.example.com',
  'TOFU_REGISTRY_DB_PORT=6432',
  'TOFU_REGISTRY_DB_SSLMODE=verify-full',
  'TOFU_REGISTRY_DB_PASSWORD=prod-secret-password-123',
  '',
].join('\n');

const bare = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });

/** A temporary folder for one run's TMPDIR (other tests start servers at the same time), which the postgres OS user may enter. */
function ownTmp(): string {
  const dir = sharedTempDir('trdb-tmp-');
  chmodSync(dir, 0o755);
  return dir;
}

describe('dev never destroys an env file it did not write', () => {
  test('serving: a file with another server in it is refused (exit 2), byte for byte unchanged, nothing started', async () => {
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, PROD_ENV);
    const tmp = ownTmp();
    const result = await runCli(['--env-file', envFile, '--json', 'dev'], { ...bare(), TMPDIR: tmp }, { cwd: REPO_ROOT, timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ ok: false, command: 'dev', error: { code: 'ENV_FILE_NOT_OWNED' } });
    expect(document.error.message).toContain('TOFU_REGISTRY_DB_HOST="db.prod.example.com"');
    expect(document.error.hint).toContain('--env-file .env.dev');
    expect(result.stdout + result.stderr).not.toContain('prod-secret-password-123');
    expect(readFileSync(envFile, 'utf8')).toBe(PROD_ENV);
    expect(readdirSync(tmp).filter((name) => !name.startsWith('tofu-registry-db-compile-cache-'))).toEqual([]);
  }, 90_000);

  test('dev -- <command>: the command gets the embedded database; the file that is not dev\'s stays as it was', async () => {
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, PROD_ENV);
    const probe = "const e=process.env;console.log(JSON.stringify({h:e.TOFU_REGISTRY_DB_HOST,s:e.TOFU_REGISTRY_DB_SSLMODE,p:e.TOFU_REGISTRY_DB_PASSWORD==='prod-secret-password-123'}));process.exit(9)";
    const result = await runCli(['--env-file', envFile, 'dev', '--', process.execPath, '-e', probe], bare(), { cwd: REPO_ROOT, timeoutMs: 90_000 });
    expect(result.code).toBe(9);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({ h: '127.0.0.1', s: 'disable', p: false });
    expect(result.stderr).toContain('left alone');
    expect(readFileSync(envFile, 'utf8')).toBe(PROD_ENV);
  }, 120_000);

  test('a file dev wrote is dev\'s: written once, with its comment once, and reused by the next run', async () => {
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, 'API_PORT=8080\n');
    for (let run = 0; run < 2; run++) {
      const result = await runCli(['--env-file', envFile, 'dev', '--', 'true'], bare(), { cwd: REPO_ROOT, timeoutMs: 90_000 });
      expect(result.code).toBe(0);
    }
    const text = readFileSync(envFile, 'utf8');
    expect(text.startsWith('API_PORT=8080\n')).toBe(true);
    expect(text.match(/Written by `tofu-registry-db dev`/g)).toHaveLength(1);
    expect(text).not.toContain('Written by tofu-registry-db create-user');
    expect(parse(text)).toMatchObject({ TOFU_REGISTRY_DB_HOST: '127.0.0.1', TOFU_REGISTRY_DB_SSLMODE: 'disable', API_PORT: '8080' });
  }, 200_000);

  test('a port in use: exit 3 naming the port, one JSON document, the command never runs, nothing left behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    const tmp = ownTmp();
    try {
      const envFile = path.join(tempDir(), '.env');
      const result = await runCli(['--env-file', envFile, '--json', 'dev', '--port', String(port), '--', 'sh', '-c', 'echo RAN; exit 9'], { ...bare(), TMPDIR: tmp }, { cwd: REPO_ROOT, timeoutMs: 60_000 });
      expect(result.code).toBe(3);
      const document = JSON.parse(result.stdout);
      expect(document).toMatchObject({ ok: false, command: 'dev', error: { code: 'PORT_IN_USE' } });
      expect(document.error.message).toContain(`Port ${port}`);
      expect(result.stdout).not.toContain('RAN');
      expect(readdirSync(tmp).filter((name) => !name.startsWith('tofu-registry-db-compile-cache-'))).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 90_000);
});

describe('create-user and setup never pair a role with another role\'s password', () => {
  async function registryWithApp(): Promise<{ database: string; app: string; other: string; envFile: string; env: Record<string, string> }> {
    const database = uniqueName('cred_db');
    const app = uniqueName('cred_app');
    const other = uniqueName('cred_other');
    const envFile = path.join(tempDir(), '.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database });
    expect((await runCli(['--env-file', envFile, 'setup', '--user', app], env)).code).toBe(0);
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${other}" LOGIN PASSWORD 'other-role-password-1'`));
    return { database, app, other, envFile, env };
  }

  test.each(['create-user', 'setup'])('%s --user <existing role>: PASSWORD_UNKNOWN, exit 2, the file and the role unchanged', async (command) => {
    const r = await registryWithApp();
    const fileBefore = readFileSync(r.envFile, 'utf8');
    const result = await runCli(['--env-file', r.envFile, '--json', command, '--user', r.other], r.env);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'PASSWORD_UNKNOWN' } });
    expect(readFileSync(r.envFile, 'utf8')).toBe(fileBefore);
    // No grants were applied to the other role (setup used to grant, then fail at the login).
    const canConnect = await withSuperClient('postgres', async (c) => (await c.query(`SELECT has_database_privilege($1, $2, 'CONNECT') AS ok`, [r.other, r.database])).rows[0].ok);
    expect(canConnect).toBe(false);
    await dropDatabaseAndRole(r.database, r.app);
    await dropDatabaseAndRole(undefined, r.other);
  }, 60_000);

  test('--rotate-password for the other role: the file then holds that role and its own new password', async () => {
    const r = await registryWithApp();
    const result = await runCli(['--env-file', r.envFile, '--yes', 'create-user', '--user', r.other, '--rotate-password'], r.env);
    expect(result.code).toBe(0);
    const file = parse(readFileSync(r.envFile));
    expect(file.TOFU_REGISTRY_DB_USER).toBe(r.other);
    const check = await runCli(['--env-file', r.envFile, 'test-connection'], bare());
    expect(check.code).toBe(0);
    await dropDatabaseAndRole(r.database, r.app);
    await dropDatabaseAndRole(undefined, r.other);
  }, 60_000);
});

describe('after setup the env file describes exactly the connection that was verified', () => {
  test('setup --name/--user on a copy of a file for another database, with the port from the environment: the file alone connects', async () => {
    const server = testServer();
    const name = uniqueName('reg_ci');
    const envFile = path.join(tempDir(), 'copy.env');
    writeFileSync(envFile, [
      '# copied from the main environment',
      'TOFU_REGISTRY_DB_HOST=localhost',
      'TOFU_REGISTRY_DB_PORT=1',
      'TOFU_REGISTRY_DB_NAME=opentofu',
      'TOFU_REGISTRY_DB_USER=opentofu_user',
      'TOFU_REGISTRY_DB_SSLMODE=require',
      'OTHER_SETTING=kept',
      '',
    ].join('\n'));
    const env = adminEnv({ TOFU_REGISTRY_DB_HOST: server.host, TOFU_REGISTRY_DB_PORT: String(server.port), TOFU_REGISTRY_DB_SSLMODE: 'disable' });
    const result = await runCli(['--env-file', envFile, 'setup', '--name', name, '--user', name], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Ready: ${name}@${server.host}:${server.port}/${name}`);
    const file = parse(readFileSync(envFile));
    expect(file).toMatchObject({
      TOFU_REGISTRY_DB_HOST: server.host,
      TOFU_REGISTRY_DB_PORT: String(server.port),
      TOFU_REGISTRY_DB_NAME: name,
      TOFU_REGISTRY_DB_USER: name,
      TOFU_REGISTRY_DB_SSLMODE: 'disable',
      OTHER_SETTING: 'kept',
    });
    expect(readFileSync(envFile, 'utf8').startsWith('# copied from the main environment\n')).toBe(true);
    // The file alone: no variable from the environment but PATH and HOME.
    const alone = await runCli(['--env-file', envFile, 'test-connection'], bare());
    expect(alone.code).toBe(0);
    // drop takes the role's credentials out again, and keeps every other line.
    const dropped = await runCli(['--env-file', envFile, '--yes', 'drop', '--name', name, '--user', name], env);
    expect(dropped.code).toBe(0);
    const after = parse(readFileSync(envFile));
    expect(after.TOFU_REGISTRY_DB_USER).toBeUndefined();
    expect(after.TOFU_REGISTRY_DB_PASSWORD).toBeUndefined();
    expect(after).toMatchObject({ TOFU_REGISTRY_DB_NAME: name, OTHER_SETTING: 'kept' });
  }, 90_000);
});

describe('a run that cannot finish stops before changing anything, or says what it changed', () => {
  test('an admin with CREATEDB but not CREATEROLE: setup refuses before creating the database (exit 4)', async () => {
    const admin = uniqueName('cred_admin');
    const database = uniqueName('cred_nocr');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB PASSWORD 'admin-password-12345'`));
    const role = uniqueName('cred_u');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'admin-password-12345' });
    const result = await runCli(['--env-file', path.join(tempDir(), '.env'), '--json', 'setup', '--user', role], env);
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'ROLE_CREATE_DENIED' } });
    expect(JSON.parse(result.stdout).error.message).toContain('Nothing was changed');
    // Nothing of this run's (other tests create databases at the same time: only its own names are looked for).
    expect(await databaseExists(database)).toBe(false);
    expect(await roleExists(role)).toBe(false);
    await dropDatabaseAndRole(undefined, admin);
  }, 60_000);

  test('a migration that fails after the database was created: both outputs list what was changed', async () => {
    const database = uniqueName('cred_half');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_ok.sql'), 'CREATE TABLE modules (id int); CREATE TABLE providers (id int); CREATE TABLE cache (id int);\n');
    writeFileSync(path.join(dir, '002_broken.sql'), 'SELECT 1/0;\n');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database });
    const json = await runCli(['--env-file', path.join(tempDir(), '.env'), '--json', 'setup', '--dir', dir], env);
    expect(json.code).toBe(5);
    const document = JSON.parse(json.stdout);
    expect(document.changes).toEqual([`created database "${database}"`, `applied 1 migration(s) to database "${database}": 001_ok.sql`]);
    const second = uniqueName('cred_half');
    const human = await runCli(['--env-file', path.join(tempDir(), '.env'), 'setup', '--dir', dir], { ...env, TOFU_REGISTRY_DB_NAME: second });
    expect(human.code).toBe(5);
    expect(human.stderr).toContain(`changed before the failure:\n    - created database "${second}"\n    - applied 1 migration(s)`);
    await dropDatabaseAndRole(database);
    await dropDatabaseAndRole(second);
  }, 60_000);
});

/** A small file system of our own to fill (as root, where mounting is allowed): decided when the file loads, so a skip shows. */
function tmpfsProbe(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = tempDir('trdb-tmpfs-probe-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (mounted) spawnSync('umount', [probe]);
  return mounted;
}

(tmpfsProbe() ? describe : describe.skip)('a full disk (a 64 KiB tmpfs, filled)', () => {
  test('setup stops before creating anything, saying the disk is full (exit 2)', async () => {
    const mountPoint = tempDir('trdb-full-');
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status).toBe(0);
    try {
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(mountPoint, 'filler')}`, 'bs=4k', 'count=64']);
      const database = uniqueName('cred_full');
      const result = await runCli(['--env-file', path.join(mountPoint, '.env'), '--json', 'setup'], adminEnv({ TOFU_REGISTRY_DB_NAME: database }));
      expect(result.code).toBe(2);
      const document = JSON.parse(result.stdout);
      expect(document).toMatchObject({ ok: false, error: { code: 'ENV_FILE_NO_SPACE' } });
      expect(document.error.hint).toContain('Free space');
      expect(await databaseExists(database)).toBe(false);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  }, 60_000);
});
