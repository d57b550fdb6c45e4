import {
  characterLength,
  derivedSourceUrl,
  entityWidthProblem,
  mapModuleEntity,
  mapProviderEntity,
  normalizeVersion,
  providerVersionsDocument,
  repositoryUrl,
  widthProblem,
  type ParsedFile,
} from '../../src/core/import/row-mapper.js';
import type { RegistryFileContent } from '../../src/core/import/registry-file.js';
import type { RegistryFileRef } from '../../src/core/import/registry-tree.js';

const moduleRef = (namespace: string, name: string, target: string): RegistryFileRef => ({
  kind: 'module',
  absolutePath: `/x/modules/${namespace[0]!.toLowerCase()}/${namespace}/${name}/${target}.json`,
  relativePath: `modules/${namespace[0]!.toLowerCase()}/${namespace}/${name}/${target}.json`,
  namespace,
  name,
  target,
});
const providerRef = (namespace: string, name: string): RegistryFileRef => ({
  kind: 'provider',
  absolutePath: `/x/providers/${namespace[0]!.toLowerCase()}/${namespace}/${name}.json`,
  relativePath: `providers/${namespace[0]!.toLowerCase()}/${namespace}/${name}.json`,
  namespace,
  name,
});
const file = (ref: RegistryFileRef, content: RegistryFileContent): ParsedFile => ({ ref, content });
const target = (os: string, arch: string) => ({ os, arch, filename: `${os}_${arch}.zip`, download_url: `https://x/${os}_${arch}.zip`, shasum: 'a'.repeat(64) });

