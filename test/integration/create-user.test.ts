import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parse as parseDotenv } from 'dotenv';
import { resolveSettings } from '../../src/core/config/settings.js';
import type { CoreContext } from '../../src/core/db/context.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { createUser, type CreateUserResult } from '../../src/core/provision/create-user/create-user.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { parseScramVerifier, scramSha256Verifier, scramVerifierMatches } from '../../src/core/provision/scram.js';
import {
  adminEnv,
  dropDatabaseAndRole,
  roleExists,
  tempDir,
  testServer,
  uniqueName,
  withSuperClient,
} from '../support/fixtures.js';
import { freePort, runAsPostgres, sharedTempDir, SUPERUSER_PASSWORD } from '../support/pg-server.js';

const server = testServer();

interface Admin {
  readonly user: string;
  readonly password: string;
}
const SUPERUSER: Admin = { user: server.superuser, password: server.password };

/** Settings as the CLI resolves them, re-read on every call so the env file's current contents count. */
function contextFor(database: string, role: string, envFile: string, admin: Admin = SUPERUSER): CoreContext {
  const env = adminEnv({ TOFU_REGISTRY_DB_ADMIN_USER: admin.user, TOFU_REGISTRY_DB_ADMIN_PASSWORD: admin.password });
  return { settings: resolveSettings({ env, flags: { database, user: role, envFile } }) };
}

interface Registry {
  readonly database: string;
  readonly role: string;
  readonly envFile: string;
  readonly admin: Admin;
  context(): CoreContext;
}

/** A migrated registry database created by `admin`, and names for its role and env file. */
async function registry(admin: Admin = SUPERUSER): Promise<Registry> {
  const database = uniqueName('cu_db');
  const role = uniqueName('cu_app');
  const envFile = path.join(tempDir(), '.env');
  const context = () => contextFor(database, role, envFile, admin);
  await createDatabase(context());
  return { database, role, envFile, admin, context };
}

async function createManagedAdmin(): Promise<Admin> {
  const admin = { user: uniqueName('cu_managed'), password: `managed-${Math.random().toString(36).slice(2)}` };
  await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin.user}" LOGIN CREATEDB CREATEROLE PASSWORD '${admin.password}'`));
  return admin;
}

async function login(role: string, password: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: server.host, port: server.port, user: role, password, database, ssl: false });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The SQLSTATE a promise fails with, or "ok". */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

async function loginOutcome(role: string, password: string, database: string): Promise<string> {
  return outcome(login(role, password, database).then((c) => c.end()));
}

function envOf(file: string): Record<string, string> {
  return parseDotenv(readFileSync(file));
}

async function rolPassword(role: string): Promise<string | null> {
  return withSuperClient('postgres', async (c) => (await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]?.rolpassword ?? null);
}

async function failure(promise: Promise<unknown>): Promise<RegistryDbError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryDbError);
  return error as RegistryDbError;
}

async function cleanUp(databases: readonly string[], roles: readonly string[]): Promise<void> {
  for (const database of databases) await dropDatabaseAndRole(database);
  for (const role of roles) await dropDatabaseAndRole(undefined, role);
}

