/**
 * The right diagnosis for each way a connection fails, against real servers (issue #18):
 * the three connection limits, a program on the port that is not PostgreSQL, one that opens
 * and never answers, and the statement that gives the admin a refused privilege.
 */
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { CHECK_NAMES, testConnection, type CheckName, type TestConnectionResult } from '../../src/core/checks/test-connection.js';
import { createUser } from '../../src/core/provision/create-user/create-user.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { provisionRegistry, type Registry } from '../support/app-role.js';
import { adminEnv, contextFor, dropDatabaseAndRole, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';
import { startServer, type TestServer } from '../support/pg-server.js';

function failedAt(result: TestConnectionResult, name: CheckName) {
  const statuses = result.checks.map((c) => c.status);
  const index = CHECK_NAMES.indexOf(name);
  expect(statuses.slice(0, index)).not.toContain('fail');
  expect(statuses[index]).toBe('fail');
  return result.checks[index]!;
}

describe('connection limits: role, database and server told apart', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'limit' });
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('the role\'s CONNECTION LIMIT 0: authentication fails naming ALTER ROLE, not max_connections', async () => {
    await registry.asSuperuser((c) => c.query(`ALTER ROLE "${registry.user}" CONNECTION LIMIT 0`));
    try {
      const result = await testConnection(registry.context());
      const check = failedAt(result, 'authentication');
      expect(check.error).toMatchObject({ code: 'ROLE_CONNECTION_LIMIT', sqlstate: '53300' });
      expect(check.error!.hint).toContain(`ALTER ROLE "${registry.user}" CONNECTION LIMIT -1;`);
      expect(check.error!.hint).not.toMatch(/raise max_connections/);
      expect(result.exitCode).toBe(3);

      // The limit is checked after the password: a login probe (rotation recovery, a given
      // password) still tells the right password from a wrong one.
      const { passwordLogsIn } = await import('../../src/core/db/login-probe.js');
      const settings = registry.context().settings;
      expect(await passwordLogsIn(settings, registry.user, registry.password)).toBe(true);
      expect(await passwordLogsIn(settings, registry.user, 'not-the-password-1')).toBe(false);

      // create-user says that the API could not connect, and changes nothing about it.
      const created = await createUser(registry.context(), { writeEnv: false });
      expect(created.warnings).toContainEqual(expect.stringContaining(`Role "${registry.user}" has CONNECTION LIMIT 0: the registry API cannot connect as it`));
      expect(created.warnings).toContainEqual(expect.stringContaining(`ALTER ROLE "${registry.user}" CONNECTION LIMIT -1`));
      expect((await registry.asSuperuser((c) => c.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [registry.user]))).rows[0].rolconnlimit).toBe(0);
    } finally {
      await registry.asSuperuser((c) => c.query(`ALTER ROLE "${registry.user}" CONNECTION LIMIT -1`));
    }
    // The check can fail: without the limit, create-user has nothing to say about it.
    const again = await createUser(registry.context(), { writeEnv: false });
    expect(again.warnings.filter((w) => w.includes('CONNECTION LIMIT'))).toEqual([]);
  });

  test('the role\'s limit used up by its other sessions: create-user counts them', async () => {
    await registry.asSuperuser((c) => c.query(`ALTER ROLE "${registry.user}" CONNECTION LIMIT 1`));
    const held = new pg.Client({ host: registry.server.host, port: registry.server.port, user: registry.user, password: registry.password, database: registry.database });
    await held.connect();
    try {
      const created = await createUser(registry.context(), { writeEnv: false });
      expect(created.warnings).toContainEqual(expect.stringContaining('CONNECTION LIMIT 1, and 1 session(s) of it are open'));
    } finally {
      await held.end();
      await registry.asSuperuser((c) => c.query(`ALTER ROLE "${registry.user}" CONNECTION LIMIT -1`));
    }
  });

  test('the database\'s CONNECTION LIMIT 0: the database check fails naming ALTER DATABASE', async () => {
    await registry.asSuperuser((c) => c.query(`ALTER DATABASE "${registry.database}" CONNECTION LIMIT 0`));
    try {
      const result = await testConnection(registry.context());
      expect(result.checks.find((c) => c.name === 'authentication')?.status).toBe('pass');
      const check = failedAt(result, 'database');
      expect(check.error).toMatchObject({ code: 'DATABASE_CONNECTION_LIMIT', sqlstate: '53300' });
      expect(check.error!.hint).toContain(`ALTER DATABASE "${registry.database}" CONNECTION LIMIT -1;`);

      const created = await createUser(registry.context(), { writeEnv: false });
      expect(created.warnings).toContainEqual(expect.stringContaining(`ALTER DATABASE "${registry.database}" CONNECTION LIMIT -1`));
    } finally {
      await registry.asSuperuser((c) => c.query(`ALTER DATABASE "${registry.database}" CONNECTION LIMIT -1`));
    }
  });

  describe('the server\'s max_connections', () => {
    let server: TestServer;
    const held: pg.Client[] = [];
    beforeAll(async () => {
      // Two slots for everyone, one more kept for superusers.
      server = await startServer({ conf: { max_connections: '3', superuser_reserved_connections: '1' } });
    });
    afterAll(async () => {
      await Promise.all(held.map((c) => c.end().catch(() => undefined)));
      await server?.stop();
    });

    test('reserved slots, then none at all: max_connections named, no role or database limit', async () => {
      const superuser = { host: server.host, port: server.port, user: server.superuser, password: server.password, database: 'postgres' };
      const setup = new pg.Client(superuser);
      await setup.connect();
      await setup.query(`CREATE ROLE plain_role LOGIN PASSWORD 'plain-role-password-1'`);
      await setup.end();
      const env = adminEnv({ TOFU_REGISTRY_DB_USER: 'plain_role', TOFU_REGISTRY_DB_PASSWORD: 'plain-role-password-1', TOFU_REGISTRY_DB_NAME: 'postgres' }, server);
      for (let i = 0; i < 2; i++) {
        const client = new pg.Client({ ...superuser, user: 'plain_role', password: 'plain-role-password-1' });
        await client.connect();
        held.push(client);
      }
      const reserved = await testConnection(contextFor(env));
      const check = failedAt(reserved, 'authentication');
      expect(check.error).toMatchObject({ code: 'TOO_MANY_CONNECTIONS', sqlstate: '53300' });
      expect(check.summary).toContain('reserved for superusers');
      expect(check.error!.hint).toContain('raise max_connections');

      const last = new pg.Client(superuser);
      await last.connect();
      held.push(last);
      const full = await testConnection(contextFor({ ...env, TOFU_REGISTRY_DB_USER: server.superuser, TOFU_REGISTRY_DB_PASSWORD: server.password }));
      const none = failedAt(full, 'authentication');
      expect(none.error).toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
      expect(none.summary).toContain('all of max_connections are in use');
      expect(none.error!.hint).not.toContain('ALTER ROLE');
    });
  });
});

