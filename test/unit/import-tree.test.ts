import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { walkRegistryTree, type TreeEntry } from '../../src/core/import/registry-tree.js';
import type { RegistryKind } from '../../src/core/import/registry-file.js';
import { REPO_ROOT, tempDir } from '../support/fixtures.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

function collect(root: string, kind: RegistryKind): TreeEntry[] {
  return [...walkRegistryTree(root, kind)];
}

describe('walkRegistryTree', () => {
  test('finds the 12 provider and 40 module fixture files, sorted, with their names', () => {
    const providers = collect(FIXTURES, 'provider');
    const modules = collect(FIXTURES, 'module');
    expect(providers).toHaveLength(12);
    expect(modules).toHaveLength(40);
    const paths = modules.map((e) => ('file' in e ? e.file.relativePath : e.misplaced.relativePath));
    expect(paths).toEqual([...paths].sort());
    expect(providers[0]).toEqual({
      file: {
        kind: 'provider',
        absolutePath: path.join(FIXTURES, 'providers/h/hashicorp/azure-classic.json'),
        relativePath: 'providers/h/hashicorp/azure-classic.json',
        namespace: 'hashicorp',
        name: 'azure-classic',
      },
    });
    const label = modules.find((e) => 'file' in e && e.file.relativePath === 'modules/c/cloudposse/label/terraform.json');
    expect(label && 'file' in label && label.file).toMatchObject({ namespace: 'cloudposse', name: 'label', target: 'terraform' });
  });

  test('skips hidden entries and non-JSON files; reports JSON files outside the layout', () => {
    const root = tempDir('trdb-tree-');
    mkdirSync(path.join(root, 'modules/a/acme/net'), { recursive: true });
    mkdirSync(path.join(root, 'modules/.git'), { recursive: true });
    writeFileSync(path.join(root, 'modules/a/acme/net/aws.json'), '{"versions":[]}');
    writeFileSync(path.join(root, 'modules/a/acme/net/README.md'), 'hello');
    writeFileSync(path.join(root, 'modules/.git/config.json'), '{}');
    writeFileSync(path.join(root, 'modules/a/acme/stray.json'), '{}');
    const entries = collect(root, 'module');
    expect(entries).toEqual([
      { file: expect.objectContaining({ relativePath: 'modules/a/acme/net/aws.json', namespace: 'acme', name: 'net', target: 'aws' }) },
      { misplaced: { kind: 'module', relativePath: 'modules/a/acme/stray.json', problem: expect.stringContaining('modules/<letter>/<namespace>/<name>/<target>.json') } },
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
    expect(collect(root, 'module')).toEqual([
      { misplaced: { kind: 'module', relativePath: 'modules/a/acme/loop', problem: 'is a link into a folder on its own path (a loop)' } },
      { file: expect.objectContaining({ relativePath: 'modules/a/acme/net/aws.json', name: 'net', target: 'aws' }) },
      { file: expect.objectContaining({ relativePath: 'modules/a/acme/net/azurerm.json', target: 'azurerm' }) },
      { file: expect.objectContaining({ relativePath: 'modules/a/acme/vpc/google.json', name: 'vpc', target: 'google' }) },
    ]);
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
