import { parseConnectionString } from '../../src/core/config/conninfo.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { ConfigError } from '../../src/core/errors.js';
import path from 'node:path';
import { tempDir } from '../support/fixtures.js';

/**
 * Review 5, item 5: a password with an unencoded "/", "?", "&" or space ended the user-info (or
 * the value) early, and the error quoted what followed as a port, a parameter or a word: a piece
 * of the password. Whatever the parse error, no part of it may appear in the message or hint.
 */
const failureOf = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a configuration error');
};

/** Every run of 3+ characters of the password: none may be shown. */
const pieces = (password: string) => password.split(/[/?&#@\s%]/).filter((p) => p.length >= 3);

describe('a URI whose password breaks its syntax: explained, never quoted', () => {
  test.each([
    ['postgres://opentofu_user:Xy7/Qk9+ZrT@127.0.0.1:5432/opentofu', 'Xy7/Qk9+ZrT'],
    ['postgres://mgr:Abq/cdz@db.example.com/postgres', 'Abq/cdz'],
    ['postgres://mgr:Rst?etPW@127.0.0.1:5432/postgres', 'Rst?etPW'],
    ['postgres://mgr:Uvw/x?yz@127.0.0.1/postgres?sslmode=disable', 'Uvw/x?yz'],
    ['postgresql://mgr:Mno/pqr@h1:5432,h2:5433/db?target_session_attrs=read-write', 'Mno/pqr'],
  ])('%s', (uri, password) => {
    const failure = failureOf(() => parseConnectionString(uri, 'DATABASE_URL (environment)'));
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.exitCode).toBe(2);
    const shown = `${failure.message} ${failure.hint} ${JSON.stringify(failure.toJSON())}`;
    for (const piece of pieces(password)) expect(shown).not.toContain(piece);
    expect(failure.message).toMatch(/^DATABASE_URL \(environment\) has an "@" after its first "\/" or "\?": the password .* unencoded "\/" or "\?"/);
    expect(failure.hint).toMatch(/Percent-encode .* %2F for \/, %3F for \?/);
  });

  test('a port that is not a number is not quoted (without "@", a password would stand there)', () => {
    const failure = failureOf(() => parseConnectionString('postgres://mgr:Gh7kLmn/x', 'TOFU_REGISTRY_DB_ADMIN_URL (environment)'));
    expect(failure.message).toMatch(/has a port that is not a number/);
    expect(`${failure.message} ${failure.hint}`).not.toContain('Gh7kLmn');
  });

  test('an unencoded "&" in a password query parameter, a space in a keyword/value password: not quoted', () => {
    const uri = failureOf(() => parseConnectionString('postgres://db/reg?password=Pq8&Zx9wv&sslmode=disable', 'X'));
    expect(uri.message).toMatch(/password most likely contains an unencoded "&"/);
    expect(`${uri.message} ${uri.hint}`).not.toMatch(/Pq8|Zx9wv/);
    const unknownAfter = failureOf(() => parseConnectionString('postgres://db/reg?password=Pq8&Zx9wv=1', 'X'));
    expect(`${unknownAfter.message} ${unknownAfter.hint}`).not.toMatch(/Pq8|Zx9wv/);
    for (const text of ['host=db password=Kw4 Yt6ru sslmode=disable', 'host=db password=Kw4 Yt6ru=1', 'host=db password=Kw4 9Yt6ru']) {
      const kv = failureOf(() => parseConnectionString(text, 'X'));
      expect(kv.message).toMatch(/password most likely contains a space/);
      expect(kv.hint).toMatch(/single quotes/);
      expect(`${kv.message} ${kv.hint}`).not.toMatch(/Kw4|Yt6ru/);
    }
  });

  test('a "%" that starts no escape in the password: named, not quoted', () => {
    const failure = failureOf(() => parseConnectionString('postgres://u:Bn5%zzQr@db/reg', 'X'));
    expect(failure.message).toBe('X has an invalid percent-encoding in its password.');
    expect(failure.hint).toMatch(/%25 for %/);
  });

  test('well-formed URIs still read as before: encoded characters, an "@" in the password, ":" in it', () => {
    expect(parseConnectionString('postgres://u:Xy7%2FQk9%3F@db/reg', 'X').params).toMatchObject({ user: 'u', password: 'Xy7/Qk9?', host: 'db', dbname: 'reg' });
    expect(parseConnectionString('postgres://u:p@ss:w@db:6432/reg', 'X').params).toMatchObject({ password: 'p@ss:w', host: 'db', port: '6432' });
    expect(parseConnectionString("host=db password='a b' sslmode=disable", 'X').params).toMatchObject({ password: 'a b', sslmode: 'disable' });
    expect(parseConnectionString('postgres://db/reg?password=a%26b&sslmode=disable', 'X').params).toMatchObject({ password: 'a&b', sslmode: 'disable' });
  });

  test('through resolveSettings too: the error names the variable, nothing of the password', () => {
    const envFile = path.join(tempDir(), '.env');
    const failure = failureOf(() => resolveSettings({ env: { TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://mgr:Ab9/cdQ@127.0.0.1:5432/postgres' }, flags: { envFile } }));
    expect(failure.message).toMatch(/^TOFU_REGISTRY_DB_ADMIN_URL \(environment\) has an "@"/);
    expect(failure.message).not.toMatch(/Ab9|cdQ/);
  });
});