describe('createUser as a superuser admin', () => {
  test('creates a LOGIN-only role with a client-side SCRAM verifier and writes the env file', async () => {
    const r = await registry();
    const result = await createUser(r.context());
    expect(result).toMatchObject({ role: r.role, database: r.database, created: true, passwordChanged: true, warnings: [] });
    expect(result.password).toMatch(/^[A-Za-z0-9]{40}$/);

    const attributes = await withSuperClient('postgres', async (c) =>
      (await c.query('SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolinherit FROM pg_roles WHERE rolname = $1', [r.role])).rows[0],
    );
    expect(attributes).toEqual({ rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolinherit: true });
    const stored = await rolPassword(r.role);
    expect(stored?.startsWith('SCRAM-SHA-256$4096:')).toBe(true);
    expect(scramVerifierMatches(result.password!, stored!)).toBe(true);

    expect(result.envFile).toMatchObject({ path: r.envFile, written: true, created: true, changedKeys: [], warnings: [] });
    expect(statSync(r.envFile).mode & 0o777).toBe(0o600);
    expect(envOf(r.envFile)).toEqual({
      TOFU_REGISTRY_DB_USER: r.role,
      TOFU_REGISTRY_DB_PASSWORD: result.password,
      TOFU_REGISTRY_DB_TYPE: 'postgres',
      TOFU_REGISTRY_DB_HOST: server.host,
      TOFU_REGISTRY_DB_PORT: String(server.port),
      TOFU_REGISTRY_DB_NAME: r.database,
      TOFU_REGISTRY_DB_SSLMODE: 'disable',
    });

    // It owns nothing: not the database, not the schema, no table or sequence.
    const owned = await withSuperClient(r.database, async (c) =>
      (
        await c.query(
          `SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)::int AS relations,
                  (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)::int AS schemas,
                  (SELECT count(*) FROM pg_database WHERE datdba = r.oid)::int AS databases
             FROM pg_roles r WHERE rolname = $1`,
          [r.role],
        )
      ).rows[0],
    );
    expect(owned).toEqual({ relations: 0, schemas: 0, databases: 0 });
    await cleanUp([r.database], [r.role]);
  });

  test('the role may read and write every table and use the sequences, and nothing more', async () => {
    const r = await registry();
    const { password } = await createUser(r.context());
    const app = await login(r.role, password!, r.database);
    try {
      // Sequences through INSERT: every id below comes from a serial column's sequence.
      const inserts: Record<string, string> = {
        modules: `INSERT INTO modules (namespace, name, provider, version) VALUES ('hashicorp', 'consul', 'aws', '1.0.0') RETURNING id`,
        providers: `INSERT INTO providers (namespace, name, version) VALUES ('hashicorp', 'aws', '5.0.0') RETURNING id`,
        cache: `INSERT INTO cache (cache_key, cache_value, expires_at) VALUES ('k', 'v', now() + interval '1 hour') RETURNING id`,
      };
      for (const [table, insert] of Object.entries(inserts)) {
        const id = (await app.query(insert)).rows[0].id as number;
        expect(id).toBeGreaterThan(0);
        expect((await app.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [id])).rows[0].n).toBe(1);
        expect((await app.query(`UPDATE ${table} SET id = id WHERE id = $1`, [id])).rowCount).toBe(1);
        expect((await app.query(`DELETE FROM ${table} WHERE id = $1`, [id])).rowCount).toBe(1);
      }
      // The migration bookkeeping is read-only for the role: the API never writes it.
      expect((await app.query(`SELECT count(*)::int AS n FROM tofu_registry_migrations`)).rows[0].n).toBeGreaterThan(0);
      expect(await outcome(app.query(`INSERT INTO tofu_registry_migrations (version, name, checksum, duration_ms) VALUES ('999', 'x', 'x', 0)`))).toBe('42501');
      expect(await outcome(app.query(`UPDATE tofu_registry_migrations SET name = 'y'`))).toBe('42501');
      expect(await outcome(app.query(`DELETE FROM tofu_registry_migrations`))).toBe('42501');
      expect(await outcome(app.query(`CREATE TEMPORARY TABLE scratch (id int)`))).toBe('ok'); // test-connection's round trip

      const forbidden = {
        'CREATE TABLE': 'CREATE TABLE public.intruder (id int)',
        'CREATE VIEW': 'CREATE VIEW public.intruder AS SELECT 1',
        'CREATE SCHEMA': 'CREATE SCHEMA intruder',
        'DROP TABLE': 'DROP TABLE modules',
        TRUNCATE: 'TRUNCATE cache',
        'ALTER TABLE': 'ALTER TABLE providers ADD COLUMN intruder int',
        'CREATE INDEX': 'CREATE INDEX intruder ON modules (name)',
        'setval (sequence UPDATE)': `SELECT setval('modules_id_seq', 1)`,
        'CREATE ROLE': 'CREATE ROLE intruder',
        'CREATE DATABASE': 'CREATE DATABASE intruder',
      };
      const results: Record<string, string> = {};
      for (const [what, sql] of Object.entries(forbidden)) results[what] = await outcome(app.query(sql));
      expect(results).toEqual(Object.fromEntries(Object.keys(forbidden).map((k) => [k, '42501'])));
    } finally {
      await app.end();
    }
    await cleanUp([r.database], [r.role]);
  });

  test('CONNECT is the role\'s alone: other roles cannot connect, and it cannot connect to another registry', async () => {
    const one = await registry();
    const two = await registry();
    const outsider = uniqueName('cu_outsider');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${outsider}" LOGIN PASSWORD 'outsider-pass'`));
    const before = await loginOutcome(outsider, 'outsider-pass', one.database);
    const first = await createUser(one.context());
    const second = await createUser(two.context());

    expect(before).toBe('ok'); // PUBLIC could connect until create-user revoked it
    expect(await loginOutcome(outsider, 'outsider-pass', one.database)).toBe('42501');
    expect(await loginOutcome(one.role, first.password!, one.database)).toBe('ok');
    expect(await loginOutcome(one.role, first.password!, two.database)).toBe('42501');
    expect(await loginOutcome(two.role, second.password!, one.database)).toBe('42501');
    expect(await loginOutcome(two.role, second.password!, two.database)).toBe('ok');
    await cleanUp([one.database, two.database], [one.role, two.role, outsider]);
  });

  test('tables and sequences that the admin creates later are covered (default privileges)', async () => {
    const r = await registry();
    const { password } = await createUser(r.context());
    await withSuperClient(r.database, (c) => c.query('CREATE TABLE added_later (id serial PRIMARY KEY, note text)'));
    const app = await login(r.role, password!, r.database);
    try {
      const id = (await app.query(`INSERT INTO added_later (note) VALUES ('a') RETURNING id`)).rows[0].id;
      expect((await app.query('UPDATE added_later SET note = $2 WHERE id = $1', [id, 'b'])).rowCount).toBe(1);
      expect((await app.query('SELECT note FROM added_later')).rows).toEqual([{ note: 'b' }]);
      expect((await app.query('DELETE FROM added_later')).rowCount).toBe(1);
      expect(await outcome(app.query('DROP TABLE added_later'))).toBe('42501');
    } finally {
      await app.end();
    }
    await cleanUp([r.database], [r.role]);
  });

  test('a second run keeps the password and the env file, and takes back privileges granted since', async () => {
    const r = await registry();
    const first = await createUser(r.context());
    const envBefore = readFileSync(r.envFile);
    const verifierBefore = await rolPassword(r.role);
    await withSuperClient(r.database, (c) =>
      c.query(`GRANT TRUNCATE ON modules TO "${r.role}"; GRANT CREATE ON SCHEMA public TO "${r.role}"; GRANT CREATE ON DATABASE "${r.database}" TO "${r.role}"`),
    );

    const second = await createUser(r.context());
    expect(second).toMatchObject({ created: false, passwordChanged: false, warnings: [] });
    expect(second.password).toBeUndefined();
    expect(second.envFile).toMatchObject({ written: false, addedKeys: [], changedKeys: [], warnings: [] });
    expect(readFileSync(r.envFile).equals(envBefore)).toBe(true);
    expect(await rolPassword(r.role)).toBe(verifierBefore);
    expect(await loginOutcome(r.role, first.password!, r.database)).toBe('ok');
    const extra = await withSuperClient(r.database, async (c) =>
      (
        await c.query(
          `SELECT has_table_privilege($1, 'modules', 'TRUNCATE') AS truncate, has_schema_privilege($1, 'public', 'CREATE') AS schema_create,
                  has_database_privilege($1, current_database(), 'CREATE') AS database_create`,
          [r.role],
        )
      ).rows[0],
    );
    expect(extra).toEqual({ truncate: false, schema_create: false, database_create: false });
    await cleanUp([r.database], [r.role]);
  });

  test('an existing role whose password the env file lacks, or has wrong, gets a warning (not a silent success)', async () => {
    const r = await registry();
    await createUser(r.context());
    writeFileSync(r.envFile, `TOFU_REGISTRY_DB_USER=${r.role}\nTOFU_REGISTRY_DB_PASSWORD=wrong-password\n`);
    const wrong = await createUser(r.context());
    expect(wrong.envFile?.warnings.join('\n')).toMatch(/is not role .* password .*--rotate-password/);
    rmSync(r.envFile);
    const missing = await createUser(r.context());
    expect(missing.envFile?.warnings.join('\n')).toMatch(/keeps its password, which .* does not hold.*--rotate-password/);
    await cleanUp([r.database], [r.role]);
  });

  test('--rotate-password: a new password in the role and the env file; the old one stops working', async () => {
    const r = await registry();
    writeFileSync(r.envFile, '# my settings\nOTHER=1\n', { mode: 0o640 });
    const first = await createUser(r.context());
    const rotated = await createUser(r.context(), { rotatePassword: true });
    expect(rotated).toMatchObject({ created: false, passwordChanged: true });
    expect(rotated.password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(rotated.password).not.toBe(first.password);
    expect(rotated.envFile).toMatchObject({ written: true, changedKeys: ['TOFU_REGISTRY_DB_PASSWORD'], addedKeys: [] });
    expect(rotated.envFile?.warnings.join('\n')).toMatch(/mode 0640/);
    expect(envOf(r.envFile).TOFU_REGISTRY_DB_PASSWORD).toBe(rotated.password);
    expect(readFileSync(r.envFile, 'utf8').startsWith('# my settings\nOTHER=1\n')).toBe(true);
    expect(statSync(r.envFile).mode & 0o777).toBe(0o640);
    expect(await loginOutcome(r.role, first.password!, r.database)).toBe('28P01');
    expect(await loginOutcome(r.role, rotated.password!, r.database)).toBe('ok');
    expect((await rolPassword(r.role))?.startsWith('SCRAM-SHA-256$4096:')).toBe(true);
    await cleanUp([r.database], [r.role]);
  });

  test('--dry-run: the planned SQL with the password redacted, and nothing changed', async () => {
    const r = await registry();
    const result = await createUser(r.context(), { dryRun: true });
    expect(result.plannedSql).toContain(`CREATE ROLE "${r.role}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '[redacted]';`);
    expect(result.plannedSql).toContain(`REVOKE CONNECT ON DATABASE "${r.database}" FROM PUBLIC;`);
    expect(result.password).toBeUndefined();
    expect(result.envFile).toMatchObject({ written: false, created: true });
    expect(await roleExists(r.role)).toBe(false);
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], []);
  });

  test('the same role from several runs at once: created once, and the env file holds its password', async () => {
    const r = await registry();
    const results = await Promise.all(Array.from({ length: 4 }, () => createUser(r.context())));
    expect(results.filter((x) => x.created)).toHaveLength(1);
    const password = envOf(r.envFile).TOFU_REGISTRY_DB_PASSWORD!;
    expect(password).toBe(results.find((x) => x.created)!.password);
    expect(await loginOutcome(r.role, password, r.database)).toBe('ok');
    await cleanUp([r.database], [r.role]);
  });

  test('several roles on one database at once (a managed admin): all succeed, each with its grants', async () => {
    // Their grants all rewrite the database's ACL, the schema's and the admin's default
    // privileges: without one lock per database, PostgreSQL failed some of them with
    // XX000 "tuple concurrently updated" (1 or 2 of 4 here).
    const admin = await createManagedAdmin();
    const r = await registry(admin);
    const roles = Array.from({ length: 4 }, () => uniqueName('cu_many'));
    const results = await Promise.allSettled(roles.map((role) => createUser(contextFor(r.database, role, path.join(tempDir(), '.env'), admin))));
    expect(results.map((x) => (x.status === 'fulfilled' ? 'ok' : (x.reason as Error).message))).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const [i, role] of roles.entries()) {
      const password = (results[i] as PromiseFulfilledResult<CreateUserResult>).value.password!;
      expect(await loginOutcome(role, password, r.database)).toBe('ok');
    }
    await cleanUp([r.database], roles);
    await cleanUp([], [admin.user]);
  });

  test('an expired password (VALID UNTIL in the past) is lifted: the role logs in again', async () => {
    const r = await registry();
    const first = await createUser(r.context());
    await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${r.role}" VALID UNTIL '2000-01-01'`));
    expect(await loginOutcome(r.role, first.password!, r.database)).toBe('28P01');
    const result = await createUser(r.context(), { rotatePassword: true });
    expect(result.warnings.join('\n')).toContain('password had expired (VALID UNTIL 2000-01-01 00:00 UTC)');
    expect(await loginOutcome(r.role, result.password!, r.database)).toBe('ok');
    await cleanUp([r.database], [r.role]);
  });

  test('a future VALID UNTIL is kept, with a warning', async () => {
    const r = await registry();
    await createUser(r.context());
    await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${r.role}" VALID UNTIL '2999-01-01 00:00+00'`));
    const result = await createUser(r.context());
    expect(result.warnings.join('\n')).toContain('stops working at 2999-01-01 00:00 UTC');
    await cleanUp([r.database], [r.role]);
  });

  test('BYPASSRLS: taken away by a superuser admin; a managed admin without it may not, and says so', async () => {
    const r = await registry();
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${r.role}" LOGIN BYPASSRLS`));
    const bySuperuser = await createUser(r.context(), { rotatePassword: true });
    expect(bySuperuser.warnings.join('\n')).toContain('set NOBYPASSRLS');
    const bypass = async () => withSuperClient('postgres', async (c) => (await c.query('SELECT rolbypassrls FROM pg_roles WHERE rolname = $1', [r.role])).rows[0].rolbypassrls);
    expect(await bypass()).toBe(false);

    const admin = await createManagedAdmin();
    const managed = await registry(admin);
    const role = managed.role;
    await createUser(managed.context());
    await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${role}" BYPASSRLS`));
    const byManaged = await createUser(managed.context());
    expect(byManaged.warnings.join('\n')).toContain(`Role "${role}" has BYPASSRLS`);
    await cleanUp([r.database, managed.database], [r.role, role, admin.user]);
  });

  test('an existing role with too much is trimmed to the spec\'s attributes', async () => {
    const r = await registry();
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${r.role}" NOLOGIN CREATEDB CREATEROLE REPLICATION`));
    const result = await createUser(r.context(), { rotatePassword: true });
    expect(result.warnings.join('\n')).toContain('set LOGIN NOCREATEDB NOCREATEROLE NOREPLICATION');
    const attributes = await withSuperClient('postgres', async (c) =>
      (await c.query('SELECT rolcanlogin, rolcreatedb, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = $1', [r.role])).rows[0],
    );
    expect(attributes).toEqual({ rolcanlogin: true, rolcreatedb: false, rolcreaterole: false, rolreplication: false });
    expect(await loginOutcome(r.role, result.password!, r.database)).toBe('ok');
    await cleanUp([r.database], [r.role]);
  });

  test('a schema that PUBLIC may create in (PostgreSQL <= 14 default) is closed', async () => {
    const r = await registry();
    await withSuperClient(r.database, (c) => c.query('GRANT CREATE ON SCHEMA public TO PUBLIC'));
    const { password } = await createUser(r.context());
    const app = await login(r.role, password!, r.database);
    expect(await outcome(app.query('CREATE TABLE public.intruder (id int)'))).toBe('42501');
    await app.end();
    await cleanUp([r.database], [r.role]);
  });
});

