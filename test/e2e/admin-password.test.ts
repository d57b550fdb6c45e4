import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, BIN, databaseExists, dropDatabaseAndRole, runCli, tempDir, testServer, uniqueName } from '../support/fixtures.js';

/** The admin password when no variable holds it: ~/.pgpass, else a hidden prompt on a terminal only. */
function envWithoutAdminPassword(db: string, home: string): Record<string, string> {
  const { TOFU_REGISTRY_DB_ADMIN_PASSWORD: _omit, ...env } = adminEnv({ TOFU_REGISTRY_DB_NAME: db, HOME: home });
  return env;
}

describe('admin password fallbacks', () => {
  test('off a terminal with no password anywhere: exit 2 naming the variables, nothing created', async () => {
    const db = uniqueName('pw_none');
    const result = await runCli(['--env-file', path.join(tempDir(), '.env'), 'create-db'], envWithoutAdminPassword(db, tempDir()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TOFU_REGISTRY_DB_ADMIN_PASSWORD');
    expect(result.stderr).toContain('~/.pgpass');
    expect(await databaseExists(db)).toBe(false);
  });

  test('~/.pgpass (mode 0600) supplies it', async () => {
    const db = uniqueName('pw_pgpass');
    const home = tempDir();
    const server = testServer();
    writeFileSync(path.join(home, '.pgpass'), `${server.host}:${server.port}:*:${server.superuser}:${server.password}\n`);
    chmodSync(path.join(home, '.pgpass'), 0o600);
    const result = await runCli(['--env-file', path.join(tempDir(), '.env'), 'create-db', '--no-migrate'], envWithoutAdminPassword(db, home));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await databaseExists(db)).toBe(true);
    await dropDatabaseAndRole(db);
  });

  /**
   * Runs the binary on a pseudo-terminal (script(1)) and answers the first password question
   * only: a second question would go unanswered and the run is killed after 60 s.
   */
  function onTerminal(args: string[], env: Record<string, string>, answer: string): Promise<{ code: number | null; output: string }> {
    const command = [process.execPath, '--', BIN, ...args, '--no-color'].join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' } });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      let output = '';
      let answered = false;
      child.stdout.on('data', (d) => {
        output += d;
        if (!answered && output.includes('Password for PostgreSQL role')) {
          answered = true;
          child.stdin.write(answer);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  test('setup on a terminal asks once for the whole run; Ctrl-C at the prompt exits 130', async () => {
    const db = uniqueName('pw_once');
    const role = uniqueName('pw_once_role');
    const { CI: _ci, ...base } = envWithoutAdminPassword(db, tempDir());
    const env = { ...base, TOFU_REGISTRY_DB_USER: role };
    const envFile = path.join(tempDir(), '.env');
    const server = testServer();
    const run = await onTerminal(['--env-file', envFile, 'setup', '--wait', '5'], env, `${server.password}\r`);
    // Three admin connections (waiting, maintenance database, registry database), one answer.
    expect(run.code).toBe(0);
    expect(run.output).not.toContain(server.password);
    const interrupted = await onTerminal(['--env-file', envFile, 'create-db'], env, '\u0003');
    expect(interrupted.code).toBe(130);
    await dropDatabaseAndRole(db, role);
  });

  test('on a terminal it asks, hidden, and the typed password is never echoed', async () => {
    const db = uniqueName('pw_prompt');
    const { CI: _ci, ...env } = envWithoutAdminPassword(db, tempDir());
    const server = testServer();
    const command = [process.execPath, '--', BIN, '--env-file', path.join(tempDir(), '.env'), 'create-db', '--no-migrate', '--no-color'].join(' ');
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      // script(1) gives the binary a pseudo-terminal; the password is typed once asked for.
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' } });
      let output = '';
      let typed = false;
      child.stdout.on('data', (d) => {
        output += d;
        if (!typed && output.includes('Password for PostgreSQL role')) {
          typed = true;
          child.stdin.write(`${server.password}\r`);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(result.output).toContain(`Password for PostgreSQL role "${server.superuser}"`);
    expect(result.code).toBe(0);
    expect(result.output).not.toContain(server.password);
    expect(await databaseExists(db)).toBe(true);
    await dropDatabaseAndRole(db);
  });
});
