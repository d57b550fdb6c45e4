import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The spec's floor; the default is longer so a password stays strong if a shorter alphabet is ever used. */
const MIN_PASSWORD_LENGTH = 32;
export const DEFAULT_PASSWORD_LENGTH = 40;

/**
 * Bytes at or above this bound are thrown away: 248 is the largest multiple of 62 that
 * fits in a byte, so `byte % 62` is uniform over the bytes that are kept (no modulo bias).
 */
const UNBIASED_BYTE_BOUND = Math.floor(256 / ALPHABET.length) * ALPHABET.length;

export type RandomByteSource = (size: number) => Uint8Array;

/** A password of [A-Za-z0-9] from node:crypto, by rejection sampling. */
export function generateAppPassword(length: number = DEFAULT_PASSWORD_LENGTH, source: RandomByteSource = randomBytes): string {
  if (!Number.isInteger(length) || length < MIN_PASSWORD_LENGTH || length > 1024) {
    throw new ConfigError(`A password must be ${MIN_PASSWORD_LENGTH}-1024 characters long, not ${length}.`);
  }
  let password = '';
  while (password.length < length) {
    // About 3% of bytes are rejected; ask for a little more than needed to rarely loop.
    for (const byte of source(length - password.length + 8)) {
      if (byte >= UNBIASED_BYTE_BOUND) continue;
      password += ALPHABET[byte % ALPHABET.length];
      if (password.length === length) break;
    }
  }
  return password;
}
