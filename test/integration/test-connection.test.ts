import { CHECK_NAMES, testConnection, type CheckName, type TestConnectionResult } from '../../src/core/checks/test-connection.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { discardPendingLogin, startLogin } from '../../src/core/checks/session.js';
import { silentLogger } from '../../src/core/logger.js';
import { bundledMigrationsDir, loadMigrationFiles } from '../../src/core/migrations/files.js';
import { checkPrivileges, checkSchema } from '../../src/core/checks/schema.js';
import { closeClient, connect } from '../../src/core/db/connection.js';
import { provisionRegistry, type Registry } from '../support/app-role.js';
import { adminEnv, contextFor, dropDatabaseAndRole, sinceMajor, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

function check(result: TestConnectionResult, name: CheckName) {
  const found = result.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check`);
  return found;
}

/** The first failing check, and that every check after it was skipped. */
function expectFailureAt(result: TestConnectionResult, name: CheckName, exitCode: number) {
  expect(result.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
  const index = CHECK_NAMES.indexOf(name);
  const statuses = result.checks.map((c) => c.status);
  expect(statuses[index]).toBe('fail');
  expect(statuses.slice(0, index)).not.toContain('fail');
  expect(statuses.slice(index + 1)).toEqual(Array(CHECK_NAMES.length - index - 1).fill('skip'));
  for (const later of result.checks.slice(index + 1)) expect(later.summary).toBe(`skipped: ${name} failed`);
  expect(result.ok).toBe(false);
  expect(result.exitCode).toBe(exitCode);
  const failed = result.checks[index]!;
  expect(failed.details?.tried).toEqual(expect.any(String));
  expect(failed.error?.hint).toEqual(expect.any(String));
  return failed;
}

/** Every row of the registry tables and every relation in the database: compare before and after. */
async function snapshot(registry: Registry) {
  return registry.asSuperuser(async (c) => ({
    modules: (await c.query('SELECT * FROM modules ORDER BY id')).rows,
    providers: (await c.query('SELECT * FROM providers ORDER BY id')).rows,
    cache: (await c.query('SELECT * FROM cache ORDER BY id')).rows,
    relations: (await c.query(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1`)).rows.map((r) => r.name as string),
  }));
}

