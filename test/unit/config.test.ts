import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSettings } from '../../src/core/config/settings.js';
import { ConfigError } from '../../src/core/errors.js';
import { tempDir } from '../support/fixtures.js';
import { DEFAULTS } from '../../src/core/config/variables.js';

function envFileWith(content: string): string {
  const file = path.join(tempDir(), '.env');
  writeFileSync(file, content);
  return file;
}

const noFile = () => path.join(tempDir(), 'missing.env');

describe('resolveSettings: resolution order flags > environment > env file > defaults', () => {
  test('defaults when nothing is set', () => {
    const s = resolveSettings({ env: {}, flags: { envFile: noFile() } });
    expect(s).toMatchObject({
      host: 'localhost',
      port: 5432,
      database: 'opentofu',
      user: 'opentofu_user',
      sslMode: 'require',
      admin: { user: 'postgres', database: 'postgres', passwordSource: 'unresolved' },
      lockTimeoutMs: DEFAULTS.lockTimeoutSeconds * 1000,
      envFileLoaded: false,
    });
    expect(s.password).toBeUndefined();
    expect(s.admin.password).toBeUndefined();
  });

  test('the env file fills what the environment leaves unset, never overriding it', () => {
    const file = envFileWith('TOFU_REGISTRY_DB_HOST=file-host\nTOFU_REGISTRY_DB_PORT=6000\nTOFU_REGISTRY_DB_NAME=file_db\n');
    const s = resolveSettings({ env: { TOFU_REGISTRY_DB_HOST: 'env-host' }, flags: { envFile: file } });
    expect(s.host).toBe('env-host');
    expect(s.port).toBe(6000);
    expect(s.database).toBe('file_db');
    expect(s.origins.host).toBe('TOFU_REGISTRY_DB_HOST (environment)');
    expect(s.origins.port).toBe('TOFU_REGISTRY_DB_PORT (.env, line 2)');
    expect(s.envFileLoaded).toBe(true);
  });

  test('flags win over the environment', () => {
    const s = resolveSettings({
      env: { TOFU_REGISTRY_DB_NAME: 'env_db', TOFU_REGISTRY_DB_USER: 'env_user' },
      flags: { database: 'flag_db', user: 'flag_user', envFile: noFile() },
    });
    expect(s.database).toBe('flag_db');
    expect(s.user).toBe('flag_user');
    expect(s.origins.database).toBe('--name');
  });

  test('admin user: TOFU_REGISTRY_DB_ADMIN_USER, else PGUSER, else postgres', () => {
    expect(resolveSettings({ env: { PGUSER: 'pguser' }, flags: { envFile: noFile() } }).admin.user).toBe('pguser');
    expect(
      resolveSettings({ env: { PGUSER: 'pguser', TOFU_REGISTRY_DB_ADMIN_USER: 'admin1' }, flags: { envFile: noFile() } }).admin.user,
    ).toBe('admin1');
  });

  test('admin password: TOFU_REGISTRY_DB_ADMIN_PASSWORD, else PGPASSWORD, else unresolved (pgpass/prompt later)', () => {
    const both = resolveSettings({ env: { PGPASSWORD: 'pgpw', TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'adminpw' }, flags: { envFile: noFile() } });
    expect(both.admin).toMatchObject({ password: 'adminpw', passwordSource: 'TOFU_REGISTRY_DB_ADMIN_PASSWORD (environment)' });
    const pg = resolveSettings({ env: { PGPASSWORD: 'pgpw' }, flags: { envFile: noFile() } });
    expect(pg.admin).toMatchObject({ password: 'pgpw', passwordSource: 'PGPASSWORD (environment)' });
  });

  test('a relative --env-file is resolved against the working directory', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'custom.env'), 'TOFU_REGISTRY_DB_NAME=from_custom\n');
    expect(resolveSettings({ env: {}, cwd: dir, flags: { envFile: 'custom.env' } }).database).toBe('from_custom');
  });

  test('all six sslmodes are accepted; a root certificate path must exist', () => {
    for (const mode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
      expect(resolveSettings({ env: { TOFU_REGISTRY_DB_SSLMODE: mode }, flags: { envFile: noFile() } }).sslMode).toBe(mode);
    }
    const cert = path.join(tempDir(), 'ca.pem');
    writeFileSync(cert, 'x');
    expect(resolveSettings({ env: { TOFU_REGISTRY_DB_SSLROOTCERT: cert }, flags: { envFile: noFile() } }).sslRootCert).toBe(cert);
    expect(resolveSettings({ env: { TOFU_REGISTRY_DB_SSLROOTCERT: 'system' }, flags: { envFile: noFile() } }).sslRootCert).toBe('system');
  });
});

