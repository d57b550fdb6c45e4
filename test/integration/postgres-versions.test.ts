/**
 * What differs between PostgreSQL 12 and 18, on the run's server (CI runs test/integration on
 * every major; docs/postgresql-versions.md): every command as the superuser and as a CREATEDB
 * CREATEROLE admin (what managed services give), password_encryption = md5 (the default before
 * 14), schema public's defaults (15+), CREATEROLE and ADMIN OPTION (16+), role memberships
 * with several grantors (16+), and a read-only standby (in_hot_standby is reported from 14).
 */
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { testConnection } from '../../src/core/checks/test-connection.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { closeClient, connect } from '../../src/core/db/connection.js';
import { reportedParameter } from '../../src/core/db/parameters.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { bundledMigrationsDir } from '../../src/core/migrations/files.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { createUser } from '../../src/core/provision/create-user/create-user.js';
import { dropDatabaseAndRole as drop } from '../../src/core/provision/drop.js';
import { setup } from '../../src/core/provision/setup.js';
import { adminEnv, databaseExists, dropDatabaseAndRole, roleExists, sinceMajor, tempDir, testServer, uniqueName, withSuperClient, type ServerInfo } from '../support/fixtures.js';
import { startStandbyOf } from '../support/standby.js';

const server = testServer();
const major = server.majorVersion;

interface Admin {
  readonly user: string;
  readonly password: string;
}

const SUPERUSER: Admin = { user: server.superuser, password: server.password };

async function createManagedAdmin(): Promise<Admin> {
  const admin = { user: uniqueName('pv_mgr'), password: `managed-${Math.random().toString(36).slice(2)}` };
  await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin.user}" LOGIN CREATEDB CREATEROLE PASSWORD '${admin.password}'`));
  return admin;
}

function contextFor(database: string, role: string, admin: Admin, envFile = path.join(tempDir(), '.env'), on: ServerInfo = server) {
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_ADMIN_USER: admin.user, TOFU_REGISTRY_DB_ADMIN_PASSWORD: admin.password }, on);
  return { settings: resolveSettings({ env, flags: { envFile } }) };
}

/** The authentication the server asked a login for, as seen on the wire, and whether the login worked. */
async function loginMethod(user: string, password: string, database: string): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user, password, database, ssl: false });
  const asked: string[] = [];
  const wire = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
  wire.on('authenticationSASL', (message: { mechanisms: string[] }) => asked.push(`SASL ${message.mechanisms.join(',')}`));
  wire.on('authenticationMD5Password', () => asked.push('md5'));
  wire.on('authenticationCleartextPassword', () => asked.push('password'));
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return `${asked.join(' ')}: ok`;
  } catch (error) {
    return `${asked.join(' ')}: ${(error as { code?: string }).code}`;
  }
}

/** A setting as the admin's own sessions in `database` see it. */
async function sessionSetting(admin: Admin, database: string, name: string): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user: admin.user, password: admin.password, database, ssl: false });
  await client.connect();
  try {
    return (await client.query('SELECT current_setting($1) AS v', [name])).rows[0].v;
  } finally {
    await client.end();
  }
}

async function storedPassword(role: string): Promise<string> {
  return withSuperClient('postgres', async (c) => (await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0].rolpassword);
}

const SCRAM_VERIFIER = /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/;

/** The bundled migrations and one more, which adds a table after create-user ran. */
function migrationsWithOneMore(): string {
  const dir = tempDir('trdb-pv-sql-');
  for (const file of readdirSync(bundledMigrationsDir())) copyFileSync(path.join(bundledMigrationsDir(), file), path.join(dir, file));
  writeFileSync(path.join(dir, '900_added_later.sql'), 'CREATE TABLE added_later (id serial PRIMARY KEY, note text);\n');
  return dir;
}

