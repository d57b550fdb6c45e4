import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parse as parseDotenv } from 'dotenv';
import {
  adminEnv,
  BIN,
  dropDatabaseAndRole,
  roleExists,
  runCli,
  serverInventory,
  tempDir,
  testServer,
  uniqueName,
  type CliResult,
} from '../support/fixtures.js';
import { sharedTempDir } from '../support/pg-server.js';

const server = testServer();

async function loginOutcome(role: string, password: string, database: string): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user: role, password, database, ssl: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/**
 * The server's databases and roles, minus those that tests in other workers create meanwhile
 * (uniqueName puts the worker's pid in every name, also where a test adds a suffix to one).
 */
async function inventory(): Promise<{ databases: string[]; roles: string[] }> {
  const ours = (name: string) => {
    const made = /_(\d+)_\d+_[a-z0-9]{1,5}(?:_|$)/.exec(name);
    return made === null || made[1] === String(process.pid);
  };
  const { databases, roles } = await serverInventory();
  return { databases: databases.filter(ours), roles: roles.filter(ours) };
}

interface Setup {
  readonly database: string;
  readonly role: string;
  readonly dir: string;
  readonly envFile: string;
  readonly env: Record<string, string>;
  cli(...args: string[]): Promise<CliResult>;
}

/** A migrated registry database (made with the binary) and a working folder whose .env create-user writes. */
async function setup(): Promise<Setup> {
  const database = uniqueName('e2e_cu_db');
  const role = uniqueName('e2e_cu_app');
  const dir = tempDir();
  const env = adminEnv();
  const cli = (...args: string[]) => runCli(args, env, { cwd: dir });
  const created = await cli('create-db', '--name', database);
  expect(created.code).toBe(0);
  return { database, role, dir, envFile: path.join(dir, '.env'), env, cli };
}