/** A listener on loopback that is not PostgreSQL; closed after each test. */
async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('something other than PostgreSQL on the port', () => {
  let registry: Registry;
  const sockets = new Set<net.Socket>();
  let httpServer: http.Server;
  let silent: net.Server;
  let httpPort: number;
  let silentPort: number;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'other' });
    httpServer = http.createServer((_req, res) => res.end('hello'));
    httpPort = await listen(httpServer);
    silent = net.createServer((socket) => sockets.add(socket)); // accepts, never answers
    silentPort = await listen(silent);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => httpServer.close(resolve));
    await new Promise((resolve) => silent.close(resolve));
    await registry.drop();
  });

  test.each([
    ['require', 'tls'],
    ['disable', 'authentication'],
  ] as const)('an HTTP server, sslmode %s: named at the %s check with what it answered, never "enable ssl"', async (sslMode, at) => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: String(httpPort), TOFU_REGISTRY_DB_SSLMODE: sslMode }));
    expect(result.checks.find((c) => c.name === 'tcp')?.status).toBe('pass');
    const check = failedAt(result, at);
    expect(check.error?.code).toBe('NOT_POSTGRESQL');
    expect(check.summary).toContain(`Something other than PostgreSQL answers at 127.0.0.1:${httpPort} (an HTTP server)`);
    expect(check.summary).toContain('"HTTP/1.1 400 Bad Request"');
    expect(check.error!.hint).not.toMatch(/enable ssl/i);
    expect(result.exitCode).toBe(3);
  });

  test('an HTTP server: the commands say it too (migrate), and --wait does not wait for it', async () => {
    const started = Date.now();
    await expect(migrate(registry.context({ TOFU_REGISTRY_DB_PORT: String(httpPort), TOFU_REGISTRY_DB_SSLMODE: 'prefer' }))).rejects.toMatchObject({ code: 'NOT_POSTGRESQL', exitCode: 3 });
    const { waitForServer } = await import('../../src/core/db/wait-for-server.js');
    await waitForServer(registry.context({ TOFU_REGISTRY_DB_PORT: String(httpPort) }), 20);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('a server that answers the SSL request with an error: its SQLSTATE and words, at the tls check and in the commands', async () => {
    // What PostgreSQL sends when it refuses at once: ErrorResponse with severity, SQLSTATE and message.
    const fields = Buffer.concat([Buffer.from('SFATAL\0C53300\0Msorry, too many clients already\0'), Buffer.from([0])]);
    const length = Buffer.alloc(4);
    length.writeInt32BE(fields.length + 4);
    const refusing = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => socket.end(Buffer.concat([Buffer.from('E'), length, fields])));
    });
    const port = await listen(refusing);
    try {
      const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: 'require' }));
      const check = failedAt(result, 'tls');
      expect(check.error).toMatchObject({ code: 'TOO_MANY_CONNECTIONS', sqlstate: '53300' });
      await expect(migrate(registry.context({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: 'require' }))).rejects.toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
    } finally {
      await new Promise((resolve) => refusing.close(resolve));
    }
  });

  test('a listener that agrees to TLS ("S") and then does not speak it: a failed handshake, exit 3, not an internal error', async () => {
    const notTls = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write('S');
        setTimeout(() => socket.write('this is not TLS\n'.repeat(8)), 20);
      });
    });
    const port = await listen(notTls);
    try {
      const context = () => registry.context({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: 'require' });
      const result = await testConnection(context());
      const check = failedAt(result, 'tls');
      expect(check.error).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED' });
      expect(result.exitCode).toBe(3);
      expect(check.summary).toContain(`The TLS handshake with 127.0.0.1:${port} failed`);
      expect(check.summary).toContain('wrong version number');
      const refused = await migrate(context()).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', exitCode: 3 });
      expect((refused as Error).message).not.toContain('ssl3_record.c'); // OpenSSL's reason, not its source line
      expect((refused as { hint: string }).hint).toContain('something other than PostgreSQL');
    } finally {
      await new Promise((resolve) => notTls.close(resolve));
    }
  });

  test.each([
    ['require', 'tls'],
    ['disable', 'authentication'],
  ] as const)('a listener that never answers, sslmode %s: the connection opened and nothing answered (%s)', async (sslMode, at) => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: String(silentPort), TOFU_REGISTRY_DB_SSLMODE: sslMode, TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '1' }));
    expect(result.checks.find((c) => c.name === 'tcp')?.status).toBe('pass');
    const check = failedAt(result, at);
    expect(check.error?.code).toBe('SERVER_SILENT');
    expect(check.summary).toMatch(new RegExp(`^The connection to 127\\.0\\.0\\.1:${silentPort} opened, and nothing answered PostgreSQL's (SSL request|startup message) within 1 s\\.$`));
    expect(check.error!.hint).not.toMatch(/firewall or security group may/);
  });
});