describe(`PostgreSQL ${major}: every command, as the superuser and as a CREATEDB CREATEROLE admin`, () => {
  test("the test server's pg_hba.conf asks every login for scram-sha-256", async () => {
    const methods = await withSuperClient('postgres', async (c) => (await c.query(`SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type IN ('host', 'local')`)).rows.map((r) => r.auth_method));
    expect(methods).toEqual(['scram-sha-256']);
  });

  test.each(['superuser', 'managed admin'] as const)('%s: setup, test-connection, create-user (rotation under password_encryption = md5), migrate, drop', async (who) => {
    const admin = who === 'superuser' ? SUPERUSER : await createManagedAdmin();
    const database = uniqueName('pv_db');
    const role = uniqueName('pv_app');
    const envFile = path.join(tempDir(), '.env');
    const context = () => contextFor(database, role, admin, envFile);
    // md5 was the default before PostgreSQL 14 (and stays so on many upgraded servers): the
    // admin's sessions hash a plaintext password with md5, so only a verifier computed on
    // the client keeps SCRAM in pg_authid.
    if (who === 'managed admin') await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${admin.user}" SET password_encryption = 'md5'`));

    const first = await setup(context());
    expect(first).toMatchObject({ ok: true, exitCode: 0, database: { created: true }, user: { created: true } });
    expect(first.database?.migrations?.appliedCount).toBeGreaterThanOrEqual(3);
    if (who === 'superuser') await withSuperClient('postgres', (c) => c.query(`ALTER DATABASE "${database}" SET password_encryption = 'md5'`));
    expect(await sessionSetting(admin, database, 'password_encryption')).toBe('md5');

    const created = await storedPassword(role);
    expect(created).toMatch(SCRAM_VERIFIER);
    expect(await loginMethod(role, first.user!.password!, database)).toBe('SASL SCRAM-SHA-256: ok');

    const rotated = await createUser(context(), { rotatePassword: true });
    expect(rotated.passwordChanged).toBe(true);
    const afterRotation = await storedPassword(role);
    expect(afterRotation).toMatch(SCRAM_VERIFIER);
    expect(afterRotation).not.toBe(created);
    expect(await loginMethod(role, first.user!.password!, database)).toBe('SASL SCRAM-SHA-256: 28P01');
    expect(await loginMethod(role, rotated.password!, database)).toBe('SASL SCRAM-SHA-256: ok');

    const dir = migrationsWithOneMore();
    const migrated = await migrate(context(), { migrationsDir: dir });
    expect(migrated.results.map((r) => `${r.fileName}:${r.outcome}`)).toEqual(['900_added_later.sql:applied']);
    const app = await testConnection(context(), { migrationsDir: dir });
    expect(app.checks.find((c) => c.name === 'privileges')?.details).toMatchObject({
      tables: ['added_later', 'cache', 'modules', 'provider_platforms', 'providers', 'registry_import_sources', 'registry_modules', 'registry_providers', 'signing_keys'],
    });
    expect(app.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}:${c.status}`)).toEqual(
      who === 'managed admin' && major < 15 ? ['dns:skip', 'privileges:warn'] : ['dns:skip'],
    );
    const asAdmin = await testConnection(context(), { admin: true, migrationsDir: dir });
    expect(asAdmin).toMatchObject({ ok: true, exitCode: 0 });

    const dropped = await drop(context());
    expect(dropped).toMatchObject({ databaseDropped: true, roleDropped: true });
    expect([await databaseExists(database), await roleExists(role)]).toEqual([false, false]);
    if (admin !== SUPERUSER) await dropDatabaseAndRole(undefined, admin.user);
  });

  test('schema public: the application role may not create in it, except where an admin that does not own it cannot stop that (before 15)', async () => {
    const managed = await createManagedAdmin();
    const results: Record<string, { canCreate: boolean; warnings: readonly string[] }> = {};
    for (const [who, admin] of [['superuser', SUPERUSER], ['managed admin', managed]] as const) {
      const database = uniqueName('pv_schema');
      const role = uniqueName('pv_schema_app');
      const context = contextFor(database, role, admin);
      await createDatabase(context, { migrate: false });
      const created = await createUser(context, { passwordKept: true, writeEnv: false });
      const canCreate = await withSuperClient(database, async (c) => (await c.query(`SELECT has_schema_privilege($1, 'public', 'CREATE') AS v`, [role])).rows[0].v);
      results[who] = { canCreate, warnings: created.warnings };
      await dropDatabaseAndRole(database, role);
    }
    await dropDatabaseAndRole(undefined, managed.user);
    expect(results.superuser).toEqual({ canCreate: false, warnings: [] });
    if (major >= 15) {
      expect(results['managed admin']).toEqual({ canCreate: false, warnings: [] });
    } else {
      expect(results['managed admin']!.canCreate).toBe(true);
      expect(results['managed admin']!.warnings.join('\n')).toContain('REVOKE CREATE ON SCHEMA public FROM PUBLIC as its owner');
      expect(results['managed admin']!.warnings.join('\n')).not.toContain('PostgreSQL: no privileges');
    }
  });

  test('a role the managed admin did not create: drop takes it before 16; from 16 on it needs ADMIN OPTION (exit 4, nothing dropped)', async () => {
    const admin = await createManagedAdmin();
    const database = uniqueName('pv_foreign');
    const role = uniqueName('pv_foreign_app');
    const context = contextFor(database, role, admin);
    await createDatabase(context, { migrate: false });
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${role}" LOGIN`));
    const outcome = await drop(context).catch((error: unknown) => error);
    if (major >= 16) {
      expect(outcome).toMatchObject({ code: 'ROLE_NOT_MANAGEABLE', exitCode: 4 });
      expect((outcome as RegistryDbError).hint).toContain(`GRANT "${role}" TO "${admin.user}" WITH ADMIN OPTION`);
      expect([await databaseExists(database), await roleExists(role)]).toEqual([true, true]);
    } else {
      expect(outcome).toMatchObject({ databaseDropped: true, roleDropped: true });
    }
    await dropDatabaseAndRole(database, role);
    await dropDatabaseAndRole(undefined, admin.user);
  });

  test('drop while the application role is connected: ended by the superuser (WITH (FORCE) from 13, pg_terminate_backend before)', async () => {
    const database = uniqueName('pv_busy');
    const role = uniqueName('pv_busy_app');
    const context = contextFor(database, role, SUPERUSER);
    const made = await setup(context);
    const session = new pg.Client({ host: server.host, port: server.port, user: role, password: made.user!.password!, database, ssl: false });
    session.on('error', () => undefined);
    await session.connect();
    const dropped = await drop(context);
    expect(dropped).toMatchObject({ databaseDropped: true, roleDropped: true });
    await session.end().catch(() => undefined);
  });

  test('drop by a managed admin while the application role is connected: exit 4, nothing dropped, until it may end sessions (pg_signal_backend)', async () => {
    const admin = await createManagedAdmin();
    const database = uniqueName('pv_busy_mgr');
    const role = uniqueName('pv_busy_mgr_app');
    const context = contextFor(database, role, admin);
    const made = await setup(context);
    const session = new pg.Client({ host: server.host, port: server.port, user: role, password: made.user!.password!, database, ssl: false });
    session.on('error', () => undefined);
    await session.connect();
    const refused = await drop(context).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'SESSIONS_NOT_ENDED', exitCode: 4, sqlState: '42501' });
    expect((refused as RegistryDbError).hint).toContain(`GRANT pg_signal_backend TO "${admin.user}"`);
    expect([await databaseExists(database), await roleExists(role)]).toEqual([true, true]);
    await withSuperClient('postgres', (c) => c.query(`GRANT pg_signal_backend TO "${admin.user}"`));
    expect(await drop(context)).toMatchObject({ databaseDropped: true, roleDropped: true });
    await session.end().catch(() => undefined);
    await dropDatabaseAndRole(undefined, admin.user);
  });

  test('a membership granted twice (several grantors are kept from 16 on) is named once', async () => {
    const database = uniqueName('pv_member');
    const role = uniqueName('pv_member_app');
    const team = uniqueName('pv_team');
    const grantor = uniqueName('pv_grantor');
    const context = contextFor(database, role, SUPERUSER);
    const made = await setup(context);
    await withSuperClient('postgres', (c) =>
      c.query(`CREATE ROLE "${team}"; CREATE ROLE "${grantor}"; GRANT "${team}" TO "${grantor}" WITH ADMIN OPTION;
               GRANT "${team}" TO "${role}"; GRANT "${team}" TO "${role}" GRANTED BY "${grantor}"`),
    );
    const grants = await withSuperClient('postgres', async (c) => (await c.query('SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = $1::regrole AND member = $2::regrole', [`"${team}"`, `"${role}"`])).rows[0].n);
    expect(grants).toBe(major >= 16 ? 2 : 1);
    const checked = await testConnection({ settings: { ...context.settings, password: made.user!.password } });
    const excess = checked.checks.find((c) => c.name === 'privileges')!.warnings!.find((w) => w.includes('is a member of'))!;
    expect(excess).toContain(`is a member of ${team} and`);
    const again = await createUser(context);
    expect(again.warnings.find((w) => w.includes('is a member of'))).toBe(`Role "${role}" is a member of ${team} and may use their privileges.`);
    await dropDatabaseAndRole(database, role);
    await withSuperClient('postgres', (c) => c.query(`DROP ROLE "${team}"; DROP ROLE "${grantor}"`));
  });
});

