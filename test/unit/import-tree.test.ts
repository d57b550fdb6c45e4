import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { walkRegistryTree, type TreeEntry, type TreeKind } from '../../src/core/import/registry-tree.js';
import { REPO_ROOT, tempDir } from '../support/fixtures.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

function collect(root: string, kind: TreeKind): TreeEntry[] {
  return [...walkRegistryTree(root, kind)];
}

/** Each entry as `key: file, file…` or `misplaced path`: the shape of the walk at a glance. */
function shape(entries: readonly TreeEntry[]): string[] {
  return entries.map((e) => ('entity' in e ? `${e.entity.key}: ${e.entity.files.map((f) => f.relativePath).join(', ')}` : `misplaced ${e.misplaced.relativePath}`));
}

function write(root: string, relative: string, text = '{"versions":[]}'): void {
  mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
  writeFileSync(path.join(root, relative), text);
}

describe('walkRegistryTree', () => {
  test('the fixtures: 12 providers, 38 modules (two spelled twice), one key namespace; sorted case-insensitively', () => {
    const providers = collect(FIXTURES, 'provider');
    const modules = collect(FIXTURES, 'module');
    expect(providers).toHaveLength(12);
    expect(modules).toHaveLength(38);
    const keys = modules.map((e) => ('entity' in e ? e.entity.key : ''));
    expect(keys).toEqual([...keys].sort());
    expect(providers[0]).toEqual({
      entity: {
        kind: 'provider',
        key: 'hashicorp/azure-classic',
        files: [{ kind: 'provider', absolutePath: path.join(FIXTURES, 'providers/h/hashicorp/azure-classic.json'), relativePath: 'providers/h/hashicorp/azure-classic.json', namespace: 'hashicorp', name: 'azure-classic' }],
      },
    });
    expect(shape(modules).filter((line) => line.includes(','))).toEqual([
      'quinovas/cloudfront/aws: modules/q/quinovas/cloudfront/aws.json, modules/q/QuiNovas/cloudfront/aws.json',
      'zenika/cli/aws: modules/z/zenika/cli/aws.json, modules/z/Zenika/cli/aws.json',
    ]);
    const label = modules.find((e) => 'entity' in e && e.entity.key === 'cloudposse/label/terraform');
    expect(label && 'entity' in label && label.entity.files[0]).toMatchObject({ namespace: 'cloudposse', name: 'label', target: 'terraform' });
    expect(shape(collect(FIXTURES, 'keys'))).toEqual(['opentofu: keys/o/opentofu/20231115.asc']);
  });

  test('spellings that differ only in case are one entity, at every level, the lower-case spelling first', () => {
    const root = tempDir('trdb-tree-case-');
    write(root, 'providers/a/Acme/Thing.json');
    write(root, 'providers/A/acme/thing.json');
    write(root, 'providers/a/acme/other.json');
    write(root, 'modules/a/ACME/Net/aws.json');
    write(root, 'modules/a/acme/net/AWS.json');
    write(root, 'modules/a/acme/net/google.json');
    write(root, 'keys/a/Acme/k1.asc', 'x');
    write(root, 'keys/a/acme/k2.asc', 'x');
    write(root, 'keys/a/acme/Thing/k3.asc', 'x');
    expect(shape(collect(root, 'provider'))).toEqual([
      'acme/other: providers/a/acme/other.json',
      'acme/thing: providers/A/acme/thing.json, providers/a/Acme/Thing.json',
    ]);
    expect(shape(collect(root, 'module'))).toEqual([
      'acme/net/aws: modules/a/ACME/Net/aws.json, modules/a/acme/net/AWS.json',
      'acme/net/google: modules/a/acme/net/google.json',
    ]);
    const keys = collect(root, 'keys');
    // Paths spelled all in lower case first, then the others in path order.
    expect(shape(keys)).toEqual(['acme: keys/a/acme/k2.asc, keys/a/Acme/k1.asc, keys/a/acme/Thing/k3.asc']);
    expect('entity' in keys[0]! && keys[0].entity.files.map((f) => [f.namespace, f.name, f.fileName])).toEqual([
      ['acme', '', 'k2.asc'],
      ['Acme', '', 'k1.asc'],
      ['acme', 'Thing', 'k3.asc'],
    ]);
  });

  test('skips hidden entries and files of other types; reports files outside the layout', () => {
    const root = tempDir('trdb-tree-');
    write(root, 'modules/a/acme/net/aws.json');
    write(root, 'modules/a/acme/net/README.md', 'hello');
    write(root, 'modules/.git/config.json', '{}');
    write(root, 'modules/a/acme/stray.json', '{}');
    write(root, 'keys/a/acme/README.md', 'hello');
    write(root, 'keys/a/stray.asc', 'x');
    write(root, 'keys/a/acme/thing/deeper/k.asc', 'x');
    expect(collect(root, 'module')).toEqual([
      { misplaced: { kind: 'module', relativePath: 'modules/a/acme/stray.json', problem: expect.stringContaining('modules/<letter>/<namespace>/<name>/<target>.json') } },
      { entity: { kind: 'module', key: 'acme/net/aws', files: [expect.objectContaining({ relativePath: 'modules/a/acme/net/aws.json', namespace: 'acme', name: 'net', target: 'aws' })] } },
    ]);
    expect(collect(root, 'keys')).toEqual([
      { misplaced: { kind: 'keys', relativePath: 'keys/a/stray.asc', problem: expect.stringContaining('keys/<letter>/<namespace>/<file>.asc') } },
      { misplaced: { kind: 'keys', relativePath: 'keys/a/acme/thing/deeper/k.asc', problem: expect.stringContaining('is not where the layout puts signing keys') } },
    ]);
  });

  test('follows symbolic links to files and folders; a dangling link is a file (its read fails later); a loop is reported', () => {
    // They were skipped without a word: Dirent says neither file nor folder for a link.
    const root = tempDir('trdb-tree-links-');
    const elsewhere = tempDir('trdb-tree-target-');
    mkdirSync(path.join(root, 'modules/a/acme/net'), { recursive: true });
    mkdirSync(path.join(elsewhere, 'vpc'), { recursive: true });
    writeFileSync(path.join(elsewhere, 'aws.json'), '{"versions":[]}');
    writeFileSync(path.join(elsewhere, 'vpc/google.json'), '{"versions":[]}');
    symlinkSync(path.join(elsewhere, 'aws.json'), path.join(root, 'modules/a/acme/net/aws.json'));
    symlinkSync(path.join(elsewhere, 'missing.json'), path.join(root, 'modules/a/acme/net/azurerm.json'));
    symlinkSync(path.join(elsewhere, 'vpc'), path.join(root, 'modules/a/acme/vpc'));
    symlinkSync(path.join(root, 'modules/a'), path.join(root, 'modules/a/acme/loop'));
    expect(shape(collect(root, 'module'))).toEqual([
      'misplaced modules/a/acme/loop',
      'acme/net/aws: modules/a/acme/net/aws.json',
      'acme/net/azurerm: modules/a/acme/net/azurerm.json',
      'acme/vpc/google: modules/a/acme/vpc/google.json',
    ]);
    expect(collect(root, 'module')[0]).toEqual({ misplaced: { kind: 'module', relativePath: 'modules/a/acme/loop', problem: 'is a link into a folder on its own path (a loop)' } });
  });

  test('two folders that link to each other: each link is reported once, the walk ends', () => {
    const root = tempDir('trdb-tree-mutual-');
    mkdirSync(path.join(root, 'modules/a/acme/one'), { recursive: true });
    mkdirSync(path.join(root, 'modules/a/acme/two'), { recursive: true });
    symlinkSync('../two', path.join(root, 'modules/a/acme/one/link'));
    symlinkSync('../one', path.join(root, 'modules/a/acme/two/link'));
    const misplaced = collect(root, 'module').filter((e) => 'misplaced' in e);
    expect(misplaced.map((e) => 'misplaced' in e && e.misplaced.relativePath)).toEqual(['modules/a/acme/one/link/link', 'modules/a/acme/two/link/link']);
  });
});
