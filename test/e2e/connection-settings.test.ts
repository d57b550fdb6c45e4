import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFaultProxy } from '../support/fault-proxy.js';
import { freePort } from '../support/pg-server.js';
import { dropDatabaseAndRole, runCli, serverInventory, tempDir, testServer, uniqueName } from '../support/fixtures.js';

/**
 * Review 5, items 5, 9, 11, 20 and 21, as a user meets them: how connection settings are read
 * (URIs, libpq's variables, flags against host lists) and how messages name where each came from.
 * Every run is in an empty folder with nothing inherited but PATH, and no output may hold a
 * password.
 */
const server = testServer();
const bare = (extra: Record<string, string> = {}): Record<string, string> => ({ PATH: process.env.PATH!, HOME: tempDir(), CI: 'true', ...extra });
const direct = (database = 'postgres') => `postgres://${server.superuser}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${database}?sslmode=disable`;

describe('item 5: a password that breaks the URI is explained, never shown', () => {
  test.each([
    ['DATABASE_URL', 'postgres://opentofu_user:Xy7/Qk9+ZrT@127.0.0.1:5432/opentofu', ['Xy7', 'Qk9+ZrT']],
    ['TOFU_REGISTRY_DB_ADMIN_URL', 'postgres://mgr:Abq/cdz@127.0.0.1:5432/postgres', ['Abq', 'cdz']],
    ['TOFU_REGISTRY_DB_ADMIN_URL', 'postgres://mgr:Rst?etPWq@127.0.0.1:5432/postgres', ['Rst', 'etPWq']],
  ])('%s=%s', async (variable, uri, pieces) => {
    for (const args of [['create-db'], ['create-db', '--json'], ['test-connection', '--admin', '--json']]) {
      const { code, stdout, stderr } = await runCli(args, bare({ [variable]: uri }));
      expect(code).toBe(2);
      for (const piece of pieces) expect(stdout + stderr).not.toContain(piece);
      const error = args.includes('--json') ? JSON.parse(stdout).error ?? JSON.parse(stdout).checks[0].error : { message: stderr, hint: stderr };
      expect(error.message).toContain(`${variable} (environment) has an "@" after its first "/" or "?"`);
      expect(error.hint).toContain('%2F for /, %3F for ?');
    }
  });
});

describe('item 9: the application role through a pooler port, the admin directly', () => {
  test("each URI's port and sslmode serve its own role; the env file keeps the application's", async () => {
    const pooler = await startFaultProxy({ host: '127.0.0.1', port: server.port });
    const database = uniqueName('cs_db');
    const user = uniqueName('cs_app');
    const cwd = tempDir();
    const env = bare({
      DATABASE_URL: `postgres://${user}@127.0.0.1:${pooler.port}/${database}?sslmode=disable`,
      TOFU_REGISTRY_DB_ADMIN_URL: direct(),
      TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '3',
    });
    try {
      const setup = await runCli(['setup', '--json'], env, { cwd });
      expect(setup.code).toBe(0);
      const document = JSON.parse(setup.stdout);
      // The final check logs in as the application role, through the pooler, with the password create-user set (item 20).
      expect(document.connection.port).toBe(pooler.port);
      expect(document.connection.checks[0].summary).toContain('password from the new password (written to ');
      const written = readFileSync(path.join(cwd, '.env'), 'utf8');
      expect(written).toContain(`TOFU_REGISTRY_DB_PORT='${pooler.port}'`);

      // With the pooler silent, the admin's commands still work: they never used it.
      pooler.swallow('both');
      const migrate = await runCli(['migrate', '--json'], env, { cwd });
      expect(migrate.code).toBe(0);
      const status = await runCli(['status', '--json'], env, { cwd });
      const statusDoc = JSON.parse(status.stdout);
      expect(statusDoc.server).toMatchObject({ host: '127.0.0.1', port: server.port });
      expect(statusDoc.settings).toMatchObject({
        port: `${server.port} (TOFU_REGISTRY_DB_ADMIN_URL's port (environment))`,
        sslmode: "disable (TOFU_REGISTRY_DB_ADMIN_URL's sslmode (environment))",
      });
      const admin = await runCli(['test-connection', '--admin'], env, { cwd });
      expect(admin.code).toBe(0);
      expect(admin.stdout).toContain(`→ 127.0.0.1:${server.port}, database "${database}", sslmode disable`);

      // The application role's own check goes through the pooler, and says where its port came from.
      const app = await runCli(['test-connection'], env, { cwd });
      expect(app.code).toBe(3);
      expect(app.stdout).toContain(`    port ${pooler.port} (DATABASE_URL's port (environment))`);
      pooler.forward();
      expect((await runCli(['test-connection'], env, { cwd })).code).toBe(0);
      for (const run of [setup, migrate, status, admin, app]) expect(run.stdout + run.stderr).not.toContain(server.password);
    } finally {
      await pooler.close();
      await dropDatabaseAndRole(database, user);
    }
  }, 90_000);
});

