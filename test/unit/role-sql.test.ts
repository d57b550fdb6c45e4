import { alterRoleSql, createRoleSql } from '../../src/core/sql/roles.js';
import { appRoleGrantsSql, grantDatabasePrivilegesSql, grantDefaultPrivilegesSql, grantSchemaUsageSql, grantSequencePrivilegesSql, grantTablePrivilegesSql, revokeConnectFromPublicSql, revokeCreateOnSchemaFromPublicSql, revokeDatabasePrivilegesSql, revokeDefaultPrivilegesSql, revokeSchemaPrivilegesSql, revokeSequencePrivilegesSql, revokeTablePrivilegesSql } from '../../src/core/sql/grants.js';

const VERIFIER = 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';

describe('role SQL builders', () => {
  test.each([
    [createRoleSql('opentofu_user', VERIFIER), `CREATE ROLE "opentofu_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '${VERIFIER}'`],
    [alterRoleSql('app', { verifier: VERIFIER }), `ALTER ROLE "app" WITH PASSWORD '${VERIFIER}'`],
    [alterRoleSql('app', { attributes: ['LOGIN', 'NOCREATEDB'] }), 'ALTER ROLE "app" WITH LOGIN NOCREATEDB'],
    [alterRoleSql('app', { attributes: ['NOREPLICATION'], verifier: VERIFIER }), `ALTER ROLE "app" WITH NOREPLICATION PASSWORD '${VERIFIER}'`],
    [revokeConnectFromPublicSql('opentofu'), 'REVOKE CONNECT ON DATABASE "opentofu" FROM PUBLIC'],
    [revokeCreateOnSchemaFromPublicSql('public'), 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC'],
    [revokeDatabasePrivilegesSql('opentofu', 'app'), 'REVOKE ALL ON DATABASE "opentofu" FROM "app"'],
    [grantDatabasePrivilegesSql('opentofu', 'app'), 'GRANT CONNECT, TEMPORARY ON DATABASE "opentofu" TO "app"'],
    [revokeSchemaPrivilegesSql('public', 'app'), 'REVOKE ALL ON SCHEMA "public" FROM "app"'],
    [grantSchemaUsageSql('public', 'app'), 'GRANT USAGE ON SCHEMA "public" TO "app"'],
    [revokeTablePrivilegesSql('public', 'app'), 'REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "app"'],
    [grantTablePrivilegesSql('public', 'app'), 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "app"'],
    [revokeSequencePrivilegesSql('public', 'app'), 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "public" FROM "app"'],
    [grantSequencePrivilegesSql('public', 'app'), 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app"'],
    [
      revokeDefaultPrivilegesSql('admin', 'public', 'TABLES', 'app'),
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" REVOKE ALL ON TABLES FROM "app"',
    ],
    [
      grantDefaultPrivilegesSql('admin', 'public', 'TABLES', 'app'),
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app"',
    ],
    [
      grantDefaultPrivilegesSql('admin', 'public', 'SEQUENCES', 'app'),
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "app"',
    ],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  test('names are quoted as identifiers, a verifier as a literal', () => {
    expect(createRoleSql('we"ird-Name', VERIFIER)).toBe(
      `CREATE ROLE "we""ird-Name" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '${VERIFIER}'`,
    );
    expect(grantDefaultPrivilegesSql('Admin-1', 'public', 'TABLES', 'my"app')).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "Admin-1" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "my""app"',
    );
  });

  test('only a SCRAM verifier may be sent as a password, never a plaintext', () => {
    expect(() => createRoleSql('app', 'plaintext-password')).toThrow(/SCRAM-SHA-256 verifier/);
    expect(() => alterRoleSql('app', { verifier: "x' SUPERUSER --" })).toThrow(/SCRAM-SHA-256 verifier/);
  });

  test('ALTER ROLE with nothing to change is a programming error', () => {
    expect(() => alterRoleSql('app', {})).toThrow();
  });

  test('the whole grant plan, in order: revoke then grant for each object', () => {
    const base = { database: 'opentofu', schema: 'public', role: 'app', owner: 'admin' };
    expect(appRoleGrantsSql({ ...base, revokeCreateOnSchemaFromPublic: false })).toEqual([
      'REVOKE CONNECT ON DATABASE "opentofu" FROM PUBLIC',
      'REVOKE ALL ON DATABASE "opentofu" FROM "app"',
      'GRANT CONNECT, TEMPORARY ON DATABASE "opentofu" TO "app"',
      'REVOKE ALL ON SCHEMA "public" FROM "app"',
      'GRANT USAGE ON SCHEMA "public" TO "app"',
      'REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "app"',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "app"',
      'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "public" FROM "app"',
      'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" REVOKE ALL ON TABLES FROM "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" REVOKE ALL ON SEQUENCES FROM "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "app"',
    ]);
    expect(appRoleGrantsSql({ ...base, revokeCreateOnSchemaFromPublic: true })[3]).toBe('REVOKE CREATE ON SCHEMA "public" FROM PUBLIC');
    // An admin that may not grant on the schema (PostgreSQL <= 14, schema public owned by the bootstrap superuser) sends no schema grant.
    const withoutSchema = appRoleGrantsSql({ ...base, revokeCreateOnSchemaFromPublic: false, grantOnSchema: false });
    expect(withoutSchema.filter((s) => s.includes('ON SCHEMA'))).toEqual([]);
    expect(withoutSchema).toHaveLength(11);
    expect(appRoleGrantsSql({ ...base, revokeCreateOnSchemaFromPublic: false, readOnlyTables: ['tofu_registry_migrations'] })[7]).toBe(
      'REVOKE INSERT, UPDATE, DELETE ON "public"."tofu_registry_migrations" FROM "app"',
    );
  });
});
