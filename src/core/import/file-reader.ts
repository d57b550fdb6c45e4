import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { isAscii, isUtf8 } from 'node:buffer';
import type { RegistryFileRef } from './registry-tree.js';
import type { SourceHasher } from './source-hash.js';

/**
 * Reading the registry's files through one buffer of a fixed size. The process's peak memory
 * must not follow the largest file (a provider with hundreds of versions is MBs): a read
 * buffer grown to the largest file stayed that size, and Node decodes a buffer of more than
 * about 1 MB (0xFBEE9 bytes) into an external string, malloc'ed outside the JavaScript heap
 * and freed only when a full GC finds it. A larger file is hashed and decoded a piece at a
 * time instead, each piece a plain heap string, and read again to be decoded.
 */

/** Below Node's threshold for external strings. */
export const PIECE_BYTES = 512 * 1024;

/** One buffer for every read: a buffer per file made the process's memory creep up (the allocator's fragments). */
const readBuffer = Buffer.allocUnsafe(PIECE_BYTES);

export interface FileProblem {
  /** Relative to the imported folder. */
  readonly file: string;
  readonly problem: string;
}

/** A file as read and hashed: its bytes when it fits in one piece (valid until the next read), else only its size. */
export type ReadFile = { readonly bytes: Buffer } | { readonly size: number };

function unreadable(file: RegistryFileRef, error: unknown): FileProblem {
  return { file: file.relativePath, problem: `cannot be read: ${(error as Error).message}` };
}

/** Reads pieces of at most PIECE_BYTES into the shared buffer until the end; `each` sees each piece. */
function readPieces(fd: number, each: (piece: Buffer) => void): number {
  let total = 0;
  for (;;) {
    const read = readSync(fd, readBuffer, 0, PIECE_BYTES, null);
    if (read === 0) return total;
    total += read;
    each(readBuffer.subarray(0, read));
  }
}

/** Reads a file and adds it to the hash. */
export function readAndHash(file: RegistryFileRef, hasher: SourceHasher): ReadFile | FileProblem {
  let fd: number | undefined;
  try {
    fd = openSync(file.absolutePath, 'r');
    const first = readSync(fd, readBuffer, 0, PIECE_BYTES, null);
    if (first < PIECE_BYTES) {
      const bytes = readBuffer.subarray(0, first);
      hasher.add({ relativePath: file.relativePath, bytes });
      return { bytes };
    }
    // The length goes into the hash before the bytes: taken from the file, checked after.
    const size = fstatSync(fd).size;
    hasher.addHeader(file.relativePath, size);
    hasher.update(readBuffer.subarray(0, first));
    const rest = readPieces(fd, (piece) => hasher.update(piece));
    if (first + rest !== size) return { file: file.relativePath, problem: 'changed while it was being read' };
    return { size };
  } catch (error) {
    return unreadable(file, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A file's text, if it is UTF-8 (JSON and armor are; Node would turn other bytes into U+FFFD, stored as part of a value). */
export function decode(file: RegistryFileRef, bytes: Buffer): string | FileProblem {
  // Nearly every file is ASCII, which decodes several times faster as Latin-1 (the same characters).
  if (isAscii(bytes)) return bytes.toString('latin1');
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(bytes)) return { file: file.relativePath, problem: 'is not valid UTF-8' };
  return text;
}

/** A file larger than one piece, read again and decoded a piece at a time. */
export function decodeLarge(file: RegistryFileRef, size: number): string | FileProblem {
  let fd: number | undefined;
  try {
    fd = openSync(file.absolutePath, 'r');
    const pieces: string[] = [];
    let ascii = true;
    const total = readPieces(fd, (piece) => {
      if (ascii && isAscii(piece)) pieces.push(piece.toString('latin1'));
      else ascii = false;
    });
    if (total !== size) return { file: file.relativePath, problem: 'changed while it was being read' };
    if (ascii) return pieces.join('');
  } catch (error) {
    return unreadable(file, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // Rare (a large file with non-ASCII text): read whole; UTF-8 decodes into the heap, never external.
  try {
    return decode(file, readFileSync(file.absolutePath));
  } catch (error) {
    return unreadable(file, error);
  }
}