describe('createUser refuses, with the right exit code and nothing changed', () => {
  test('a missing registry database: exit 5 with a hint to run create-db', async () => {
    const database = uniqueName('cu_missing');
    const role = uniqueName('cu_app');
    const envFile = path.join(tempDir(), '.env');
    const error = await failure(createUser(contextFor(database, role, envFile)));
    expect(error.exitCode).toBe(5);
    expect(error.code).toBe('DATABASE_MISSING');
    expect(error.hint).toContain('create-db');
    expect(await roleExists(role)).toBe(false);
    expect(existsSync(envFile)).toBe(false);
  });

  test('an existing superuser as the application role: exit 2, not demoted', async () => {
    const r = await registry();
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${r.role}" SUPERUSER LOGIN`));
    const error = await failure(createUser(r.context()));
    expect([error.exitCode, error.code]).toEqual([2, 'ROLE_IS_SUPERUSER']);
    expect(await withSuperClient('postgres', async (c) => (await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [r.role])).rows[0].rolsuper)).toBe(true);
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], [r.role]);
  });

  test('the admin itself, or a name PostgreSQL reserves, as the application role: exit 2', async () => {
    const r = await registry();
    for (const role of [server.superuser, 'pg_intruder', 'public']) {
      const error = await failure(createUser(contextFor(r.database, role, r.envFile)));
      expect(error.exitCode).toBe(2);
    }
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], []);
  });

  test('a new password that nobody would receive (no env file, caller does not keep it): exit 2', async () => {
    const r = await registry();
    const error = await failure(createUser(r.context(), { writeEnv: false, passwordKept: false }));
    expect([error.exitCode, error.code]).toEqual([2, 'PASSWORD_WOULD_BE_LOST']);
    expect(await roleExists(r.role)).toBe(false);
    // Without a new password there is nothing to lose: an existing role is fine.
    const created = await createUser(r.context(), { writeEnv: false });
    expect(created.password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(existsSync(r.envFile)).toBe(false);
    const again = await createUser(r.context(), { writeEnv: false, passwordKept: false });
    expect(again).toMatchObject({ created: false, passwordChanged: false });
    expect(again.envFile).toBeUndefined();
    await cleanUp([r.database], [r.role]);
  });

  test('an env file path that is a folder: exit 2 before connecting, nothing created', async () => {
    const r = await registry();
    const folder = tempDir();
    const context = r.context();
    const error = await failure(createUser({ settings: { ...context.settings, envFile: folder } }));
    expect([error.exitCode, error.code]).toEqual([2, 'ENV_FILE_UNWRITABLE']);
    expect(await roleExists(r.role)).toBe(false);
    await cleanUp([r.database], []);
  });

  test('tables the admin cannot grant on: exit 4, and neither the role nor the env file appear', async () => {
    const admin = await createManagedAdmin();
    const database = uniqueName('cu_foreign');
    const role = uniqueName('cu_app');
    const envFile = path.join(tempDir(), '.env');
    // The admin owns the database, but the superuser ran the migrations and owns the tables.
    await withSuperClient('postgres', (c) => c.query(`CREATE DATABASE "${database}" OWNER "${admin.user}"`));
    await createDatabase(contextFor(database, role, envFile));
    const error = await failure(createUser(contextFor(database, role, envFile, admin)));
    expect([error.exitCode, error.code]).toEqual([4, 'GRANT_INCOMPLETE']);
    expect(error.message).toContain('modules (owner postgres)');
    expect(await roleExists(role)).toBe(false);
    expect(existsSync(envFile)).toBe(false);
    expect(readdirSync(path.dirname(envFile))).toEqual([]);
    await cleanUp([database], [role, admin.user]);
  });

  test('an admin without CREATEROLE, or that does not own the database: exit 4', async () => {
    const r = await registry();
    const weak = { user: uniqueName('cu_weak'), password: 'weak-pass-123' };
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${weak.user}" LOGIN PASSWORD '${weak.password}'`));
    await withSuperClient(r.database, (c) => c.query(`GRANT CONNECT ON DATABASE "${r.database}" TO "${weak.user}"`));
    const notOwner = await failure(createUser(contextFor(r.database, r.role, r.envFile, weak)));
    expect([notOwner.exitCode, notOwner.code]).toEqual([4, 'DATABASE_NOT_OWNED']);
    await withSuperClient('postgres', (c) => c.query(`ALTER DATABASE "${r.database}" OWNER TO "${weak.user}"`));
    const noCreateRole = await failure(createUser(contextFor(r.database, r.role, r.envFile, weak)));
    expect([noCreateRole.exitCode, noCreateRole.code]).toEqual([4, 'ROLE_CREATE_DENIED']);
    expect(await roleExists(r.role)).toBe(false);
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], [weak.user]);
  });
});

