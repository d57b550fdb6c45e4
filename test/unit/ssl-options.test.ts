import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/fixtures.js';
import { sslAttempts, sslOptionsFor } from '../../src/core/db/tls-options.js';

describe('libpq sslmode semantics', () => {
  const ca = path.join(tempDir(), 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const host = 'db.example.com';

  test('attempt order: prefer tries TLS first, allow tries plain first', () => {
    expect(sslAttempts('disable')).toEqual([false]);
    expect(sslAttempts('allow')).toEqual([false, true]);
    expect(sslAttempts('prefer')).toEqual([true, false]);
    expect(sslAttempts('require')).toEqual([true]);
    expect(sslAttempts('verify-ca')).toEqual([true]);
    expect(sslAttempts('verify-full')).toEqual([true]);
  });

  test('require encrypts without verifying when no root certificate is given', () => {
    expect(sslOptionsFor({ host, sslMode: 'require' }, true)).toEqual({ rejectUnauthorized: false });
  });

  test('require with a root certificate behaves as verify-ca', () => {
    const options = sslOptionsFor({ host, sslMode: 'require', sslRootCert: ca }, true);
    expect(options).toMatchObject({ rejectUnauthorized: true });
    expect(options && options.checkServerIdentity?.(host, {} as never)).toBeUndefined();
    expect(options && options.servername).toBeUndefined();
  });

  test('verify-ca checks the chain, not the host name', () => {
    const options = sslOptionsFor({ host, sslMode: 'verify-ca', sslRootCert: ca }, true);
    expect(options).toMatchObject({ rejectUnauthorized: true });
    expect(typeof (options && options.checkServerIdentity)).toBe('function');
  });

  test('verify-full checks the chain and the host name', () => {
    const options = sslOptionsFor({ host, sslMode: 'verify-full', sslRootCert: ca }, true);
    expect(options).toMatchObject({ rejectUnauthorized: true, servername: host });
    expect(options && options.checkServerIdentity).toBeUndefined();
  });

  test('verify-full without any root certificate is a configuration error', () => {
    const home = process.env.HOME;
    process.env.HOME = tempDir();
    try {
      expect(() => sslOptionsFor({ host, sslMode: 'verify-full' }, true)).toThrow(/needs a root certificate/);
    } finally {
      process.env.HOME = home;
    }
  });

  test('"system" uses the platform roots (no ca given)', () => {
    const options = sslOptionsFor({ host, sslMode: 'verify-full', sslRootCert: 'system' }, true);
    expect(options).toMatchObject({ rejectUnauthorized: true });
    expect(options).not.toHaveProperty('ca'); // Node's default store: bundled roots, NODE_EXTRA_CA_CERTS, --use-openssl-ca
    expect(options).not.toHaveProperty('secureContext');
  });

  test('Unix sockets are never encrypted, as in libpq', () => {
    expect(sslOptionsFor({ host: '/var/run/postgresql', sslMode: 'verify-full', sslRootCert: ca }, true)).toBe(false);
  });
});
