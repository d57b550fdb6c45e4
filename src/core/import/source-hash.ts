import { createHash } from 'node:crypto';

/**
 * What identifies a provider's or module's files as read: an import that finds the same
 * hash recorded for it knows its rows are what these files make, and leaves them alone.
 */

/**
 * Part of every hash: change it whenever the rows a file becomes change (a new column filled,
 * another merge rule), so that the next import reads every file again instead of keeping
 * rows made the old way.
 */
export const MAPPING_VERSION = 'tofu-registry-db import mapping 2';

export interface SourceFile {
  /** Relative to the imported folder, with `/`: the spelling of the path is part of what a file says. */
  readonly relativePath: string;
  readonly bytes: Uint8Array;
}

/** SHA-256 (hex) over the mapping version and each file's path, length and bytes, in path order. */
export function sourceHash(files: readonly SourceFile[]): string {
  const hash = createHash('sha256').update(MAPPING_VERSION);
  const ordered = [...files].sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  for (const file of ordered) hash.update(`\0${file.relativePath}\0${file.bytes.length}\0`).update(file.bytes);
  return hash.digest('hex');
}