describe('createUser as a CREATEDB CREATEROLE admin that is not a superuser (managed services)', () => {
  test('creates, grants, covers later tables and rotates; the admin holds ADMIN OPTION on 16+', async () => {
    const admin = await createManagedAdmin();
    if (server.majorVersion >= 16) {
      // Some services set this; it makes the admin inherit the app role, never the other way round.
      await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${admin.user}" SET createrole_self_grant = 'set, inherit'`));
    }
    const r = await registry(admin);
    const created = await createUser(r.context());
    expect(created).toMatchObject({ created: true, passwordChanged: true });
    if (server.majorVersion >= 15) {
      expect(created.warnings).toEqual([]);
    } else {
      // Schema public belongs to the bootstrap superuser: no GRANT on it is sent (the server only
      // answered it with a warning), and what that leaves is said with the owner's statements.
      expect(created.warnings).toHaveLength(2);
      expect(created.warnings[0]).toContain(`as "${server.superuser}" run GRANT USAGE ON SCHEMA public TO "${r.role}"`);
      expect(created.warnings[1]).toContain('run REVOKE CREATE ON SCHEMA public FROM PUBLIC as its owner');
    }
    expect(await loginOutcome(r.role, created.password!, r.database)).toBe('ok');

    const memberships = await withSuperClient('postgres', async (c) =>
      (
        await c.query(
          `SELECT m.roleid::regrole::text AS role, m.member::regrole::text AS member, m.admin_option FROM pg_auth_members m
            WHERE m.roleid = $1::regrole OR m.member = $1::regrole ORDER BY 1, 2`,
          [`"${r.role}"`],
        )
      ).rows,
    );
    // The app role belongs to no role (the admin may belong to it); on 16+ its creator holds ADMIN OPTION on it,
    // which is what lets the admin rotate its password later.
    expect(memberships.filter((m) => m.member === r.role)).toEqual([]);
    if (server.majorVersion >= 16) expect(memberships).toContainEqual({ role: r.role, member: admin.user, admin_option: true });

    const app = await login(r.role, created.password!, r.database);
    await login(admin.user, admin.password, r.database).then(async (c) => {
      await c.query('CREATE TABLE added_later (id serial, v text)');
      await c.end();
    });
    expect(await outcome(app.query(`INSERT INTO added_later (v) VALUES ('x')`))).toBe('ok');
    expect(await outcome(app.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('a', 'b', 'c', '1')`))).toBe('ok');
    // Before 15, PUBLIC may create in schema public, and an admin that does not own it cannot stop that (warned above).
    expect(await outcome(app.query('CREATE TABLE intruder (id int)'))).toBe(server.majorVersion >= 15 ? '42501' : 'ok');
    // A table the role owns is one the admin cannot grant on: create-user would stop at it (exit 4).
    if (server.majorVersion < 15) await app.query('DROP TABLE intruder');
    await app.end();

    const rotated = await createUser(r.context(), { rotatePassword: true });
    expect(rotated.passwordChanged).toBe(true);
    expect(await loginOutcome(r.role, created.password!, r.database)).toBe('28P01');
    expect(await loginOutcome(r.role, rotated.password!, r.database)).toBe('ok');
    await cleanUp([r.database], [r.role, admin.user]);
  });

  test('a role it did not create: grants are re-applied; rotating needs ADMIN OPTION on 16+ (exit 4, nothing changed)', async () => {
    const admin = await createManagedAdmin();
    const r = await registry(admin);
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${r.role}" LOGIN PASSWORD 'set-by-superuser-1'`));
    writeFileSync(r.envFile, `TOFU_REGISTRY_DB_USER=${r.role}\nTOFU_REGISTRY_DB_PASSWORD=set-by-superuser-1\n`);
    const envBefore = readFileSync(r.envFile);

    const regrant = await createUser(r.context());
    expect(regrant).toMatchObject({ created: false, passwordChanged: false });
    const app = await login(r.role, 'set-by-superuser-1', r.database);
    expect(await outcome(app.query('SELECT count(*) FROM modules'))).toBe('ok');
    await app.end();

    const envAfterRegrant = readFileSync(r.envFile);
    // A regrant keeps the password the file holds (it only adds the missing connection variables).
    expect(parseDotenv(envAfterRegrant).TOFU_REGISTRY_DB_PASSWORD).toBe(parseDotenv(envBefore).TOFU_REGISTRY_DB_PASSWORD);
    const rotation = createUser(r.context(), { rotatePassword: true });
    if (server.majorVersion >= 16) {
      const error = await failure(rotation);
      expect([error.exitCode, error.code]).toEqual([4, 'ROLE_NOT_MANAGEABLE']);
      expect(error.hint).toContain(`GRANT "${r.role}" TO "${admin.user}" WITH ADMIN OPTION`);
      expect(await loginOutcome(r.role, 'set-by-superuser-1', r.database)).toBe('ok');
      expect(readFileSync(r.envFile).equals(envAfterRegrant)).toBe(true);
      expect(readdirSync(path.dirname(r.envFile))).toEqual(['.env']);

      await withSuperClient('postgres', (c) => c.query(`GRANT "${r.role}" TO "${admin.user}" WITH ADMIN OPTION`));
      const granted = await createUser(r.context(), { rotatePassword: true });
      expect(await loginOutcome(r.role, granted.password!, r.database)).toBe('ok');
    } else {
      // PostgreSQL 15: CREATEROLE may alter any role that is not a superuser.
      const rotated = await rotation;
      expect(await loginOutcome(r.role, rotated.password!, r.database)).toBe('ok');
    }
    await cleanUp([r.database], [r.role, admin.user]);
  });

  test('a role it may not trim (REPLICATION needs more than CREATEROLE): exit 4, role unchanged', async () => {
    const admin = await createManagedAdmin();
    const r = await registry(admin);
    await withSuperClient('postgres', (c) =>
      c.query(`CREATE ROLE "${r.role}" LOGIN REPLICATION PASSWORD 'replicator-1'; GRANT "${r.role}" TO "${admin.user}" WITH ADMIN OPTION`),
    );
    const error = await failure(createUser(r.context()));
    expect([error.exitCode, error.code]).toEqual([4, 'ROLE_NOT_MANAGEABLE']);
    expect(error.message).toContain('42501');
    expect(await withSuperClient('postgres', async (c) => (await c.query('SELECT rolreplication FROM pg_roles WHERE rolname = $1', [r.role])).rows[0].rolreplication)).toBe(true);
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], [r.role, admin.user]);
  });

  test('public schema owned by someone else with CREATE for PUBLIC: a warning naming the fix', async () => {
    const admin = await createManagedAdmin();
    const r = await registry(admin);
    await withSuperClient(r.database, (c) => c.query(`ALTER SCHEMA public OWNER TO "${server.superuser}"; GRANT CREATE ON SCHEMA public TO PUBLIC`));
    const result = await createUser(r.context());
    expect(result.warnings.join('\n')).toContain('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await cleanUp([r.database], [r.role, admin.user]);
  });
});

