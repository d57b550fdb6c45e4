import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { scramSha256Verifier } from '../../src/core/provision/scram.js';
import { adminEnv, BIN, dropDatabaseAndRole, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Issue #21, item 5: a password change killed at any moment (kill -9, an OOM kill, an evicted
 * pod) is repaired by the next create-user or setup, with no human: the file logs in again,
 * with the old password or the new one, whichever the server has.
 */
const bare = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });

/** A pid that belonged to a process and no longer does. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

/** What a run killed between its env file's rename and its COMMIT leaves beside the file. */
function leaveBackup(envFile: string, role: string, previous: Buffer): void {
  const backup = path.join(path.dirname(envFile), `.${path.basename(envFile)}.tofu-registry-db-previous`);
  writeFileSync(backup, JSON.stringify({ pid: deadPid(), role, existed: true, content: previous.toString('base64') }), { mode: 0o600 });
}

async function provisioned(admin?: { user: string; password: string }) {
  const database = uniqueName('rot_db');
  const role = uniqueName('rot_app');
  const envFile = path.join(tempDir(), '.env');
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database, ...(admin ? { TOFU_REGISTRY_DB_ADMIN_USER: admin.user, TOFU_REGISTRY_DB_ADMIN_PASSWORD: admin.password } : {}) });
  const first = await runCli(['--env-file', envFile, 'setup', '--user', role], env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  return { database, role, envFile, env };
}

const logsIn = async (envFile: string) => (await runCli(['--env-file', envFile, 'test-connection'], bare())).code === 0;

describe.each([
  ['a superuser admin (checks the verifier)', false],
  ['a CREATEDB CREATEROLE admin (checks by logging in)', true],
])('the next setup repairs a password change that was killed — %s', (_what, managed) => {
  let admin: { user: string; password: string } | undefined;
  beforeAll(async () => {
    if (!managed) return;
    admin = { user: uniqueName('rot_admin'), password: 'rotation-admin-password-1' };
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin!.user}" LOGIN CREATEDB CREATEROLE PASSWORD '${admin!.password}'`));
  });
  afterAll(async () => {
    if (admin) await dropDatabaseAndRole(undefined, admin.user);
  });

  test('killed before its COMMIT: the old file is put back', async () => {
    const r = await provisioned(admin);
    const before = readFileSync(r.envFile);
    leaveBackup(r.envFile, r.role, before);
    writeFileSync(r.envFile, before.toString().replace(/TOFU_REGISTRY_DB_PASSWORD=.*/, "TOFU_REGISTRY_DB_PASSWORD='never-committed-password-1'"));
    const repaired = await runCli(['--env-file', r.envFile, 'setup', '--user', r.role], r.env);
    expect(repaired.code).toBe(0);
    expect(repaired.stderr).toContain('had not committed it');
    expect(readFileSync(r.envFile)).toEqual(before);
    expect(readdirSync(path.dirname(r.envFile)).filter((n) => n.includes('tofu-registry-db-previous'))).toEqual([]);
    expect(await logsIn(r.envFile)).toBe(true);
    await dropDatabaseAndRole(r.database, r.role);
  }, 60_000);

  test('killed after its COMMIT: the new file stays', async () => {
    const r = await provisioned(admin);
    const before = readFileSync(r.envFile);
    leaveBackup(r.envFile, r.role, before);
    const fresh = 'committed-new-password-1234';
    await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${r.role}" PASSWORD '${scramSha256Verifier(fresh)}'`));
    writeFileSync(r.envFile, before.toString().replace(/TOFU_REGISTRY_DB_PASSWORD=.*/, `TOFU_REGISTRY_DB_PASSWORD='${fresh}'`));
    const repaired = await runCli(['--env-file', r.envFile, 'setup', '--user', r.role], r.env);
    expect(repaired.code).toBe(0);
    expect(parse(readFileSync(r.envFile)).TOFU_REGISTRY_DB_PASSWORD).toBe(fresh);
    expect(await logsIn(r.envFile)).toBe(true);
    await dropDatabaseAndRole(r.database, r.role);
  }, 60_000);
});

test('kill -9 at the moment the env file changes, 12 times: after each, the next setup leaves a file that logs in', async () => {
  const r = await provisioned();
  let killed = 0;
  for (let round = 0; round < 12; round++) {
    const mtime = statSync(r.envFile).mtimeMs;
    const child = spawn(process.execPath, ['--', BIN, '--env-file', r.envFile, '--yes', 'setup', '--user', r.role, '--rotate-password'], { env: r.env, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Kill it as soon as the new file is in place: between the rename and the COMMIT, or just after.
    const deadline = Date.now() + 20_000;
    while (child.exitCode === null && Date.now() < deadline) {
      const backup = readdirSync(path.dirname(r.envFile)).some((n) => n.endsWith('tofu-registry-db-previous'));
      if (backup || (existsSync(r.envFile) && statSync(r.envFile).mtimeMs !== mtime)) {
        child.kill('SIGKILL');
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await exited;
    if (child.signalCode === 'SIGKILL') killed++;
    const next = await runCli(['--env-file', r.envFile, 'setup', '--user', r.role], r.env);
    expect({ round, code: next.code, stderr: next.code === 0 ? '' : next.stderr }).toEqual({ round, code: 0, stderr: '' });
    expect(await logsIn(r.envFile)).toBe(true);
  }
  expect(killed).toBeGreaterThan(0); // the rounds did kill mid-rotation, not only watch it finish
  await dropDatabaseAndRole(r.database, r.role);
}, 300_000);
