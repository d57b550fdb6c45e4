import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { importRegistry, type ImportResult } from '../../src/core/import/import-registry.js';
import { stagingTempBuffersSql } from '../../src/core/import/import-sql.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';
import { createImportRole, importRoleEnv } from '../support/import-role.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');
const GENERATED_KEYS = path.join(REPO_ROOT, 'test', 'fixtures', 'generated-keys');

interface Registry {
  readonly db: string;
  readonly role: string;
  readonly env: Record<string, string>;
}

/** A fresh database at the latest schema, and a least-privilege role to import as. */
async function freshRegistry(): Promise<Registry> {
  const db = uniqueName('imp');
  const role = uniqueName('imp_app');
  await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })));
  const app = await createImportRole(db, role);
  return { db, role, env: adminEnv({ TOFU_REGISTRY_DB_NAME: db, ...importRoleEnv(app) }) };
}

const importAsApp = (registry: Registry, root: string, skipInvalid = false) =>
  importRegistry(contextFor(registry.env), { path: root, skipInvalid });

async function failure(promise: Promise<unknown>): Promise<RegistryDbError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryDbError);
  return error as RegistryDbError;
}

async function tableContents(db: string): Promise<Record<string, unknown[]>> {
  return withSuperClient(db, async (c) => {
    const all: Record<string, unknown[]> = {};
    for (const t of TABLES) all[t] = (await c.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`)).rows;
    return all;
  });
}

const TABLES = ['providers', 'provider_platforms', 'registry_providers', 'modules', 'registry_modules', 'signing_keys', 'registry_import_sources'] as const;
const FIXTURE_ROWS = { providers: 44, provider_platforms: 330, registry_providers: 12, modules: 1046, registry_modules: 38, signing_keys: 1, registry_import_sources: 50 };
const NO_ROWS = { providers: 0, provider_platforms: 0, registry_providers: 0, modules: 0, registry_modules: 0, signing_keys: 0, registry_import_sources: 0 };

async function rowCounts(db: string): Promise<Record<(typeof TABLES)[number], number>> {
  return withSuperClient(db, async (c) => {
    const counts: number[] = [];
    for (const t of TABLES) counts.push(Number((await c.query(`SELECT count(*) FROM ${t}`)).rows[0].count)); // one client: one query at a time
    return Object.fromEntries(TABLES.map((t, i) => [t, counts[i]!])) as Record<(typeof TABLES)[number], number>;
  });
}

const inserted = (n: number) => ({ inserted: n, updated: 0, unchanged: 0, deleted: 0 });
const unchanged = (n: number) => ({ inserted: 0, updated: 0, unchanged: n, deleted: 0 });

/** Every row with its transaction id: a row rewritten, even unchanged, gets a new one. */
async function rowVersions(db: string): Promise<Record<string, string[]>> {
  return withSuperClient(db, async (c) => {
    const all: Record<string, string[]> = {};
    for (const t of TABLES) all[t] = (await c.query(`SELECT xmin::text || ':' || ctid::text AS v FROM ${t} ORDER BY 1`)).rows.map((r) => r.v as string);
    return all;
  });
}

/** A copy of the fixtures that a test may change. */
function fixtureCopy(): string {
  const root = tempDir('trdb-import-');
  cpSync(FIXTURES, root, { recursive: true });
  return root;
}

function writeJson(root: string, relative: string, document: unknown): void {
  mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
  writeFileSync(path.join(root, relative), JSON.stringify(document));
}

describe('importRegistry against a real server', () => {
  let registry: Registry;
  afterEach(async () => {
    if (registry) await dropDatabaseAndRole(registry.db, registry.role);
  });

  test('the fixtures, as the least-privilege role: exact counts, mapping, merges', async () => {
    registry = await freshRegistry();
    const result = await importAsApp(registry, FIXTURES);
    expect(result.user).toBe(registry.role);
    expect(result.files).toBe(53);
    expect(result.skipped).toEqual([]);
    // 44 provider versions with 330 platforms; 1082 module versions, of which QuiNovas' 18 and
    // Zenika's 18 merge into the lower-case files: counted as merged, not dropped silently.
    expect(result.providers).toEqual({ files: 12, versions: 44, merged: 0, ...inserted(44) });
    expect(result.providerPlatforms).toEqual(inserted(330));
    expect(result.registryProviders).toEqual(inserted(12));
    expect(result.modules).toEqual({ files: 40, versions: 1082, merged: 36, ...inserted(1046) });
    expect(result.registryModules).toEqual(inserted(38));
    expect(result.signingKeys).toEqual({ files: 1, ...inserted(1) });
    expect(result.rows).toEqual(inserted(44 + 330 + 12 + 1046 + 38 + 1));
    expect(await rowCounts(registry.db)).toEqual(FIXTURE_ROWS);

    await withSuperClient(registry.db, async (c) => {
      // The role really is least-privilege: no CREATE in public, nothing owned.
      const privileges = (await c.query(`SELECT has_schema_privilege($1, 'public', 'CREATE') AS create_in_public, has_database_privilege($1, current_database(), 'CREATE') AS create_in_db`, [registry.role])).rows[0];
      expect(privileges).toEqual({ create_in_public: false, create_in_db: false });

      const nullProvider = (await c.query(`SELECT version, source_url, published_at::text, description, downloads FROM providers WHERE namespace = 'hashicorp' AND name = 'null' AND version = '3.2.4-alpha.2'`)).rows;
      expect(nullProvider).toEqual([{ version: '3.2.4-alpha.2', source_url: 'https://github.com/opentofu/terraform-provider-null', published_at: expect.stringMatching(/^20\d\d-/), description: null, downloads: 0 }]);
      const discovered = JSON.parse(readFileSync(path.join(FIXTURES, 'providers/h/hashicorp/null.json'), 'utf8')).versions.find((v: { version: string }) => v.version === '3.2.4-alpha.2').discovered as string;
      const utc = (await c.query(`SELECT ($1::timestamptz AT TIME ZONE 'UTC')::text AS t`, [discovered])).rows[0].t;
      expect(nullProvider[0].published_at).toBe(utc);

      // No discovered in the file: published_at stays empty.
      expect((await c.query(`SELECT count(*)::int AS n FROM providers WHERE namespace = 'hashicorp' AND name = 'template' AND published_at IS NULL`)).rows[0].n).toBe(8);
      // Mixed-case namespace in the path, stored lower-cased.
      expect((await c.query(`SELECT DISTINCT namespace, source_url FROM providers WHERE name = 'zitadel'`)).rows).toEqual([
        { namespace: 'quolliolabs', source_url: 'https://github.com/QuollioLabs/terraform-provider-zitadel' },
      ]);
      // Module versions lose their leading v; nothing upper-case is stored.
      expect((await c.query(`SELECT count(*)::int AS n FROM modules WHERE version LIKE 'v%'`)).rows[0].n).toBe(0);
      expect((await c.query(`SELECT count(*)::int AS n FROM modules WHERE namespace <> lower(namespace) OR name <> lower(name) OR provider <> lower(provider)`)).rows[0].n).toBe(0);
      expect((await c.query(`SELECT source_url FROM modules WHERE namespace = 'terraform-aws-modules' AND name = 'vpc' AND provider = 'aws' LIMIT 1`)).rows[0].source_url).toBe(
        'https://github.com/terraform-aws-modules/terraform-aws-vpc',
      );

      // QuiNovas/quinovas: one set of 18 rows, the lower-case file's (with discovered) winning.
      const quinovas = (await c.query(`SELECT namespace, count(*)::int AS n, count(published_at)::int AS dated, min(source_url) AS url FROM modules WHERE name = 'cloudfront' GROUP BY namespace`)).rows;
      expect(quinovas).toEqual([{ namespace: 'quinovas', n: 18, dated: 18, url: 'https://github.com/quinovas/terraform-aws-cloudfront' }]);
      // Zenika (18 bare versions) and zenika (27, a superset): 27 rows, all from the lower-case file.
      const zenika = (await c.query(`SELECT namespace, count(*)::int AS n, count(published_at)::int AS dated FROM modules WHERE name = 'cli' GROUP BY namespace`)).rows;
      expect(zenika).toEqual([{ namespace: 'zenika', n: 27, dated: 27 }]);
      expect((await c.query(`SELECT count(*)::int AS n FROM modules WHERE description IS NOT NULL OR downloads <> 0`)).rows[0].n).toBe(0);
    });
  });

  test('re-importing the same tree changes nothing: all unchanged, no row even rewritten, no sequence value taken', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    const before = await tableContents(registry.db);
    const versions = await rowVersions(registry.db);
    const sequences = async () => withSuperClient(registry.db, async (c) => (await c.query(`SELECT last_value FROM providers_id_seq UNION ALL SELECT last_value FROM modules_id_seq`)).rows);
    const sequencesBefore = await sequences();
    const again = await importAsApp(registry, FIXTURES);
    expect(again.rows).toEqual(unchanged(44 + 330 + 12 + 1046 + 38 + 1));
    expect(again.providers).toEqual({ files: 12, versions: 44, merged: 0, ...unchanged(44) });
    expect(again.providerPlatforms).toEqual(unchanged(330));
    expect(again.modules).toEqual({ files: 40, versions: 1082, merged: 36, ...unchanged(1046) });
    expect(again.signingKeys).toEqual({ files: 1, ...unchanged(1) });
    expect(await tableContents(registry.db)).toEqual(before);
    expect(await rowVersions(registry.db)).toEqual(versions);
    expect(await sequences()).toEqual(sequencesBefore);
  });

  test('a changed file changes exactly its rows: a platform and a version removed upstream are removed here, the rest untouched', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    const root = fixtureCopy();
    const nullFile = path.join(root, 'providers/h/hashicorp/null.json');
    const provider = JSON.parse(readFileSync(nullFile, 'utf8'));
    const [newest, , gone] = provider.versions;
    const removedPlatform = newest.targets.pop();
    newest.targets[0].shasum = 'f'.repeat(64);
    provider.versions.splice(2, 1);
    writeFileSync(nullFile, JSON.stringify(provider));
    const before = await rowVersions(registry.db);

    const result = await importAsApp(registry, root);
    expect(result.providers).toEqual({ files: 12, versions: 43, merged: 0, inserted: 0, updated: 0, unchanged: 43, deleted: 1 });
    expect(result.providerPlatforms).toEqual({ inserted: 0, updated: 1, unchanged: 330 - 1 - 1 - gone.targets.length, deleted: 1 + gone.targets.length });
    expect(result.registryProviders).toEqual({ inserted: 0, updated: 1, unchanged: 11, deleted: 0 });
    expect(result.modules).toMatchObject(unchanged(1046));
    await withSuperClient(registry.db, async (c) => {
      const platforms = (await c.query(`SELECT os, arch, shasum FROM provider_platforms WHERE namespace = 'hashicorp' AND name = 'null' AND version = $1 ORDER BY os, arch`, [newest.version])).rows;
      expect(platforms).toHaveLength(newest.targets.length);
      expect(platforms).not.toContainEqual(expect.objectContaining({ os: removedPlatform.os, arch: removedPlatform.arch }));
      expect(platforms).toContainEqual({ os: newest.targets[0].os, arch: newest.targets[0].arch, shasum: 'f'.repeat(64) });
      expect((await c.query(`SELECT count(*)::int AS n FROM providers WHERE namespace = 'hashicorp' AND name = 'null' AND version = $1`, [gone.version])).rows[0].n).toBe(0);
    });
    // Every row of the other files is the very row it was.
    const after = await rowVersions(registry.db);
    expect(after.modules).toEqual(before.modules);
    expect(after.signing_keys).toEqual(before.signing_keys);
    const untouched = await withSuperClient(registry.db, async (c) => (await c.query(`SELECT xmin::text || ':' || ctid::text AS v FROM providers WHERE name <> 'null' ORDER BY 1`)).rows.map((r) => r.v));
    expect(before.providers).toEqual(expect.arrayContaining(untouched));
  });

  test('rows changed by anything but import make it forget what it recorded: the next import puts them back', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    await withSuperClient(registry.db, async (c) => {
      await c.query(`DELETE FROM provider_platforms WHERE namespace = 'opentofu' AND name = 'go'`);
      await c.query(`UPDATE modules SET tag = NULL WHERE namespace = 'cloudposse' AND name = 'bossy'`);
      // The API's download counts are not such a change.
      await c.query(`UPDATE modules SET downloads = downloads + 1`);
      expect((await c.query(`SELECT kind, count(*)::int AS n FROM registry_import_sources GROUP BY kind`)).rows).toEqual([]);
      expect((await c.query(`SELECT count(versions_document)::int AS n FROM registry_providers`)).rows[0].n).toBe(0);
    });
    const result = await importAsApp(registry, FIXTURES);
    expect(result.providerPlatforms).toEqual({ inserted: 18, updated: 0, unchanged: 330 - 18, deleted: 0 });
    expect(result.modules).toMatchObject({ inserted: 0, updated: 1, unchanged: 1045, deleted: 0 });
    expect(result.registryProviders).toMatchObject({ updated: 12 });
    expect(await rowCounts(registry.db)).toEqual(FIXTURE_ROWS);
    await withSuperClient(registry.db, async (c) => {
      expect((await c.query(`SELECT count(versions_document)::int AS n FROM registry_providers`)).rows[0].n).toBe(12);
      expect((await c.query(`SELECT min(downloads) AS n FROM modules`)).rows[0].n).toBe(1);
    });
    expect((await importAsApp(registry, FIXTURES)).rows).toEqual(unchanged(44 + 330 + 12 + 1046 + 38 + 1));
  });

  test('an updated tree adds and updates rows without duplicates, and keeps downloads and descriptions', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    await withSuperClient(registry.db, (c) =>
      c.query(`UPDATE modules SET downloads = 42, description = 'kept' WHERE namespace = 'cloudposse' AND name = 'bossy'`),
    );
    const root = fixtureCopy();
    const bossyFile = path.join(root, 'modules/c/cloudposse/bossy/aws.json');
    const bossy = JSON.parse(readFileSync(bossyFile, 'utf8'));
    const oldVersion = bossy.versions[0].version as string;
    bossy.versions[0].discovered = '2027-01-02T03:04:05Z'; // an update
    bossy.versions.unshift({ version: 'v9.9.9', commit: 'a'.repeat(40), discovered: '2027-02-03T04:05:06Z' }, { version: '9.9.9' }); // one new row, two spellings
    writeFileSync(bossyFile, JSON.stringify(bossy));

    const result = await importAsApp(registry, root);
    expect(result.modules).toMatchObject({ versions: 1084, merged: 37, inserted: 1, updated: 1, unchanged: 1045, deleted: 0 });
    expect(result.providers).toMatchObject(unchanged(44));
    const rows = await withSuperClient(registry.db, async (c) =>
      (await c.query(`SELECT version, tag, "commit", published_at::text, downloads, description FROM modules WHERE namespace = 'cloudposse' AND name = 'bossy' ORDER BY version`)).rows,
    );
    // The two spellings of 9.9.9 are one row: the later entry's, which the registry serves.
    expect(rows).toEqual([
      { version: oldVersion.replace(/^v/, ''), tag: oldVersion, commit: bossy.versions[2].commit ?? null, published_at: '2027-01-02 03:04:05', downloads: 42, description: 'kept' },
      { version: '9.9.9', tag: '9.9.9', commit: null, published_at: null, downloads: 0, description: null },
    ]);
    expect(await rowCounts(registry.db)).toEqual({ ...FIXTURE_ROWS, modules: 1047 });
  });

  test('two spellings of a version in one file are one row, the tag the registry serves (the later entry); a mixed-case file only fills versions the lower-case one lacks', async () => {
    registry = await freshRegistry();
    const root = tempDir('trdb-import-');
    writeJson(root, 'modules/a/acme/net/aws.json', { versions: [{ version: '1.0.0', discovered: '2026-01-01T00:00:00Z' }, { version: 'v1.0.0', commit: 'c'.repeat(40), discovered: '2026-01-02T00:00:00+02:00' }, { version: '0.1.0' }] });
    writeJson(root, 'modules/a/Acme/Net/AWS.json', { versions: [{ version: '1.0.0', discovered: '2020-01-01T00:00:00Z' }, { version: 'v2.0.0', discovered: '2020-02-02T00:00:00Z' }] });
    const result = await importAsApp(registry, root);
    expect(result.modules).toEqual({ files: 2, versions: 5, merged: 2, ...inserted(3) });
    expect(result.registryModules).toEqual(inserted(1));
    const rows = await withSuperClient(registry.db, async (c) =>
      (await c.query(`SELECT namespace, name, provider, version, tag, "commit", published_at::text, source_url FROM modules ORDER BY version`)).rows,
    );
    expect(rows).toEqual([
      { namespace: 'acme', name: 'net', provider: 'aws', version: '0.1.0', tag: '0.1.0', commit: null, published_at: null, source_url: 'https://github.com/acme/terraform-aws-net' },
      { namespace: 'acme', name: 'net', provider: 'aws', version: '1.0.0', tag: 'v1.0.0', commit: 'c'.repeat(40), published_at: '2026-01-01 22:00:00', source_url: 'https://github.com/acme/terraform-aws-net' },
      { namespace: 'acme', name: 'net', provider: 'aws', version: '2.0.0', tag: 'v2.0.0', commit: null, published_at: '2020-02-02 00:00:00', source_url: 'https://github.com/Acme/terraform-AWS-Net' },
    ]);
    expect(await withSuperClient(registry.db, async (c) => (await c.query(`SELECT registry_module_download('acme', 'net', 'aws', '1.0.0') AS d`)).rows[0].d)).toEqual({
      location: 'git::https://github.com/acme/terraform-aws-net?ref=v1.0.0',
    });
  });

  test('invalid JSON stops the import before anything is written, naming the file (exit 2)', async () => {
    registry = await freshRegistry();
    const root = fixtureCopy();
    writeFileSync(path.join(root, 'modules/z/zifeo/rke2/openstack.json'), '{"versions": [ {"version": "1.0.0"}, ');
    const error = await failure(importAsApp(registry, root));
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('IMPORT_INVALID_FILES');
    expect(error.message).toContain('modules/z/zifeo/rke2/openstack.json: not valid JSON');
    expect(error.message).toContain('nothing was written');
    expect(error.data).toEqual({ problems: [{ file: 'modules/z/zifeo/rke2/openstack.json', problem: expect.stringMatching(/^not valid JSON: /) }] });
    // The broken file is among the last read: rows were sent, none was committed.
    expect(await rowCounts(registry.db)).toEqual(NO_ROWS);
  });

  test('a file of the wrong shape stops the import; every invalid file is listed', async () => {
    registry = await freshRegistry();
    const root = fixtureCopy();
    writeJson(root, 'providers/a/acme/broken.json', { versions: { version: '1.0.0' } });
    writeJson(root, 'modules/b/bad/thing/aws.json', { versions: [{ version: 1 }] });
    const error = await failure(importAsApp(registry, root));
    expect(error.exitCode).toBe(2);
    expect(error.data).toEqual({
      problems: [
        { file: 'modules/b/bad/thing/aws.json', problem: 'versions[0].version is a number, not a string' },
        { file: 'providers/a/acme/broken.json', problem: '"versions" is an object, not an array' },
      ],
    });
    expect(await rowCounts(registry.db)).toEqual(NO_ROWS);
  });

  test('--skip-invalid imports the rest and lists what it skipped', async () => {
    registry = await freshRegistry();
    const root = fixtureCopy();
    writeFileSync(path.join(root, 'modules/a/Azure/alz/azurerm.json'), 'not json');
    writeJson(root, 'modules/a/acme/stray.json', { versions: [] });
    const result = await importAsApp(registry, root, true);
    expect(result.skipped).toEqual([
      { file: 'modules/a/Azure/alz/azurerm.json', problem: expect.stringMatching(/^not valid JSON/) },
      { file: 'modules/a/acme/stray.json', problem: expect.stringContaining('is not where the layout puts metadata files') },
    ]);
    expect(result.modules).toMatchObject({ files: 40, inserted: 1046 - 10 });
    expect(await rowCounts(registry.db)).toEqual({ ...FIXTURE_ROWS, modules: 1036, registry_modules: 37, registry_import_sources: 49 });
  });

  test('a version longer than the column is reported, never cut; 51-255 characters fit since migration 003', async () => {
    registry = await freshRegistry();
    const root = tempDir('trdb-import-');
    const long = `1.0.0-${'a'.repeat(294)}`; // 300 characters
    const wide = `1.0.0-rc.1+build.${'b'.repeat(60)}`; // 77 characters: too long for the original VARCHAR(50)
    writeJson(root, 'modules/a/acme/net/aws.json', { versions: [{ version: long }, { version: wide }, { version: '1.0.0' }] });

    const error = await failure(importAsApp(registry, root));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('modules/a/acme/net/aws.json: version "1.0.0-aaa');
    expect(error.message).toContain('is 300 characters long; the version column holds at most 255 (not imported, never cut)');
    expect(await rowCounts(registry.db)).toEqual(NO_ROWS);

    const result = await importAsApp(registry, root, true);
    expect(result.skipped).toEqual([{ file: 'modules/a/acme/net/aws.json', problem: expect.stringContaining('is 300 characters long') }]);
    expect(result.modules).toMatchObject({ inserted: 2 });
    const versions = await withSuperClient(registry.db, async (c) => (await c.query('SELECT version FROM modules ORDER BY version')).rows.map((r) => r.version));
    expect(versions).toEqual(['1.0.0', wide]);
  });

  test('two imports at once: same end state, every row inserted exactly once', async () => {
    registry = await freshRegistry();
    const results: ImportResult[] = await Promise.all([importAsApp(registry, FIXTURES), importAsApp(registry, FIXTURES)]);
    const all = 44 + 330 + 12 + 1046 + 38 + 1;
    expect(results[0]!.rows.inserted + results[1]!.rows.inserted).toBe(all);
    expect(results[0]!.rows.unchanged + results[1]!.rows.unchanged).toBe(all);
    expect(await rowCounts(registry.db)).toEqual(FIXTURE_ROWS);
  });

  test('temp_buffers: raised for the transaction; a session that already used temporary tables keeps its own, without an error', async () => {
    registry = await freshRegistry();
    await withSuperClient(registry.db, async (c) => {
      const setting = async () => (await c.query<{ v: string }>(`SELECT current_setting('temp_buffers') AS v`)).rows[0]!.v;
      const before = await setting();
      expect(before).not.toBe('64MB');
      await c.query('BEGIN');
      await c.query(stagingTempBuffersSql('64MB'));
      expect(await setting()).toBe('64MB');
      await c.query('COMMIT');
      expect(await setting()).toBe(before);

      await c.query('CREATE TEMP TABLE used_before (x int)');
      await c.query('INSERT INTO used_before VALUES (1)');
      await c.query('BEGIN');
      await c.query(stagingTempBuffersSql('64MB'));
      expect(await setting()).toBe(before);
      await c.query('COMMIT');
    });
  });

  test('as the admin with admin: true', async () => {
    registry = await freshRegistry();
    const result = await importRegistry(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: registry.db })), { path: FIXTURES, admin: true });
    expect(result.user).toBe('postgres');
    expect(result.rows.inserted).toBe(44 + 330 + 12 + 1046 + 38 + 1);
  });

  test('signing keys: the keys/ folder is the whole truth (a key gone upstream goes), a bad key file stops the import or, skipped, keeps its namespace', async () => {
    registry = await freshRegistry();
    const root = fixtureCopy();
    mkdirSync(path.join(root, 'keys/z/zubikit/openwebui'), { recursive: true });
    copyFileSync(path.join(GENERATED_KEYS, 'ed25519-a.asc'), path.join(root, 'keys/z/zubikit/openwebui/a.asc'));
    copyFileSync(path.join(GENERATED_KEYS, 'rsa2048-b.asc'), path.join(root, 'keys/z/zubikit/b.asc'));
    expect((await importAsApp(registry, root)).signingKeys).toEqual({ files: 3, ...inserted(3) });
    const keys = () => withSuperClient(registry.db, async (c) => (await c.query(`SELECT namespace, provider, file_name, key_id FROM signing_keys ORDER BY 1, 2, 3`)).rows);
    expect(await keys()).toEqual([
      { namespace: 'opentofu', provider: '', file_name: '20231115.asc', key_id: '0C0AF313E5FD9F80' },
      { namespace: 'zubikit', provider: '', file_name: 'b.asc', key_id: 'E0F0D7A91408CA84' },
      { namespace: 'zubikit', provider: 'openwebui', file_name: 'a.asc', key_id: 'A8D3B20240F95DD9' },
    ]);
    rmSync(path.join(root, 'keys/z/zubikit/b.asc'));
    expect((await importAsApp(registry, root)).signingKeys).toEqual({ files: 2, inserted: 0, updated: 0, unchanged: 2, deleted: 1 });

    writeFileSync(path.join(root, 'keys/z/zubikit/openwebui/a.asc'), 'not a key');
    rmSync(path.join(root, 'keys/o/opentofu/20231115.asc'));
    const error = await failure(importAsApp(registry, root));
    expect(error).toMatchObject({ exitCode: 2, code: 'IMPORT_INVALID_FILES' });
    expect(error.message).toContain('keys/z/zubikit/openwebui/a.asc: is not an OpenPGP public key');
    expect(await keys()).toHaveLength(2);
    // Skipped: zubikit's keys stay as they were; opentofu's, gone from the folder, go.
    const skipped = await importAsApp(registry, root, true);
    expect(skipped.skipped).toEqual([{ file: 'keys/z/zubikit/openwebui/a.asc', problem: expect.stringContaining('not an OpenPGP public key') }]);
    expect(skipped.signingKeys).toMatchObject({ deleted: 1 });
    expect((await keys()).map((k) => k.key_id)).toEqual(['A8D3B20240F95DD9']);
  });

  test('a tree without keys/ leaves the signing keys alone; one of keys/ only imports them', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    const noKeys = fixtureCopy();
    rmSync(path.join(noKeys, 'keys'), { recursive: true });
    expect((await importAsApp(registry, noKeys)).signingKeys).toEqual({ files: 0, ...inserted(0) });
    const onlyKeys = tempDir('trdb-import-');
    cpSync(path.join(FIXTURES, 'keys'), path.join(onlyKeys, 'keys'), { recursive: true });
    const result = await importAsApp(registry, onlyKeys);
    expect(result.signingKeys).toEqual({ files: 1, ...unchanged(1) });
    expect(result.providers.files + result.modules.files).toBe(0);
    expect(await rowCounts(registry.db)).toEqual(FIXTURE_ROWS);
  });

  test('bad paths and a missing schema get the right exit codes, before anything is written', async () => {
    registry = await freshRegistry();
    const context = contextFor(registry.env);
    const notThere = await failure(importRegistry(context, { path: path.join(tempDir(), 'missing') }));
    expect(notThere).toMatchObject({ code: 'IMPORT_PATH_INVALID', exitCode: 2 });
    const empty = await failure(importRegistry(context, { path: tempDir() }));
    expect(empty.message).toContain('has neither a providers/ nor a modules/ nor a keys/ folder');
    expect(empty.exitCode).toBe(2);

    await withSuperClient(registry.db, (c) => c.query('DROP TABLE modules'));
    const noSchema = await failure(importRegistry(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: registry.db })), { path: FIXTURES, admin: true }));
    expect(noSchema.exitCode).toBe(5);
    expect(await withSuperClient(registry.db, async (c) => Number((await c.query('SELECT count(*) FROM providers')).rows[0].count))).toBe(0);
  });
});
