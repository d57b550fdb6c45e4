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
