import { permissionRemedy } from '../../src/core/db/permission-remedy.js';

/** SQLSTATE 42501, told as the statement that fixes it (messages as PostgreSQL 12-18 word them). */
describe('permissionRemedy: the statement to run, for the admin', () => {
  const admin = { user: 'registry_admin', role: 'admin' as const, database: 'opentofu' };

  test.each([
    ['permission denied for schema public', undefined, 'As the schema\'s owner or a superuser, run: GRANT USAGE, CREATE ON SCHEMA "public" TO "registry_admin";'],
    ['permission denied for database opentofu', undefined, 'As its owner or a superuser, run: GRANT CREATE ON DATABASE "opentofu" TO "registry_admin";'],
    ['permission denied for database "opentofu"', 'User does not have CONNECT privilege.', 'GRANT CONNECT ON DATABASE "opentofu" TO "registry_admin";'],
    ['permission denied for table modules', undefined, 'As a superuser or its owner, run: ALTER TABLE "modules" OWNER TO "registry_admin";'],
    ['permission denied for sequence modules_id_seq', undefined, 'ALTER SEQUENCE "modules_id_seq" OWNER TO "registry_admin";'],
    ['must be owner of table modules', undefined, 'As a superuser or its current owner, run: ALTER TABLE "modules" OWNER TO "registry_admin";'],
    ['must be owner of relation modules', undefined, 'ALTER TABLE "modules" OWNER TO "registry_admin";'],
    ['must be owner of database opentofu', undefined, 'ALTER DATABASE "opentofu" OWNER TO "registry_admin";'],
    ['must be owner of schema public', undefined, 'ALTER SCHEMA "public" OWNER TO "registry_admin";'],
    ['permission denied to create database', undefined, 'As a superuser, run: ALTER ROLE "registry_admin" CREATEDB;'],
    ['permission denied to create role', 'Only roles with the CREATEROLE attribute may create roles.', 'As a superuser, run: ALTER ROLE "registry_admin" CREATEROLE;'],
    ['permission denied to create extension "postgis"', undefined, 'CREATE EXTENSION IF NOT EXISTS "postgis"; in database "opentofu"'],
  ])('%s', (message, detail, expected) => {
    expect(permissionRemedy({ message, detail }, admin)).toContain(expected);
  });

  test('a trusted extension needs CREATE on the database, not a superuser (the server\'s hint tells)', () => {
    const remedy = permissionRemedy(
      { message: 'permission denied to create extension "pg_trgm"', serverHint: 'Must have CREATE privilege on current database to create this extension.' },
      admin,
    );
    expect(remedy).toContain('As its owner or a superuser, run: GRANT CREATE ON DATABASE "opentofu" TO "registry_admin";');
    expect(remedy).not.toContain('Only a superuser');
  });

  test('names are quoted as identifiers', () => {
    expect(permissionRemedy({ message: 'permission denied for schema public' }, { user: 'a"b', role: 'admin' })).toContain('TO "a""b";');
  });

  test('the application role is sent to create-user, not given a GRANT', () => {
    const remedy = permissionRemedy({ message: 'permission denied for table modules' }, { user: 'opentofu_user', role: 'app' });
    expect(remedy).toBe('Run `tofu-registry-db create-user` as the admin: it re-applies the privileges "opentofu_user" needs.');
  });

  test('an unknown message, or no role to name, is left to the general advice', () => {
    expect(permissionRemedy({ message: 'permission denied for large object 16384' }, admin)).toBeUndefined();
    expect(permissionRemedy({ message: 'permission denied for table modules' }, {})).toBeUndefined();
  });
});
