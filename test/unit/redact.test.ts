import { validateName } from '../../src/core/config/names.js';
import { checkHost } from '../../src/core/config/host.js';
import { generateAppPassword } from '../../src/core/provision/password.js';
import { clearSecrets, redactSecrets, registerName, registerSecret, revealSecret } from '../../src/core/redact.js';

/**
 * Redaction (review #14): structural wherever a secret's place is, for any secret; by occurrence
 * only for secrets that cannot be mistaken for ordinary text, so names and words are never
 * mangled and a password equal to a role's name is not given away.
 */
afterEach(() => clearSecrets());

describe('structural: a secret\'s place is masked, whatever the secret (even unregistered, short or plain)', () => {
  test.each([
    ['a URI\'s user-info', 'postgres://postgres:postgres@127.0.0.1:5432/postgres', 'postgres://postgres:[redacted]@127.0.0.1:5432/postgres'],
    ['an unencoded @ in it', 'postgresql://u:p@ss@h/db is wrong', 'postgresql://u:[redacted]@h/db is wrong'],
    ['another scheme', 'proxy https://u:hunter2@proxy:3128 refused', 'proxy https://u:[redacted]@proxy:3128 refused'],
    ['password= in a URI\'s query', 'postgres://h/db?password=wrong&sslmode=disable', 'postgres://h/db?password=[redacted]&sslmode=disable'],
    ['password= in a keyword/value string', 'host=h password=wrong dbname=x', 'host=h password=[redacted] dbname=x'],
    ['a quoted keyword/value password', "host=h password='it''s a secret' dbname=x", 'host=h password=[redacted] dbname=x'],
    ['sslpassword=', 'sslpassword=pw1 sslmode=require', 'sslpassword=[redacted] sslmode=require'],
    ['PGPASSWORD=', 'PGPASSWORD=postgres psql', 'PGPASSWORD=[redacted] psql'],
    ['a tool password variable, quoted', 'TOFU_REGISTRY_DB_ADMIN_PASSWORD="a b c" tofu-registry-db', 'TOFU_REGISTRY_DB_ADMIN_PASSWORD=[redacted] tofu-registry-db'],
    ['an env-file line', 'TOFU_REGISTRY_DB_PASSWORD=wrong', 'TOFU_REGISTRY_DB_PASSWORD=[redacted]'],
    ['PASSWORD \'…\' in SQL', "ALTER ROLE x PASSWORD 'postgres'", "ALTER ROLE x PASSWORD '[redacted]'"],
    ['PASSWORD E\'…\' in SQL', "ALTER ROLE x PASSWORD E'a\\\\b'", "ALTER ROLE x PASSWORD '[redacted]'"],
    ['a SCRAM verifier', "PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'", "PASSWORD '[redacted]'"],
    ['an MD5 verifier', 'md5' + 'a'.repeat(32), 'md5[redacted]'],
  ])('%s', (_what, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  test('words about passwords are left alone', () => {
    const text = 'password from TOFU_REGISTRY_DB_PASSWORD (environment); Password authentication failed; the password is wrong';
    expect(redactSecrets(text)).toBe(text);
  });
});

describe('by occurrence: only secrets that cannot be ordinary text', () => {
  test('the review\'s CI example: admin "postgres" with password "postgres" — names and fields stay as they are', () => {
    validateName('postgres', 'TOFU_REGISTRY_DB_ADMIN_USER (environment)');
    registerSecret('postgres');
    const line = 'Server      PostgreSQL 18.4 at 127.0.0.1:5432, primary; read as "postgres"; database postgres (default); owner postgres';
    expect(redactSecrets(line)).toBe(line);
    expect(redactSecrets(JSON.stringify({ admin: 'postgres', owner: 'postgres' }))).toBe('{"admin":"postgres","owner":"postgres"}');
    // …and in a secret's place it is masked all the same.
    expect(redactSecrets('postgres://postgres:postgres@127.0.0.1:5432/postgres')).toBe('postgres://postgres:[redacted]@127.0.0.1:5432/postgres');
  });

  test('a password equal to (or part of) a name in the settings, even a long one with digits, is not masked where names are printed', () => {
    validateName('ci_admin_20240517', 'TOFU_REGISTRY_DB_ADMIN_USER (environment)');
    checkHost('db-primary-7.internal', 'TOFU_REGISTRY_DB_HOST (environment)');
    registerSecret('ci_admin_20240517');
    registerSecret('primary-7');
    expect(redactSecrets('role "ci_admin_20240517" logged in to db-primary-7.internal:5432')).toBe('role "ci_admin_20240517" logged in to db-primary-7.internal:5432');
  });

  test.each([
    ['wrong', 'the password is wrong, or the role does not exist'],
    ['secret', 'a secret in the env file'],
    ['changeme', 'changeme is not a good password'],
    ['12345678', 'size 12345678 bytes'],
    ['opentofu_user', 'role opentofu_user'],
  ])('a short, plain or number-only secret (%s) is masked only structurally', (secret, text) => {
    registerSecret(secret);
    expect(redactSecrets(text)).toBe(text);
    expect(redactSecrets(`PGPASSWORD=${secret}`)).toBe('PGPASSWORD=[redacted]');
  });

  test.each([
    ['s3cr3t-value'],
    ['wrong-admin-secret-42'],
    ['Xy7/Qk9+ZrT'],
    ['correcthorsebatterystaple'],
  ])('a secret that cannot be ordinary text (%s) is masked wherever it occurs', (secret) => {
    registerName('opentofu_user');
    registerSecret(secret);
    expect(redactSecrets(`server said: ${secret} (at ${secret}!)`)).toBe('server said: [redacted] (at [redacted]!)');
  });

  test('a generated password is masked everywhere it was before: raw in any text, in URIs, env lines, SQL and JSON', () => {
    validateName('opentofu_user', 'default');
    validateName('opentofu', 'default');
    for (let i = 0; i < 200; i++) {
      const password = generateAppPassword();
      registerSecret(password);
      const texts = [
        `notice: ${password}`,
        `postgres://opentofu_user:${password}@127.0.0.1:5432/opentofu`,
        `TOFU_REGISTRY_DB_PASSWORD=${password}`,
        `ALTER ROLE "opentofu_user" PASSWORD '${password}'`,
        JSON.stringify({ message: `x${password}y` }),
        `${password.slice(0, 10)}${password}${password.slice(10)}`,
      ];
      for (const text of texts) expect(redactSecrets(text)).not.toContain(password);
      revealSecret(password);
    }
  });

  test('revealSecret: a password the operator asked to see is printed, outside a secret\'s place', () => {
    const password = generateAppPassword();
    registerSecret(password);
    revealSecret(password);
    expect(redactSecrets(`Password: ${password}`)).toBe(`Password: ${password}`);
  });
});

test('a value already cut to "…" (a usage error about --password=…) stays as it is', () => {
  expect(redactSecrets("unknown option '--password=…'")).toBe("unknown option '--password=…'");
  expect(redactSecrets("unknown option '--password=hunter2'")).toBe("unknown option '--password=[redacted]'");
});