describe('testConnection against the test server', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry();
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('a provisioned application role passes all ten checks, each with its duration', async () => {
    const result = await testConnection(registry.context());
    expect(result).toMatchObject({ ok: true, exitCode: 0, role: 'app', user: registry.user, database: registry.database, host: '127.0.0.1', sslMode: 'disable' });
    expect(result.checks.map((c) => `${c.name}:${c.status}`)).toEqual([
      'configuration:pass', 'dns:skip', 'tcp:pass', 'tls:pass', 'authentication:pass',
      'database:pass', 'server:pass', 'schema:pass', 'privileges:pass', 'round-trip:pass',
    ]);
    for (const c of result.checks) expect(c.durationMs >= 0 && c.durationMs < 60_000).toBe(true);
    expect(check(result, 'authentication').durationMs).toBeGreaterThan(0); // measured, not a default
    expect(check(result, 'dns').summary).toBe('not needed: 127.0.0.1 is an IP address');
    expect(check(result, 'tcp').summary).toBe(`127.0.0.1:${testServer().port} accepts connections`);
    expect(check(result, 'tls').details).toMatchObject({ sslMode: 'disable', encrypted: false });
    expect(check(result, 'server').details).toMatchObject({ versionNum: expect.any(Number), inRecovery: false });
    expect(check(result, 'privileges').summary).toContain('has nothing more');
    expect(JSON.stringify(result)).not.toContain(registry.password);
  });

  test('localhost: the dns check resolves it; a Unix socket: dns and tls do not apply', async () => {
    const byName = await testConnection(registry.context({ TOFU_REGISTRY_DB_HOST: 'localhost' }));
    expect(byName.ok).toBe(true);
    expect(check(byName, 'dns').status).toBe('pass');
    expect(check(byName, 'dns').details?.addresses).toContain('127.0.0.1');

    const bySocket = await testConnection(registry.context({ TOFU_REGISTRY_DB_HOST: testServer().socketDir }));
    expect(bySocket.ok).toBe(true);
    expect(check(bySocket, 'dns').status).toBe('skip');
    expect(check(bySocket, 'tcp').summary).toContain(`${testServer().socketDir}/.s.PGSQL.${testServer().port} accepts connections`);
    expect(check(bySocket, 'tls').status).toBe('skip');
    expect(check(bySocket, 'tls').summary).toContain('Unix-socket');
  });

  test('unknown host: dns fails with exit 3 and the rest is skipped', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_HOST: 'no-such-host.invalid' }));
    const dns = expectFailureAt(result, 'dns', 3);
    expect(dns.error?.code).toBe('DNS_FAILED');
    expect(dns.summary).toContain('no-such-host.invalid');
    expect(String(dns.details?.answer)).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(dns.error?.hint).toContain('TOFU_REGISTRY_DB_HOST');
  });

  test('closed port: tcp fails with ECONNREFUSED, exit 3', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: '1' }));
    const tcp = expectFailureAt(result, 'tcp', 3);
    expect(tcp.error?.code).toBe('CONNECTION_REFUSED');
    expect(tcp.summary).toContain('127.0.0.1:1');
    expect(tcp.details?.answer).toMatch(/^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:1/);
    expect(tcp.details?.tried).toContain('TCP connection to 127.0.0.1:1');
    expect(tcp.error?.hint).toContain('TOFU_REGISTRY_DB_PORT');
  });

  test('--wait retries a closed port for the given time, then reports the tcp failure', async () => {
    const started = Date.now();
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: '1' }), { waitSeconds: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.waitedMs).toBeGreaterThanOrEqual(900);
    expectFailureAt(result, 'tcp', 3);
  });

  test('no password configured: configuration fails naming TOFU_REGISTRY_DB_PASSWORD, exit 2', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PASSWORD: undefined }));
    const configuration = expectFailureAt(result, 'configuration', 2);
    expect(configuration.error?.code).toBe('PASSWORD_MISSING');
    expect(configuration.summary).toContain('TOFU_REGISTRY_DB_PASSWORD');
    expect(configuration.error?.hint).toContain('create-user');
  });

  test('wrong password: authentication fails with 28P01, exit 4, and the password appears nowhere', async () => {
    const wrong = 'Wrong-Password-0123456789abcdef';
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PASSWORD: wrong }));
    const auth = expectFailureAt(result, 'authentication', 4);
    expect(auth.error).toMatchObject({ code: 'AUTH_FAILED', sqlstate: '28P01' });
    expect(auth.details?.answer).toContain('SQLSTATE 28P01: password authentication failed for user');
    expect(auth.error?.hint).toContain('TOFU_REGISTRY_DB_PASSWORD');
    expect(check(result, 'tls').status).toBe('pass');
    expect(JSON.stringify(result)).not.toContain(wrong);
  });

  test('a role that does not exist: 28P01 under password authentication, and the message says it may be missing', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_USER: uniqueName('ghost') }));
    const auth = expectFailureAt(result, 'authentication', 4);
    expect(auth.error?.sqlstate).toBe('28P01');
    expect(auth.summary).toContain('or the role does not exist');
    expect(auth.error?.hint).toContain('create-user');
  });

  test('a database that does not exist: login passes, database fails with 3D000, exit 5, hint create-db', async () => {
    const missing = uniqueName('nodb');
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_NAME: missing }));
    expect(check(result, 'authentication').status).toBe('pass');
    const database = expectFailureAt(result, 'database', 5);
    expect(database.error).toMatchObject({ code: 'DATABASE_MISSING', sqlstate: '3D000' });
    expect(database.summary).toContain(missing);
    expect(database.error?.hint).toContain('create-db');
  });

  test('no CONNECT on the database: database fails with 42501, exit 4, hint create-user', async () => {
    const other = await provisionRegistry();
    try {
      await other.asSuperuser((c) => c.query(`REVOKE CONNECT ON DATABASE "${other.database}" FROM "${other.user}"`));
      const result = await testConnection(other.context());
      expect(check(result, 'authentication').status).toBe('pass');
      const database = expectFailureAt(result, 'database', 4);
      expect(database.error?.sqlstate).toBe('42501');
      expect(database.summary).toContain('may not connect');
      expect(database.error?.hint).toContain('create-user');
    } finally {
      await other.drop();
    }
  });

  test('tables missing: schema fails with exit 5, hint migrate', async () => {
    const bare = await provisionRegistry({ migrate: false });
    try {
      const result = await testConnection(bare.context());
      const schema = expectFailureAt(result, 'schema', 5);
      expect(schema.error?.code).toBe('SCHEMA_MISSING');
      expect(schema.summary).toContain('modules, providers, cache');
      expect(schema.error?.hint).toContain('migrate');
    } finally {
      await bare.drop();
    }
  });

  test('a pending migration: schema fails with exit 5 naming it, hint migrate', async () => {
    const behind = await provisionRegistry();
    try {
      await behind.asSuperuser((c) => c.query(`DELETE FROM tofu_registry_migrations WHERE version = '2'`));
      const result = await testConnection(behind.context());
      const schema = expectFailureAt(result, 'schema', 5);
      expect(schema.error?.code).toBe('MIGRATIONS_PENDING');
      expect(schema.summary).toContain('2_search_indexes');
      expect(schema.error?.hint).toContain('tofu-registry-db migrate');
    } finally {
      await behind.drop();
    }
  });

  test('a database that has not had the registry protocol migrations: schema says they are pending (not that tables were dropped)', async () => {
    const behind = await provisionRegistry();
    try {
      await behind.asSuperuser((c) =>
        c.query(`DROP TABLE provider_platforms, registry_providers, registry_modules, signing_keys, registry_import_sources CASCADE;
                 DELETE FROM tofu_registry_migrations WHERE version::int >= 4`),
      );
      const result = await testConnection(behind.context());
      const schema = expectFailureAt(result, 'schema', 5);
      expect(schema.error?.code).toBe('MIGRATIONS_PENDING');
      expect(schema.summary).toContain('4_registry_protocol_data');
      expect(schema.error?.hint).toContain('tofu-registry-db migrate');
    } finally {
      await behind.drop();
    }
  });

  test('the new tables are checked like the old ones; a registry function the role may not call fails privileges', async () => {
    const registry = await provisionRegistry();
    try {
      const passing = await testConnection(registry.context());
      expect(check(passing, 'schema').summary).toContain('provider_platforms, registry_providers, registry_modules, signing_keys, registry_import_sources');
      expect(check(passing, 'privileges').summary).toContain('call all 4 registry functions');
      await registry.asSuperuser((c) => c.query(`REVOKE DELETE ON signing_keys FROM "${registry.user}"`));
      expect(expectFailureAt(await testConnection(registry.context()), 'privileges', 4).summary).toContain('DELETE on table signing_keys');
      await registry.asSuperuser((c) => c.query(`GRANT DELETE ON signing_keys TO "${registry.user}"; REVOKE EXECUTE ON FUNCTION registry_provider_download(text, text, text, text, text) FROM PUBLIC`));
      const privileges = expectFailureAt(await testConnection(registry.context()), 'privileges', 4);
      expect(privileges.summary).toContain('EXECUTE on function registry_provider_download(text, text, text, text, text)');
      expect(privileges.error?.hint).toBe(`As the admin: GRANT EXECUTE ON FUNCTION registry_provider_download(text, text, text, text, text) TO "${registry.user}".`);
    } finally {
      await registry.drop();
    }
  });

  test('a revoked grant on one table: privileges fails with exit 4 naming the table and privilege', async () => {
    const revoked = await provisionRegistry();
    try {
      await revoked.asSuperuser((c) => c.query(`REVOKE DELETE ON providers FROM "${revoked.user}"`));
      const result = await testConnection(revoked.context());
      const privileges = expectFailureAt(result, 'privileges', 4);
      expect(privileges.error?.code).toBe('PRIVILEGE_MISSING');
      expect(privileges.summary).toContain('DELETE on table providers');
      expect(privileges.summary).not.toContain('modules');
      expect(privileges.error?.hint).toContain('create-user');

      await revoked.asSuperuser((c) => c.query(`GRANT DELETE ON providers TO "${revoked.user}"; REVOKE USAGE ON SEQUENCE modules_id_seq FROM "${revoked.user}"`));
      const sequence = expectFailureAt(await testConnection(revoked.context()), 'privileges', 4);
      expect(sequence.summary).toContain('USAGE on sequence modules_id_seq');

      await revoked.asSuperuser((c) => c.query(`GRANT USAGE ON SEQUENCE modules_id_seq TO "${revoked.user}"; REVOKE USAGE ON SCHEMA public FROM PUBLIC, "${revoked.user}"`));
      const schemaUsage = expectFailureAt(await testConnection(revoked.context()), 'privileges', 4);
      expect(schemaUsage.summary).toContain('USAGE on schema public');
    } finally {
      await revoked.drop();
    }
  });

  test('an over-privileged role: warnings, not a failure (exit 0)', async () => {
    const generous = await provisionRegistry();
    try {
      await generous.asSuperuser((c) =>
        c.query(`ALTER ROLE "${generous.user}" CREATEDB; GRANT CREATE ON SCHEMA public TO "${generous.user}"; ALTER TABLE cache OWNER TO "${generous.user}"`),
      );
      const result = await testConnection(generous.context());
      expect(result.ok).toBe(true);
      expect(result.exitCode).toBe(0);
      const privileges = check(result, 'privileges');
      expect(privileges.status).toBe('warn');
      expect(privileges.summary).toContain('has more than it needs');
      const warnings = privileges.warnings!.join('\n');
      expect(warnings).toContain('has CREATEDB');
      expect(warnings).toContain('owns cache');
      expect(warnings).toContain('CREATE in schema public');
      expect(check(result, 'round-trip').status).toBe('pass');
    } finally {
      await generous.drop();
    }
  });

  test('a superuser as the application role: warned about', async () => {
    const server = testServer();
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_USER: server.superuser, TOFU_REGISTRY_DB_PASSWORD: server.password }));
    expect(result.ok).toBe(true);
    expect(check(result, 'privileges').status).toBe('warn');
    // The test server's superuser is the bootstrap one: a role of the API's own, never NOSUPERUSER.
    expect(check(result, 'privileges').warnings?.join('\n')).toContain('is the bootstrap superuser');
    expect(check(result, 'privileges').warnings?.join('\n')).not.toContain('NOSUPERUSER');
  });

  test('the round trip leaves no rows and no tables behind, and existing rows are untouched', async () => {
    await registry.asSuperuser((c) =>
      c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('hashicorp', 'consul', 'aws', '1.0.0');
               INSERT INTO providers (namespace, name, version) VALUES ('hashicorp', 'aws', '5.0.0');
               INSERT INTO cache (cache_key, cache_value, expires_at) VALUES ('k', 'v', now() + interval '1 hour')`),
    );
    const before = await snapshot(registry);
    const results = await Promise.all([testConnection(registry.context()), testConnection(registry.context())]);
    for (const result of results) expect(check(result, 'round-trip').status).toBe('pass');
    expect(check(results[0]!, 'round-trip').details?.steps).toEqual(expect.arrayContaining(['create a temporary table', 'insert into modules', 'delete from cache']));
    expect(await snapshot(registry)).toEqual(before);
  });

  test('a round trip that fails (row-level security) is explained, exit 4, and still leaves nothing behind', async () => {
    const guarded = await provisionRegistry();
    try {
      await guarded.asSuperuser((c) => c.query('ALTER TABLE providers ENABLE ROW LEVEL SECURITY'));
      const before = await snapshot(guarded);
      const result = await testConnection(guarded.context());
      const roundTrip = expectFailureAt(result, 'round-trip', 4);
      expect(roundTrip.summary).toContain('insert into providers');
      expect(roundTrip.details?.answer).toContain('row-level security');
      expect(roundTrip.details?.done).toContain('delete from modules');
      expect(await snapshot(guarded)).toEqual(before);
    } finally {
      await guarded.drop();
    }
  });

  test('a trigger that swallows a write is caught by its row count: the step is named, exit 5, nothing left behind', async () => {
    const triggered = await provisionRegistry();
    try {
      await triggered.asSuperuser((c) =>
        c.query(`CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
                 CREATE TRIGGER skip_update BEFORE UPDATE ON cache FOR EACH ROW EXECUTE FUNCTION skip_update()`),
      );
      const before = await snapshot(triggered);
      const result = await testConnection(triggered.context());
      const roundTrip = expectFailureAt(result, 'round-trip', 5);
      expect(roundTrip.summary).toBe('The round trip could not update cache: 0 row(s) instead of 1.');
      expect(roundTrip.details?.answer).toBe('0 row(s)');
      expect(roundTrip.details?.done).toEqual(expect.arrayContaining(['delete from providers', 'read back from cache']));
      expect(roundTrip.details?.done).not.toContain('update cache');
      expect(await snapshot(triggered)).toEqual(before);
    } finally {
      await triggered.drop();
    }
  });

  test('a swallowed write followed by a failing step: the earlier row-count finding is the one reported', async () => {
    const both = await provisionRegistry();
    try {
      await both.asSuperuser((c) =>
        c.query(`CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
                 CREATE TRIGGER skip_update BEFORE UPDATE ON modules FOR EACH ROW EXECUTE FUNCTION skip_update();
                 ALTER TABLE providers ENABLE ROW LEVEL SECURITY`),
      );
      const result = await testConnection(both.context());
      const roundTrip = expectFailureAt(result, 'round-trip', 5);
      expect(roundTrip.summary).toBe('The round trip could not update modules: 0 row(s) instead of 1.');
      expect(roundTrip.details?.done).toContain('read back from modules');
      expect(roundTrip.details?.done).not.toContain('update modules');
    } finally {
      await both.drop();
    }
  });

  test('without the TEMPORARY privilege the temporary-table part is left out with a warning', async () => {
    const noTemp = await provisionRegistry();
    try {
      await noTemp.asSuperuser((c) => c.query(`REVOKE TEMPORARY ON DATABASE "${noTemp.database}" FROM PUBLIC, "${noTemp.user}"`));
      const result = await testConnection(noTemp.context());
      expect(result.ok).toBe(true);
      const roundTrip = check(result, 'round-trip');
      expect(roundTrip.status).toBe('warn');
      expect(roundTrip.warnings?.join()).toContain('TEMPORARY');
      expect(roundTrip.details?.steps).not.toContain('create a temporary table');
    } finally {
      await noTemp.drop();
    }
  });

  test('--admin checks the admin role: a superuser passes all ten', async () => {
    const result = await testConnection(registry.context(), { admin: true });
    expect(result).toMatchObject({ ok: true, role: 'admin', user: testServer().superuser, database: registry.database });
    expect(result.checks.every((c) => c.status === 'pass' || (c.name === 'dns' && c.status === 'skip'))).toBe(true);
    expect(check(result, 'privileges').summary).toContain('(superuser)');
  });

  test('--admin with a wrong admin password: authentication fails, exit 4, with the admin remedy', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'not-the-admin-password' }), { admin: true });
    const auth = expectFailureAt(result, 'authentication', 4);
    expect(auth.error?.hint).toContain('TOFU_REGISTRY_DB_ADMIN_PASSWORD');
    expect(JSON.stringify(result)).not.toContain('not-the-admin-password');
  });

  test('--admin without any admin password: authentication names the variables to set, exit 2', async () => {
    const env = { ...registry.env, TOFU_REGISTRY_DB_ADMIN_PASSWORD: undefined, PGPASSWORD: undefined, PGPASSFILE: '/nonexistent/pgpass' };
    const previous = process.env.PGPASSFILE;
    process.env.PGPASSFILE = '/nonexistent/pgpass'; // the pgpass lookup reads the process environment
    try {
      const result = await testConnection(contextFor(env), { admin: true });
      const auth = expectFailureAt(result, 'authentication', 2);
      expect(auth.error?.code).toBe('PASSWORD_MISSING');
      expect(auth.error?.hint).toContain('TOFU_REGISTRY_DB_ADMIN_PASSWORD');
      expect(auth.details?.tried).toContain('password from ~/.pgpass or a prompt, if the server asks');
    } finally {
      if (previous === undefined) delete process.env.PGPASSFILE;
      else process.env.PGPASSFILE = previous;
    }
  });

  test('every connection is closed afterwards, on success and on failure', async () => {
    await testConnection(registry.context());
    await testConnection(registry.context(), { admin: true });
    await testConnection(registry.context({ TOFU_REGISTRY_DB_NAME: uniqueName('nodb') }));
    const sessions = await withSuperClient('postgres', async (c) =>
      (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tofu-registry-db' AND datname = $1`, [registry.database])).rows[0].n,
    );
    expect(sessions).toBe(0);
  });

  test('the login starts during the network checks, and a login nobody used is closed', async () => {
    const context = registry.context();
    const state = {
      context, settings: context.settings, role: 'app' as const, user: registry.user, logger: silentLogger, migrationsDir: bundledMigrationsDir(),
    };
    startLogin(state);
    const pending = (state as { pendingLogin?: Promise<unknown> }).pendingLogin;
    expect(pending).toBeInstanceOf(Promise);
    await pending; // it logs in on its own, before any check asks for it
    expect((state as { pendingLoginMs?: number }).pendingLoginMs).toBeGreaterThan(0); // the authentication check reports this
    const sessions = () => withSuperClient('postgres', async (c) =>
      (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [registry.user])).rows[0].n as number);
    expect(await sessions()).toBe(1);
    await discardPendingLogin(state); // what testConnection does when an earlier check failed
    for (let i = 0; i < 50 && (await sessions()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await sessions()).toBe(0);
  });

  // pg_stat_database.sessions counts logins from PostgreSQL 14 on; what is tested is the client's doing.
  sinceMajor(14)('testConnection logs in once: the early login is the session the checks use', async () => {
    const sessions = () => withSuperClient('postgres', async (c) =>
      (await c.query('SELECT sessions::int AS n FROM pg_stat_database WHERE datname = $1', [registry.database])).rows[0].n as number);
    const before = await sessions();
    const result = await testConnection(registry.context());
    expect(result.ok).toBe(true);
    // A session is counted when its backend reports its statistics, at the latest when it exits.
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await sessions();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect((await sessions()) - before).toBe(1);
  });

  test('no early login when logging in may prompt for the admin password: the prompt comes at its own step', () => {
    const settings = contextFor({ ...registry.env, TOFU_REGISTRY_DB_ADMIN_PASSWORD: undefined, PGPASSWORD: undefined }).settings;
    expect(settings.admin.passwordSource).toBe('unresolved');
    const state = {
      context: { settings, promptPassword: async () => testServer().password },
      settings, role: 'admin' as const, user: settings.admin.user, logger: silentLogger, migrationsDir: bundledMigrationsDir(),
    };
    startLogin(state);
    expect((state as { pendingLogin?: unknown }).pendingLogin).toBeUndefined();
  });

  test('the catalog lookups ride in the database check\'s message; a lookup that fails there fails the check it belongs to', async () => {
    const database = uniqueName('tc_noschema');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database });
    await createDatabase(contextFor(env));
    try {
      await withSuperClient(database, (c) => c.query('DROP SCHEMA public CASCADE'));
      const result = await testConnection(contextFor(env), { admin: true });
      expect(check(result, 'database').status).toBe('pass');
      expect(check(result, 'server').status).toBe('pass');
      const schema = expectFailureAt(result, 'schema', 5);
      expect(schema.error?.sqlstate).toBe('3F000'); // schema "public" does not exist
      expect(schema.error?.hint).toContain('CREATE SCHEMA public');
    } finally {
      await dropDatabaseAndRole(database);
    }
  });

  test('when a privileges lookup failed in that message, the schema check asks for its part again and the privileges check reports the failure', async () => {
    const settings = registry.context().settings;
    const connection = await connect(settings, { role: 'app' });
    try {
      const refused = Object.assign(new Error('permission denied for function has_table_privilege'), { code: '42501' });
      const state = {
        context: registry.context(), settings, role: 'app' as const, user: registry.user, logger: silentLogger, migrationsDir: bundledMigrationsDir(),
        connection, files: await loadMigrationFiles(bundledMigrationsDir()),
        catalog: { ok: false as const, failedAt: 3, error: refused, completedTags: ['SELECT 3', 'SELECT 1', 'SELECT 1'] },
      };
      const schema = await checkSchema(state);
      expect(schema.status).toBe('pass');
      await expect(checkPrivileges(state)).rejects.toBe(refused);
    } finally {
      await closeClient(connection.client);
    }
  });

  test('--admin before create-db: the registry database is missing, exit 5', async () => {
    const missing = uniqueName('nodb');
    const result = await testConnection(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: missing })), { admin: true });
    expect(check(result, 'authentication').status).toBe('pass');
    expect(expectFailureAt(result, 'database', 5).error?.hint).toContain('create-db');
  });

  test('--admin as a non-superuser owner: passes, and warns about what it lacks', async () => {
    const database = uniqueName('tc_owner_db');
    const admin = uniqueName('tc_owner');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB PASSWORD 'owner-pass-123'`));
    try {
      const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'owner-pass-123' });
      await createDatabase(contextFor(env));
      const result = await testConnection(contextFor(env), { admin: true });
      expect(result.ok).toBe(true);
      const privileges = check(result, 'privileges');
      expect(privileges.status).toBe('warn');
      expect(privileges.warnings?.join()).toContain('lacks CREATEROLE');
    } finally {
      await dropDatabaseAndRole(database, admin);
    }
  });
});