/**
 * Makes COMMIT of create-user's transaction fail: its GRANTs fire an event trigger that
 * queues a deferred constraint trigger, which runs at COMMIT and either raises (the
 * server answers: rolled back) or kills its own backend (the answer never arrives).
 */
async function injectCommitFailure(database: string, how: 'raise' | 'disconnect' | 'raise-at-once'): Promise<void> {
  const body =
    how === 'disconnect'
      ? 'PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL;'
      : `RAISE EXCEPTION 'injected failure'; RETURN NULL;`;
  await withSuperClient(database, (c) =>
    c.query(`
      CREATE TABLE commit_probe (id int);
      CREATE FUNCTION commit_probe_fail() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN ${body} END$$;
      CREATE CONSTRAINT TRIGGER commit_probe_fail AFTER INSERT ON commit_probe
        ${how === 'raise-at-once' ? 'NOT DEFERRABLE' : 'DEFERRABLE INITIALLY DEFERRED'} FOR EACH ROW EXECUTE FUNCTION commit_probe_fail();
      CREATE FUNCTION commit_probe_queue() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO commit_probe VALUES (1); END$$;
      CREATE EVENT TRIGGER commit_probe_queue ON ddl_command_end WHEN TAG IN ('GRANT') EXECUTE FUNCTION commit_probe_queue();
    `),
  );
}