describe('the bootstrap superuser as the application role', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'boot' });
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('test-connection warns, and sends to create-user instead of ALTER ROLE … NOSUPERUSER', async () => {
    const { superuser, password } = registry.server;
    const bootstrap = await withSuperClient('postgres', async (c) => (await c.query('SELECT oid = 10 AS bootstrap FROM pg_roles WHERE rolname = $1', [superuser])).rows[0].bootstrap);
    expect(bootstrap).toBe(true);
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_USER: superuser, TOFU_REGISTRY_DB_PASSWORD: password }));
    const privileges = result.checks.find((c) => c.name === 'privileges')!;
    expect(privileges.status).toBe('warn');
    expect(privileges.warnings).toEqual([expect.stringContaining(`"${superuser}" is the bootstrap superuser`)]);
    expect(privileges.warnings![0]).toContain('tofu-registry-db create-user --user <name>');
    expect(privileges.warnings![0]).not.toContain('NOSUPERUSER');
  });
});

describe('a refused privilege of the admin: the statement that gives it, and it works', () => {
  const database = uniqueName('perm_db');
  const admin = uniqueName('perm_admin');
  const password = 'perm-admin-password-1';
  const env = () => adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: password });
  beforeAll(async () => {
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: database })), { migrate: false });
    await withSuperClient(database, async (c) => {
      await c.query(`CREATE ROLE "${admin}" LOGIN PASSWORD '${password}'`);
      await c.query(`GRANT CONNECT ON DATABASE "${database}" TO "${admin}"`);
      // As PostgreSQL 15+ leaves it (and 14 and older after this): only the owner creates in public.
      await c.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    });
  });
  afterAll(async () => {
    await dropDatabaseAndRole(database);
    await dropDatabaseAndRole(undefined, admin);
  });

  test('each refusal names the statement that lifts it; running them, migrate succeeds', async () => {
    // Followed as a user would: run migrate, run the statement its hint gives, again.
    const statements: string[] = [];
    for (;;) {
      const refused = await migrate(contextFor(env())).then(() => undefined, (error: unknown) => error);
      if (refused === undefined) break;
      // The extension pre-flight (migrations/extensions.ts) finds the database's missing CREATE before anything runs.
      expect(refused).toMatchObject({ code: expect.stringMatching(/^(PERMISSION_DENIED|EXTENSION_NOT_PERMITTED)$/), exitCode: 4 });
      const statement = /((?:GRANT|ALTER) [^;]*;)/.exec((refused as { hint: string }).hint)?.[1];
      expect(statement).toEqual(expect.any(String));
      statements.push(statement!);
      expect(statements.length).toBeLessThan(4);
      await withSuperClient(database, (c) => c.query(statement!));
    }
    // pg_trgm (search indexes) is a trusted extension from 13: CREATE on the database is enough.
    // Before 13 the run's server has it in template1 (test/support/global-setup.ts), so the
    // database already holds it and only the schema's privilege is missing.
    const major = testServer().majorVersion;
    expect([...statements].sort()).toEqual([
      ...(major >= 13 ? [`GRANT CREATE ON DATABASE "${database}" TO "${admin}";`] : []),
      `GRANT USAGE, CREATE ON SCHEMA "public" TO "${admin}";`,
    ]);

    // A table made by another role: the next migration must own it to alter it.
    await withSuperClient(database, (c) => c.query('CREATE TABLE public.made_elsewhere (id int)'));
    const dir = tempDir();
    const { bundledMigrationsDir } = await import('../../src/core/migrations/files.js');
    const { cpSync } = await import('node:fs');
    cpSync(bundledMigrationsDir(), dir, { recursive: true });
    writeFileSync(path.join(dir, '900_alter_elsewhere.sql'), 'ALTER TABLE made_elsewhere ADD COLUMN note text;\n');
    const notOwner = await migrate(contextFor(env()), { migrationsDir: dir }).catch((error: unknown) => error);
    expect(notOwner).toMatchObject({ code: 'PERMISSION_DENIED' });
    const alter = /run: (ALTER TABLE .*;)$/.exec((notOwner as { hint: string }).hint)?.[1];
    expect(alter).toBe(`ALTER TABLE "made_elsewhere" OWNER TO "${admin}";`);
    await withSuperClient(database, (c) => c.query(alter!));
    await expect(migrate(contextFor(env()), { migrationsDir: dir })).resolves.toMatchObject({ appliedCount: 1 });
  });
});
