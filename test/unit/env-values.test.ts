import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSettings } from '../../src/core/config/settings.js';
import { devEnvFileVerdict } from '../../src/core/dev/dev-env-file.js';
import { envFileValues, passwordToWrite, refuseMislabel } from '../../src/core/provision/create-user/env-values.js';
import { tempDir } from '../support/fixtures.js';
import { envFileCredentials, withoutLogin } from '../../src/core/config/env-file-credentials.js';

/** What create-user and dev write into the env file, and which file dev may write (issue #17). */
function settingsWith(file: string, env: Record<string, string>, flags: { user?: string; database?: string } = {}) {
  return resolveSettings({ env, flags: { ...flags, envFile: file } });
}

describe('a password in the env file belongs to the role the file names', () => {
  test('--user naming another role does not pair it with the file\'s password', () => {
    const file = path.join(tempDir(), '.env');
    writeFileSync(file, 'TOFU_REGISTRY_DB_USER=opentofu_user\nTOFU_REGISTRY_DB_PASSWORD=theirs-123456\n');
    expect(settingsWith(file, {}).password).toBe('theirs-123456');
    const other = settingsWith(file, {}, { user: 'other_role' });
    expect(other.password).toBeUndefined();
    expect(other.origins.password).toContain('role "opentofu_user"\'s, not "other_role"\'s');
    // A file without a user name holds the default role's password.
    writeFileSync(file, 'TOFU_REGISTRY_DB_PASSWORD=theirs-123456\n');
    expect(settingsWith(file, {}, { user: 'other_role' }).password).toBeUndefined();
    // The operator's own word in the environment is kept.
    expect(settingsWith(file, { TOFU_REGISTRY_DB_PASSWORD: 'given-123456' }, { user: 'other_role' }).password).toBe('given-123456');
  });

  test('a URI in the file without a user name holds the password of the role the file names', () => {
    const file = path.join(tempDir(), '.env');
    writeFileSync(file, 'DATABASE_URL=postgresql://:theirs-123456@db.example.com/registry\n');
    expect(envFileCredentials({ DATABASE_URL: 'postgresql://:theirs-123456@db.example.com/registry' }).passwords).toEqual([{ role: 'opentofu_user', variable: 'DATABASE_URL' }]);
    expect(settingsWith(file, {}).password).toBe('theirs-123456');
    const other = settingsWith(file, {}, { user: 'other_role' });
    expect(other.password).toBeUndefined();
    expect(other.origins.password).toContain('role "opentofu_user"\'s, not "other_role"\'s');
    writeFileSync(file, 'TOFU_REGISTRY_DB_USER=app_a\nDATABASE_URL=postgresql://:theirs-123456@db.example.com/registry\n');
    expect(settingsWith(file, {}).password).toBe('theirs-123456');
    expect(settingsWith(file, {}, { user: 'other_role' }).password).toBeUndefined();
  });

  test('create-user refuses to write a role beside another role\'s password, and writes its own', () => {
    const file = path.join(tempDir(), '.env');
    writeFileSync(file, 'TOFU_REGISTRY_DB_USER=opentofu_user\nTOFU_REGISTRY_DB_PASSWORD=theirs-123456\n');
    const settings = settingsWith(file, {}, { user: 'other_role' });
    const inFile = { TOFU_REGISTRY_DB_USER: 'opentofu_user', TOFU_REGISTRY_DB_PASSWORD: 'theirs-123456' };
    expect(() => refuseMislabel(settings, inFile, true)).toThrow(expect.objectContaining({ code: 'PASSWORD_UNKNOWN', exitCode: 2 }));
    expect(() => refuseMislabel(settings, inFile, false)).not.toThrow();
    expect(passwordToWrite(settings, inFile, 'new-one-1234567')).toBe('new-one-1234567');
    expect(passwordToWrite(settings, inFile, undefined)).toBeUndefined();
  });
});

describe('whose login a file holds (separate variables, a URI, or both)', () => {
  test('the separate variables win; a URI\'s password belongs to the URI\'s user', () => {
    expect(envFileCredentials({ DATABASE_URL: 'postgresql://a:pa@h/db' })).toMatchObject({ role: 'a', password: 'pa', passwords: [{ role: 'a', variable: 'DATABASE_URL' }] });
    expect(envFileCredentials({ TOFU_REGISTRY_DB_USER: 'b', DATABASE_URL: 'postgresql://a:pa@h/db' })).toMatchObject({ role: 'b', passwords: [{ role: 'a', variable: 'DATABASE_URL' }] });
    expect(envFileCredentials({ TOFU_REGISTRY_DB_USER: 'b', DATABASE_URL: 'postgresql://a:pa@h/db' }).password).toBeUndefined();
    // A URI without a user logs in as the role the file names.
    expect(envFileCredentials({ TOFU_REGISTRY_DB_USER: 'b', TOFU_REGISTRY_DB_URL: 'postgresql://:pb@h/db' })).toMatchObject({ role: 'b', password: 'pb' });
    expect(envFileCredentials({})).toEqual({ role: 'opentofu_user', passwords: [] });
  });

  test('an environment password beside the environment\'s user name is that role\'s, not --user\'s', () => {
    const file = path.join(tempDir(), '.env');
    const env = { TOFU_REGISTRY_DB_USER: 'role_a', TOFU_REGISTRY_DB_PASSWORD: 'role-a-secret-1' };
    expect(settingsWith(file, env).password).toBe('role-a-secret-1');
    expect(settingsWith(file, env, { user: 'role_b' }).password).toBeUndefined();
  });

  test('withoutLogin: user-info and user/password parameters go, everything else stays as written', () => {
    expect(withoutLogin('postgresql://a:p%40ss@h1:5432,h2:5433/db?sslmode=require&connect_timeout=5')).toBe('postgresql://h1:5432,h2:5433/db?sslmode=require&connect_timeout=5');
    expect(withoutLogin('postgres://h/db?user=a&password=x&application_name=api')).toBe('postgres://h/db?application_name=api');
    expect(withoutLogin("host=h user=a password='it\\'s' dbname=db")).toBe('host=h dbname=db');
  });
});