describe('the role and the env file change together', () => {
  test('COMMIT refused by the server after the env file was renamed: the previous env file comes back', async () => {
    const r = await registry();
    const first = await createUser(r.context());
    const envBefore = readFileSync(r.envFile);
    await injectCommitFailure(r.database, 'raise');
    const error = await failure(createUser(r.context(), { rotatePassword: true }));
    expect(error.message).toContain('injected failure');
    expect(error.hint).toContain('env file restored');
    expect(readFileSync(r.envFile).equals(envBefore)).toBe(true);
    expect(await loginOutcome(r.role, first.password!, r.database)).toBe('ok');
    expect(readdirSync(path.dirname(r.envFile))).toEqual(['.env']);
    await cleanUp([r.database], [r.role]);
  });

  test('connection lost at COMMIT: the new password is tried, fails, and the env file is restored', async () => {
    const r = await registry();
    await injectCommitFailure(r.database, 'disconnect');
    const error = await failure(createUser(r.context()));
    expect(error.exitCode).toBe(3);
    expect(error.hint).toContain('env file restored');
    expect(await roleExists(r.role)).toBe(false);
    expect(existsSync(r.envFile)).toBe(false);
    await cleanUp([r.database], []);
  });

  test('a statement failing inside the transaction: no role, env file untouched, no temporary file left', async () => {
    const r = await registry();
    writeFileSync(r.envFile, 'KEEP=me\n');
    await injectCommitFailure(r.database, 'raise-at-once');
    const error = await failure(createUser(r.context()));
    expect(error.message).toContain('injected failure');
    expect(await roleExists(r.role)).toBe(false);
    expect(readFileSync(r.envFile, 'utf8')).toBe('KEEP=me\n');
    expect(readdirSync(path.dirname(r.envFile))).toEqual(['.env']);
    await cleanUp([r.database], []);
  });
});