describe('row mapping', () => {
  test.each([
    ['v1.0.0', '1.0.0'],
    ['1.0.0', '1.0.0'],
    ['vv1', 'v1'],
    ['V1.0.0', 'V1.0.0'],
    ['version-1', 'ersion-1'],
  ])('normalizeVersion(%s) = %s: only a leading "v" goes', (input, expected) => {
    expect(normalizeVersion(input)).toBe(expected);
  });

  test('derivedSourceUrl: what opentofu/registry derives from the names', () => {
    expect(derivedSourceUrl(providerRef('jfrog', 'bridge'))).toBe('https://github.com/jfrog/terraform-provider-bridge');
    // hashicorp providers are served from the opentofu mirrors.
    expect(derivedSourceUrl(providerRef('hashicorp', 'null'))).toBe('https://github.com/opentofu/terraform-provider-null');
    expect(derivedSourceUrl(moduleRef('terraform-aws-modules', 'vpc', 'aws'))).toBe('https://github.com/terraform-aws-modules/terraform-aws-vpc');
    expect(derivedSourceUrl(moduleRef('QuiNovas', 'cloudfront', 'aws'))).toBe('https://github.com/QuiNovas/terraform-aws-cloudfront');
  });

  test('repositoryUrl: owner/repo becomes its GitHub URL, anything else stays', () => {
    expect(repositoryUrl('acme/terraform-provider-x')).toBe('https://github.com/acme/terraform-provider-x');
    expect(repositoryUrl('https://gitlab.com/acme/x')).toBe('https://gitlab.com/acme/x');
  });

  test('mapModuleEntity: lower-cased names; two spellings in one file are one row, the entry the registry serves (the last) winning', () => {
    const mapped = mapModuleEntity(
      [file(moduleRef('QuiNovas', 'CloudFront', 'AWS'), { versions: [{ version: 'v1.0.0', commit: 'a'.repeat(40), discovered: '2026-04-21T00:00:00Z' }, { version: '0.9.0' }, { version: '1.0.0' }] })],
      {},
    );
    expect(mapped).toEqual({
      namespace: 'quinovas',
      name: 'cloudfront',
      system: 'aws',
      entries: 3,
      merged: 1,
      problems: [],
      rows: [
        { version: '1.0.0', tag: '1.0.0', sourceUrl: 'https://github.com/QuiNovas/terraform-AWS-CloudFront', publishedAt: null },
        { version: '0.9.0', tag: '0.9.0', sourceUrl: 'https://github.com/QuiNovas/terraform-AWS-CloudFront', publishedAt: null },
      ],
    });
  });

  test('mapModuleEntity: across spellings of the path the first file (the lower-case one) wins; the others fill in', () => {
    const mapped = mapModuleEntity(
      [
        file(moduleRef('quinovas', 'cloudfront', 'aws'), { versions: [{ version: 'v2.0.0', commit: 'b'.repeat(40) }] }),
        file(moduleRef('QuiNovas', 'cloudfront', 'aws'), { versions: [{ version: '2.0.0' }, { version: 'v1.0.0' }] }),
      ],
      {},
    );
    expect(mapped.rows).toEqual([
      { version: '2.0.0', tag: 'v2.0.0', commit: 'b'.repeat(40), sourceUrl: 'https://github.com/quinovas/terraform-aws-cloudfront', publishedAt: null },
      { version: '1.0.0', tag: 'v1.0.0', sourceUrl: 'https://github.com/QuiNovas/terraform-aws-cloudfront', publishedAt: null },
    ]);
    expect([mapped.entries, mapped.merged]).toEqual([3, 1]);
  });

  test('mapProviderEntity: a file repository wins; warnings of the preferred file; versions with their targets', () => {
    const mapped = mapProviderEntity(
      [file(providerRef('acme', 'thing'), { repository: 'acme/custom-repo', warnings: ['old'], versions: [{ version: '2.0.0', protocols: ['6.0'], targets: [target('linux', 'amd64')] }] })],
      {},
    );
    expect(mapped).toMatchObject({ namespace: 'acme', name: 'thing', warnings: ['old'], entries: 1, merged: 0 });
    expect(mapped.rows).toEqual([{ version: '2.0.0', sourceUrl: 'https://github.com/acme/custom-repo', publishedAt: null, protocols: ['6.0'], shasumsUrl: undefined, shasumsSignatureUrl: undefined, targets: [target('linux', 'amd64')] }]);
  });

  test('a version, tag, os or arch longer than its column leaves out that version, with the reason; a long name leaves out the entity', () => {
    const long = `1.0.0-${'x'.repeat(60)}`;
    const modules = mapModuleEntity([file(moduleRef('a', 'b', 'c'), { versions: [{ version: long }, { version: `v${'9'.repeat(50)}` }, { version: '1.0.0' }] })], { version: 50, tag: 50 });
    expect(modules.rows.map((r) => r.version)).toEqual(['1.0.0']);
    expect(modules.problems).toEqual([
      { file: 'modules/a/a/b/c.json', problem: `version "${long}" is 66 characters long; the version column holds at most 50 (not imported, never cut)` },
      { file: 'modules/a/a/b/c.json', problem: `tag "v${'9'.repeat(50)}" is 51 characters long; the tag column holds at most 50 (not imported, never cut)` },
    ]);
    const providers = mapProviderEntity([file(providerRef('a', 'p'), { versions: [{ version: '1.0.0', targets: [target('linux', 'x'.repeat(9))] }, { version: '2.0.0', targets: [] }] })], { arch: 8 });
    expect(providers.rows.map((r) => r.version)).toEqual(['2.0.0']);
    expect(providers.problems[0]!.problem).toBe(`arch "${'x'.repeat(9)}" is 9 characters long; the arch column holds at most 8 (not imported, never cut)`);
    expect(entityWidthProblem('n'.repeat(10), 'x', undefined, { namespace: 9 })).toMatch(/^namespace "n{10}" is 10 characters long/);
    expect(entityWidthProblem('a', 'b', 'c'.repeat(5), { system: 4 })).toMatch(/^target system "c{5}" is 5 characters long; the system column holds at most 4/);
    expect(entityWidthProblem('a', 'b', 'c', {})).toBeUndefined();
  });

  test('widthProblem counts characters as varchar(n) does and shortens what it shows', () => {
    expect(widthProblem('version', 'version', '1.0.0', 255)).toBeUndefined();
    expect(widthProblem('version', 'version', '1.0.0', undefined)).toBeUndefined();
    expect(widthProblem('version', 'version', '1.0.0-🚀', 7)).toBeUndefined();
    expect(widthProblem('version', 'version', 'x'.repeat(100), 10)).toBe(`version "${'x'.repeat(77)}..." is 100 characters long; the version column holds at most 10 (not imported, never cut)`);
  });

  test('characterLength counts code points, as varchar(n) does', () => {
    expect(characterLength('1.0.0-🚀')).toBe(7);
    expect('1.0.0-🚀'.length).toBe(8);
  });

  test('providerVersionsDocument: the registry generator\'s listing, in file order, null protocols where none', () => {
    const mapped = mapProviderEntity(
      [file(providerRef('acme', 'thing'), { warnings: [], versions: [{ version: '2.0.0', protocols: ['5.0'], targets: [target('linux', 'amd64'), target('darwin', 'arm64')] }, { version: '1.0.0' }] })],
      {},
    );
    expect(JSON.parse(providerVersionsDocument(mapped))).toEqual({
      versions: [
        { version: '2.0.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'darwin', arch: 'arm64' }] },
        { version: '1.0.0', protocols: null, platforms: [] },
      ],
    });
    const warned = mapProviderEntity([file(providerRef('acme', 'thing'), { warnings: ['a "quoted" warning'], versions: [] })], {});
    expect(JSON.parse(providerVersionsDocument(warned))).toEqual({ versions: [], warnings: ['a "quoted" warning'] });
  });
});
