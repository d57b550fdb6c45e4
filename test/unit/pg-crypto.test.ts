import { createRequire } from 'node:module';
import * as ours from '../../src/core/runtime/pg-crypto.js';
import { RFC7677 } from '../support/scram-vectors.js';

/** pg's own module, which the CLI bundle replaces with src/core/runtime/pg-crypto.ts. */
const pgUtils = createRequire(import.meta.url)('pg/lib/crypto/utils.js') as typeof ours;


const hex = (data: ArrayBuffer | Uint8Array): string => Buffer.from(data as ArrayBuffer).toString('hex');

describe('pg-crypto (the bundle\'s replacement for pg/lib/crypto/utils.js)', () => {
  test('exports every function pg\'s module exports', () => {
    expect(Object.keys(ours).sort()).toEqual(Object.keys(pgUtils).sort());
  });

  test('computes the RFC 7677 client proof and server signature the way pg\'s SASL code combines them', async () => {
    const salted = await ours.deriveKey(RFC7677.password, Buffer.from(RFC7677.salt, 'base64'), RFC7677.iterations);
    const clientKey = await ours.hmacSha256(salted, 'Client Key');
    const storedKey = await ours.sha256(clientKey);
    const clientSignature = await ours.hmacSha256(storedKey, RFC7677.authMessage);
    const proof = Buffer.from(clientKey).map((byte, i) => byte ^ Buffer.from(clientSignature)[i]!);
    expect(Buffer.from(proof).toString('base64')).toBe(RFC7677.clientProof);
    const serverKey = await ours.hmacSha256(salted, 'Server Key');
    expect(Buffer.from(await ours.hmacSha256(serverKey, RFC7677.authMessage)).toString('base64')).toBe(RFC7677.serverSignature);
  });

  test.each([
    ['ascii', 'correct horse battery staple', 4096],
    ['unicode', 'pässwörd-ß-日本語', 4096],
    ['other iteration count', 'x', 10000],
  ])('gives the same bytes as pg\'s WebCrypto version: %s', async (_label, password, iterations) => {
    const salt = ours.randomBytes(16);
    const [mine, theirs] = [await ours.deriveKey(password, salt, iterations), await pgUtils.deriveKey(password, salt, iterations)];
    expect(hex(mine)).toBe(hex(theirs));
    expect(hex(await ours.hmacSha256(mine, 'Client Key'))).toBe(hex(await pgUtils.hmacSha256(theirs, 'Client Key')));
    expect(hex(await ours.sha256(mine))).toBe(hex(await pgUtils.sha256(theirs)));
    expect(hex(await ours.hashByName('SHA-256', mine))).toBe(hex(await pgUtils.hashByName('SHA-256', theirs)));
    expect(hex(await ours.hashByName('SHA-512', mine))).toBe(hex(await pgUtils.hashByName('SHA-512', theirs)));
    expect(await ours.md5(password)).toBe(await pgUtils.md5(password));
    expect(await ours.postgresMd5PasswordHash('role', password, salt.subarray(0, 4))).toBe(
      await pgUtils.postgresMd5PasswordHash('role', password, salt.subarray(0, 4)),
    );
  });

  test('derives the salted password once per password, salt and iteration count', async () => {
    const salt = ours.randomBytes(16);
    const first = await ours.deriveKey('secret', salt, 4096);
    expect(await ours.deriveKey('secret', Buffer.from(salt), 4096)).toBe(first); // the same object: not derived again
    expect(hex(await ours.deriveKey('secret', ours.randomBytes(16), 4096))).not.toBe(hex(first));
    expect(hex(await ours.deriveKey('secret2', salt, 4096))).not.toBe(hex(first));
    expect(hex(await ours.deriveKey('secret', salt, 4097))).not.toBe(hex(first));
  });
});
