import path from 'node:path';
import { adminEnv, dropDatabaseAndRole, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Review #14 through the built binary: a password equal to the admin role's name (the CI
 * example's postgres/postgres) and a short wrong one. Names and words are printed as they are;
 * a reader of the log learns nothing about the password from where "[redacted]" appears.
 */
test('the admin\'s password is its own name: status, status --json and test-connection --admin print the name; a wrong password reads "wrong"', async () => {
  const admin = uniqueName('ci_admin');
  const db = uniqueName('same_db');
  const app = uniqueName('same_app');
  const envFile = path.join(tempDir(), '.env');
  await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB CREATEROLE PASSWORD '${admin}'`));
  const env = adminEnv({ TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: admin, TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: app });
  const cli = (...args: string[]) => runCli(['--env-file', envFile, ...args], env);
  try {
    expect((await cli('setup')).code).toBe(0);
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`read as "${admin}"`);
    expect(status.stdout).toContain(`user ${admin} (TOFU_REGISTRY_DB_ADMIN_USER (environment))`);
    expect(status.stdout).toContain(`${db}: owner ${admin},`);
    const json = await cli('--json', 'status');
    expect(JSON.parse(json.stdout)).toMatchObject({ server: { admin }, database: { owner: admin } });
    expect(json.stdout).not.toContain('[redacted]');
    const checked = await cli('test-connection', '--admin');
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain(`role "${admin}" logged in`);
    expect(checked.stdout).not.toContain('[redacted]');

    const wrong = await runCli(['--env-file', envFile, 'test-connection'], { ...env, TOFU_REGISTRY_DB_PASSWORD: 'wrong' });
    expect(wrong.code).toBe(4);
    expect(wrong.stdout).toContain('the password is wrong, or the role does not exist');
  } finally {
    await dropDatabaseAndRole(db, app);
    await dropDatabaseAndRole(undefined, admin);
  }
});
