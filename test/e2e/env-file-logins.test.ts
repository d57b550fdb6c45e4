import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { adminEnv, databaseExists, dropDatabaseAndRole, runCli, roleExists, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Whose login the env file holds, run as users ran into it (a user-style review of the tool):
 * a password given in the environment, a URI in the file (the application's own, dbmate's admin
 * URL, a Prisma URL with its parameters), another role's login in the file, and drop. The rule
 * throughout: a password is written only beside the role it belongs to, nothing that logs in is
 * replaced unasked, and a refusal comes before anything changes.
 */
const server = testServer();
const uri = (user: string, password: string | undefined, database: string, query = 'sslmode=disable') =>
  `postgresql://${user}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@${server.host}:${server.port}/${database}?${query}`;

/** The admin's password only: the application role's settings come from each test. */
function env(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return adminEnv({ TOFU_REGISTRY_DB_HOST: undefined, TOFU_REGISTRY_DB_PORT: undefined, TOFU_REGISTRY_DB_SSLMODE: undefined, ...overrides });
}

const hostEnv = { TOFU_REGISTRY_DB_HOST: server.host, TOFU_REGISTRY_DB_PORT: String(server.port), TOFU_REGISTRY_DB_SSLMODE: 'disable' };

async function canLogIn(role: string, password: string, database: string): Promise<boolean> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ host: server.host, port: server.port, user: role, password, database });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('a password the environment gives is the one the role gets, or the run refuses', () => {
  test('DATABASE_URL with a password: the new role gets that password; a wrong one later is refused (exit 4) with the file unchanged', async () => {
    const database = uniqueName('gp_db');
    const role = uniqueName('gp_app');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    try {
      const given = env({ DATABASE_URL: uri(role, 'Secr3t/Pass+given', database) });
      const first = await runCli(['--env-file', envFile, '--json', 'setup'], given);
      expect(first.code).toBe(0);
      expect(await canLogIn(role, 'Secr3t/Pass+given', database)).toBe(true);
      expect(parse(readFileSync(envFile, 'utf8')).TOFU_REGISTRY_DB_PASSWORD).toBe('Secr3t/Pass+given');
      // What the API does: the same environment logs in.
      expect((await runCli(['--env-file', envFile, 'test-connection'], given)).code).toBe(0);

      const before = readFileSync(envFile, 'utf8');
      const wrong = await runCli(['--env-file', envFile, '--json', 'setup'], env({ DATABASE_URL: uri(role, 'not-the-password-9', database) }));
      expect(wrong.code).toBe(4);
      const document = JSON.parse(wrong.stdout);
      expect(document.error).toMatchObject({ code: 'PASSWORD_WRONG' });
      expect(document.error.message).toContain("DATABASE_URL's password (environment)");
      expect(document).not.toHaveProperty('changes');
      expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password-9');
      expect(readFileSync(envFile, 'utf8')).toBe(before);
      expect(await canLogIn(role, 'Secr3t/Pass+given', database)).toBe(true);

      // Asked for: --rotate-password makes the environment's password the role's, and the file records it.
      const rotated = await runCli(['--env-file', envFile, '--yes', 'setup', '--rotate-password'], env({ DATABASE_URL: uri(role, 'not-the-password-9', database) }));
      expect(rotated.code).toBe(0);
      expect(await canLogIn(role, 'not-the-password-9', database)).toBe(true);
      expect(parse(readFileSync(envFile, 'utf8')).TOFU_REGISTRY_DB_PASSWORD).toBe('not-the-password-9');
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 120_000);

  test('an admin that is not a superuser finds a wrong password by logging in, before create-db creates anything', async () => {
    const admin = uniqueName('gp_mgr');
    const role = uniqueName('gp_app2');
    const database = uniqueName('gp_db2');
    await withSuperClient('postgres', async (client) => {
      await client.query(`CREATE ROLE ${admin} LOGIN CREATEDB CREATEROLE PASSWORD 'mgr-pw-1'`);
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'real-pw-1'`);
      await client.query(`GRANT ${role} TO ${admin} WITH ADMIN OPTION`);
    });
    try {
      const dir = tempDir();
      const result = await runCli(['--env-file', path.join(dir, '.env'), '--json', 'setup', '--name', database, '--user', role], {
        ...env(hostEnv),
        TOFU_REGISTRY_DB_ADMIN_USER: admin,
        TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'mgr-pw-1',
        TOFU_REGISTRY_DB_PASSWORD: 'wrong-pw-1',
      });
      expect(result.code).toBe(4);
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'PASSWORD_WRONG' });
      expect(JSON.parse(result.stdout).error.message).toContain('the server refused it');
      expect(await databaseExists(database)).toBe(false);
      expect(existsSync(path.join(dir, '.env'))).toBe(false);
    } finally {
      await dropDatabaseAndRole(database, role);
      await dropDatabaseAndRole(undefined, admin);
    }
  }, 120_000);

  test('a password the environment gives beside another role\'s name is not paired with --user (PASSWORD_UNKNOWN, nothing written)', async () => {
    const database = uniqueName('gp_db3');
    const roleA = uniqueName('gp_a');
    const roleB = uniqueName('gp_b');
    await withSuperClient('postgres', async (client) => {
      await client.query(`CREATE ROLE ${roleA} LOGIN PASSWORD 'role-a-pw-1'`);
      await client.query(`CREATE ROLE ${roleB} LOGIN PASSWORD 'role-b-pw-1'`);
    });
    try {
      const dir = tempDir();
      const envFile = path.join(dir, 'b.env');
      const result = await runCli(['--env-file', envFile, '--json', 'setup', '--name', database, '--user', roleB], {
        ...env(hostEnv),
        TOFU_REGISTRY_DB_USER: roleA,
        TOFU_REGISTRY_DB_PASSWORD: 'role-a-pw-1',
      });
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'PASSWORD_UNKNOWN' });
      expect(existsSync(envFile)).toBe(false);
      expect(await databaseExists(database)).toBe(false);
    } finally {
      await dropDatabaseAndRole(database, roleA);
      await dropDatabaseAndRole(undefined, roleB);
    }
  }, 120_000);
});

describe('a URI in the env file', () => {
  test('naming another role with its password: create-user for an existing role is refused as with separate variables (PASSWORD_UNKNOWN)', async () => {
    const database = uniqueName('uf_db');
    const roleA = uniqueName('uf_a');
    const roleB = uniqueName('uf_b');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    try {
      expect((await runCli(['--env-file', envFile, 'setup', '--name', database, '--user', roleA], env(hostEnv))).code).toBe(0);
      const passwordA = parse(readFileSync(envFile, 'utf8')).TOFU_REGISTRY_DB_PASSWORD!;
      writeFileSync(envFile, `TOFU_REGISTRY_DB_URL='${uri(roleA, passwordA, database)}'\n`);
      await withSuperClient('postgres', (client) => client.query(`CREATE ROLE ${roleB} LOGIN PASSWORD 'role-b-pw-2'`));
      const before = readFileSync(envFile, 'utf8');
      const result = await runCli(['--env-file', envFile, '--json', 'create-user', '--user', roleB], env());
      expect(result.code).toBe(2);
      const error = JSON.parse(result.stdout).error;
      expect(error).toMatchObject({ code: 'PASSWORD_UNKNOWN' });
      expect(error.message).toContain(`role "${roleA}"'s password (TOFU_REGISTRY_DB_URL)`);
      expect(readFileSync(envFile, 'utf8')).toBe(before);
    } finally {
      await dropDatabaseAndRole(database, roleA);
      await dropDatabaseAndRole(undefined, roleB);
    }
  }, 120_000);

  test('dbmate\'s DATABASE_URL naming the admin: left byte for byte; the role\'s login goes into separate variables that work', async () => {
    const database = uniqueName('dbm_db');
    const role = uniqueName('dbm_app');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    const dbmate = `DATABASE_URL="${uri(server.superuser, server.password, database, 'sslmode=disable&connect_timeout=5')}"`;
    writeFileSync(envFile, `${dbmate}\n`);
    try {
      const result = await runCli(['--env-file', envFile, 'setup', '--user', role], env({ PGPASSWORD: server.password, TOFU_REGISTRY_DB_ADMIN_PASSWORD: undefined }));
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`credentials written to ${envFile}`);
      expect(result.stderr).toContain(`DATABASE_URL in ${envFile} names the admin role "${server.superuser}"`);
      const text = readFileSync(envFile, 'utf8');
      expect(text.split('\n')).toContain(dbmate);
      const values = parse(text);
      expect(values).toMatchObject({ TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_NAME: database });
      expect(await canLogIn(role, values.TOFU_REGISTRY_DB_PASSWORD!, database)).toBe(true);
      // The file alone (what the API gets): the tool logs in as the application role.
      const tested = await runCli(['--env-file', envFile, '--json', 'test-connection'], { PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });
      expect(tested.code).toBe(0);
      expect(JSON.parse(tested.stdout).user).toBe(role);
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 120_000);

  test('the application\'s own URI is rewritten with the parameters other tools put there kept (Prisma\'s schema, connection_limit, options …)', async () => {
    const database = uniqueName('pr_db');
    const role = uniqueName('pr_app');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    const query = 'sslmode=disable&schema=public&connection_limit=5&application_name=registry-api&options=-c%20statement_timeout%3D5000&connect_timeout=7';
    writeFileSync(envFile, `API_PORT=8080\nDATABASE_URL="${uri(role, undefined, database, query)}"\n`);
    try {
      const result = await runCli(['--env-file', envFile, 'setup'], env());
      expect(result.code).toBe(0);
      const values = parse(readFileSync(envFile, 'utf8'));
      expect(values.API_PORT).toBe('8080');
      const written = new URL(values.DATABASE_URL!);
      expect(written.username).toBe(role);
      expect(await canLogIn(role, decodeURIComponent(written.password), database)).toBe(true);
      expect(Object.fromEntries(written.searchParams)).toMatchObject({
        sslmode: 'disable',
        schema: 'public',
        connection_limit: '5',
        application_name: 'registry-api',
        options: '-c statement_timeout=5000',
        connect_timeout: '7',
      });
      expect(result.stdout).toContain(`credentials written to ${envFile}`);
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 120_000);

  test('drop takes the dropped role\'s user and password out of the URI, keeping the rest of it', async () => {
    const database = uniqueName('du_db');
    const role = uniqueName('du_app');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, `TOFU_REGISTRY_DB_URL='${uri(role, undefined, database, 'sslmode=disable&connect_timeout=7')}'\n`);
    try {
      expect((await runCli(['--env-file', envFile, 'setup'], env())).code).toBe(0);
      const result = await runCli(['--env-file', envFile, '--json', '--yes', 'drop'], env());
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).envFile).toEqual({ path: envFile, removedKeys: [], changedKeys: ['TOFU_REGISTRY_DB_URL'] });
      expect(parse(readFileSync(envFile, 'utf8')).TOFU_REGISTRY_DB_URL).toBe(`postgresql://${server.host}:${server.port}/${database}?sslmode=disable&connect_timeout=7`);
      expect(await roleExists(role)).toBe(false);
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 120_000);
});

describe('another role\'s login in the env file is replaced only when asked', () => {
  test('setup --user second_role: refused before anything is created (exit 2); with --yes it replaces the login', async () => {
    const database = uniqueName('or_db');
    const first = uniqueName('or_first');
    const second = uniqueName('or_second');
    const dir = tempDir();
    const envFile = path.join(dir, '.env');
    try {
      expect((await runCli(['--env-file', envFile, 'setup', '--name', database, '--user', first], env(hostEnv))).code).toBe(0);
      const before = readFileSync(envFile, 'utf8');
      const other = uniqueName('or_db2');
      const refused = await runCli(['--env-file', envFile, '--json', 'setup', '--name', other, '--user', second], env(hostEnv));
      expect(refused.code).toBe(2);
      const error = JSON.parse(refused.stdout).error;
      expect(error).toMatchObject({ code: 'ENV_FILE_HOLDS_OTHER_ROLE' });
      expect(error.message).toContain(`role "${first}"'s password (TOFU_REGISTRY_DB_PASSWORD)`);
      expect(error.hint).toContain('--yes');
      expect(readFileSync(envFile, 'utf8')).toBe(before);
      expect(await databaseExists(other)).toBe(false);
      expect(await roleExists(second)).toBe(false);

      const replaced = await runCli(['--env-file', envFile, '--yes', 'setup', '--user', second], env(hostEnv));
      expect(replaced.code).toBe(0);
      expect(parse(readFileSync(envFile, 'utf8')).TOFU_REGISTRY_DB_USER).toBe(second);
    } finally {
      await dropDatabaseAndRole(database, first);
      await dropDatabaseAndRole(undefined, second);
    }
  }, 120_000);
});

describe('setup refuses what no run could do before it creates the database', () => {
  const cases: Array<[string, (database: string) => { args: string[]; env: Record<string, string> }, RegExp]> = [
    ['--user public', (database) => ({ args: ['--name', database, '--user', 'public'], env: env(hostEnv) }), /"public" \(--user\)/],
    [
      'the admin as the application role, from DATABASE_URL',
      (database) => ({ args: [], env: env({ DATABASE_URL: uri(server.superuser, server.password, database) }) }),
      /from DATABASE_URL's user \(environment\)/,
    ],
  ];
  test.each(cases)('%s: exit 2, the database is not created', async (_name, make, message) => {
    const database = uniqueName('pf_db');
    const { args, env: environment } = make(database);
    const result = await runCli(['--env-file', path.join(tempDir(), '.env'), '--json', 'setup', ...args], environment);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error.message).toMatch(message);
    expect(result.stdout + result.stderr).not.toContain(server.password);
    expect(await databaseExists(database)).toBe(false);
  }, 60_000);

  test('an existing superuser as --user: ROLE_IS_SUPERUSER, not PASSWORD_UNKNOWN with a rotation remedy', async () => {
    const database = uniqueName('pf_db2');
    const role = uniqueName('pf_su');
    await withSuperClient('postgres', (client) => client.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD 'su-pw-1'`));
    try {
      const result = await runCli(['--env-file', path.join(tempDir(), '.env'), '--json', 'setup', '--name', database, '--user', role], env(hostEnv));
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout).error.code).toBe('ROLE_IS_SUPERUSER');
      expect(await databaseExists(database)).toBe(false);
    } finally {
      await dropDatabaseAndRole(undefined, role);
    }
  }, 60_000);
});