describe('tofu-registry-db create-user (the built binary)', () => {
  test('creates the role and writes .env; the password appears nowhere in the output, also with --verbose', async () => {
    const s = await setup();
    const run = await s.cli('create-user', '--name', s.database, '--user', s.role, '--verbose');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Created role ${s.role}`);
    // The seed's three tables and the five of migration 004; the tool's own tables are read-only.
    expect(run.stdout).toContain('SELECT, INSERT, UPDATE, DELETE on all 8 tables in schema public (and only SELECT on the tool\'s own tofu_registry_migrations)');
    expect(run.stdout).toContain('USAGE, SELECT on all 4 sequences in schema public');
    expect(run.stdout).toContain(`Created ${s.envFile}`);
    expect(run.stderr).toContain(`CREATE ROLE "${s.role}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '[redacted]'`);
    const written = parseDotenv(readFileSync(s.envFile));
    const password = written.TOFU_REGISTRY_DB_PASSWORD!;
    expect(password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(written.TOFU_REGISTRY_DB_USER).toBe(s.role);
    expect(statSync(s.envFile).mode & 0o777).toBe(0o600);
    expect(run.stdout + run.stderr).not.toContain(password);
    expect(run.stdout + run.stderr).not.toMatch(/SCRAM-SHA-256\$4096:/);
    expect(await loginOutcome(s.role, password, s.database)).toBe('ok');

    // Idempotent: the second run keeps the password and leaves .env alone.
    const again = await s.cli('create-user', '--name', s.database, '--user', s.role);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already exists; its password is unchanged');
    expect(again.stdout).toContain('is up to date');
    expect(parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_PASSWORD).toBe(password);
    await dropDatabaseAndRole(s.database, s.role);
  });

  test('--show-password prints it; --json prints one document, with the password only when .env is not written', async () => {
    const s = await setup();
    const shown = await s.cli('create-user', '--name', s.database, '--user', s.role, '--show-password');
    expect(shown.code).toBe(0);
    const password = parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_PASSWORD!;
    expect(shown.stdout).toContain(`Password: ${password}`);

    const rotatedJson = await s.cli('create-user', '--name', s.database, '--user', s.role, '--json', '--rotate-password', '--yes');
    expect(rotatedJson.code).toBe(0);
    const document = JSON.parse(rotatedJson.stdout);
    expect(document).toMatchObject({ ok: true, command: 'create-user', role: s.role, database: s.database, created: false, passwordChanged: true });
    expect(document.password).toBeUndefined();
    expect(document.envFile).toMatchObject({ path: s.envFile, written: true, changedKeys: ['TOFU_REGISTRY_DB_PASSWORD'] });
    const rotated = parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_PASSWORD!;
    expect(rotatedJson.stdout + rotatedJson.stderr).not.toContain(rotated);

    const other = uniqueName('e2e_cu_other');
    const noEnv = await s.cli('create-user', '--name', s.database, '--user', other, '--json', '--no-write-env');
    expect(noEnv.code).toBe(0);
    const noEnvDocument = JSON.parse(noEnv.stdout);
    expect(noEnvDocument).toMatchObject({ ok: true, created: true });
    expect(noEnvDocument.password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(noEnvDocument.envFile).toBeUndefined();
    expect(parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_USER).toBe(s.role);
    expect(await loginOutcome(other, noEnvDocument.password, s.database)).toBe('ok');
    await dropDatabaseAndRole(s.database, s.role);
    await dropDatabaseAndRole(undefined, other);
  });

  test('--no-write-env without --json or --show-password: exit 2, the password would be lost, nothing created', async () => {
    const s = await setup();
    const run = await s.cli('create-user', '--name', s.database, '--user', s.role, '--no-write-env');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('would leave a password nobody knows');
    expect(await roleExists(s.role)).toBe(false);
    expect(existsSync(s.envFile)).toBe(false);
    await dropDatabaseAndRole(s.database);
  });

  test('--rotate-password needs --yes off a terminal (exit 2, nothing changed); with --yes the old password stops working', async () => {
    const s = await setup();
    expect((await s.cli('create-user', '--name', s.database, '--user', s.role)).code).toBe(0);
    const before = readFileSync(s.envFile);
    const oldPassword = parseDotenv(before).TOFU_REGISTRY_DB_PASSWORD!;

    const refused = await s.cli('create-user', '--name', s.database, '--user', s.role, '--rotate-password');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(readFileSync(s.envFile).equals(before)).toBe(true);
    expect(await loginOutcome(s.role, oldPassword, s.database)).toBe('ok');

    const rotated = await s.cli('create-user', '--name', s.database, '--user', s.role, '--rotate-password', '-y');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`Rotated the password of role ${s.role}`);
    const newPassword = parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_PASSWORD!;
    expect(newPassword).not.toBe(oldPassword);
    expect(rotated.stdout + rotated.stderr).not.toContain(newPassword);
    expect(await loginOutcome(s.role, oldPassword, s.database)).toBe('28P01');
    expect(await loginOutcome(s.role, newPassword, s.database)).toBe('ok');
    await dropDatabaseAndRole(s.database, s.role);
  });

  test('on a terminal, --rotate-password asks first: "no" changes nothing (exit 2), "yes" rotates', async () => {
    const s = await setup();
    expect((await s.cli('create-user', '--name', s.database, '--user', s.role)).code).toBe(0);
    const before = readFileSync(s.envFile);
    const { CI: _ci, ...terminalEnv } = s.env;
    // script(1) gives the binary a pseudo-terminal; the answer is typed once the question is shown.
    const answer = (key: string) =>
      new Promise<CliResult>((resolve, reject) => {
        const command = [process.execPath, BIN, 'create-user', '--name', s.database, '--user', s.role, '--rotate-password', '--no-color'].join(' ');
        const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...terminalEnv, TERM: 'xterm' }, cwd: s.dir });
        let stdout = '';
        let answered = false;
        child.stdout.on('data', (d) => {
          stdout += d;
          if (!answered && stdout.includes('new password?')) {
            answered = true;
            child.stdin.write(`${key}\r`);
          }
        });
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: '' }));
      });

    const declined = await answer('n');
    expect(declined.stdout).toContain('Cancelled: the password was not rotated.');
    expect(declined.code).toBe(2);
    expect(readFileSync(s.envFile).equals(before)).toBe(true);

    const accepted = await answer('y');
    expect(accepted.stdout).toContain(`Rotated the password of role ${s.role}`);
    expect(accepted.code).toBe(0);
    const rotated = parseDotenv(readFileSync(s.envFile)).TOFU_REGISTRY_DB_PASSWORD!;
    expect(rotated).not.toBe(parseDotenv(before).TOFU_REGISTRY_DB_PASSWORD);
    expect(await loginOutcome(s.role, rotated, s.database)).toBe('ok');
    await dropDatabaseAndRole(s.database, s.role);
  });

  test('--dry-run prints the SQL with the password redacted and changes nothing', async () => {
    const s = await setup();
    const run = await s.cli('create-user', '--name', s.database, '--user', s.role, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`PASSWORD '[redacted]'`);
    expect(run.stdout).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "${s.role}";`);
    expect(run.stdout).toContain(`-- env file ${s.envFile}: would be created with TOFU_REGISTRY_DB_TYPE, TOFU_REGISTRY_DB_HOST, TOFU_REGISTRY_DB_PORT, TOFU_REGISTRY_DB_NAME, TOFU_REGISTRY_DB_SSLMODE, TOFU_REGISTRY_DB_USER, TOFU_REGISTRY_DB_PASSWORD`);
    expect(await roleExists(s.role)).toBe(false);
    expect(existsSync(s.envFile)).toBe(false);
    await dropDatabaseAndRole(s.database);
  });

  // The env file is given as the default ./.env (a folder, a link into a missing folder, a read-only
  // folder as the working directory) rather than with --env-file: Node 20 itself intercepts an
  // `--env-file` argument anywhere on its command line (see the report to the lead).
  test('bad input exits 2 and changes nothing: hostile role names, an env file that is a folder or in a missing folder', async () => {
    const s = await setup();
    const before = await inventory();
    for (const role of ['x"; DROP ROLE postgres; --', "app' SUPERUSER", 'a'.repeat(64), 'pg_sneaky']) {
      const run = await s.cli('create-user', '--name', s.database, '--user', role);
      expect({ role, code: run.code }).toEqual({ role, code: 2 });
      expect(run.stderr).toMatch(/✖/);
    }
    expect(readdirSync(s.dir)).toEqual([]);

    mkdirSync(s.envFile);
    const folder = await s.cli('create-user', '--name', s.database, '--user', s.role);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('is not a regular file');
    rmSync(s.envFile, { recursive: true });

    symlinkSync(path.join(s.dir, 'no-such-folder', 'registry.env'), s.envFile);
    const missingFolder = await s.cli('create-user', '--name', s.database, '--user', s.role);
    expect(missingFolder.code).toBe(2);
    expect(missingFolder.stderr).toContain('does not exist');

    expect(await inventory()).toEqual(before);
    expect(readdirSync(s.dir)).toEqual(['.env']);
    await dropDatabaseAndRole(s.database);
  });

  test('a folder this user may not write to: exit 2 before anything is created', async () => {
    // Run as the unprivileged postgres OS user (root may write anywhere), in a folder it may only read.
    const s = await setup();
    const work = sharedTempDir('trdb-e2e-ro-');
    const locked = path.join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const { uid, gid } = statSync(work);
    const run = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'create-user', '--name', s.database, '--user', s.role], {
        env: { ...s.env, HOME: work },
        cwd: locked,
        uid,
        gid,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    expect(run.stderr).toContain('Cannot write the env file');
    expect(run.code).toBe(2);
    expect(await roleExists(s.role)).toBe(false);
    expect(readdirSync(locked)).toEqual([]);
    rmSync(work, { recursive: true, force: true });
    await dropDatabaseAndRole(s.database);
  });

  test('a registry database that does not exist: exit 5 with a hint to run create-db', async () => {
    const dir = tempDir();
    const role = uniqueName('e2e_cu_app');
    const run = await runCli(['create-user', '--name', uniqueName('e2e_cu_missing'), '--user', role, '--json'], adminEnv(), { cwd: dir });
    expect(run.code).toBe(5);
    const document = JSON.parse(run.stdout);
    expect(document).toMatchObject({ ok: false, command: 'create-user', error: { code: 'DATABASE_MISSING' } });
    expect(document.error.hint).toContain('create-db');
    expect(await roleExists(role)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