describe('the SCRAM verifier against the server', () => {
  test('PostgreSQL hashing a known password and the client-side verifier agree, given the same salt', async () => {
    const role = uniqueName('cu_scram');
    const stored = await withSuperClient('postgres', async (c) => {
      await c.query(`SET password_encryption = 'scram-sha-256'`);
      await c.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'Known-Passw0rd-For-The-Test'`);
      return (await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0].rolpassword as string;
    });
    const parsed = parseScramVerifier(stored)!;
    expect(parsed.iterations).toBe(4096);
    expect(scramSha256Verifier('Known-Passw0rd-For-The-Test', parsed.salt, parsed.iterations)).toBe(stored);
    await dropDatabaseAndRole(undefined, role);
  });
});

/** A read-only standby: a fresh cluster holding the registry database, restarted with standby.signal. */
async function startStandby(database: string): Promise<{ port: number; stop(): void }> {
  const root = sharedTempDir('trdb-standby-');
  const { uid, gid } = statSync(root);
  const data = path.join(root, 'data');
  const pwfile = path.join(root, 'pw');
  writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`);
  chownSync(pwfile, uid, gid);
  const bin = (name: string) => path.join(server.binDir, name);
  const init = runAsPostgres(bin('initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync']);
  if (init.status !== 0) throw new Error(init.output);
  const single = spawnSync(bin('postgres'), ['--single', '-D', data, 'postgres'], { input: `CREATE DATABASE "${database}";\n`, uid, gid, encoding: 'utf8' });
  if (single.status !== 0) throw new Error(single.stderr);
  const port = await freePort();
  appendFileSync(path.join(data, 'postgresql.conf'), `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${root}'\nfsync = off\n`);
  writeFileSync(path.join(data, 'standby.signal'), '');
  chownSync(path.join(data, 'standby.signal'), uid, gid);
  const start = runAsPostgres(bin('pg_ctl'), ['-D', data, '-l', path.join(root, 'log'), '-w', '-t', '60', 'start']);
  if (start.status !== 0) throw new Error(start.output);
  return {
    port,
    stop() {
      runAsPostgres(bin('pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

test('a read-only standby is refused with exit 3 before anything is attempted', async () => {
  const database = uniqueName('cu_standby');
  const standby = await startStandby(database);
  try {
    const envFile = path.join(tempDir(), '.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_PORT: String(standby.port) });
    const error = await failure(createUser({ settings: resolveSettings({ env, flags: { database, user: 'cu_standby_app', envFile } }) }));
    expect([error.exitCode, error.code]).toEqual([3, 'READ_ONLY_STANDBY']);
    expect(existsSync(envFile)).toBe(false);
  } finally {
    standby.stop();
  }
});
