import { copyArrayField, copyTextField, keyLine, moduleLines, providerLines, utcTimestamp } from '../../src/core/import/copy-lines.js';
import { STAGING, TABLE_COLUMNS } from '../../src/core/import/import-sql.js';
import type { MappedEntity, ModuleVersionRow, ProviderVersionRow } from '../../src/core/import/row-mapper.js';

const provider: MappedEntity<ProviderVersionRow> = {
  namespace: 'acme',
  name: 'thing',
  warnings: ['Deprecated: use "acme\\other"'],
  rows: [
    {
      version: '1.0.0',
      sourceUrl: 'https://github.com/acme/terraform-provider-thing',
      publishedAt: '2026-04-21T01:02:03.1234567+02:00',
      protocols: ['5.0', '6.0'],
      shasumsUrl: 'https://x/SHA256SUMS',
      shasumsSignatureUrl: 'https://x/SHA256SUMS.sig',
      targets: [
        { os: 'linux', arch: 'amd64', filename: 'a.zip', download_url: 'https://x/a.zip', shasum: 'a'.repeat(64), h1: 'h1:abc=', size: 12 },
        { os: 'darwin', arch: 'arm64', filename: 'b\tc.zip', download_url: 'https://x/b.zip', shasum: 'b'.repeat(64) },
      ],
    },
    { version: '0.9.0', sourceUrl: 'https://github.com/acme/terraform-provider-thing', publishedAt: null, targets: [] },
  ],
  entries: 3,
  merged: 1,
  problems: [],
};

const fields = (line: string) => line.replace(/\n$/, '').split('\t');

