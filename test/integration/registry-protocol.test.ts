import { cpSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { importRegistry } from '../../src/core/import/import-registry.js';
import type pg from 'pg';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, superClient, tempDir, uniqueName } from '../support/fixtures.js';
import { createImportRole, importRoleEnv } from '../support/import-role.js';

/**
 * The four registry protocol functions against documents computed here, independently of
 * the importer, straight from the fixture files: for every provider (every version, every
 * platform) and every module (every version) of the fixtures, exactly, as sets where the
 * protocol sets no order. The key IDs are what gpg printed for each key file (the fixture
 * READMEs), not what the importer computes.
 */
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
const REGISTRY = path.join(FIXTURES, 'opentofu-registry');
const KEY_IDS: Record<string, string> = {
  '20231115.asc': '0C0AF313E5FD9F80',
  'ed25519-a.asc': 'A8D3B20240F95DD9',
  'rsa2048-b.asc': 'E0F0D7A91408CA84',
};

type Json = Record<string, unknown>;
interface Target { os: string; arch: string; filename: string; download_url: string; shasum: string }
interface ProviderVersion { version: string; protocols?: string[]; shasums_url?: string; shasums_signature_url?: string; targets?: Target[] }

function files(root: string, depth: number): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.json') && f.split(path.sep).length === depth).sort();
}
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Json;
const stripV = (v: string) => (v.startsWith('v') ? v.slice(1) : v);

/** The keys a provider's downloads carry: its namespace's, then its own; hashicorp's are opentofu's. */
function keysFor(root: string, namespace: string, name: string): { key_id: string; ascii_armor: string }[] {
  const owner = namespace === 'hashicorp' ? 'opentofu' : namespace;
  const folder = path.join(root, 'keys', owner[0]!, owner);
  const inFolder = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.asc')).map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  return [
    ...inFolder(folder).map((f) => ({ key_id: KEY_IDS[f]!, ascii_armor: readFileSync(path.join(folder, f), 'utf8') })),
    ...inFolder(path.join(folder, name)).map((f) => ({ key_id: KEY_IDS[f]!, ascii_armor: readFileSync(path.join(folder, name, f), 'utf8') })),
  ];
}

/** A listing with its arrays in one order: versions by version, platforms by os and arch. */
function normalizeListing(doc: unknown): unknown {
  if (doc === null) return null;
  const listing = doc as { versions: { version: string; platforms: { os: string; arch: string }[] }[] };
  const versions = listing.versions
    .map((v) => ({ ...v, platforms: [...v.platforms].sort((a, b) => `${a.os}/${a.arch}`.localeCompare(`${b.os}/${b.arch}`)) }))
    .sort((a, b) => a.version.localeCompare(b.version));
  return { ...listing, versions };
}

