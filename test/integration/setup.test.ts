import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { resolveSettings } from '../../src/core/config/settings.js';
import { setup } from '../../src/core/provision/setup.js';
import { testConnection } from '../../src/core/checks/test-connection.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { adminEnv, databaseExists, dropDatabaseAndRole, roleExists, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

function contextWithEnvFile(env: Record<string, string>, envFile: string) {
  return { settings: resolveSettings({ env, flags: { envFile } }) };
}

describe('setup: create-db → migrate → create-user → test-connection', () => {
  test('twice: the second run changes nothing and keeps the password', async () => {
    const db = uniqueName('setup_twice');
    const role = uniqueName('setup_role');
    const envFile = path.join(tempDir(), '.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const first = await setup(contextWithEnvFile(env, envFile));
    expect(first.ok).toBe(true);
    expect(first.database?.created).toBe(true);
    expect(first.user?.created).toBe(true);
    expect(first.connection?.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}:${c.status}`)).toEqual(['dns:skip']);
    const afterFirst = readFileSync(envFile, 'utf8');
    expect(parse(afterFirst)).toMatchObject({ TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_SSLMODE: 'disable' });

    const second = await setup(contextWithEnvFile(env, envFile));
    expect(second).toMatchObject({ ok: true, exitCode: 0, database: { created: false, migrations: { appliedCount: 0 } }, user: { created: false, passwordChanged: false } });
    expect(second.user?.password).toBeUndefined();
    expect(readFileSync(envFile, 'utf8')).toBe(afterFirst);
    await dropDatabaseAndRole(db, role);
  });

  test('as a managed-service admin (CREATEDB CREATEROLE, not a superuser)', async () => {
    const db = uniqueName('setup_managed');
    const role = uniqueName('setup_app');
    const admin = uniqueName('rds_admin');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB CREATEROLE PASSWORD 'managed-admin-pass'`));
    const envFile = path.join(tempDir(), '.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'managed-admin-pass' });
    const result = await setup(contextWithEnvFile(env, envFile));
    // Before 15, schema public belongs to the bootstrap superuser and PUBLIC may create in it:
    // an admin that does not own it cannot take that away, and the privileges check says so.
    const older = testServer().majorVersion < 15;
    expect(result.connection?.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}:${c.status}`)).toEqual(older ? ['dns:skip', 'privileges:warn'] : ['dns:skip']);
    if (older) expect(result.connection?.checks.find((c) => c.name === 'privileges')?.warnings?.join('\n')).toContain('may CREATE in schema public');
    expect(result.ok).toBe(true);
    const again = await setup(contextWithEnvFile(env, envFile));
    expect(again.ok).toBe(true);
    await dropDatabaseAndRole(db, role);
    await dropDatabaseAndRole(undefined, admin);
  });

  test('6 setup runs at once, each with its own database, role and env file: all succeed and every env file works', async () => {
    const runs = Array.from({ length: 6 }, () => ({ db: uniqueName('setup_par'), role: uniqueName('setup_par_role'), envFile: path.join(tempDir(), '.env') }));
    const results = await Promise.all(
      runs.map((r) => setup(contextWithEnvFile(adminEnv({ TOFU_REGISTRY_DB_NAME: r.db, TOFU_REGISTRY_DB_USER: r.role }), r.envFile))),
    );
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0, 0]);
    for (const r of runs) {
      // Only the env file's values: the application role connects with what was written.
      const fromFile = parse(readFileSync(r.envFile));
      const check = await testConnection({ settings: resolveSettings({ env: { PATH: '' }, flags: { envFile: r.envFile } }) });
      expect({ db: fromFile.TOFU_REGISTRY_DB_NAME, ok: check.ok }).toEqual({ db: r.db, ok: true });
      await dropDatabaseAndRole(r.db, r.role);
    }
  });

  test('5 setup runs at once with the same database, role and env file: all succeed', async () => {
    // The runs that lose the race find the role made by the winner and keep its password,
    // which was not in the env file when they read their settings: they must read it again.
    const db = uniqueName('setup_same');
    const role = uniqueName('setup_same_role');
    const envFile = path.join(tempDir(), '.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const results = await Promise.all(Array.from({ length: 5 }, () => setup(contextWithEnvFile(env, envFile))));
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0]);
    expect(results.filter((r) => r.user?.created)).toHaveLength(1);
    const check = await testConnection({ settings: resolveSettings({ env: { PATH: '' }, flags: { envFile } }) });
    expect(check.ok).toBe(true);
    await dropDatabaseAndRole(db, role);
  });

  test('an existing role and a new env file: exit 2 saying --rotate-password, not a failing check whose remedy keeps the password', async () => {
    const db = uniqueName('setup_newenv');
    const role = uniqueName('setup_newenv_role');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    expect((await setup(contextWithEnvFile(env, path.join(tempDir(), '.env')))).ok).toBe(true);
    const fresh = path.join(tempDir(), '.env');
    // Found out before anything changes: the grants (here: one taken away by hand) stay as they are.
    await withSuperClient(db, (c) => c.query(`REVOKE SELECT ON public.cache FROM "${role}"`));
    expect(await setup(contextWithEnvFile(env, fresh))).toMatchObject({
      ok: false,
      exitCode: 2,
      failedStep: 'create-user',
      error: { code: 'PASSWORD_UNKNOWN', exitCode: 2, hint: expect.stringContaining('--rotate-password'), message: expect.stringContaining('Nothing was changed') },
    });
    const canRead = await withSuperClient(db, async (c) => (await c.query(`SELECT has_table_privilege($1, 'public.cache', 'SELECT') AS ok`, [role])).rows[0].ok);
    expect(canRead).toBe(false);
    const rotated = await setup(contextWithEnvFile(env, fresh), { rotatePassword: true });
    expect(rotated.ok).toBe(true);
    await dropDatabaseAndRole(db, role);
  });

  test('an env file that cannot be written: exit 2 before anything is created', async () => {
    const db = uniqueName('setup_badenv');
    const role = uniqueName('setup_badenv_role');
    const envFile = path.join(tempDir(), 'no-such-folder', '.env');
    const attempt = await setup(contextWithEnvFile(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role }), envFile));
    expect(attempt).toMatchObject({ ok: false, exitCode: 2, failedStep: 'env-file', error: { code: 'ENV_FILE_UNWRITABLE', exitCode: 2 } });
    expect(attempt.database).toBeUndefined();
    expect(await databaseExists(db)).toBe(false);
    expect(await roleExists(role)).toBe(false);
  });

  test('--dry-run on a fresh name changes nothing and shows the plan', async () => {
    const db = uniqueName('setup_dry');
    const role = uniqueName('setup_dry_role');
    const envFile = path.join(tempDir(), '.env');
    const result = await setup(contextWithEnvFile(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role }), envFile), { dryRun: true });
    expect(result.plannedSql).toContain(`CREATE DATABASE "${db}"`);
    expect(result.plannedSql).toContain(`role "${role}"`);
    expect(await databaseExists(db)).toBe(false);
    expect(await roleExists(role)).toBe(false);
  });

  // One contract for every failure (issue #18): data, never a rejection; the steps that ran are kept.
  test('every failure comes back as data: a failed migration, a failed check, a closed port', async () => {
    const db = uniqueName('setup_fail');
    const role = uniqueName('setup_fail_role');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_broken.sql'), 'CREATE TABLE broken (;\n');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const migration = await setup(contextWithEnvFile(env, path.join(tempDir(), '.env')), { migrationsDir: dir });
    expect(migration).toMatchObject({ ok: false, exitCode: 5, failedStep: 'create-db', error: { code: 'MIGRATION_FAILED' } });
    if (migration.ok) throw new Error('unreachable');
    expect(migration.error).toBeInstanceOf(RegistryDbError);
    expect(migration.user).toBeUndefined();
    await dropDatabaseAndRole(db);

    // A trigger that swallows the API's inserts: create-user cannot fix it, the round trip finds it.
    const envFile = path.join(tempDir(), '.env');
    expect((await setup(contextWithEnvFile(env, envFile))).ok).toBe(true);
    await withSuperClient(db, (c) =>
      c.query(`CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
               CREATE TRIGGER swallow BEFORE INSERT ON public.modules FOR EACH ROW EXECUTE FUNCTION swallow()`),
    );
    const check = await setup(contextWithEnvFile(env, envFile));
    expect(check).toMatchObject({ ok: false, exitCode: 5, failedStep: 'test-connection', error: { code: 'ROUND_TRIP_MISMATCH', data: { check: 'round-trip' } } });
    expect(check.database?.database).toBe(db);
    expect(check.user?.role).toBe(role);
    expect(check.connection?.ok).toBe(false);
    await dropDatabaseAndRole(db, role);

    const unreachable = await setup(contextWithEnvFile(adminEnv({ TOFU_REGISTRY_DB_PORT: '1', TOFU_REGISTRY_DB_NAME: db }), path.join(tempDir(), '.env')));
    expect(unreachable).toMatchObject({ ok: false, exitCode: 3, failedStep: 'create-db', error: { code: 'CONNECTION_REFUSED' } });
  });
});