describe('COPY lines', () => {
  test.each([
    [null, '\\N'],
    [undefined, '\\N'],
    ['plain', 'plain'],
    ['a\tb\nc\rd\\e', 'a\\tb\\nc\\rd\\\\e'],
    ['\\N', '\\\\N'],
  ])('copyTextField(%j) = %j', (input, expected) => {
    expect(copyTextField(input)).toBe(expected);
  });

  test('copyArrayField: a text[] literal, elements quoted and escaped, then COPY-escaped', () => {
    expect(copyArrayField(undefined)).toBe('\\N');
    expect(copyArrayField([])).toBe('{}');
    expect(copyArrayField(['5.0', 'a"b', 'c\\d'])).toBe('{"5.0","a\\\\"b","c\\\\\\\\d"}');
  });

  test.each([
    ['2026-09-10T16:32:44.078662804Z', '2026-09-10 16:32:44.078662804'],
    ['2026-04-21T00:00:00Z', '2026-04-21 00:00:00'],
    ['2026-04-21t00:00:00z', '2026-04-21 00:00:00'],
    ['2026-04-21T01:30:00+02:00', '2026-04-20 23:30:00'],
    ['2024-02-28T23:59:59.5-01:00', '2024-02-29 00:59:59.5'],
    ['0001-01-01T00:30:00+01:00', '0001-12-31 23:30:00 BC'],
    ['2026-01-01T00:00:00+00:00', '2026-01-01 00:00:00'],
  ])('utcTimestamp(%s) = %s: UTC wall-clock time, the fraction as written', (input, expected) => {
    expect(utcTimestamp(input)).toBe(expected);
  });

  test('providerLines: one line per table row, each with the table columns the COPY names', () => {
    const lines = providerLines(provider, { sha256: 'f'.repeat(64) });
    expect(fields(lines.registry)).toHaveLength(TABLE_COLUMNS.registry_providers.length);
    expect(fields(lines.registry).slice(0, 3)).toEqual(['acme', 'thing', '{"Deprecated: use \\\\"acme\\\\\\\\other\\\\""}']);
    expect(JSON.parse(fields(lines.registry)[3]!.replaceAll('\\\\', '\\'))).toEqual({
      versions: [
        { version: '1.0.0', protocols: ['5.0', '6.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'darwin', arch: 'arm64' }] },
        { version: '0.9.0', protocols: null, platforms: [] },
      ],
      warnings: ['Deprecated: use "acme\\other"'],
    });
    const versions = lines.versions.split(/(?<=\n)/);
    expect(versions.map(fields)).toEqual([
      ['acme', 'thing', '1.0.0', 'https://github.com/acme/terraform-provider-thing', '2026-04-20 23:02:03.1234567', '{"5.0","6.0"}', 'https://x/SHA256SUMS', 'https://x/SHA256SUMS.sig'],
      ['acme', 'thing', '0.9.0', 'https://github.com/acme/terraform-provider-thing', '\\N', '\\N', '\\N', '\\N'],
    ]);
    expect(versions.every((line) => fields(line).length === TABLE_COLUMNS.providers.length)).toBe(true);
    expect(lines.platforms.split(/(?<=\n)/).map(fields)).toEqual([
      ['acme', 'thing', '1.0.0', 'linux', 'amd64', 'a.zip', 'https://x/a.zip', 'a'.repeat(64), 'h1:abc=', '12'],
      ['acme', 'thing', '1.0.0', 'darwin', 'arm64', 'b\\tc.zip', 'https://x/b.zip', 'b'.repeat(64), '\\N', '\\N'],
    ]);
    expect(fields(lines.source)).toEqual(['provider', 'acme/thing', 'f'.repeat(64), '3', '1', '2', '2']);
    expect(fields(lines.source)).toHaveLength(TABLE_COLUMNS.registry_import_sources.length);
    // The staging tables have the same columns (a platform's version by its natural key in both).
    expect(STAGING.providers.columns.map(([name]) => name)).toEqual(TABLE_COLUMNS.providers);
    expect(STAGING.provider_platforms.columns.map(([name]) => name)).toEqual(TABLE_COLUMNS.provider_platforms);
  });

  test('a provider read again next time has no bookkeeping line; no warnings is NULL and no "warnings" key', () => {
    const lines = providerLines({ ...provider, warnings: undefined }, { sha256: null });
    expect(lines.source).toBe('');
    expect(fields(lines.registry)[2]).toBe('\\N');
    expect(fields(lines.registry)[3]).not.toContain('warnings');
  });

  test('moduleLines: the tag as written, the commit, and the bookkeeping with no platforms', () => {
    const module: MappedEntity<ModuleVersionRow> = {
      namespace: 'acme', name: 'net', system: 'aws', entries: 2, merged: 0, problems: [],
      rows: [
        { version: '1.0.0', tag: 'v1.0.0', commit: 'c'.repeat(40), sourceUrl: 'https://github.com/Acme/terraform-aws-net', publishedAt: '2026-04-21T00:00:00Z' },
        { version: '0.1.0', tag: '0.1.0', sourceUrl: 'https://github.com/Acme/terraform-aws-net', publishedAt: null },
      ],
    };
    const lines = moduleLines(module, { sha256: 'e'.repeat(64) });
    expect(lines.registry).toBe('acme\tnet\taws\n');
    expect(lines.versions.split(/(?<=\n)/).map(fields)).toEqual([
      ['acme', 'net', 'aws', '1.0.0', 'https://github.com/Acme/terraform-aws-net', '2026-04-21 00:00:00', 'v1.0.0', 'c'.repeat(40)],
      ['acme', 'net', 'aws', '0.1.0', 'https://github.com/Acme/terraform-aws-net', '\\N', '0.1.0', '\\N'],
    ]);
    expect(fields(lines.versions.split('\n')[0]!)).toHaveLength(TABLE_COLUMNS.modules.length);
    expect(fields(lines.source)).toEqual(['module', 'acme/net/aws', 'e'.repeat(64), '2', '0', '2', '0']);
  });

  test('keyLine: the armor escaped, line breaks and all', () => {
    const line = keyLine({ namespace: 'acme', provider: '', fileName: 'k.asc', keyId: '0C0AF313E5FD9F80', asciiArmor: '-----BEGIN\n\nabc\n' });
    expect(line).toBe('acme\t\tk.asc\t0C0AF313E5FD9F80\t-----BEGIN\\n\\nabc\\n\n');
    expect(fields(line)).toHaveLength(TABLE_COLUMNS.signing_keys.length);
  });
});
