import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, dropDatabaseAndRole, runCli, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/** `status`: one screen and one JSON document that answer "is this installation healthy?". */
describe('tofu-registry-db status (built binary)', () => {
  const database = uniqueName('status_db');
  const role = uniqueName('status_role');
  const envFile = path.join(tempDir(), '.env');
  const env = () => adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_USER: role });

  afterAll(async () => {
    await dropDatabaseAndRole(database, role);
  });

  test('nothing yet: the database is missing (exit 5), and the server is still described', async () => {
    const { code, stdout } = await runCli(['--env-file', envFile, 'status', '--json'], env());
    expect(code).toBe(5);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({ ok: false, command: 'status', exitCode: 5, database: { name: database, exists: false }, role: { name: role, exists: false }, envFile: { exists: false } });
    expect(doc.server).toMatchObject({ host: '127.0.0.1', port: testServer().port, standby: false, versionNum: expect.any(Number) });
    expect(doc.problems.map((p: { code: string }) => p.code)).toEqual(['DATABASE_MISSING', 'ROLE_MISSING']);
  });

  test('after setup: healthy on one screen, exit 0; the JSON document holds every part', async () => {
    expect((await runCli(['--env-file', envFile, 'setup'], env())).code).toBe(0);
    const human = await runCli(['--env-file', envFile, 'status'], env());
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Server {6}PostgreSQL \\S+ at 127\\.0\\.0\\.1:${testServer().port}, primary; read as "${testServer().superuser}"$`));
    // Every setting with where it came from (issue #20).
    expect(lines[1]).toBe(
      `Settings    host 127.0.0.1 (TOFU_REGISTRY_DB_HOST (environment)); port ${testServer().port} (TOFU_REGISTRY_DB_PORT (environment)); ` +
        `database postgres (default); user ${testServer().superuser} (TOFU_REGISTRY_DB_ADMIN_USER (environment)); sslmode disable (TOFU_REGISTRY_DB_SSLMODE (environment)); target_session_attrs any (default)`,
    );
    expect(lines[2]).toMatch(new RegExp(`^Database {4}${database}: owner ${testServer().superuser}, UTF8, .*rows cache \\S+, modules \\S+, provider_platforms \\S+, providers \\S+, registry_import_sources \\S+, registry_modules \\S+, registry_providers \\S+, signing_keys \\S+$`));
    expect(lines[3]).toMatch(/^Migrations {2}(\d+) of \1 applied, 0 pending, 0 changed \(.*sql\)$/);
    expect(lines[4]).toBe(`App role    ${role}: LOGIN, no connection limit, 0 session(s); CONNECT, USAGE on public, read/write on 8 of 8 tables and 4 of 4 sequences`);
    expect(lines[5]).toBe(`Env file    ${envFile}: ${role}@127.0.0.1:${testServer().port}/${database}, sslmode disable, password set`);
    expect(lines[lines.length - 1]).toBe('✔ Healthy');
    expect(human.stderr).toBe('');

    const json = await runCli(['--env-file', envFile, 'status', '--json'], env());
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({
      ok: true,
      exitCode: 0,
      database: { exists: true, rows: { modules: expect.any(Number) } },
      migrations: { pending: [], changed: [] },
      role: { exists: true, login: true, privileges: { connect: true, schemaUsage: true, tablesMissing: [], sequencesMissing: [] } },
      envFile: { exists: true, passwordSet: true, overridden: [] },
      problems: [],
    });
    expect(json.stdout).not.toMatch(/"password"\s*:/);
  });

  test('problems named with their remedy: a pending migration, a missing grant, a connection limit; --quiet prints the first', async () => {
    const dir = tempDir();
    const { cpSync } = await import('node:fs');
    const { REPO_ROOT } = await import('../support/fixtures.js');
    cpSync(path.join(REPO_ROOT, 'sql'), dir, { recursive: true });
    writeFileSync(path.join(dir, '900_later.sql'), 'SELECT 1;\n');
    await withSuperClient(database, async (c) => {
      await c.query(`REVOKE DELETE ON public.cache FROM "${role}"`);
      await c.query(`ALTER ROLE "${role}" CONNECTION LIMIT 0`);
    });
    const { code, stdout } = await runCli(['--env-file', envFile, 'status', '--dir', dir], env());
    expect(code).toBe(5);
    expect(stdout).toContain('✖ 1 of ');
    expect(stdout).toContain('migration(s) are not applied: 900_later.sql.');
    expect(stdout).toContain(`✖ Role "${role}" lacks privileges the API needs: SELECT, INSERT, UPDATE, DELETE on cache.`);
    expect(stdout).toContain(`remedy: As a superuser (or a role that may alter it): ALTER ROLE "${role}" CONNECTION LIMIT -1;`);
    expect(stdout.trimEnd().split('\n').pop()).toBe('✖ 3 problem(s) (exit 5)');

    const quiet = await runCli(['--env-file', envFile, '--quiet', 'status', '--dir', dir], env());
    expect(quiet.code).toBe(5);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toMatch(/^✖ 1 of \d+ migration\(s\) are not applied: 900_later\.sql\.\n {2}hint: Run `tofu-registry-db migrate` as the admin/);
    await withSuperClient(database, (c) => c.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`));
  });

  test('one connection: status opens a single session (--verbose logs each)', async () => {
    const logged = await runCli(['--env-file', envFile, '--verbose', 'status'], env());
    expect(logged.stderr.match(/connecting as /g)).toHaveLength(1);
  });
});
