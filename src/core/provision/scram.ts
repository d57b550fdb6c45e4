import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';

/**
 * SCRAM-SHA-256 verifiers (RFC 5802 / RFC 7677), computed on the client the way
 * `createuser` and psql's `\password` do: the server is sent only the verifier, so the
 * plaintext password never reaches it, its statement log or pg_stat_activity.
 */

/** PostgreSQL's defaults (SCRAM_DEFAULT_ITERATIONS, SCRAM_DEFAULT_SALT_LEN). */
export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function hmac(key: Uint8Array, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

/**
 * PostgreSQL runs SASLprep on the password first; for ASCII it changes nothing. Full
 * SASLprep (NFKC, prohibited code points, bidi rules) is not implemented here, so other
 * passwords are refused rather than hashed differently from the server.
 */
function saslPreparedBytes(password: string): Buffer {
  if (!/^[\x01-\x7f]*$/.test(password)) {
    throw new ConfigError('Client-side SCRAM hashing supports ASCII passwords only.');
  }
  return Buffer.from(password, 'utf8');
}

function keysFromSaltedPassword(saltedPassword: Buffer): Omit<ScramVerifier, 'iterations' | 'salt'> {
  const clientKey = hmac(saltedPassword, 'Client Key');
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: hmac(saltedPassword, 'Server Key'),
  };
}

function scramKeys(password: string, salt: Uint8Array, iterations: number): Omit<ScramVerifier, 'iterations' | 'salt'> {
  return keysFromSaltedPassword(pbkdf2Sync(saslPreparedBytes(password), salt, iterations, 32, 'sha256'));
}

function formatVerifier(iterations: number, salt: Uint8Array, { storedKey, serverKey }: Omit<ScramVerifier, 'iterations' | 'salt'>): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64, as in pg_authid.rolpassword. */
export function scramSha256Verifier(
  password: string,
  salt: Uint8Array = randomBytes(SCRAM_SALT_BYTES),
  iterations: number = SCRAM_ITERATIONS,
): string {
  return formatVerifier(iterations, salt, scramKeys(password, salt, iterations));
}

/**
 * The same verifier, with the 4096 PBKDF2 rounds on libuv's thread pool, so the
 * caller can wait for the server meanwhile.
 */
export async function scramSha256VerifierAsync(
  password: string,
  salt: Uint8Array = randomBytes(SCRAM_SALT_BYTES),
  iterations: number = SCRAM_ITERATIONS,
): Promise<string> {
  const prepared = saslPreparedBytes(password);
  const saltedPassword = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(prepared, salt, iterations, 32, 'sha256', (error, key) => (error ? reject(error) : resolve(key))),
  );
  return formatVerifier(iterations, salt, keysFromSaltedPassword(saltedPassword));
}

const VERIFIER_PATTERN = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const match = VERIFIER_PATTERN.exec(text);
  if (!match) return undefined;
  return {
    iterations: Number(match[1]),
    salt: Buffer.from(match[2]!, 'base64'),
    storedKey: Buffer.from(match[3]!, 'base64'),
    serverKey: Buffer.from(match[4]!, 'base64'),
  };
}

/** Whether `password` logs in against a stored verifier (recomputed with its salt and iteration count). */
export function scramVerifierMatches(password: string, verifier: string): boolean {
  const parsed = parseScramVerifier(verifier);
  if (!parsed || !/^[\x01-\x7f]*$/.test(password)) return false;
  const { storedKey, serverKey } = scramKeys(password, parsed.salt, parsed.iterations);
  return (
    storedKey.length === parsed.storedKey.length &&
    timingSafeEqual(storedKey, parsed.storedKey) &&
    serverKey.length === parsed.serverKey.length &&
    timingSafeEqual(serverKey, parsed.serverKey)
  );
}
