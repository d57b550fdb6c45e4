import path from 'node:path';
import {
  adminEnv,
  databaseExists,
  dropDatabaseAndRole,
  roleExists,
  runCli,
  superClient,
  tempDir,
  uniqueName,
  withSuperClient,
} from '../support/fixtures.js';

const envFileArg = () => ['--env-file', path.join(tempDir(), '.env')];

async function provision(db: string, role: string): Promise<void> {
  await withSuperClient('postgres', async (c) => {
    await c.query(`CREATE DATABASE "${db}"`);
    await c.query(`CREATE ROLE "${role}" LOGIN`);
  });
  await withSuperClient(db, (c) => c.query(`GRANT CONNECT ON DATABASE "${db}" TO "${role}"; CREATE TABLE t (id int); GRANT SELECT ON t TO "${role}"`));
}

describe('tofu-registry-db drop (built binary)', () => {
  test('without --yes off a terminal: exit 2, nothing dropped; --dry-run prints the plan and drops nothing', async () => {
    const db = uniqueName('drop_confirm');
    const role = uniqueName('drop_role');
    await provision(db, role);
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const refused = await runCli([...envFileArg(), 'drop'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('needs --yes');
    const dry = await runCli([...envFileArg(), 'drop', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE);`);
    expect(dry.stdout).toContain(`DROP ROLE IF EXISTS "${role}";`);
    expect(await databaseExists(db)).toBe(true);
    expect(await roleExists(role)).toBe(true);
    await dropDatabaseAndRole(db, role);
  });

  test('--yes drops the database (ending other sessions) and the role; a second run is a no-op', async () => {
    const db = uniqueName('drop_yes');
    const role = uniqueName('drop_role');
    await provision(db, role);
    const session = await superClient(db);
    session.on('error', () => undefined);
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const dropped = await runCli([...envFileArg(), '--json', '--yes', 'drop'], env);
    expect(dropped.code).toBe(0);
    expect(JSON.parse(dropped.stdout)).toMatchObject({ ok: true, command: 'drop', databaseDropped: true, roleDropped: true });
    expect(await databaseExists(db)).toBe(false);
    expect(await roleExists(role)).toBe(false);
    await session.end().catch(() => undefined);
    const again = await runCli([...envFileArg(), '-y', 'drop'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('did not exist');
  });

  test.each(['postgres', 'template0', 'template1'])('never drops %s', async (name) => {
    const result = await runCli([...envFileArg(), '--yes', 'drop', '--name', name], adminEnv({ TOFU_REGISTRY_DB_USER: uniqueName('r') }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Refusing to drop "${name}"`);
    expect(await databaseExists(name)).toBe(true);
  });

  test('a managed admin that may not drop the role: exit 4 before anything is dropped (the database went first before)', async () => {
    const db = uniqueName('drop_managed');
    const role = uniqueName('drop_foreign_role');
    const admin = uniqueName('drop_mgr');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB CREATEROLE PASSWORD 'managed-admin-pass'`));
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'managed-admin-pass' });
    expect((await runCli([...envFileArg(), 'create-db', '--no-migrate'], env)).code).toBe(0);
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${role}" LOGIN`)); // created by a superuser, not by the admin
    const version = await withSuperClient('postgres', async (c) => Number((await c.query('SHOW server_version_num')).rows[0].server_version_num));
    const result = await runCli([...envFileArg(), '--json', 'drop', '--yes'], env);
    if (version >= 160000) {
      expect(result.code).toBe(4);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'ROLE_NOT_MANAGEABLE', hint: expect.stringContaining(`GRANT "${role}" TO "${admin}" WITH ADMIN OPTION`) } });
      expect(await databaseExists(db)).toBe(true);
      expect(await roleExists(role)).toBe(true);
    } else {
      expect(result.code).toBe(0); // before PostgreSQL 16, CREATEROLE may drop any role but a superuser
    }
    await dropDatabaseAndRole(db, role);
    await dropDatabaseAndRole(undefined, admin);
  });

  test('refuses to drop a superuser or the admin itself', async () => {
    const db = uniqueName('drop_super');
    const result = await runCli([...envFileArg(), '--yes', 'drop', '--name', db, '--user', 'postgres'], adminEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Refusing to drop role "postgres"');
    expect(await roleExists('postgres')).toBe(true);
  });

  test('keeps a role that owns objects in another database, and says so', async () => {
    const db = uniqueName('drop_owner');
    const other = uniqueName('drop_other');
    const role = uniqueName('drop_role');
    await provision(db, role);
    await withSuperClient('postgres', (c) => c.query(`CREATE DATABASE "${other}"`));
    await withSuperClient(other, (c) => c.query(`CREATE TABLE owned (id int); ALTER TABLE owned OWNER TO "${role}"`));
    const result = await runCli([...envFileArg(), '--json', '--yes', 'drop'], adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role }));
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ databaseDropped: true, roleDropped: false });
    expect(doc.roleKept).toContain(other);
    expect(await roleExists(role)).toBe(true);
    await withSuperClient('postgres', (c) => c.query(`DROP DATABASE "${other}"`));
    await dropDatabaseAndRole(undefined, role);
  });
});
