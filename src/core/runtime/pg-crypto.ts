/**
 * A drop-in for pg's lib/crypto/utils.js, swapped in by the CLI bundle (scripts/bundle-cli.mjs).
 *
 * pg 8.23 does SCRAM through WebCrypto. On Node 20 the first `subtle.importKey` +
 * `deriveBits` of a process is slow (WebCrypto's internals load on first use; bench/README.md, Start-up), and
 * every connection derives the salted password again: 4096 PBKDF2 rounds. This module does
 * the same with node:crypto's synchronous primitives, and
 * derives the salted password once per (password, salt, iterations) and process: a run
 * that logs in as the same role several times (setup: the maintenance database, then the
 * new one) pays for PBKDF2 once, as libpq does not but as the SCRAM RFC allows (the salted
 * password is what a client may cache; RFC 5802 §5.1).
 *
 * Same exports, same results (test/unit/pg-crypto.test.ts compares them with pg's own).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes as nodeRandomBytes } from 'node:crypto';

type Bytes = Buffer | Uint8Array | ArrayBuffer;

const toBuffer = (data: Bytes | string): Buffer =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

const saltedPasswords = new Map<string, Buffer>();

export function randomBytes(length: number): Buffer {
  return nodeRandomBytes(length);
}

export async function deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
  const key = `${iterations}\0${toBuffer(salt).toString('base64')}\0${password}`;
  let salted = saltedPasswords.get(key);
  if (!salted) {
    salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
    saltedPasswords.set(key, salted);
  }
  return salted;
}

export async function sha256(data: Bytes): Promise<Buffer> {
  return createHash('sha256').update(toBuffer(data)).digest();
}

/** WebCrypto names ('SHA-256') as pg passes them, for channel binding. */
export async function hashByName(hashName: string, data: Bytes): Promise<Buffer> {
  return createHash(hashName.replace('-', '').toLowerCase()).update(toBuffer(data)).digest();
}

export async function hmacSha256(key: Bytes, message: string): Promise<Buffer> {
  return createHmac('sha256', toBuffer(key)).update(message, 'utf8').digest();
}

export async function md5(data: string | Bytes): Promise<string> {
  return createHash('md5').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : toBuffer(data)).digest('hex');
}

/** See AuthenticationMD5Password in the protocol documentation. */
export async function postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string> {
  const inner = await md5(password + user);
  const outer = await md5(Buffer.concat([Buffer.from(inner), salt]));
  return 'md5' + outer;
}