describe('registry protocol functions: the documents of every fixture provider and module', () => {
  const db = uniqueName('protocol');
  const role = uniqueName('protocol_app');
  const root = path.join(tempDir('trdb-protocol-'), 'registry');
  let client: pg.Client;

  beforeAll(async () => {
    // The fixtures, with provider-level keys beside the real namespace key: one for a hashicorp
    // provider (served from the opentofu namespace), one for a provider whose namespace has none.
    cpSync(REGISTRY, root, { recursive: true });
    mkdirSync(path.join(root, 'keys/o/opentofu/null'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'generated-keys/ed25519-a.asc'), path.join(root, 'keys/o/opentofu/null/ed25519-a.asc'));
    mkdirSync(path.join(root, 'keys/j/jfrog/bridge'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'generated-keys/rsa2048-b.asc'), path.join(root, 'keys/j/jfrog/bridge/rsa2048-b.asc'));
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })));
    const app = await createImportRole(db, role);
    await importRegistry(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, ...importRoleEnv(app) })), { path: root });
    client = await superClient(db);
  });
  afterAll(async () => {
    await client?.end();
    await dropDatabaseAndRole(db, role);
  });

  const call = async (sql: string, args: unknown[]) => (await client.query(sql, args)).rows[0].d as unknown;

  const providers = () =>
    files(path.join(root, 'providers'), 3).map((relative) => {
      const [, namespace, file] = relative.split(path.sep) as [string, string, string];
      return { namespace: namespace.toLowerCase(), name: file.slice(0, -5).toLowerCase(), content: json(path.join(root, 'providers', relative)) };
    });

  test('registry_provider_versions: every provider, with its warnings where it has any', async () => {
    const all = providers();
    expect(all).toHaveLength(12);
    for (const { namespace, name, content } of all) {
      const versions = content.versions as ProviderVersion[];
      const expected: Json = {
        versions: versions.map((v) => ({ version: v.version, protocols: v.protocols ?? null, platforms: (v.targets ?? []).map((t) => ({ os: t.os, arch: t.arch })) })),
      };
      if (Array.isArray(content.warnings) && content.warnings.length > 0) expected.warnings = content.warnings;
      expect(normalizeListing(await call('SELECT registry_provider_versions($1, $2) AS d', [namespace, name]))).toEqual(normalizeListing(expected));
    }
  });

  test('registry_provider_download: every version and platform, with the signing keys that apply', async () => {
    let checked = 0;
    for (const { namespace, name, content } of providers()) {
      const keys = keysFor(root, namespace, name);
      for (const v of content.versions as ProviderVersion[]) {
        for (const t of v.targets ?? []) {
          const expected = {
            protocols: v.protocols ?? null,
            os: t.os,
            arch: t.arch,
            filename: t.filename,
            download_url: t.download_url,
            shasums_url: v.shasums_url,
            shasums_signature_url: v.shasums_signature_url,
            shasum: t.shasum,
            signing_keys: { gpg_public_keys: keys },
          };
          expect(await call('SELECT registry_provider_download($1, $2, $3, $4, $5) AS d', [namespace, name, v.version, t.os, t.arch])).toEqual(expected);
          checked++;
        }
      }
    }
    expect(checked).toBe(330);
    // The keys that apply, spelled out: the real opentofu key for every hashicorp provider, plus the null provider's own.
    expect(keysFor(root, 'hashicorp', 'null').map((k) => k.key_id)).toEqual(['0C0AF313E5FD9F80', 'A8D3B20240F95DD9']);
    expect(keysFor(root, 'hashicorp', 'template').map((k) => k.key_id)).toEqual(['0C0AF313E5FD9F80']);
    expect(keysFor(root, 'jfrog', 'bridge').map((k) => k.key_id)).toEqual(['E0F0D7A91408CA84']);
    expect(keysFor(root, 'zubikit', 'openwebui')).toEqual([]);
  });

  test('modules: every module, its versions, and the download location of each (the tag as written)', async () => {
    // Spellings of one module (QuiNovas/quinovas): one module; the lower-case path's file first.
    const modules = new Map<string, { relative: string; namespace: string; name: string; target: string; versions: { version: string }[] }[]>();
    for (const relative of files(path.join(root, 'modules'), 4)) {
      const [, namespace, name, file] = relative.split(path.sep) as [string, string, string, string];
      const key = `${namespace}/${name}/${file.slice(0, -5)}`.toLowerCase();
      const spelling = { relative, namespace, name, target: file.slice(0, -5), versions: json(path.join(root, 'modules', relative)).versions as { version: string }[] };
      modules.set(key, [...(modules.get(key) ?? []), spelling].sort((a, b) => Number(a.relative !== a.relative.toLowerCase()) - Number(b.relative !== b.relative.toLowerCase())));
    }
    expect(modules.size).toBe(38);
    let locations = 0;
    for (const [key, spellings] of modules) {
      const [namespace, name, system] = key.split('/') as [string, string, string];
      // Per version: the tag of the preferred file that has it, the last of its spellings there.
      const served = new Map<string, { tag: string; repository: string }>();
      for (const spelling of spellings) {
        const own = new Map<string, string>();
        for (const { version } of spelling.versions) own.set(stripV(version), version);
        for (const [version, tag] of own) if (!served.has(version)) served.set(version, { tag, repository: `https://github.com/${spelling.namespace}/terraform-${spelling.target}-${spelling.name}` });
      }
      const listing = (await call('SELECT registry_module_versions($1, $2, $3) AS d', [namespace, name, system])) as { modules: { versions: { version: string }[] }[] };
      expect(listing.modules).toHaveLength(1);
      expect(listing.modules[0]!.versions.map((v) => v.version).sort()).toEqual([...served.keys()].sort());
      expect(listing.modules[0]!.versions).toHaveLength(served.size);
      for (const [version, { tag, repository }] of served) {
        expect(await call('SELECT registry_module_download($1, $2, $3, $4) AS d', [namespace, name, system, version])).toEqual({ location: `git::${repository}?ref=${tag}` });
        locations++;
      }
    }
    expect(locations).toBe(1046);
    // Tags with and without the v, as written (Azure/naming holds both spellings of its versions).
    expect(await call('SELECT registry_module_download($1, $2, $3, $4) AS d', ['azure', 'naming', 'azurerm', '0.4.1'])).toEqual({ location: 'git::https://github.com/Azure/terraform-azurerm-naming?ref=0.4.1' });
  });

  test('404s are NULL: unknown names, versions with a leading v, platforms a version lacks; names match in any case', async () => {
    expect(await call('SELECT registry_provider_versions($1, $2) AS d', ['hashicorp', 'nope'])).toBeNull();
    expect(await call('SELECT registry_provider_download($1, $2, $3, $4, $5) AS d', ['hashicorp', 'null', 'v3.2.4-alpha.2', 'linux', 'amd64'])).toBeNull();
    expect(await call('SELECT registry_provider_download($1, $2, $3, $4, $5) AS d', ['hashicorp', 'null', '3.2.4-alpha.2', 'plan9', 'amd64'])).toBeNull();
    expect(await call('SELECT registry_module_versions($1, $2, $3) AS d', ['azure', 'naming', 'google'])).toBeNull();
    expect(await call('SELECT registry_module_download($1, $2, $3, $4) AS d', ['azure', 'naming', 'azurerm', 'v0.4.1'])).toBeNull();
    expect(await call('SELECT registry_provider_versions($1, $2) AS d', ['QuollioLabs', 'Zitadel'])).toEqual(await call('SELECT registry_provider_versions($1, $2) AS d', ['quolliolabs', 'zitadel']));
  });

  /** Every provider's listing, one query at a time (one client). */
  async function listings(): Promise<unknown[]> {
    const documents: unknown[] = [];
    for (const { namespace, name } of providers()) documents.push(await call('SELECT registry_provider_versions($1, $2) AS d', [namespace, name]));
    return documents;
  }

  test('built from the rows when no listing is stored (a write from elsewhere drops them): the same documents', async () => {
    const stored = await listings();
    await client.query(`UPDATE provider_platforms SET filename = filename WHERE false`);
    expect(Number((await client.query('SELECT count(versions_document) AS n FROM registry_providers')).rows[0].n)).toBe(0);
    const built = await listings();
    expect(built.map(normalizeListing)).toEqual(stored.map(normalizeListing));
  });
});
