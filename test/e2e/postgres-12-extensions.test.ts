/**
 * PostgreSQL 12 and a CREATEDB CREATEROLE admin (a managed service's admin, not a superuser):
 * pg_trgm, which migration 002 creates, became a trusted extension only in 13. The run
 * refuses before anything changes and names the statement a superuser runs; once it ran (in
 * template1, or in the database), setup completes. On a PostgreSQL 12 server of its own (the
 * pinned pg12 package), whatever the run's server is.
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, REPO_ROOT, runCli, superClient, tempDir, uniqueName } from '../support/fixtures.js';
import { startServer, type TestServer } from '../support/pg-server.js';

const PG12_BIN = path.join(REPO_ROOT, 'node_modules', 'pg12', 'native', 'bin');

let server: TestServer;
const admin = { user: 'managed_admin', password: 'managed-admin-pass-12' };

async function asSuperuser<T>(database: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = await superClient(database, server);
  try {
    return (await client.query(sql, values)).rows as T[];
  } finally {
    await client.end();
  }
}

function envFor(database: string, role: string): Record<string, string> {
  return adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_ADMIN_USER: admin.user, TOFU_REGISTRY_DB_ADMIN_PASSWORD: admin.password }, server);
}

async function inventory(): Promise<string> {
  const databases = await asSuperuser<{ datname: string }>('postgres', 'SELECT datname FROM pg_database ORDER BY 1');
  const roles = await asSuperuser<{ rolname: string }>('postgres', 'SELECT rolname FROM pg_roles ORDER BY 1');
  return JSON.stringify({ databases, roles });
}

async function appliedIn(database: string): Promise<string[]> {
  return (await asSuperuser<{ version: string }>(database, 'SELECT version FROM tofu_registry_migrations ORDER BY version::int')).map((r) => r.version);
}

beforeAll(async () => {
  server = await startServer({ binDir: PG12_BIN });
  await asSuperuser('postgres', `CREATE ROLE ${admin.user} LOGIN CREATEDB CREATEROLE PASSWORD '${admin.password}'`);
});

afterAll(async () => {
  await server?.stop();
});

describe('PostgreSQL 12, a CREATEDB CREATEROLE admin, pg_trgm not trusted', () => {
  test('setup and create-db (--dry-run too) refuse with exit 4 before creating anything, naming CREATE EXTENSION in template1', async () => {
    expect(server.majorVersion).toBe(12);
    const database = uniqueName('pg12_new');
    const role = uniqueName('pg12_app');
    const envFile = path.join(tempDir(), '.env');
    const before = await inventory();
    for (const command of [['setup'], ['create-db'], ['create-db', '--dry-run']]) {
      const result = await runCli(['--json', '--env-file', envFile, ...command], envFor(database, role));
      expect({ command, code: result.code }).toEqual({ command, code: 4 });
      const { error } = JSON.parse(result.stdout);
      expect(error.code).toBe('EXTENSION_NEEDS_SUPERUSER');
      expect(error.message).toContain('pg_trgm (002_search_indexes.sql:');
      expect(error.message).toContain('Nothing was changed');
      expect(error.hint).toContain('CREATE EXTENSION IF NOT EXISTS "pg_trgm"; in database template1');
    }
    expect(await inventory()).toBe(before);
    expect(existsSync(envFile)).toBe(false);
  });

  test('a database left at 001 (as earlier versions left it): migrate refuses, naming the database; after the superuser statement it completes', async () => {
    const database = uniqueName('pg12_half');
    const role = uniqueName('pg12_app');
    const envFile = path.join(tempDir(), '.env');
    const only001 = tempDir('trdb-pg12-sql-');
    copyFileSync(path.join(REPO_ROOT, 'sql', '001_initial_schema.sql'), path.join(only001, '001_initial_schema.sql'));
    const env = envFor(database, role);
    expect((await runCli(['--env-file', envFile, 'create-db', '--dir', only001], env)).code).toBe(0);
    expect(await appliedIn(database)).toEqual(['1']);

    for (const command of [['migrate'], ['migrate', '--dry-run'], ['setup']]) {
      const result = await runCli(['--json', '--env-file', envFile, ...command], env);
      expect({ command, code: result.code }).toEqual({ command, code: 4 });
      expect(JSON.parse(result.stdout).error.hint).toContain(`CREATE EXTENSION IF NOT EXISTS "pg_trgm"; in database "${database}"`);
    }
    expect(await appliedIn(database)).toEqual(['1']);
    expect(await asSuperuser(database, "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).toEqual([]);

    await asSuperuser(database, 'CREATE EXTENSION pg_trgm');
    const done = await runCli(['--json', '--env-file', envFile, 'setup'], env);
    expect(done.code).toBe(0);
    expect(await appliedIn(database)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const checked = await runCli(['--json', '--env-file', envFile, 'test-connection'], env);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true });
  });

  test('with pg_trgm put into template1 by a superuser, setup completes as the managed admin (four runs at once too)', async () => {
    await asSuperuser('template1', 'CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const database = uniqueName('pg12_ready');
    const envFile = path.join(tempDir(), '.env');
    const result = await runCli(['--json', '--env-file', envFile, 'setup'], envFor(database, uniqueName('pg12_app')));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true });
    expect(await appliedIn(database)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const indexes = await asSuperuser<{ indexname: string }>(database, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm%' ORDER BY 1");
    expect(indexes).toHaveLength(4);
    // Each run looks into template1 before its CREATE DATABASE, which waits for such sessions to end.
    const runs = await Promise.all(Array.from({ length: 4 }, () => runCli(['--json', '--env-file', path.join(tempDir(), '.env'), 'setup'], envFor(uniqueName('pg12_par'), uniqueName('pg12_app')))));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
  });
});
