import path from 'node:path';
import pg from 'pg';
import { startServer, type TestServer } from '../support/pg-server.js';
import { adminEnv, runCli, tempDir } from '../support/fixtures.js';

/**
 * Malformed names, ports, sslmodes, types, paths, flags and commands: each must exit 2
 * with a message naming the problem, and leave the server's databases and roles exactly
 * as they were. A private server, so that no other test's work shows up in the inventory.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Databases with their ACLs, roles, and the tables in postgres and template1. */
async function inventory(): Promise<string> {
  const open = async (database: string) => {
    const client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database });
    await client.connect();
    return client;
  };
  const tablesIn = async (database: string) => {
    const client = await open(database);
    try {
      return (await client.query("SELECT string_agg(relname, ',' ORDER BY relname) AS t FROM pg_class WHERE relnamespace = 'public'::regnamespace")).rows[0].t;
    } finally {
      await client.end();
    }
  };
  const client = await open('postgres');
  try {
    const dbs = (await client.query('SELECT datname, datacl::text FROM pg_database ORDER BY 1')).rows.map((r) => `${r.datname}:${r.datacl}`);
    const roles = (await client.query('SELECT rolname, rolpassword IS NOT NULL AS pw FROM pg_authid ORDER BY 1')).rows.map((r) => `${r.rolname}:${r.pw}`);
    return JSON.stringify({ dbs, roles, postgres: await tablesIn('postgres'), template1: await tablesIn('template1') });
  } finally {
    await client.end();
  }
}

