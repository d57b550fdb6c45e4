import path from 'node:path';
import { generateRegistryTree } from '../../bench/generate-registry-tree.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { importRegistry } from '../../src/core/import/import-registry.js';
import { adminEnv, contextFor, dropDatabaseAndRole, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * The registry API's query patterns (spec: "The registry API's queries, which the indexes
 * serve"), each run with EXPLAIN on a sizeable imported tree after VACUUM ANALYZE: none may read
 * modules, providers or cache sequentially, and each must use an index of its table.
 * "Most downloaded" / "most recent" are written with NULLS LAST, the spelling the indexes of
 * 001 serve (downloads and published_at are nullable; plain DESC would list NULLs first).
 */
describe('query plans with the registry data loaded', () => {
  const db = uniqueName('plans');
  let sample: { namespace: string; name: string; provider: string; version: string; p_namespace: string; p_name: string; p_version: string };

  beforeAll(async () => {
    const root = path.join(tempDir('trdb-plans-'), 'registry');
    const tree = generateRegistryTree(root, { providers: 300, modules: 2000, targetsPerVersion: 1, seed: 7 });
    expect(tree.providerRows + tree.moduleRows).toBeGreaterThan(20_000);
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context);
    const result = await importRegistry(context, { path: root, admin: true });
    expect(result.rows.inserted).toBe(tree.providerRows + tree.moduleRows);
    await withSuperClient(db, async (c) => {
      await c.query(`UPDATE modules SET downloads = (id * 7919) % 100000`);
      await c.query(`INSERT INTO cache (cache_key, cache_value, expires_at)
                     SELECT 'key-' || g, repeat('v', 200), now() + (g % 1000 - 5) * interval '1 minute' FROM generate_series(1, 20000) g`);
      // What autovacuum does soon after a bulk load: merge the trigram indexes' pending lists
      // (GIN fastupdate) and gather statistics. Until then the planner rightly avoids the
      // GIN indexes; the README says to run this after importing the whole registry.
      await c.query('VACUUM ANALYZE modules, providers, cache');
      sample = (
        await c.query(`SELECT m.namespace, m.name, m.provider, m.version, p.namespace AS p_namespace, p.name AS p_name, p.version AS p_version
                         FROM modules m, providers p ORDER BY m.id, p.id LIMIT 1`)
      ).rows[0];
    });
  }, 180_000);

  afterAll(async () => {
    await dropDatabaseAndRole(db);
  });

  const patterns: readonly [string, string, string, () => unknown[]][] = [
    ['list the versions of a module', 'modules', 'SELECT version, published_at FROM modules WHERE namespace = $1 AND name = $2 AND provider = $3 ORDER BY version', () => [sample.namespace, sample.name, sample.provider]],
    ['list the versions of a provider', 'providers', 'SELECT version, published_at FROM providers WHERE namespace = $1 AND name = $2 ORDER BY version', () => [sample.p_namespace, sample.p_name]],
    ['fetch one module version', 'modules', 'SELECT * FROM modules WHERE namespace = $1 AND name = $2 AND provider = $3 AND version = $4', () => [sample.namespace, sample.name, sample.provider, sample.version]],
    ['fetch one provider version', 'providers', 'SELECT * FROM providers WHERE namespace = $1 AND name = $2 AND version = $3', () => [sample.p_namespace, sample.p_name, sample.p_version]],
    ['search modules by name or description (case-insensitive substring)', 'modules', 'SELECT DISTINCT namespace, name, provider FROM modules WHERE name ILIKE $1 OR description ILIKE $1', () => [`%${sample.name.toUpperCase()}%`]],
    ['search providers by name or description (case-insensitive substring)', 'providers', 'SELECT DISTINCT namespace, name FROM providers WHERE name ILIKE $1 OR description ILIKE $1', () => [`%${sample.p_name.toUpperCase()}%`]],
    ['most-downloaded modules', 'modules', 'SELECT namespace, name, provider, version, downloads FROM modules ORDER BY downloads DESC NULLS LAST LIMIT 20', () => []],
    ['most-downloaded providers', 'providers', 'SELECT namespace, name, version, downloads FROM providers ORDER BY downloads DESC NULLS LAST LIMIT 20', () => []],
    ['most-recent modules', 'modules', 'SELECT namespace, name, provider, version, published_at FROM modules ORDER BY published_at DESC NULLS LAST LIMIT 20', () => []],
    ['most-recent providers', 'providers', 'SELECT namespace, name, version, published_at FROM providers ORDER BY published_at DESC NULLS LAST LIMIT 20', () => []],
    ['cache lookup by key', 'cache', 'SELECT cache_value FROM cache WHERE cache_key = $1 AND expires_at > now()', () => ['key-4242']],
    ['cache purge by expires_at', 'cache', 'DELETE FROM cache WHERE expires_at < now()', () => []],
  ];

  test.each(patterns)('%s: served by an index of %s, no sequential scan', async (_label, table, sql, params) => {
    const plan = await withSuperClient(db, async (c) => {
      // EXPLAIN only: the DELETE is planned, not run.
      const { rows } = await c.query(`EXPLAIN (FORMAT JSON) ${sql}`, params());
      return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
    });
    const all = nodes(plan);
    const sequential = all.filter((n) => n['Node Type'] === 'Seq Scan' && ['modules', 'providers', 'cache'].includes(n['Relation Name'] ?? ''));
    expect(sequential).toEqual([]);
    const indexed = all.filter((n) => /Index/.test(n['Node Type']) && n['Index Name'] !== undefined);
    expect(indexed.length).toBeGreaterThan(0);
    const indexTables = await withSuperClient(db, async (c) =>
      (await c.query(`SELECT DISTINCT tablename FROM pg_indexes WHERE indexname = ANY($1)`, [indexed.map((n) => n['Index Name'])])).rows.map((r) => r.tablename),
    );
    expect(indexTables).toContain(table);
  });

  test('substring search uses the trigram indexes', async () => {
    const plan = await withSuperClient(db, async (c) =>
      JSON.stringify((await c.query(`EXPLAIN (FORMAT JSON) SELECT id FROM modules WHERE name ILIKE $1 OR description ILIKE $1`, [`%${sample.name.toUpperCase()}%`])).rows[0]),
    );
    expect(plan).toContain('modules_name_trgm_idx');
    expect(plan).toContain('modules_description_trgm_idx');
  });
});
