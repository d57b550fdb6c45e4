import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stageFile } from '../../src/core/import/file-stager.js';
import type { RegistryFileRef } from '../../src/core/import/registry-tree.js';
import { tempDir } from '../support/fixtures.js';

function moduleFile(content: string): RegistryFileRef {
  const root = tempDir('trdb-stager-');
  const relativePath = 'modules/a/Acme/net/aws.json';
  mkdirSync(path.join(root, 'modules/a/Acme/net'), { recursive: true });
  writeFileSync(path.join(root, relativePath), content);
  return { kind: 'module', absolutePath: path.join(root, relativePath), relativePath, namespace: 'Acme', name: 'net', target: 'aws' };
}

describe('stageFile', () => {
  test('a valid file: one COPY line per distinct version, all carrying the file position', () => {
    const staged = stageFile(moduleFile('{"versions":[{"version":"v1.0.0"},{"version":"1.0.0"},{"version":"0.9.0","discovered":"2026-04-21T00:00:00Z"}]}'), { version: 255 }, 12);
    expect(staged).toEqual({
      relativePath: 'modules/a/Acme/net/aws.json',
      rows: 2,
      versions: 3,
      tooLong: [],
      lines:
        'acme\tnet\taws\t1.0.0\thttps://github.com/Acme/terraform-aws-net\t\\N\t1\t12\n' +
        'acme\tnet\taws\t0.9.0\thttps://github.com/Acme/terraform-aws-net\t2026-04-21T00:00:00Z\t1\t12\n',
    });
  });

  test('an invalid file gives no lines and says why', () => {
    expect(stageFile(moduleFile('{"versions": 3}'), {}, 1)).toEqual({
      relativePath: 'modules/a/Acme/net/aws.json', lines: '', rows: 0, versions: 0, invalid: '"versions" is a number, not an array', tooLong: [],
    });
  });

  test('an unreadable file is invalid, not a crash', () => {
    const file = moduleFile('{}');
    const staged = stageFile({ ...file, absolutePath: `${file.absolutePath}.missing` }, {}, 1);
    expect(staged.invalid).toMatch(/^cannot be read: ENOENT/);
  });

  test('a file that is not valid UTF-8 is invalid (it was stored with U+FFFD in the version)', () => {
    const file = moduleFile('');
    writeFileSync(file.absolutePath, Buffer.concat([Buffer.from('{"versions":[{"version":"1.0.0-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]));
    expect(stageFile(file, {}, 1)).toMatchObject({ rows: 0, lines: '', invalid: 'is not valid UTF-8' });
  });

  test('a real U+FFFD in a valid UTF-8 file is kept', () => {
    const staged = stageFile(moduleFile('{"versions":[{"version":"1.0.0-\uFFFD"}]}'), {}, 1);
    expect([staged.rows, staged.invalid]).toEqual([1, undefined]);
  });

  test('a too-long version is left out and reported; the others stay', () => {
    const staged = stageFile(moduleFile(`{"versions":[{"version":"${'9'.repeat(60)}"},{"version":"1.0.0"}]}`), { version: 50 }, 1);
    expect(staged.rows).toBe(1);
    expect(staged.lines).toContain('\t1.0.0\t');
    expect(staged.tooLong).toEqual([`version "${'9'.repeat(60)}" is 60 characters long; the version column holds at most 50 (not imported, never cut)`]);
  });
});