const folder = tempDir();
const long = 'a'.repeat(64);
const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['name with quote and semicolon', ['create-db', '--name', 'x"; DROP DATABASE postgres; --'], {}, /--name/],
  ['name with a space', ['create-db', '--name', 'a b'], {}, /--name "a b"/],
  ['name of 64 characters', ['create-db', '--name', long], {}, /at most 63/],
  ['name with a leading digit', ['create-user', '--name', '1abc'], {}, /must start with a letter/],
  ['name with $', ['migrate', '--name', 'a$b'], {}, /--name/],
  ['name with /', ['drop', '--yes', '--name', 'a/b'], {}, /--name/],
  ['empty name', ['create-db', '--name', ''], {}, /is empty/],
  ['role with a quote', ['create-user', '--user', "o'brien"], {}, /--user/],
  ['role of 64 characters', ['create-user', '--user', long], {}, /--user/],
  ['empty role', ['drop', '--yes', '--user', ''], {}, /--user "" is empty/],
  ['NUL in a name (environment)', ['create-db'], { TOFU_REGISTRY_DB_NAME: 'ab\u0001' }, /TOFU_REGISTRY_DB_NAME/],
  ['port 0', ['create-db'], { TOFU_REGISTRY_DB_PORT: '0' }, /TOFU_REGISTRY_DB_PORT "0"|TOFU_REGISTRY_DB_PORT \(environment\) "0"/],
  ['port 70000', ['migrate'], { TOFU_REGISTRY_DB_PORT: '70000' }, /TOFU_REGISTRY_DB_PORT/],
  ['port with letters', ['create-user'], { TOFU_REGISTRY_DB_PORT: '54x2' }, /TOFU_REGISTRY_DB_PORT/],
  ['empty port', ['create-db'], { TOFU_REGISTRY_DB_PORT: '' }, /TOFU_REGISTRY_DB_PORT/],
  ['unknown sslmode', ['create-db'], { TOFU_REGISTRY_DB_SSLMODE: 'sometimes' }, /TOFU_REGISTRY_DB_SSLMODE/],
  ['sslmode with a space', ['migrate'], { TOFU_REGISTRY_DB_SSLMODE: 'require ' }, /TOFU_REGISTRY_DB_SSLMODE/],
  ['type mysql', ['create-db'], { TOFU_REGISTRY_DB_TYPE: 'mysql' }, /only "postgres"/],
  ['empty type', ['create-user'], { TOFU_REGISTRY_DB_TYPE: '' }, /TOFU_REGISTRY_DB_TYPE/],
  ['host with a semicolon', ['create-db'], { TOFU_REGISTRY_DB_HOST: 'db;host' }, /TOFU_REGISTRY_DB_HOST/],
  ['host with a space', ['migrate'], { TOFU_REGISTRY_DB_HOST: 'db host' }, /TOFU_REGISTRY_DB_HOST/],
  ['admin user with a space', ['create-db'], { TOFU_REGISTRY_DB_ADMIN_USER: 'ad min' }, /TOFU_REGISTRY_DB_ADMIN_USER/],
  ['root certificate missing', ['create-db'], { TOFU_REGISTRY_DB_SSLROOTCERT: '/nonexistent/ca.pem' }, /TOFU_REGISTRY_DB_SSLROOTCERT/],
  ['lock timeout not a number', ['migrate'], { TOFU_REGISTRY_DB_LOCK_TIMEOUT: 'soon' }, /TOFU_REGISTRY_DB_LOCK_TIMEOUT/],
  ['--wait not a number', ['create-db', '--wait', 'forever'], {}, /--wait/],
  ['--wait negative', ['migrate', '--wait', '-1'], {}, /--wait|unknown option/],
  ['migrations folder missing', ['migrate', '--dir', '/nonexistent/folder'], {}, /migrations folder/],
  ['migrations folder is a file', ['create-db', '--dir', '/etc/hostname'], {}, /not a folder/],
  ['env file is a folder', ['--env-file', folder, 'create-db'], {}, /not a regular file/],
  ['empty env file path', ['--env-file', '', 'create-db'], {}, /--env-file is empty/],
  ['unknown flag', ['create-db', '--bogus-flag'], {}, /unknown option/],
  ['unknown command', ['no-such-command'], {}, /unknown command/],
  ['password as a flag', ['create-user', '--password', 'hunter2hunter2'], {}, /unknown option/],
  ['password as a flag with =', ['create-user', '--password=hunter2hunter2'], {}, /unknown option '--password=…'/],
  ['drop without --yes', ['drop'], {}, /needs --yes/],
  ['drop postgres', ['drop', '--yes', '--name', 'postgres'], {}, /Refusing to drop "postgres"/],
  ['drop template1', ['drop', '--yes', '--name', 'template1'], {}, /Refusing to drop "template1"/],
  ['rotate without --yes', ['create-user', '--rotate-password'], {}, /--yes/],
  ['create-db template1', ['create-db', '--name', 'template1'], {}, /--name is "template1", one of PostgreSQL's own databases/],
  ['migrate template1', ['migrate'], { TOFU_REGISTRY_DB_NAME: 'template1' }, /TOFU_REGISTRY_DB_NAME \(environment\) is "template1"/],
  ['create-user on postgres', ['create-user', '--name', 'postgres', '--user', 'hostile_pgu'], {}, /"postgres", one of PostgreSQL's own databases/],
  ['setup on postgres', ['setup', '--name', 'postgres', '--user', 'hostile_pgu'], {}, /"postgres", one of PostgreSQL's own databases/],
  ['import into template1', ['import', folder, '--name', 'template1'], {}, /"template1", one of PostgreSQL's own databases/],
];

describe('hostile input exits 2 and changes nothing', () => {
  test.each(cases)('%s', async (_label, args, overrides, message) => {
    const before = await inventory();
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: 'hostile_target', ...overrides }, { ...server, socketDir: '', majorVersion: 0, binDir: '' });
    const hasEnvFile = args.includes('--env-file');
    const result = await runCli([...(hasEnvFile ? [] : ['--env-file', path.join(tempDir(), '.env')]), ...args], env);
    // stderr shown only when the exit code is wrong, to tell what happened.
    expect({ code: result.code, stdout: result.stdout, ...(result.code === 2 ? {} : { stderr: result.stderr }) }).toEqual({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('hunter2hunter2');
    expect(await inventory()).toBe(before);
  });

  test('--json turns the same refusals into one JSON document with ok: false', async () => {
    const result = await runCli(['--json', '--env-file', path.join(tempDir(), '.env'), 'create-db', '--name', 'a b'], adminEnv({}, { ...server, socketDir: '', majorVersion: 0, binDir: '' }));
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, command: 'create-db', error: { code: 'CONFIG_INVALID' } });
    const flag = await runCli(['--json', '--env-file', path.join(tempDir(), '.env'), 'create-user', '--password=hunter2hunter2'], adminEnv({}, { ...server, socketDir: '', majorVersion: 0, binDir: '' }));
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE', message: "unknown option '--password=…'" } });
    expect(flag.stdout + flag.stderr).not.toContain('hunter2hunter2');
  });
});