describe('resolveSettings: invalid values are configuration errors naming their source', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['type other than postgres', { TOFU_REGISTRY_DB_TYPE: 'mysql' }, /TOFU_REGISTRY_DB_TYPE.*"mysql".*only "postgres"/],
    ['port zero', { TOFU_REGISTRY_DB_PORT: '0' }, /TOFU_REGISTRY_DB_PORT.*"0".*1-65535/],
    ['port too large', { TOFU_REGISTRY_DB_PORT: '65536' }, /TOFU_REGISTRY_DB_PORT/],
    ['port not a number', { TOFU_REGISTRY_DB_PORT: '54a' }, /TOFU_REGISTRY_DB_PORT/],
    ['negative port', { TOFU_REGISTRY_DB_PORT: '-1' }, /TOFU_REGISTRY_DB_PORT/],
    ['unknown sslmode', { TOFU_REGISTRY_DB_SSLMODE: 'required' }, /TOFU_REGISTRY_DB_SSLMODE.*"required".*expected one of disable, allow/],
    ['sslmode wrong case', { TOFU_REGISTRY_DB_SSLMODE: 'REQUIRE' }, /TOFU_REGISTRY_DB_SSLMODE/],
    ['name with a quote', { TOFU_REGISTRY_DB_NAME: 'a"b' }, /TOFU_REGISTRY_DB_NAME.*only letters, digits/],
    ['name with a semicolon', { TOFU_REGISTRY_DB_NAME: 'a;DROP DATABASE x' }, /TOFU_REGISTRY_DB_NAME/],
    ['name with a space', { TOFU_REGISTRY_DB_NAME: 'my db' }, /TOFU_REGISTRY_DB_NAME/],
    ['name starting with a digit', { TOFU_REGISTRY_DB_NAME: '1db' }, /must start with a letter/],
    ['name of 64 characters', { TOFU_REGISTRY_DB_NAME: 'a'.repeat(64) }, /64 characters long \(at most 63\)/],
    ['name with $', { TOFU_REGISTRY_DB_USER: 'user$1' }, /TOFU_REGISTRY_DB_USER/],
    ['name with /', { TOFU_REGISTRY_DB_USER: 'a/b' }, /TOFU_REGISTRY_DB_USER/],
    ['empty name', { TOFU_REGISTRY_DB_NAME: '' }, /TOFU_REGISTRY_DB_NAME \(environment\) "" is empty/],
    ['empty port', { TOFU_REGISTRY_DB_PORT: '' }, /TOFU_REGISTRY_DB_PORT \(environment\) "" is not a port/],
    ['empty sslmode', { TOFU_REGISTRY_DB_SSLMODE: '' }, /TOFU_REGISTRY_DB_SSLMODE/],
    ['admin user with a quote', { TOFU_REGISTRY_DB_ADMIN_USER: "ad'min" }, /TOFU_REGISTRY_DB_ADMIN_USER/],
    ['PGUSER with a space', { PGUSER: 'a b' }, /PGUSER/],
    ['host with a space', { TOFU_REGISTRY_DB_HOST: 'db host' }, /TOFU_REGISTRY_DB_HOST.*not a host name/],
    ['host with a semicolon', { TOFU_REGISTRY_DB_HOST: 'db;rm' }, /TOFU_REGISTRY_DB_HOST/],
    ['empty host', { TOFU_REGISTRY_DB_HOST: '' }, /TOFU_REGISTRY_DB_HOST/],
    ['NUL in a value', { TOFU_REGISTRY_DB_HOST: 'a\0b' }, /NUL/],
    ['missing root certificate', { TOFU_REGISTRY_DB_SSLROOTCERT: '/nonexistent/ca.pem' }, /TOFU_REGISTRY_DB_SSLROOTCERT.*not a readable file/],
    ['lock timeout not a number', { TOFU_REGISTRY_DB_LOCK_TIMEOUT: 'soon' }, /TOFU_REGISTRY_DB_LOCK_TIMEOUT/],
    ['lock timeout zero', { TOFU_REGISTRY_DB_LOCK_TIMEOUT: '0' }, /TOFU_REGISTRY_DB_LOCK_TIMEOUT/],
    ['network timeout not a number', { TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '30s' }, /TOFU_REGISTRY_DB_NETWORK_TIMEOUT \(environment\) "30s" is not a number of seconds/],
    ['network timeout above a day', { TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '86401' }, /TOFU_REGISTRY_DB_NETWORK_TIMEOUT/],
  ];
  test.each(cases)('%s', (_label, env, message) => {
    let error: unknown;
    try {
      resolveSettings({ env, flags: { envFile: noFile() } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toMatch(message);
  });

  test('TOFU_REGISTRY_DB_NETWORK_TIMEOUT: 30 s unless set', () => {
    expect(resolveSettings({ env: {}, flags: { envFile: noFile() } }).networkTimeoutMs).toBe(30_000);
    expect(resolveSettings({ env: { TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '2.5' }, flags: { envFile: noFile() } }).networkTimeoutMs).toBe(2500);
  });

  test('invalid flag values name the flag', () => {
    expect(() => resolveSettings({ env: {}, flags: { database: 'bad name', envFile: noFile() } })).toThrow(/--name "bad name"/);
    expect(() => resolveSettings({ env: {}, flags: { user: '', envFile: noFile() } })).toThrow(/--user "" is empty/);
  });

  test('an env file that is a folder is a configuration error', () => {
    const dir = path.join(tempDir(), 'folder.env');
    mkdirSync(dir);
    expect(() => resolveSettings({ env: {}, flags: { envFile: dir } })).toThrow(/is not a regular file/);
  });

  test('an invalid value in the env file names the file', () => {
    const file = envFileWith('TOFU_REGISTRY_DB_PORT=99999\n');
    expect(() => resolveSettings({ env: {}, flags: { envFile: file } })).toThrow(/TOFU_REGISTRY_DB_PORT \(\.env, line 1\) "99999"/);
  });

  test('valid hosts: names, IPv4, IPv6, sockets', () => {
    for (const host of ['db.example.com', '10.0.0.5', '::1', '[::1]', '/var/run/postgresql', 'my-db_1.internal']) {
      expect(resolveSettings({ env: { TOFU_REGISTRY_DB_HOST: host }, flags: { envFile: noFile() } }).host).toBe(host);
    }
  });
});
