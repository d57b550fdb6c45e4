import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isRfc3339, parseRegistryFile } from '../../src/core/import/registry-file.js';
import { REPO_ROOT } from '../support/fixtures.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');
const fixture = (relative: string) => readFileSync(path.join(FIXTURES, relative), 'utf8');

describe('parseRegistryFile', () => {
  test('a real provider file: versions and their discovered timestamps', () => {
    const parsed = parseRegistryFile(fixture('providers/h/hashicorp/null.json'), 'provider');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.content.versions).toHaveLength(18);
    expect(parsed.content.versions.map((v) => v.version)).toContain('3.2.4-alpha.2');
    expect(parsed.content.versions.every((v) => v.discovered !== undefined)).toBe(true);
    expect(parsed.content.repository).toBeUndefined();
  });

  test('a real provider file without discovered and with warnings', () => {
    const parsed = parseRegistryFile(fixture('providers/h/hashicorp/template.json'), 'provider');
    expect(parsed.ok && parsed.content.versions.every((v) => v.discovered === undefined)).toBe(true);
  });

  test('a real module file with commit and discovered, and one with bare versions', () => {
    const withDates = parseRegistryFile(fixture('modules/q/quinovas/cloudfront/aws.json'), 'module');
    expect(withDates.ok && withDates.content.versions[0]).toEqual({ version: 'v5.0.1', discovered: '2026-04-21T00:00:00Z' });
    const bare = parseRegistryFile(fixture('modules/q/QuiNovas/cloudfront/aws.json'), 'module');
    expect(bare.ok && bare.content.versions[0]).toEqual({ version: 'v5.0.1' });
  });

  test('an empty commit string is accepted (qjoly/proxmox/module.json)', () => {
    expect(parseRegistryFile(fixture('modules/q/qjoly/proxmox/module.json'), 'module').ok).toBe(true);
  });

  test('a provider repository is kept, trimmed', () => {
    const parsed = parseRegistryFile('{"repository":" acme/terraform-provider-x ","versions":[{"version":"1.0.0"}]}', 'provider');
    expect(parsed.ok && parsed.content.repository).toBe('acme/terraform-provider-x');
  });

  test.each([
    ['{"versions": [', 'provider', /^not valid JSON: /],
    ['', 'module', /^not valid JSON: /],
    ['[]', 'module', /^expected a JSON object, found an array$/],
    ['null', 'module', /^expected a JSON object, found null$/],
    ['{}', 'module', /^has no "versions" array$/],
    ['{"versions": {}}', 'module', /^"versions" is an object, not an array$/],
    ['{"versions": ["1.0.0"]}', 'module', /^versions\[0\] is a string, not an object$/],
    ['{"versions": [{"version": "1.0.0"}, {}]}', 'module', /^versions\[1\] has no "version"$/],
    ['{"versions": [{"version": 1}]}', 'module', /^versions\[0\]\.version is a number, not a string$/],
    ['{"versions": [{"version": "v"}]}', 'module', /^versions\[0\]\.version "v" is empty$/],
    ['{"versions": [{"version": "1\\u0000"}]}', 'module', /NUL/],
    ['{"versions": [{"version": "1.0.0", "discovered": "yesterday"}]}', 'module', /^versions\[0\]\.discovered "yesterday" is not an RFC 3339 timestamp$/],
    ['{"versions": [{"version": "1.0.0", "discovered": 5}]}', 'module', /discovered 5 is not an RFC 3339/],
    ['{"versions": [{"version": "1.0.0", "commit": 7}]}', 'module', /^versions\[0\]\.commit is a number, not a string$/],
    ['{"versions": [{"version": "1.0.0", "protocols": "5.0"}]}', 'provider', /^versions\[0\]\.protocols is not a list of strings$/],
    ['{"versions": [{"version": "1.0.0", "targets": [1]}]}', 'provider', /^versions\[0\]\.targets is not a list of objects$/],
    ['{"versions": [{"version": "1.0.0", "shasums_url": 1}]}', 'provider', /^versions\[0\]\.shasums_url is a number, not a string$/],
    ['{"repository": 5, "versions": []}', 'provider', /^"repository" is a number, not a non-empty string$/],
    ['{"warnings": "old", "versions": []}', 'provider', /^"warnings" is not a list of strings$/],
  ] as const)('%j as a %s file is refused', (text, kind, problem) => {
    const parsed = parseRegistryFile(text, kind);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });

  test('an empty versions array is valid and gives no versions', () => {
    expect(parseRegistryFile('{"versions": []}', 'module')).toEqual({ ok: true, content: { versions: [] } });
  });
});

describe('isRfc3339', () => {
  test.each([
    ['2026-09-10T16:32:44.078662804Z', true],
    ['2026-04-21T00:00:00Z', true],
    ['2024-02-29T23:59:59+02:00', true],
    ['2023-02-29T00:00:00Z', false],
    ['2026-13-01T00:00:00Z', false],
    ['2026-04-21T24:00:00Z', false],
    ['2026-04-21', false],
    ['2026-04-21T00:00:00', false],
    // Offsets and years PostgreSQL cannot store: they reached COPY and failed the whole import.
    ['2024-01-01T00:00:00+05:75', false],
    ['2024-01-01T00:00:00+99:00', false],
    ['2024-01-01T00:00:00+16:00', false],
    ['2024-01-01T00:00:00-14:00', true],
    ['0000-01-01T00:00:00Z', false],
    ['0001-01-01T00:00:00Z', true],
  ])('%s → %s', (text, valid) => {
    expect(isRfc3339(text)).toBe(valid);
  });
});
