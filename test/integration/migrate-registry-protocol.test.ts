import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { importRegistry } from '../../src/core/import/import-registry.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

const SQL_DIR = path.join(REPO_ROOT, 'sql');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

describe('migrations 004-007 (the registry protocols) on a database that has rows', () => {
  test('rows written before stay valid, keep their ids and downloads, and the next import completes them', async () => {
    const db = uniqueName('upgrade');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    const before = tempDir();
    for (const file of ['001_initial_schema.sql', '002_search_indexes.sql', '003_widen_version.sql']) copyFileSync(path.join(SQL_DIR, file), path.join(before, file));
    await createDatabase(context, { migrationsDir: before });
    // What the import of 003's days wrote: no tags, platforms, keys; and what the API counted.
    await withSuperClient(db, (c) =>
      c.query(`INSERT INTO providers (namespace, name, version, source_url, published_at, downloads) VALUES ('hashicorp', 'null', '3.2.4-alpha.2', 'https://github.com/opentofu/terraform-provider-null', '2026-01-01', 7);
               INSERT INTO modules (namespace, name, provider, version, source_url, downloads, description) VALUES ('azure', 'naming', 'azurerm', '0.4.1', 'https://github.com/Azure/terraform-azurerm-naming', 3, 'kept');
               INSERT INTO modules (namespace, name, provider, version) SELECT 'bulk', 'm' || g, 'aws', '1.0.0' FROM generate_series(1, 2000) g`),
    );
    const ids = () => withSuperClient(db, async (c) => (await c.query(`SELECT (SELECT id FROM providers WHERE name = 'null' AND version = '3.2.4-alpha.2') AS p, (SELECT id FROM modules WHERE name = 'naming' AND version = '0.4.1') AS m`)).rows[0]);
    const idsBefore = await ids();

    const migrated = await migrate(context);
    expect(migrated.results.filter((r) => r.outcome === 'applied').map((r) => `${r.version}_${r.name}`)).toEqual([
      '4_registry_protocol_data',
      '5_listing_and_search_indexes',
      '6_registry_protocol_functions',
      '7_import_bookkeeping_guard',
    ]);
    await withSuperClient(db, async (c) => {
      // 005 merged the trigram indexes' pending entries (the 2000 rows above) and keeps the list short from now on.
      const options = (await c.query(`SELECT relname, reloptions FROM pg_class WHERE relname LIKE '%trgm_idx' ORDER BY 1`)).rows;
      expect(options.map((o) => o.reloptions)).toEqual(Array(4).fill(['gin_pending_list_limit=64']));
      // Nothing left to merge: the migration did it (gin_clean_pending_list returns the pages it merged).
      expect((await c.query(`SELECT gin_clean_pending_list('modules_name_trgm_idx') AS n`)).rows[0].n).toBe('0');
      // Until an import writes its tag, a module version's location carries its version.
      expect((await c.query(`SELECT registry_module_download('azure', 'naming', 'azurerm', '0.4.1') AS d`)).rows[0].d).toEqual({
        location: 'git::https://github.com/Azure/terraform-azurerm-naming?ref=0.4.1',
      });
      // A provider version without platforms and without a stored listing: built from the rows.
      expect((await c.query(`SELECT registry_provider_versions('hashicorp', 'null') AS d`)).rows[0].d).toEqual({ versions: [{ version: '3.2.4-alpha.2', protocols: null, platforms: [] }] });
    });

    const result = await importRegistry(context, { path: FIXTURES, admin: true });
    expect(result.providers).toMatchObject({ inserted: 43, updated: 1, unchanged: 0 });
    expect(result.modules).toMatchObject({ inserted: 1045, updated: 1, unchanged: 0 });
    expect(result.providerPlatforms).toMatchObject({ inserted: 330 });
    expect(await ids()).toEqual(idsBefore);
    await withSuperClient(db, async (c) => {
      expect((await c.query(`SELECT downloads, protocols FROM providers WHERE name = 'null' AND version = '3.2.4-alpha.2'`)).rows[0]).toEqual({ downloads: 7, protocols: ['5.0'] });
      expect((await c.query(`SELECT downloads, description, tag FROM modules WHERE name = 'naming' AND version = '0.4.1'`)).rows[0]).toEqual({ downloads: 3, description: 'kept', tag: '0.4.1' });
      // Modules no file holds are left as they were.
      expect(Number((await c.query(`SELECT count(*) FROM modules WHERE namespace = 'bulk'`)).rows[0].count)).toBe(2000);
    });
    await dropDatabaseAndRole(db);
  });

  test('the migrations refuse what the data model forbids', async () => {
    const db = uniqueName('constraints');
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })));
    await withSuperClient(db, async (c) => {
      await c.query(`INSERT INTO providers (namespace, name, version) VALUES ('a', 'p', '1.0.0')`);
      await c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('a', 'm', 'aws', '1.0.0')`);
      const platform = (values: string) => c.query(`INSERT INTO provider_platforms (namespace, name, version, os, arch, filename, download_url, shasum, size) VALUES ${values}`);
      const sha = 'a'.repeat(64);
      await platform(`('a', 'p', '1.0.0', 'linux', 'amd64', 'f.zip', 'https://x/f.zip', '${sha}', 1)`);
      await expect(platform(`('a', 'p', '1.0.0', 'linux', 'amd64', 'g.zip', 'https://x/g.zip', '${sha}', 1)`)).rejects.toMatchObject({ code: '23505' }); // one row per version and platform
      await expect(platform(`('a', 'p', '9.9.9', 'linux', 'amd64', 'f.zip', 'https://x/f.zip', '${sha}', 1)`)).rejects.toMatchObject({ code: '23503' }); // no platform without its version
      await expect(platform(`('a', 'p', '1.0.0', 'linux', 'arm64', 'f.zip', 'https://x/f.zip', 'XYZ', 1)`)).rejects.toMatchObject({ code: '23514' });
      await expect(platform(`('a', 'p', '1.0.0', 'linux', 'arm64', 'f.zip', 'https://x/f.zip', '${sha}', -1)`)).rejects.toMatchObject({ code: '23514' });
      await expect(c.query(`UPDATE modules SET tag = 'v2.0.0' WHERE name = 'm'`)).rejects.toMatchObject({ code: '23514' }); // a tag spells its version
      await c.query(`UPDATE modules SET tag = 'v1.0.0', "commit" = '${'c'.repeat(40)}' WHERE name = 'm'`);
      await expect(c.query(`UPDATE modules SET "commit" = 'main' WHERE name = 'm'`)).rejects.toMatchObject({ code: '23514' });
      await expect(c.query(`INSERT INTO signing_keys (namespace, file_name, key_id, ascii_armor) VALUES ('a', 'k.asc', '0c0af313e5fd9f80', 'x')`)).rejects.toMatchObject({ code: '23514' });
      // A version that goes takes its platforms with it; a renamed one keeps them.
      await c.query(`UPDATE providers SET version = '1.0.1' WHERE name = 'p'`);
      expect((await c.query(`SELECT version FROM provider_platforms`)).rows).toEqual([{ version: '1.0.1' }]);
      await c.query(`DELETE FROM providers WHERE name = 'p'`);
      expect(Number((await c.query(`SELECT count(*) FROM provider_platforms`)).rows[0].count)).toBe(0);
    });
    await dropDatabaseAndRole(db);
  });
});
