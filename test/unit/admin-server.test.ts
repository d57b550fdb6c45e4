import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSettings, settingsForRole } from '../../src/core/config/settings.js';
import { describeSettingSources } from '../../src/core/config/describe-settings.js';
import { tempDir } from '../support/fixtures.js';

/**
 * Review 5, item 9: DATABASE_URL replaced the port and sslmode of TOFU_REGISTRY_DB_ADMIN_URL
 * (the registry API through PgBouncer on one port, the admin direct on another). Each URI is a
 * libpq connection string of its own: its values serve its role's connections, and its origins
 * say so; the other role's URI only fills what a role has nothing else for.
 */
const envFile = (text = '') => {
  const f = path.join(tempDir(), '.env');
  writeFileSync(f, text);
  return f;
};
const resolve = (env: Record<string, string>, file = envFile(), flags = {}) => resolveSettings({ env, flags: { ...flags, envFile: file } });

describe('each role connects where its own URI says', () => {
  const bouncerAndDirect = {
    DATABASE_URL: 'postgres://reg_u_app@127.0.0.1:39501/reg_u?sslmode=require&connect_timeout=3',
    TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr:mgr-pw-1@127.0.0.1:45481/postgres?sslmode=disable',
  };

  test('the application role: DATABASE_URL\'s port and sslmode; the admin: its URI\'s', () => {
    const s = resolve(bouncerAndDirect);
    expect([s.port, s.sslMode, s.connectTimeoutMs, s.database, s.user]).toEqual([39501, 'require', 3000, 'reg_u', 'reg_u_app']);
    const admin = settingsForRole(s, 'admin');
    expect([admin.port, admin.sslMode, admin.admin.database, admin.admin.user]).toEqual([45481, 'disable', 'postgres', 'mgr']);
    expect(admin.origins).toMatchObject({ port: "TOFU_REGISTRY_DB_ADMIN_URL's port (environment)", sslMode: "TOFU_REGISTRY_DB_ADMIN_URL's sslmode (environment)" });
    // It names a server of its own: what it leaves out is not taken from DATABASE_URL, which describes another.
    expect([admin.connectTimeoutMs, admin.origins.connectTimeout]).toEqual([10000, 'default']);
    expect(describeSettingSources(s, 'admin')).toMatchObject({ port: "45481 (TOFU_REGISTRY_DB_ADMIN_URL's port (environment))", sslmode: "disable (TOFU_REGISTRY_DB_ADMIN_URL's sslmode (environment))" });
    expect(describeSettingSources(s, 'app')).toMatchObject({ port: "39501 (DATABASE_URL's port (environment))", sslmode: "require (DATABASE_URL's sslmode (environment))" });
  });

  test('different hosts are two servers of one installation, not a conflict', () => {
    const s = resolve({ TOFU_REGISTRY_DB_URL: 'postgresql://a@pgbouncer.internal:6432/x', TOFU_REGISTRY_DB_ADMIN_URL: 'postgresql://b@db1.internal/postgres' });
    expect([s.host, s.port]).toEqual(['pgbouncer.internal', 6432]);
    expect([settingsForRole(s, 'admin').host, settingsForRole(s, 'admin').port]).toEqual(['db1.internal', 5432]);
    // The port of the app's URI is the bouncer's, not the admin's: the admin URI named a host of its own.
    expect(settingsForRole(s, 'admin').origins.port).toBe('default');
  });

  test("an admin URI that names its own server takes no sslmode from the app's URI (a bouncer's disable would send the admin's password in clear)", () => {
    const s = resolve({ DATABASE_URL: 'postgres://app@127.0.0.1:6432/reg?sslmode=disable', TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr@db.example.com/postgres' });
    expect(s.sslMode).toBe('disable');
    expect([settingsForRole(s, 'admin').sslMode, settingsForRole(s, 'admin').origins.sslMode]).toEqual(['require', 'default']);
    // Shared variables still describe the server for both.
    const shared = resolve({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', DATABASE_URL: 'postgres://app@127.0.0.1:6432/reg', TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr@db.example.com/postgres' });
    expect(settingsForRole(shared, 'admin').sslMode).toBe('verify-full');
  });

  test('an admin URI without a host connects to the registry server the other settings name', () => {
    const s = resolve({ DATABASE_URL: 'postgres://api@db.example.com:5433/reg', TOFU_REGISTRY_DB_ADMIN_URL: 'user=mgr password=pw-9 dbname=postgres' });
    const admin = settingsForRole(s, 'admin');
    expect([admin.host, admin.port, admin.origins.host]).toEqual(['db.example.com', 5433, "DATABASE_URL's host (environment)"]);
    expect(s.admin.server).toBeUndefined(); // nothing of the server differs
  });

  test('an admin URI alone names the server for both roles (setup writes it into the env file)', () => {
    const s = resolve({ TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr:pw@db.example.com:6543/postgres?sslmode=verify-full' });
    expect([s.host, s.port, s.sslMode]).toEqual(['db.example.com', 6543, 'verify-full']);
    expect(settingsForRole(s, 'admin')).toBe(s);
  });

  test("the admin's URI beats the shared variables for admin connections; flags beat both", () => {
    const env = { TOFU_REGISTRY_DB_HOST: 'pgbouncer', TOFU_REGISTRY_DB_PORT: '6432', TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr@db-direct:5432/postgres' };
    const s = resolve(env);
    expect([s.host, s.port]).toEqual(['pgbouncer', 6432]);
    expect([settingsForRole(s, 'admin').host, settingsForRole(s, 'admin').port]).toEqual(['db-direct', 5432]);
    const flagged = resolve(env, envFile(), { host: 'flag-host', port: 7000 });
    expect(flagged.admin.server).toBeUndefined();
    expect([settingsForRole(flagged, 'admin').host, settingsForRole(flagged, 'admin').port]).toEqual(['flag-host', 7000]);
  });

  test("an admin URI in the env file serves the admin over the environment's shared variables, with its line", () => {
    const s = resolve({ TOFU_REGISTRY_DB_PORT: '6432' }, envFile('# admin\nTOFU_REGISTRY_DB_ADMIN_URL=postgres://mgr@db:5432/postgres?sslmode=disable\n'));
    expect(s.port).toBe(6432);
    const admin = settingsForRole(s, 'admin');
    expect([admin.port, admin.origins.port, admin.origins.sslMode]).toEqual([5432, "TOFU_REGISTRY_DB_ADMIN_URL's port (.env, line 2)", "TOFU_REGISTRY_DB_ADMIN_URL's sslmode (.env, line 2)"]);
  });

  test("an invalid value in the admin's URI names it, and its parameter", () => {
    expect(() => resolve({ DATABASE_URL: 'postgres://a@db/x', TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr@db/postgres?sslmode=disble' })).toThrow(
      /^TOFU_REGISTRY_DB_ADMIN_URL's sslmode \(environment\) is "disble": expected one of/,
    );
  });

  test('the view is stable: applied twice, or narrowed to one host and applied again, it stays', () => {
    const s = resolve({ DATABASE_URL: 'postgres://a@db1:6432,db2:6432/x', TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr@db1:5432,db2:5432/postgres' });
    const admin = settingsForRole(s, 'admin');
    expect(settingsForRole(admin, 'admin')).toBe(admin);
    const narrowed = { ...admin, hosts: [admin.hosts[1]!], host: 'db2', port: 5432 };
    expect(settingsForRole(narrowed, 'admin').hosts).toEqual([{ host: 'db2', port: 5432 }]);
    expect(settingsForRole(s, 'app')).toBe(s);
  });
});
