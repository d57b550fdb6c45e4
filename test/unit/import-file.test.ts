import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isRfc3339, parseRegistryFile } from '../../src/core/import/registry-file.js';
import { REPO_ROOT } from '../support/fixtures.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');
const fixture = (relative: string) => readFileSync(path.join(FIXTURES, relative), 'utf8');
/** A valid target, with some fields replaced (undefined removes one). */
const targetJson = (changes: Record<string, unknown>) =>
  JSON.stringify({ os: 'linux', arch: 'amd64', filename: 'p.zip', download_url: 'https://x/p.zip', shasum: 'a'.repeat(64), ...changes });
const target = (changes: Record<string, unknown>) => `{"versions": [{"version": "1.0.0", "targets": [${targetJson(changes)}]}]}`;

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
    expect(withDates.ok && withDates.content.versions[0]).toEqual({ version: 'v5.0.1', commit: '30e54b3dd226f1e94a2487c27e0b34519d2bae6a', discovered: '2026-04-21T00:00:00Z' });
    const bare = parseRegistryFile(fixture('modules/q/QuiNovas/cloudfront/aws.json'), 'module');
    expect(bare.ok && bare.content.versions[0]).toEqual({ version: 'v5.0.1' });
  });

  test('an empty commit string means no commit (qjoly/proxmox/module.json)', () => {
    const parsed = parseRegistryFile(fixture('modules/q/qjoly/proxmox/module.json'), 'module');
    expect(parsed.ok && parsed.content.versions.map((v) => v.commit)).toEqual([undefined, undefined]);
  });

  test('a real provider version: protocols, checksum URLs, targets as written; warnings', () => {
    const parsed = parseRegistryFile(fixture('providers/h/hashicorp/vthunder.json'), 'provider');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.content.warnings).toEqual(['This provider is deprecated. Please use a10networks/thunder instead.']);
    const [first] = parsed.content.versions;
    expect(first).toMatchObject({ protocols: ['5.0'], shasumsUrl: expect.stringMatching(/_SHA256SUMS$/), shasumsSignatureUrl: expect.stringMatching(/_SHA256SUMS\.sig$/) });
    expect(first!.targets![0]).toEqual({ os: expect.any(String), arch: expect.any(String), filename: expect.stringMatching(/\.zip$/), download_url: expect.stringMatching(/^https:/), shasum: expect.stringMatching(/^[0-9a-f]{64}$/), h1: expect.stringMatching(/^h1:/), size: expect.any(Number) });
    // Older files have targets without h1 and size.
    const older = parseRegistryFile(fixture('providers/o/opentofu/incapsula.json'), 'provider');
    expect(older.ok && older.content.versions[0]!.targets![0]!.h1).toBeUndefined();
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
    ['{"versions": [{"version": "1.0.0", "targets": {}}]}', 'provider', /^versions\[0\]\.targets is not a list of objects$/],
    ['{"versions": [{"version": "1.0.0", "targets": [1]}]}', 'provider', /^versions\[0\]\.targets\[0\] is a number, not an object$/],
    [target({ os: undefined }), 'provider', /^versions\[0\]\.targets\[0\]\.os is missing$/],
    [target({ arch: '' }), 'provider', /^versions\[0\]\.targets\[0\]\.arch is empty$/],
    [target({ filename: 5 }), 'provider', /^versions\[0\]\.targets\[0\]\.filename is a number, not a string$/],
    [target({ download_url: 'x\u0000' }), 'provider', /download_url contains a NUL character/],
    [target({ shasum: 'ABC' }), 'provider', /^versions\[0\]\.targets\[0\]\.shasum "ABC" is not 64 lower-case hex digits$/],
    [target({ shasum: 'A'.repeat(64) }), 'provider', /is not 64 lower-case hex digits/],
    [target({ h1: 7 }), 'provider', /^versions\[0\]\.targets\[0\]\.h1 is a number, not a string$/],
    [target({ size: -1 }), 'provider', /^versions\[0\]\.targets\[0\]\.size -1 is not a whole number of bytes$/],
    [target({ size: 1.5 }), 'provider', /size 1.5 is not a whole number/],
    [target({ size: '12' }), 'provider', /size "12" is not a whole number/],
    ['{"versions": [{"version": "1.0.0", "targets": [' + targetJson({}) + ',' + targetJson({ filename: 'other.zip' }) + ']}]}', 'provider', /^versions\[0\]\.targets lists linux\/amd64 twice$/],
    ['{"versions": [{"version": "1.0.0", "protocols": ["5.0", 6]}]}', 'provider', /protocols is not a list of strings/],
    ['{"versions": [{"version": "1.0.0", "commit": "abc"}]}', 'module', /^versions\[0\]\.commit "abc" is not a Git commit \(40 lower-case hex digits\)$/],
    ['{"warnings": ["a\\u0000"], "versions": []}', 'provider', /^"warnings" is not a list of strings$/],
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

  test('null optional fields count as absent', () => {
    const parsed = parseRegistryFile(`{"warnings": null, "versions": [{"version": "1.0.0", "protocols": null, "shasums_url": null, "targets": [${targetJson({ h1: null, size: null })}]}]}`, 'provider');
    expect(parsed.ok && parsed.content.warnings).toBeUndefined();
    expect(parsed.ok && parsed.content.versions[0]!.protocols).toBeUndefined();
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
