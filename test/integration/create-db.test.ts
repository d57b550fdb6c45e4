import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { migrate, getMigrationStatus } from '../../src/core/migrations/migrate.js';
import {
  adminEnv,
  contextFor,
  databaseExists,
  dropDatabaseAndRole,
  REPO_ROOT,
  tempDir,
  uniqueName,
  withSuperClient,
} from '../support/fixtures.js';

async function tables(database: string): Promise<string[]> {
  return withSuperClient(database, async (c) =>
    (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename),
  );
}

describe('createDatabase against a real server', () => {
  test('creates the database and the schema, then a second run changes nothing', async () => {
    const db = uniqueName('cdb');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    const first = await createDatabase(context);
    expect(first.created).toBe(true);
    expect(first.migrations?.appliedCount).toBe(readdirSync(path.join(REPO_ROOT, 'sql')).filter((f) => f.endsWith('.sql')).length);
    expect(await tables(db)).toEqual(['cache', 'modules', 'provider_platforms', 'providers', 'registry_import_sources', 'registry_modules', 'registry_providers', 'signing_keys', 'tofu_registry_migrations']);

    const second = await createDatabase(context);
    expect(second.created).toBe(false);
    expect(second.migrations?.appliedCount).toBe(0);
    expect(second.migrations?.upToDateCount).toBe(first.migrations?.appliedCount);
    await dropDatabaseAndRole(db);
  });

  test('the schema matches the spec: columns, types and unique keys', async () => {
    const db = uniqueName('cdb_schema');
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })));
    const columns = await withSuperClient(db, async (c) =>
      (
        await c.query(`SELECT table_name, column_name, data_type, character_maximum_length AS len, is_nullable
                         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'modules'
                        ORDER BY ordinal_position`)
      ).rows,
    );
    expect(columns.map((c) => `${c.column_name}:${c.data_type}${c.len ? `(${c.len})` : ''}:${c.is_nullable}`)).toEqual([
      'id:integer:NO',
      'namespace:character varying(255):NO',
      'name:character varying(255):NO',
      'provider:character varying(255):NO',
      'version:character varying(255):NO', // 50 in 001, widened by 003
      'description:text:YES',
      'source_url:text:YES',
      'published_at:timestamp without time zone:YES',
      'downloads:integer:YES',
      'tag:character varying(255):YES', // 004: the Git tag as written
      'commit:character varying(40):YES', // 004
    ]);
    const uniques = await withSuperClient(db, async (c) =>
      (
        await c.query(`SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
                        WHERE contype = 'u' AND connamespace = 'public'::regnamespace ORDER BY 1`)
      ).rows.map((r) => `${r.t} ${r.def}`),
    );
    expect(uniques).toEqual([
      'cache UNIQUE (cache_key)',
      'modules UNIQUE (namespace, name, provider, version)',
      'providers UNIQUE (namespace, name, version)',
      'signing_keys UNIQUE (namespace, provider, file_name)',
    ]);
    await dropDatabaseAndRole(db);
  });

  test('custom migrations folder, a failing migration leaves no trace, and checksum drift is refused', async () => {
    const db = uniqueName('cdb_dir');
    const dir = tempDir();
    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id int);\n');
    writeFileSync(path.join(dir, '002_two.sql'), 'CREATE TABLE two (id int);\nINSERT INTO two VALUES (1);\nSELEC broken;\n');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    const failure = await createDatabase(context, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RegistryDbError);
    const error = failure as RegistryDbError;
    expect(error.exitCode).toBe(5);
    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.sqlState).toBe('42601');
    expect(error.message).toContain('002_two.sql:3:1');
    expect(await tables(db)).toEqual(['one', 'tofu_registry_migrations']);

    writeFileSync(path.join(dir, '002_two.sql'), 'CREATE TABLE two (id int);\n');
    const fixed = await migrate(context, { migrationsDir: dir });
    expect(fixed.appliedCount).toBe(1);

    writeFileSync(path.join(dir, '001_one.sql'), 'CREATE TABLE one (id bigint);\n');
    const drift = await migrate(context, { migrationsDir: dir }).catch((e: unknown) => e as RegistryDbError);
    expect(drift).toBeInstanceOf(RegistryDbError);
    expect((drift as RegistryDbError).code).toBe('MIGRATION_CHANGED');
    expect((drift as RegistryDbError).exitCode).toBe(5);
    const status = await getMigrationStatus(context, { migrationsDir: dir });
    expect(status.migrations.map((m) => `${m.version}:${m.state}`)).toEqual(['1:changed', '2:applied']);
    await dropDatabaseAndRole(db);
  });

  test('works for an admin that has only CREATEDB CREATEROLE (as on managed services)', async () => {
    const db = uniqueName('cdb_managed');
    const admin = uniqueName('managed_admin');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN CREATEDB CREATEROLE PASSWORD 'managed-pass-123'`));
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'managed-pass-123' }));
    const result = await createDatabase(context);
    expect(result.created).toBe(true);
    const owner = await withSuperClient(db, async (c) => (await c.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'modules'`)).rows[0].tableowner);
    expect(owner).toBe(admin);
    await dropDatabaseAndRole(db, admin);
  });

  test('an admin without CREATEDB gets exit 4 and nothing is created', async () => {
    const db = uniqueName('cdb_nopriv');
    const admin = uniqueName('weak_admin');
    await withSuperClient('postgres', (c) => c.query(`CREATE ROLE "${admin}" LOGIN PASSWORD 'weak-pass-123'`));
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_ADMIN_USER: admin, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'weak-pass-123' }));
    const error = (await createDatabase(context).catch((e: unknown) => e)) as RegistryDbError;
    expect(error.exitCode).toBe(4);
    expect(await databaseExists(db)).toBe(false);
    await dropDatabaseAndRole(undefined, admin);
  });

  test('8 concurrent migrate runs apply each migration exactly once', async () => {
    const db = uniqueName('cdb_race');
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= 5; i++) {
      writeFileSync(path.join(dir, `00${i}_m${i}.sql`), `CREATE TABLE t${i} (id int); SELECT pg_sleep(0.05);\n`);
    }
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context, { migrate: false });
    const runs = await Promise.all(Array.from({ length: 8 }, () => migrate(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrationsDir: dir })));
    expect(runs.reduce((sum, r) => sum + r.appliedCount, 0)).toBe(5);
    const rows = await withSuperClient(db, async (c) => (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version')).rows.map((r) => r.version));
    expect(rows).toEqual(['1', '2', '3', '4', '5']);
    await dropDatabaseAndRole(db);
  });

  test('wrong admin password: exit 4; unreachable port: exit 3', async () => {
    const bad = await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: uniqueName('x'), TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'wrong-password' }))).catch((e: unknown) => e as RegistryDbError);
    expect((bad as RegistryDbError).exitCode).toBe(4);
    expect((bad as RegistryDbError).code).toBe('AUTH_FAILED');
    expect((bad as RegistryDbError).message).not.toContain('wrong-password');
    const closed = await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_PORT: '1' }))).catch((e: unknown) => e as RegistryDbError);
    expect((closed as RegistryDbError).exitCode).toBe(3);
    expect((closed as RegistryDbError).code).toBe('CONNECTION_REFUSED');
  });
});