describe('item 11: PGDATABASE is the admin\'s maintenance database', () => {
  const psql = (database: string) =>
    bare({ PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: server.superuser, PGPASSWORD: server.password, PGDATABASE: database, PGSSLMODE: 'disable' });

  test('a missing one is named with its origin and TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres; nothing is created', async () => {
    const database = uniqueName('cs_psql');
    const user = uniqueName('cs_u');
    const setup = await runCli(['setup', '--name', database, '--user', user], psql(database));
    expect(setup.code).toBe(5);
    expect(setup.stderr).toContain(`Database "${database}" does not exist on 127.0.0.1:${server.port} (SQLSTATE 3D000): it is both the registry database (--name) and the admin's maintenance database (PGDATABASE (environment))`);
    expect(setup.stderr).toContain('Set TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres');
    expect(setup.stderr).not.toContain('fix TOFU_REGISTRY_DB_NAME');
    const other = uniqueName('cs_other');
    const createDb = await runCli(['create-db', '--name', other, '--json'], psql(database));
    expect(createDb.code).toBe(5);
    expect(JSON.parse(createDb.stdout).error).toMatchObject({ code: 'MAINTENANCE_DATABASE_MISSING', sqlstate: '3D000' });
    expect(JSON.parse(createDb.stdout).error.message).toContain(`The admin's maintenance database "${database}" (from PGDATABASE (environment)) does not exist`);
    // Nothing of this test's on the server (other test files run beside it: only its own names).
    const { databases, roles } = await serverInventory();
    expect(databases.filter((d) => [database, other].includes(d))).toEqual([]);
    expect(roles).not.toContain(user);
    for (const run of [setup, createDb]) expect(run.stdout + run.stderr).not.toContain(server.password);
  });

  test('test-connection --admin names the database it tried, not the registry database', async () => {
    const missing = uniqueName('cs_psql');
    const { code, stdout } = await runCli(['test-connection', '--admin'], psql(missing));
    expect(code).toBe(5);
    expect(stdout).toContain(`✖ database        The admin's maintenance database "${missing}" (from PGDATABASE (environment)) does not exist`);
    expect(stdout).toContain(`tried:  connect to database "${missing}" as "${server.superuser}" (the admin's maintenance database, from PGDATABASE (environment))`);
    expect(stdout).not.toContain('Database "opentofu" does not exist');
  });

  test('with TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres the same environment provisions', async () => {
    const database = uniqueName('cs_psql');
    const user = uniqueName('cs_u');
    try {
      const { code } = await runCli(['setup', '--name', database, '--user', user, '--no-write-env', '--json'], { ...psql(database), TOFU_REGISTRY_DB_ADMIN_DATABASE: 'postgres' });
      expect(code).toBe(0);
    } finally {
      await dropDatabaseAndRole(database, user);
    }
  });
});

