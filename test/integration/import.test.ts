import { cpSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { RegistryDbError } from '../../src/core/errors.js';
import { importRegistry, type ImportResult } from '../../src/core/import/import-registry.js';
import { stagingTempBuffersSql } from '../../src/core/import/import-sql.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';
import { createImportRole, importRoleEnv } from '../support/import-role.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

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

async function tableContents(db: string): Promise<{ providers: unknown[]; modules: unknown[] }> {
  return withSuperClient(db, async (c) => ({
    providers: (await c.query('SELECT * FROM providers ORDER BY id')).rows,
    modules: (await c.query('SELECT * FROM modules ORDER BY id')).rows,
  }));
}

async function rowCounts(db: string): Promise<{ providers: number; modules: number }> {
  return withSuperClient(db, async (c) => ({
    providers: Number((await c.query('SELECT count(*) FROM providers')).rows[0].count),
    modules: Number((await c.query('SELECT count(*) FROM modules')).rows[0].count),
  }));
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
    expect(result.files).toBe(52);
    expect(result.skipped).toEqual([]);
    // 44 provider versions; 1082 module versions, of which QuiNovas' 18 and Zenika's 18 merge into the lower-case files.
    expect(result.providers).toEqual({ files: 12, versions: 44, inserted: 44, updated: 0, unchanged: 0 });
    expect(result.modules).toEqual({ files: 40, versions: 1082, inserted: 1046, updated: 0, unchanged: 0 });
    expect(result.rows).toEqual({ inserted: 1090, updated: 0, unchanged: 0 });
    expect(await rowCounts(registry.db)).toEqual({ providers: 44, modules: 1046 });

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

  test('re-importing the same tree changes nothing: all unchanged, identical contents', async () => {
    registry = await freshRegistry();
    await importAsApp(registry, FIXTURES);
    const before = await tableContents(registry.db);
    const again = await importAsApp(registry, FIXTURES);
    expect(again.rows).toEqual({ inserted: 0, updated: 0, unchanged: 1090 });
    expect(again.providers).toMatchObject({ inserted: 0, updated: 0, unchanged: 44 });
    expect(again.modules).toMatchObject({ inserted: 0, updated: 0, unchanged: 1046 });
    expect(await tableContents(registry.db)).toEqual(before);
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
    expect(result.modules).toMatchObject({ inserted: 1, updated: 1, unchanged: 1045 });
    expect(result.providers).toMatchObject({ inserted: 0, updated: 0, unchanged: 44 });
    const rows = await withSuperClient(registry.db, async (c) =>
      (await c.query(`SELECT version, published_at::text, downloads, description FROM modules WHERE namespace = 'cloudposse' AND name = 'bossy' ORDER BY version`)).rows,
    );
    expect(rows).toEqual([
      { version: oldVersion.replace(/^v/, ''), published_at: '2027-01-02 03:04:05', downloads: 42, description: 'kept' },
      { version: '9.9.9', published_at: '2027-02-03 04:05:06', downloads: 0, description: null },
    ]);
    expect(await rowCounts(registry.db)).toEqual({ providers: 44, modules: 1047 });
  });

  test('two spellings of a version in one file are one row; a mixed-case file only fills versions the lower-case one lacks', async () => {
    registry = await freshRegistry();
    const root = tempDir('trdb-import-');
    writeJson(root, 'modules/a/acme/net/aws.json', { versions: [{ version: 'v1.0.0', discovered: '2026-01-01T00:00:00Z' }, { version: '1.0.0' }, { version: '0.1.0' }] });
    writeJson(root, 'modules/a/Acme/Net/AWS.json', { versions: [{ version: '1.0.0', discovered: '2020-01-01T00:00:00Z' }, { version: 'v2.0.0', discovered: '2020-02-02T00:00:00Z' }] });
    const result = await importAsApp(registry, root);
    expect(result.modules).toEqual({ files: 2, versions: 5, inserted: 3, updated: 0, unchanged: 0 });
    const rows = await withSuperClient(registry.db, async (c) =>
      (await c.query(`SELECT namespace, name, provider, version, published_at::text, source_url FROM modules ORDER BY version`)).rows,
    );
    expect(rows).toEqual([
      { namespace: 'acme', name: 'net', provider: 'aws', version: '0.1.0', published_at: null, source_url: 'https://github.com/acme/terraform-aws-net' },
      { namespace: 'acme', name: 'net', provider: 'aws', version: '1.0.0', published_at: '2026-01-01 00:00:00', source_url: 'https://github.com/acme/terraform-aws-net' },
      { namespace: 'acme', name: 'net', provider: 'aws', version: '2.0.0', published_at: '2020-02-02 00:00:00', source_url: 'https://github.com/Acme/terraform-AWS-Net' },
    ]);
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
    // The broken file is the very last one read: every valid row was staged, none was written.
    expect(await rowCounts(registry.db)).toEqual({ providers: 0, modules: 0 });
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
        { file: 'providers/a/acme/broken.json', problem: '"versions" is an object, not an array' },
        { file: 'modules/b/bad/thing/aws.json', problem: 'versions[0].version is a number, not a string' },
      ],
    });
    expect(await rowCounts(registry.db)).toEqual({ providers: 0, modules: 0 });
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
    expect(await rowCounts(registry.db)).toEqual({ providers: 44, modules: 1036 });
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
    expect(await rowCounts(registry.db)).toEqual({ providers: 0, modules: 0 });

    const result = await importAsApp(registry, root, true);
    expect(result.skipped).toEqual([{ file: 'modules/a/acme/net/aws.json', problem: expect.stringContaining('is 300 characters long') }]);
    expect(result.modules).toMatchObject({ inserted: 2 });
    const versions = await withSuperClient(registry.db, async (c) => (await c.query('SELECT version FROM modules ORDER BY version')).rows.map((r) => r.version));
    expect(versions).toEqual(['1.0.0', wide]);
  });

  test('two imports at once: same end state, every row inserted exactly once', async () => {
    registry = await freshRegistry();
    const results: ImportResult[] = await Promise.all([importAsApp(registry, FIXTURES), importAsApp(registry, FIXTURES)]);
    expect(results[0]!.rows.inserted + results[1]!.rows.inserted).toBe(1090);
    expect(results[0]!.rows.unchanged + results[1]!.rows.unchanged).toBe(1090);
    expect(await rowCounts(registry.db)).toEqual({ providers: 44, modules: 1046 });
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
    expect(result.rows.inserted).toBe(1090);
  });

  test('bad paths and a missing schema get the right exit codes, before anything is written', async () => {
    registry = await freshRegistry();
    const context = contextFor(registry.env);
    const notThere = await failure(importRegistry(context, { path: path.join(tempDir(), 'missing') }));
    expect(notThere).toMatchObject({ code: 'IMPORT_PATH_INVALID', exitCode: 2 });
    const empty = await failure(importRegistry(context, { path: tempDir() }));
    expect(empty.message).toContain('has neither a providers/ nor a modules/ folder');
    expect(empty.exitCode).toBe(2);

    await withSuperClient(registry.db, (c) => c.query('DROP TABLE modules'));
    const noSchema = await failure(importRegistry(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: registry.db })), { path: FIXTURES, admin: true }));
    expect(noSchema.exitCode).toBe(5);
    expect(await withSuperClient(registry.db, async (c) => Number((await c.query('SELECT count(*) FROM providers')).rows[0].count))).toBe(0);
  });
});
