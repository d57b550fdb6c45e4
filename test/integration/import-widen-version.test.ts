import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { adminEnv, contextFor, dropDatabaseAndRole, REPO_ROOT, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

const SQL_DIR = path.join(REPO_ROOT, 'sql');

describe('migration 003_widen_version', () => {
  test('widens modules.version and providers.version from 50 to 255 characters, keeping rows and unique keys', async () => {
    const db = uniqueName('widen');
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    // The schema as it was before 003, with a row in each table.
    const before = tempDir();
    for (const file of ['001_initial_schema.sql', '002_search_indexes.sql']) copyFileSync(path.join(SQL_DIR, file), path.join(before, file));
    await createDatabase(context, { migrationsDir: before });
    const wide = `1.0.0-rc.1+build.${'b'.repeat(60)}`; // 77 characters
    await withSuperClient(db, async (c) => {
      await c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('acme', 'net', 'aws', '1.0.0')`);
      await c.query(`INSERT INTO providers (namespace, name, version) VALUES ('acme', 'p', '1.0.0')`);
      await expect(c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('acme', 'net', 'aws', $1)`, [wide])).rejects.toMatchObject({ code: '22001' });
    });

    const result = await migrate(context);
    expect(result.results.filter((r) => r.outcome === 'applied').map((r) => `${r.version}_${r.name}`)).toContain('3_widen_version');

    await withSuperClient(db, async (c) => {
      const widths = (await c.query(`SELECT table_name, character_maximum_length AS len FROM information_schema.columns
                                      WHERE table_schema = 'public' AND column_name = 'version' AND table_name IN ('modules', 'providers') ORDER BY table_name`)).rows;
      expect(widths).toEqual([{ table_name: 'modules', len: 255 }, { table_name: 'providers', len: 255 }]);
      expect(Number((await c.query('SELECT count(*) FROM modules')).rows[0].count)).toBe(1);
      await c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('acme', 'net', 'aws', $1)`, [wide]);
      await c.query(`INSERT INTO providers (namespace, name, version) VALUES ('acme', 'p', $1)`, [wide]);
      await expect(c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('acme', 'net', 'aws', $1)`, [wide])).rejects.toMatchObject({ code: '23505' });
      await expect(c.query(`INSERT INTO modules (namespace, name, provider, version) VALUES ('acme', 'net', 'aws', $1)`, ['9'.repeat(256)])).rejects.toMatchObject({ code: '22001' });
    });
    await dropDatabaseAndRole(db);
  });
});
