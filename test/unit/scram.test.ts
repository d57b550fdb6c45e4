import { createHash, createHmac } from 'node:crypto';
import { parseScramVerifier, scramSha256Verifier, scramSha256VerifierAsync, scramVerifierMatches } from '../../src/core/provision/scram.js';
import { RFC7677 } from '../support/scram-vectors.js';


describe('scramSha256Verifier', () => {
  test('has the shape PostgreSQL stores in rolpassword', () => {
    const verifier = scramSha256Verifier('correct horse battery staple');
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(parseScramVerifier(verifier)?.salt).toHaveLength(16);
  });

  test('a fresh random salt each time', () => {
    expect(scramSha256Verifier('same')).not.toBe(scramSha256Verifier('same'));
  });

  test('matches the RFC 7677 test vector: the server signature and the client proof check out', () => {
    const verifier = scramSha256Verifier(RFC7677.password, Buffer.from(RFC7677.salt, 'base64'), RFC7677.iterations);
    const parsed = parseScramVerifier(verifier)!;
    expect(verifier.startsWith(`SCRAM-SHA-256$4096:${RFC7677.salt}$`)).toBe(true);

    const serverSignature = createHmac('sha256', parsed.serverKey).update(RFC7677.authMessage).digest('base64');
    expect(serverSignature).toBe(RFC7677.serverSignature);

    // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and StoredKey must be SHA-256(ClientKey).
    const clientSignature = createHmac('sha256', parsed.storedKey).update(RFC7677.authMessage).digest();
    const proof = Buffer.from(RFC7677.clientProof, 'base64');
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ clientSignature[i]!));
    expect(createHash('sha256').update(clientKey).digest().equals(parsed.storedKey)).toBe(true);
  });

  test('scramVerifierMatches recognises the right password only', () => {
    const verifier = scramSha256Verifier('s3cret-Password');
    expect(scramVerifierMatches('s3cret-Password', verifier)).toBe(true);
    expect(scramVerifierMatches('s3cret-password', verifier)).toBe(false);
    expect(scramVerifierMatches('s3cret-Password', 'md5abcdef')).toBe(false);
  });

  test('refuses passwords it cannot SASLprep like the server would', () => {
    expect(() => scramSha256Verifier('pässword')).toThrow(/ASCII/);
  });
});

describe('scramSha256VerifierAsync (PBKDF2 on the thread pool)', () => {
  test('gives exactly the synchronous verifier for the same salt, and the RFC 7677 keys', async () => {
    const salt = Buffer.from(RFC7677.salt, 'base64');
    expect(await scramSha256VerifierAsync(RFC7677.password, salt, RFC7677.iterations)).toBe(scramSha256Verifier(RFC7677.password, salt, RFC7677.iterations));
    const verifier = await scramSha256VerifierAsync('correct horse battery staple');
    expect(scramVerifierMatches('correct horse battery staple', verifier)).toBe(true);
    expect(scramVerifierMatches('correct horse battery stapler', verifier)).toBe(false);
  });

  test('refuses a non-ASCII password as the synchronous one does', async () => {
    await expect(scramSha256VerifierAsync('pässword')).rejects.toThrow('ASCII passwords only');
  });
});
