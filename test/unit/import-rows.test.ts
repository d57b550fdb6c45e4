import {
  characterLength,
  copyLine,
  copyTextField,
  derivedSourceUrl,
  mapFileToRows,
  normalizeVersion,
  repositoryUrl,
  widthProblem,
} from '../../src/core/import/row-mapper.js';
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

  test('mapFileToRows: lower-cased names, v removed, two spellings of a version are one row (first wins)', () => {
    const mapped = mapFileToRows(moduleRef('QuiNovas', 'CloudFront', 'AWS'), {
      versions: [{ version: 'v1.0.0', discovered: '2026-04-21T00:00:00Z' }, { version: '1.0.0' }, { version: '0.9.0' }],
    });
    expect(mapped.versionCount).toBe(3);
    expect(mapped.rows).toEqual([
      {
        namespace: 'quinovas',
        name: 'cloudfront',
        provider: 'aws',
        version: '1.0.0',
        sourceUrl: 'https://github.com/QuiNovas/terraform-AWS-CloudFront',
        publishedAt: '2026-04-21T00:00:00Z',
        preference: 1,
      },
      {
        namespace: 'quinovas',
        name: 'cloudfront',
        provider: 'aws',
        version: '0.9.0',
        sourceUrl: 'https://github.com/QuiNovas/terraform-AWS-CloudFront',
        publishedAt: null,
        preference: 1,
      },
    ]);
  });

  test('mapFileToRows: a lower-case file has preference 0; a provider row has no provider column; repository wins', () => {
    const lower = mapFileToRows(moduleRef('quinovas', 'cloudfront', 'aws'), { versions: [{ version: '1.0.0' }] });
    expect(lower.rows[0]!.preference).toBe(0);
    const provider = mapFileToRows(providerRef('acme', 'thing'), { versions: [{ version: '2.0.0' }], repository: 'acme/custom-repo' });
    expect(provider.rows).toEqual([
      { namespace: 'acme', name: 'thing', version: '2.0.0', sourceUrl: 'https://github.com/acme/custom-repo', publishedAt: null, preference: 0 },
    ]);
  });

  test('widthProblem reports a too-long value with its length and the column limit', () => {
    const row = mapFileToRows(moduleRef('a', 'b', 'c'), { versions: [{ version: '1.0.0-' + 'x'.repeat(60) }] }).rows[0]!;
    expect(widthProblem(row, { version: 255 })).toBeUndefined();
    expect(widthProblem(row, { version: 50 })).toBe(
      `version "1.0.0-${'x'.repeat(60)}" is 66 characters long; the version column holds at most 50 (not imported, never cut)`,
    );
    expect(widthProblem(row, {})).toBeUndefined();
  });

  test('characterLength counts code points, as varchar(n) does', () => {
    expect(characterLength('1.0.0-🚀')).toBe(7);
    expect('1.0.0-🚀'.length).toBe(8);
  });

  test.each([
    [null, '\\N'],
    ['plain', 'plain'],
    ['a\tb\nc\rd\\e', 'a\\tb\\nc\\rd\\\\e'],
    ['\\N', '\\\\N'],
  ])('copyTextField(%j) = %j', (input, expected) => {
    expect(copyTextField(input)).toBe(expected);
  });

  test('copyLine: columns in staging order, tab-separated, preference and seq last', () => {
    const [row] = mapFileToRows(moduleRef('ns', 'n', 'aws'), { versions: [{ version: 'v1', discovered: '2026-04-21T00:00:00Z' }] }).rows;
    expect(copyLine(row!, 7)).toBe('ns\tn\taws\t1\thttps://github.com/ns/terraform-aws-n\t2026-04-21T00:00:00Z\t0\t7\n');
    const [providerRow] = mapFileToRows(providerRef('ns', 'p'), { versions: [{ version: '1' }] }).rows;
    expect(copyLine(providerRow!, 1)).toBe('ns\tp\t1\thttps://github.com/ns/terraform-provider-p\t\\N\t0\t1\n');
  });
});