describe('envFileValues: the file describes the connection that was set up', () => {
  test('every connection value is written, also over different ones in the file', () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, 'x');
    writeFileSync(file, 'TOFU_REGISTRY_DB_NAME=opentofu\nTOFU_REGISTRY_DB_PORT=1\n');
    const settings = settingsWith(file, { TOFU_REGISTRY_DB_PORT: '6543', TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_SSLROOTCERT: ca }, { database: 'reg_ci_42', user: 'reg_ci_42' });
    expect(envFileValues(settings, { TOFU_REGISTRY_DB_NAME: 'opentofu', TOFU_REGISTRY_DB_PORT: '1' }, 'pw-123456789')).toEqual({
      TOFU_REGISTRY_DB_TYPE: 'postgres',
      TOFU_REGISTRY_DB_HOST: 'localhost',
      TOFU_REGISTRY_DB_PORT: '6543',
      TOFU_REGISTRY_DB_NAME: 'reg_ci_42',
      TOFU_REGISTRY_DB_SSLMODE: 'verify-full',
      TOFU_REGISTRY_DB_SSLROOTCERT: ca,
      TOFU_REGISTRY_DB_USER: 'reg_ci_42',
      TOFU_REGISTRY_DB_PASSWORD: 'pw-123456789',
    });
  });

  test('a root certificate the run did not use is removed; one spelled relatively is kept as written', () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, '');
    const none = settingsWith(file, { TOFU_REGISTRY_DB_SSLROOTCERT: '' });
    expect(envFileValues(none, { TOFU_REGISTRY_DB_SSLROOTCERT: '/old/ca.pem' }, undefined).TOFU_REGISTRY_DB_SSLROOTCERT).toBeNull();
    writeFileSync(path.join(dir, 'ca.pem'), 'x');
    const cwd = process.cwd();
    process.chdir(dir); // the variable is read relative to the working folder, as libpq does
    try {
      const relative = settingsWith(file, { TOFU_REGISTRY_DB_SSLROOTCERT: 'ca.pem' });
      expect(relative.sslRootCert).toBe(path.join(dir, 'ca.pem'));
      expect(envFileValues(relative, { TOFU_REGISTRY_DB_SSLROOTCERT: 'ca.pem' }, undefined).TOFU_REGISTRY_DB_SSLROOTCERT).toBe('ca.pem');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('devEnvFileVerdict: the files dev may write', () => {
  const verdict = (text: string | undefined) => {
    const file = path.join(tempDir(), '.env');
    if (text !== undefined) writeFileSync(file, text);
    return devEnvFileVerdict(file);
  };
  test.each([
    ['no file', undefined, true],
    ['a file that names no server', 'API_PORT=8080\nTOFU_REGISTRY_DB_NAME=registry\n', true],
    ['a file dev wrote', '# Written by `tofu-registry-db dev`: …\nTOFU_REGISTRY_DB_HOST=127.0.0.1\nTOFU_REGISTRY_DB_PORT=40000\nTOFU_REGISTRY_DB_SSLMODE=disable\nTOFU_REGISTRY_DB_PASSWORD=x\n', true],
    ['a production file', 'TOFU_REGISTRY_DB_HOST=db.example.com\nTOFU_REGISTRY_DB_SSLMODE=verify-full\n', false],
    ['a password dev did not write', 'TOFU_REGISTRY_DB_PASSWORD=x\n', false],
    ['dev\'s comment, but someone put a real host in', '# Written by `tofu-registry-db dev`: …\nTOFU_REGISTRY_DB_HOST=db.example.com\n', false],
    ['dev\'s comment, but TLS verification turned on', '# Written by `tofu-registry-db dev`: …\nTOFU_REGISTRY_DB_HOST=127.0.0.1\nTOFU_REGISTRY_DB_SSLMODE=verify-full\n', false],
  ] as const)('%s', (_what, text, owned) => {
    expect(verdict(text).owned).toBe(owned);
  });
});
