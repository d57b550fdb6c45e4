import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, decodeLarge, PIECE_BYTES, readAndHash } from '../../src/core/import/file-reader.js';
import type { RegistryFileRef } from '../../src/core/import/registry-tree.js';
import { SourceHasher, sourceHash } from '../../src/core/import/source-hash.js';
import { tempDir } from '../support/fixtures.js';

function fileWith(content: Buffer): RegistryFileRef {
  const absolutePath = path.join(tempDir('trdb-reader-'), 'big.json');
  writeFileSync(absolutePath, content);
  return { kind: 'provider', absolutePath, relativePath: 'providers/a/acme/big.json', namespace: 'acme', name: 'big' };
}

function readText(file: RegistryFileRef): { text: string; sha256: string } {
  const hasher = new SourceHasher();
  const read = readAndHash(file, hasher);
  if ('problem' in read) throw new Error(read.problem);
  const text = 'bytes' in read ? decode(file, read.bytes) : decodeLarge(file, read.size);
  if (typeof text !== 'string') throw new Error(text.problem);
  return { text, sha256: hasher.digest() };
}

describe('reading a file a piece at a time', () => {
  test.each([
    ['smaller than a piece', 1000],
    ['exactly one piece', PIECE_BYTES],
    ['several pieces and a part', 3 * PIECE_BYTES + 17],
  ])('%s: the whole text, and the hash of the whole file', (_, size) => {
    const content = Buffer.from(`{"versions":[${'"x",'.repeat(size)}`.slice(0, size - 2) + ']}');
    expect(content.length).toBe(size);
    const file = fileWith(content);
    const { text, sha256 } = readText(file);
    expect(text).toBe(content.toString());
    expect(sha256).toBe(sourceHash([{ relativePath: file.relativePath, bytes: content }]));
  });

  test('a large file is not kept: only its size, and it is read again to be decoded', () => {
    const file = fileWith(Buffer.alloc(PIECE_BYTES + 1, 'a'));
    expect(readAndHash(file, new SourceHasher())).toEqual({ size: PIECE_BYTES + 1 });
  });

  test('a large file with UTF-8 text beyond its first piece, characters across a piece boundary', () => {
    const content = Buffer.concat([Buffer.alloc(PIECE_BYTES - 1, 'a'), Buffer.from('é😀 ü'.repeat(1000))]);
    expect(readText(fileWith(content)).text).toBe(content.toString('utf8'));
  });

  test('a large file that is not UTF-8 is a problem, as a small one', () => {
    const content = Buffer.concat([Buffer.alloc(PIECE_BYTES * 2, 'a'), Buffer.from([0xff, 0xfe])]);
    const file = fileWith(content);
    expect(decodeLarge(file, content.length)).toEqual({ file: file.relativePath, problem: 'is not valid UTF-8' });
  });

  test('a large file that changed between hashing and decoding is a problem, not a mixture', () => {
    const file = fileWith(Buffer.alloc(PIECE_BYTES * 2, 'a'));
    expect(decodeLarge(file, PIECE_BYTES * 2 - 1)).toEqual({ file: file.relativePath, problem: 'changed while it was being read' });
  });
});