describe('item 20: remedies name where the value came from', () => {
  test('the tcp remedy names --port, a URI\'s port; an env file\'s URI has its line and its parameter', async () => {
    const flag = await runCli(['test-connection', '--port', '1', '--host', '127.0.0.1', '--sslmode', 'disable'], bare({ TOFU_REGISTRY_DB_PASSWORD: 'x-Unused-77' }));
    expect(flag.code).toBe(3);
    expect(flag.stdout).toMatch(/^ {4}remedy: Check --port and/m);
    const uri = await runCli(['test-connection'], bare({ DATABASE_URL: 'postgres://u:Hidden-Pw-5x@127.0.0.1:1/x?sslmode=disable' }));
    expect(uri.code).toBe(3);
    expect(uri.stdout).toMatch(/^ {4}remedy: Check DATABASE_URL's port \(environment\) and/m);
    expect(uri.stdout + uri.stderr).not.toContain('Hidden-Pw-5x');
    const cwd = tempDir();
    writeFileSync(path.join(cwd, '.env'), '# the API\nDATABASE_URL=postgres://u:Hidden-Pw-6y@127.0.0.1:1/x?sslmode=disble\n');
    const file = await runCli(['create-db'], bare(), { cwd });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`DATABASE_URL's sslmode (.env, line 2) is "disble": expected one of`);
    expect(file.stdout + file.stderr).not.toContain('Hidden-Pw-6y');
  });
});

describe('--verbose: what was overridden or read past', () => {
  test('a PGUSER that TOFU_REGISTRY_DB_ADMIN_USER overrides, a parameter read past', async () => {
    const env = bare({ PGUSER: 'alice', TOFU_REGISTRY_DB_ADMIN_USER: 'bob', DATABASE_URL: 'postgres://u@127.0.0.1:1/x?sslmode=disable&schema=public' });
    const { stderr } = await runCli(['test-connection', '--admin', '--verbose'], env);
    expect(stderr).toContain('PGUSER (environment) (alice) is overridden by TOFU_REGISTRY_DB_ADMIN_USER (environment)');
    expect(stderr).toContain('DATABASE_URL (environment): schema read past (not used by tofu-registry-db)');
  });
});

describe('item 21: flags against a host list', () => {
  test('--host with a file of three ports: the hint says to add --port; --port making one server of three: reported once', async () => {
    const [dead1, dead2] = [await freePort(), await freePort()];
    const cwd = tempDir();
    writeFileSync(path.join(cwd, '.env'), `TOFU_REGISTRY_DB_HOST=127.0.0.1,127.0.0.1,127.0.0.1\nTOFU_REGISTRY_DB_PORT=${dead1},${dead2},${server.port}\nTOFU_REGISTRY_DB_SSLMODE=disable\n`);
    const env = bare({ TOFU_REGISTRY_DB_ADMIN_USER: server.superuser, TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password, TOFU_REGISTRY_DB_NAME: 'postgres' });
    const host = await runCli(['test-connection', '--admin', '--host', 'localhost'], env, { cwd });
    expect(host.code).toBe(2);
    expect(host.stdout).toContain('TOFU_REGISTRY_DB_PORT (.env, line 2) gives 3 ports for the 1 host of --host');
    expect(host.stdout).toMatch(/remedy: --host replaces the host list but not the ports of TOFU_REGISTRY_DB_PORT \(\.env, line 2\): add --port/);

    const port = await runCli(['test-connection', '--admin', '--port', String(server.port)], env, { cwd });
    const lines = port.stdout.split('\n');
    expect(lines.filter((l) => l.includes('checked below'))).toEqual([`→ 127.0.0.1:${server.port}: checked below`]);
    expect(lines.filter((l) => l.includes('listed again'))).toEqual([
      `- 127.0.0.1:${server.port}: the same server as host 1, listed again`,
      `- 127.0.0.1:${server.port}: the same server as host 1, listed again`,
    ]);
    expect(port.stdout).toContain(`⚠ the host list names 127.0.0.1:${server.port} more than once (hosts from TOFU_REGISTRY_DB_HOST (.env, line 1), ports from --port)`);
  });
});
