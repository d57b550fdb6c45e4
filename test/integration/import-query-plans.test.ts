import path from 'node:path';
import type pg from 'pg';
import { generateRegistryTree } from '../../bench/generate-registry-tree.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { importRegistry } from '../../src/core/import/import-registry.js';
import { adminEnv, contextFor, dropDatabaseAndRole, superClient, tempDir, uniqueName } from '../support/fixtures.js';

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** What import writes. (The cache is the API's own table, filled and analyzed here as the API's use would.) */
const REGISTRY_TABLES = ['modules', 'providers', 'provider_platforms', 'registry_providers', 'registry_modules', 'signing_keys'];

/**
 * The registry API's query patterns (spec: "The registry API's queries, which the indexes
 * serve"), written as the seed's API writes them (`ORDER BY downloads DESC LIMIT n`,
 * `ILIKE '%term%'`), and the statements of the four registry protocol functions: each
 * served by an index RIGHT AFTER import returns, with no VACUUM or ANALYZE at all (autovacuum
 * is off for these tables, and the test checks that nothing analyzed them).
 */
describe('query plans right after import', () => {
  const db = uniqueName('plans');
  let client: pg.Client;
  let sample: Record<string, string>;

  beforeAll(async () => {
    const root = path.join(tempDir('trdb-plans-'), 'registry');
    const tree = generateRegistryTree(root, { providers: 300, modules: 2000, seed: 7 });
    expect(tree.providerRows + tree.platformRows + tree.moduleRows).toBeGreaterThan(40_000);
    const context = contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db }));
    await createDatabase(context);
    client = await superClient(db);
    for (const table of REGISTRY_TABLES) await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    const result = await importRegistry(context, { path: root, admin: true });
    expect(result.providerPlatforms.inserted).toBe(tree.platformRows);
    await client.query(`INSERT INTO cache (cache_key, cache_value, expires_at)
                        SELECT 'key-' || g, repeat('v', 200), now() + (g % 1000 - 5) * interval '1 minute' FROM generate_series(1, 20000) g`);
    await client.query('ANALYZE cache');
    sample = {
      ...(await client.query(`SELECT namespace, name, provider, version FROM modules ORDER BY id LIMIT 1`)).rows[0],
      ...(await client.query(`SELECT namespace AS p_namespace, name AS p_name, version AS p_version, os, arch FROM provider_platforms LIMIT 1`)).rows[0],
    };
  }, 180_000);

  afterAll(async () => {
    await client?.end();
    await dropDatabaseAndRole(db);
  });

  test('nothing has analyzed or vacuumed the tables since the import', async () => {
    const { rows } = await client.query(
      `SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1) AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL OR last_vacuum IS NOT NULL OR last_autovacuum IS NOT NULL)`,
      [REGISTRY_TABLES],
    );
    expect(rows).toEqual([]);
  });

  function expectServedByIndex(all: PlanNode[], table: string): void {
    const sequential = all.filter((n) => n['Node Type'] === 'Seq Scan' && [...REGISTRY_TABLES, 'cache'].includes(n['Relation Name'] ?? ''));
    expect(sequential).toEqual([]);
    // The table an index serves, from the plan: index scans name it, and so does the heap scan above a bitmap index scan.
    const indexed = all.filter((n) => /^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/.test(n['Node Type'])).map((n) => n['Relation Name']);
    expect(indexed).toContain(table);
  }

  const patterns: readonly [string, string, string, () => unknown[]][] = [
    ['list the versions of a module', 'modules', 'SELECT version, published_at FROM modules WHERE namespace = $1 AND name = $2 AND provider = $3 ORDER BY version', () => [sample.namespace, sample.name, sample.provider]],
    ['list the versions of a provider', 'providers', 'SELECT version, published_at FROM providers WHERE namespace = $1 AND name = $2 ORDER BY version', () => [sample.p_namespace, sample.p_name]],
    ['fetch one module version', 'modules', 'SELECT * FROM modules WHERE namespace = $1 AND name = $2 AND provider = $3 AND version = $4', () => [sample.namespace, sample.name, sample.provider, sample.version]],
    ['fetch one provider version', 'providers', 'SELECT * FROM providers WHERE namespace = $1 AND name = $2 AND version = $3', () => [sample.p_namespace, sample.p_name, sample.p_version]],
    ['search modules by name or description (ILIKE, case-insensitive substring)', 'modules', 'SELECT DISTINCT namespace, name, provider FROM modules WHERE name ILIKE $1 OR description ILIKE $1', () => [`%${sample.name!.toUpperCase()}%`]],
    ['search providers by name or description (ILIKE, case-insensitive substring)', 'providers', 'SELECT DISTINCT namespace, name FROM providers WHERE name ILIKE $1 OR description ILIKE $1', () => [`%${sample.p_name!.toUpperCase()}%`]],
    ['most-downloaded modules, ORDER BY downloads DESC', 'modules', 'SELECT namespace, name, provider, version, downloads FROM modules ORDER BY downloads DESC LIMIT 20', () => []],
    ['most-downloaded providers, ORDER BY downloads DESC', 'providers', 'SELECT namespace, name, version, downloads FROM providers ORDER BY downloads DESC LIMIT 20', () => []],
    ['most-downloaded modules, DESC NULLS LAST (as 001 served)', 'modules', 'SELECT namespace, name, provider, version, downloads FROM modules ORDER BY downloads DESC NULLS LAST LIMIT 20', () => []],
    ['most-recent modules, ORDER BY published_at DESC', 'modules', 'SELECT namespace, name, provider, version, published_at FROM modules ORDER BY published_at DESC LIMIT 20', () => []],
    ['most-recent providers, ORDER BY published_at DESC', 'providers', 'SELECT namespace, name, version, published_at FROM providers ORDER BY published_at DESC LIMIT 20', () => []],
    ['cache lookup by key', 'cache', 'SELECT cache_value FROM cache WHERE cache_key = $1 AND expires_at > now()', () => ['key-4242']],
    ['cache purge by expires_at', 'cache', 'DELETE FROM cache WHERE expires_at < now()', () => []],
  ];

  test.each(patterns)('%s: served by an index of %s, no sequential scan', async (_label, table, sql, params) => {
    // EXPLAIN only: the DELETE is planned, not run.
    const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, params());
    expectServedByIndex(nodes((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan), table);
  });

  test('substring search uses the trigram indexes', async () => {
    const plan = JSON.stringify((await client.query(`EXPLAIN (FORMAT JSON) SELECT id FROM modules WHERE name ILIKE $1 OR description ILIKE $1`, [`%${sample.name!.toUpperCase()}%`])).rows[0]);
    expect(plan).toContain('modules_name_trgm_idx');
    expect(plan).toContain('modules_description_trgm_idx');
  });

  /** The plans of the statements a function call runs inside, as auto_explain reports them. */
  async function nestedPlans(sql: string, params: unknown[]): Promise<PlanNode[]> {
    const plans: PlanNode[] = [];
    const listener = (notice: { message?: string }) => {
      const json = /plan:\s*([\s\S]*)$/.exec(notice.message ?? '')?.[1];
      if (json) plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
    };
    client.on('notice', listener);
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_format = json; SET client_min_messages = log`);
      await client.query(sql, params);
    } finally {
      await client.query(`SET client_min_messages = notice; SET auto_explain.log_min_duration = -1`);
      client.off('notice', listener);
    }
    return plans;
  }

  const endpoints: readonly [string, string, string, () => unknown[]][] = [
    ['registry_provider_versions (the stored listing)', 'registry_providers', 'SELECT registry_provider_versions($1, $2)', () => [sample.p_namespace, sample.p_name]],
    ['registry_provider_download', 'provider_platforms', 'SELECT registry_provider_download($1, $2, $3, $4, $5)', () => [sample.p_namespace, sample.p_name, sample.p_version, sample.os, sample.arch]],
    ['registry_module_versions', 'modules', 'SELECT registry_module_versions($1, $2, $3)', () => [sample.namespace, sample.name, sample.provider]],
    ['registry_module_download', 'modules', 'SELECT registry_module_download($1, $2, $3, $4)', () => [sample.namespace, sample.name, sample.provider, sample.version]],
  ];

  test.each(endpoints)('%s: every statement inside served by indexes (%s), no sequential scan', async (_label, table, sql, params) => {
    const plans = await nestedPlans(sql, params());
    const inner = plans.filter((plan) => nodes(plan).some((n) => n['Relation Name'] !== undefined));
    expect(inner.length).toBeGreaterThan(0);
    expectServedByIndex(inner.flatMap(nodes), table);
    const result = (await client.query(sql, params())).rows[0];
    expect(Object.values(result)[0]).not.toBeNull();
  });

  test('registry_provider_versions built from the rows (no stored listing): served by indexes too', async () => {
    await client.query('BEGIN');
    try {
      await client.query(`UPDATE registry_providers SET versions_document = NULL`);
      const plans = await nestedPlans('SELECT registry_provider_versions($1, $2)', [sample.p_namespace, sample.p_name]);
      expectServedByIndex(plans.flatMap(nodes), 'providers');
      expectServedByIndex(plans.flatMap(nodes), 'provider_platforms');
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
