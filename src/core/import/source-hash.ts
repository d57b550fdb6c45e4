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
const MAPPING_VERSION = 'tofu-registry-db import mapping 2';

export interface SourceFile {
  /** Relative to the imported folder, with `/`: the spelling of the path is part of what a file says. */
  readonly relativePath: string;
  readonly bytes: Uint8Array;
}

/** SHA-256 over the mapping version and each file's path, length and bytes: add the files in path order. */
export class SourceHasher {
  private readonly hash = createHash('sha256').update(MAPPING_VERSION);

  add(file: SourceFile): void {
    this.addHeader(file.relativePath, file.bytes.length);
    this.update(file.bytes);
  }

  /** A file's path and length; its bytes follow with `update`, in as many pieces as read. */
  addHeader(relativePath: string, length: number): void {
    this.hash.update(`\0${relativePath}\0${length}\0`);
  }

  update(bytes: Uint8Array): void {
    this.hash.update(bytes);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export function byPath(a: { readonly relativePath: string }, b: { readonly relativePath: string }): number {
  return a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0;
}

/** SHA-256 (hex) of files, in any order. */
export function sourceHash(files: readonly SourceFile[]): string {
  const hasher = new SourceHasher();
  for (const file of [...files].sort(byPath)) hasher.add(file);
  return hasher.digest();
}