describe(`PostgreSQL ${major}: a read-only standby is refused`, () => {
  test('in_hot_standby from 14 on, pg_is_in_recovery() before: every command that writes exits 3, test-connection names it', async () => {
    const database = uniqueName('pv_standby');
    const role = uniqueName('pv_standby_app');
    const envFile = path.join(tempDir(), '.env');
    let password = '';
    const standby = await startStandbyOf(server.binDir, async (primary) => {
      const made = await setup(contextFor(database, role, SUPERUSER, envFile, primary));
      password = made.user!.password!;
    });
    try {
      const context = () => contextFor(database, role, SUPERUSER, envFile, standby);
      const reported = await connect(context().settings, { role: 'admin' }).then(async (c) => {
        const value = reportedParameter(c.client, 'in_hot_standby');
        await closeClient(c.client);
        return value;
      });
      expect(reported).toBe(major >= 14 ? 'on' : undefined);
      const refusals = await Promise.all([
        migrate(context(), { migrationsDir: migrationsWithOneMore() }),
        createDatabase(contextFor(uniqueName('pv_standby_new'), role, SUPERUSER, envFile, standby)),
        createUser(context(), { rotatePassword: true }),
        drop(context()),
      ].map((p) => p.then(() => 'done', (error: RegistryDbError) => `${error.code}:${error.exitCode}`)));
      expect(refusals).toEqual(Array(4).fill('READ_ONLY_STANDBY:3'));
      const checked = await testConnection({ settings: { ...context().settings, password } });
      expect(checked.exitCode).toBe(3);
      expect(checked.checks.find((c) => c.status === 'fail')).toMatchObject({ name: 'server', error: { code: 'READ_ONLY_STANDBY' } });
    } finally {
      await standby.stop();
    }
  });

  sinceMajor(14)('on a primary, in_hot_standby says "off" at login', async () => {
    const c = await connect(contextFor('postgres', 'nobody', SUPERUSER).settings, { role: 'admin' });
    expect(reportedParameter(c.client, 'in_hot_standby')).toBe('off');
    await closeClient(c.client);
  });
});
