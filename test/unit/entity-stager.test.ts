import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stageEntity, type KnownSource } from '../../src/core/import/entity-stager.js';
import { walkRegistryTree, type RegistryEntity, type TreeKind } from '../../src/core/import/registry-tree.js';
import { REPO_ROOT, tempDir } from '../support/fixtures.js';

const KEYS = path.join(REPO_ROOT, 'test', 'fixtures');

/** A tree with the files given, and its first entity of a kind. */
function entityOf(kind: TreeKind, files: Record<string, string | Buffer>): RegistryEntity {
  const root = tempDir('trdb-stager-');
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), content);
  }
  const entry = [...walkRegistryTree(root, kind)].find((e) => 'entity' in e);
  if (!entry || !('entity' in entry)) throw new Error('no entity');
  return entry.entity;
}

const NONE = new Map<string, KnownSource>();

describe('stageEntity', () => {
  test('a valid module: its lines, counts, and the hash of its files in its bookkeeping line', () => {
    const entity = entityOf('module', { 'modules/a/Acme/net/aws.json': '{"versions":[{"version":"v1.0.0"},{"version":"1.0.0"},{"version":"0.9.0","discovered":"2026-04-21T00:00:00Z"}]}' });
    const staged = stageEntity(entity, { version: 255 }, NONE);
    expect(staged).toMatchObject({ invalid: [], tooLong: [], entries: 3, merged: 1, rows: 2, platformRows: 0 });
    expect(staged.lines).toEqual({
      kind: 'module',
      lines: {
        registry: 'acme\tnet\taws\n',
        versions:
          'acme\tnet\taws\t1.0.0\thttps://github.com/Acme/terraform-aws-net\t\\N\t1.0.0\t\\N\n' +
          'acme\tnet\taws\t0.9.0\thttps://github.com/Acme/terraform-aws-net\t2026-04-21 00:00:00\t0.9.0\t\\N\n',
        source: expect.stringMatching(/^module\tacme\/net\/aws\t[0-9a-f]{64}\t3\t1\t2\t0\n$/),
      },
    });
  });

  test('files that hash to what the last import recorded are not parsed: nothing staged, the recorded counts', () => {
    const files = { 'modules/a/acme/net/aws.json': '{"versions":[{"version":"1.0.0"}]}' };
    const first = stageEntity(entityOf('module', files), {}, NONE);
    const sha256 = /\t([0-9a-f]{64})\t/.exec(first.lines!.kind === 'module' ? first.lines!.lines.source : '')![1]!;
    const known = new Map([['module:acme/net/aws', { sha256, entries: 7, merged: 2, versionRows: 5, platformRows: 0 }]]);
    const again = stageEntity(entityOf('module', files), {}, known);
    expect(again).toEqual({ unchanged: known.get('module:acme/net/aws'), invalid: [], tooLong: [], entries: 7, merged: 2, rows: 0, platformRows: 0 });
    // One byte more, or the same bytes at another path spelling: read again.
    expect(stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': '{"versions":[{"version":"1.0.0"}] }' }), {}, known).unchanged).toBeUndefined();
    expect(stageEntity(entityOf('module', { 'modules/a/Acme/net/aws.json': '{"versions":[{"version":"1.0.0"}]}' }), {}, known).unchanged).toBeUndefined();
  });

  test('an invalid file leaves out the whole entity, every spelling of it, and says why', () => {
    const staged = stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': '{"versions": 3}', 'modules/a/Acme/net/aws.json': '{"versions":[]}' }), {}, NONE);
    expect(staged).toEqual({ invalid: [{ file: 'modules/a/acme/net/aws.json', problem: '"versions" is a number, not an array' }], tooLong: [], entries: 0, merged: 0, rows: 0, platformRows: 0 });
  });

  test('an unreadable file (a dangling link) is invalid, not a crash', () => {
    const entity = entityOf('module', { 'modules/a/acme/net/aws.json': '{"versions":[]}' });
    const missing = { ...entity, files: [{ ...entity.files[0]!, absolutePath: `${entity.files[0]!.absolutePath}.missing` }] };
    expect(stageEntity(missing, {}, NONE).invalid[0]!.problem).toMatch(/^cannot be read: ENOENT/);
  });

  test('a file that is not valid UTF-8 is invalid (it was stored with U+FFFD in the version); a real U+FFFD is kept', () => {
    const broken = Buffer.concat([Buffer.from('{"versions":[{"version":"1.0.0-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    expect(stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': broken }), {}, NONE).invalid).toEqual([{ file: 'modules/a/acme/net/aws.json', problem: 'is not valid UTF-8' }]);
    expect(stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': '{"versions":[{"version":"1.0.0-\uFFFD"}]}' }), {}, NONE)).toMatchObject({ invalid: [], rows: 1 });
  });

  test('a big file is read whole (the read buffer grows)', () => {
    const versions = Array.from({ length: 40_000 }, (_, i) => ({ version: `1.0.${i}` }));
    expect(stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': JSON.stringify({ versions }) }), {}, NONE)).toMatchObject({ invalid: [], rows: 40_000 });
  });

  test('a too-long version is left out and reported, the others stay, and no hash is recorded (read again next time)', () => {
    const staged = stageEntity(entityOf('module', { 'modules/a/acme/net/aws.json': `{"versions":[{"version":"${'9'.repeat(60)}"},{"version":"1.0.0"}]}` }), { version: 50 }, NONE);
    expect(staged.rows).toBe(1);
    expect(staged.tooLong).toEqual([{ file: 'modules/a/acme/net/aws.json', problem: `version "${'9'.repeat(60)}" is 60 characters long; the version column holds at most 50 (not imported, never cut)` }]);
    expect(staged.lines!.kind === 'module' && staged.lines!.lines.source).toBe('');
  });

  test('a key namespace: each key with its ID, the provider folder lower-cased; a bad file keeps the namespace as it is', () => {
    const root = tempDir('trdb-keys-');
    mkdirSync(path.join(root, 'keys/o/opentofu/Null'), { recursive: true });
    copyFileSync(path.join(KEYS, 'opentofu-registry/keys/o/opentofu/20231115.asc'), path.join(root, 'keys/o/opentofu/20231115.asc'));
    copyFileSync(path.join(KEYS, 'generated-keys/ed25519-a.asc'), path.join(root, 'keys/o/opentofu/Null/a.asc'));
    const entity = [...walkRegistryTree(root, 'keys')].map((e) => ('entity' in e ? e.entity : undefined)).find(Boolean)!;
    const staged = stageEntity(entity, {}, NONE);
    expect(staged).toMatchObject({ invalid: [], entries: 2, rows: 2 });
    const lines = staged.lines!.kind === 'keys' ? staged.lines!.keys.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 4)) : [];
    expect(lines).toEqual([
      ['opentofu', '', '20231115.asc', '0C0AF313E5FD9F80'],
      ['opentofu', 'null', 'a.asc', 'A8D3B20240F95DD9'],
    ]);
    writeFileSync(path.join(root, 'keys/o/opentofu/broken.asc'), 'not a key');
    const broken = stageEntity([...walkRegistryTree(root, 'keys')].map((e) => ('entity' in e ? e.entity : undefined)).find(Boolean)!, {}, NONE);
    expect(broken.invalid).toEqual([{ file: 'keys/o/opentofu/broken.asc', problem: 'is not an OpenPGP public key: it has no "-----BEGIN PGP PUBLIC KEY BLOCK-----" line' }]);
    expect(broken.lines).toEqual({ kind: 'keys', keys: '', keptNamespace: 'opentofu\n' });
  });
});
