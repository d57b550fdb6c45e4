/** bench/import.ts, part 4: the registry protocol functions on the full data, EXPLAIN ANALYZE, warm. */
import type pg from 'pg';
import { median } from './import-support.js';

export interface EndpointFigure {
  readonly endpoint: string;
  readonly sample: string;
  readonly planningMs: number;
  readonly executionMs: number;
  /** Planning and execution: what the server spends on the call. */
  readonly serverMs: number;
}

interface Sample {
  readonly endpoint: string;
  readonly sample: string;
  readonly sql: string;
  readonly args: readonly string[];
}

/** The biggest provider and module (most versions) and a median one, and downloads of each. */
async function samples(db: pg.Client): Promise<Sample[]> {
  const ranked = async (sql: string) => (await db.query(sql)).rows as Record<string, string>[];
  const providers = await ranked(`SELECT namespace, name, count(*) AS n FROM providers GROUP BY 1, 2 ORDER BY n DESC, 1, 2`);
  const modules = await ranked(`SELECT namespace, name, provider, count(*) AS n FROM modules GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3`);
  const list: Sample[] = [];
  for (const [label, p] of [['most versions', providers[0]!], ['median', providers[Math.floor(providers.length / 2)]!]] as const) {
    list.push({ endpoint: 'registry_provider_versions', sample: `${p.namespace}/${p.name} (${label}: ${p.n})`, sql: 'SELECT registry_provider_versions($1, $2)', args: [p.namespace!, p.name!] });
    const platform = (await db.query(`SELECT p.version, pp.os, pp.arch FROM providers p JOIN provider_platforms pp ON pp.namespace = p.namespace AND pp.name = p.name AND pp.version = p.version WHERE p.namespace = $1 AND p.name = $2 ORDER BY p.id LIMIT 1`, [p.namespace, p.name])).rows[0];
    list.push({ endpoint: 'registry_provider_download', sample: `${p.namespace}/${p.name} ${platform.version} ${platform.os}/${platform.arch}`, sql: 'SELECT registry_provider_download($1, $2, $3, $4, $5)', args: [p.namespace!, p.name!, platform.version, platform.os, platform.arch] });
  }
  for (const [label, m] of [['most versions', modules[0]!], ['median', modules[Math.floor(modules.length / 2)]!]] as const) {
    list.push({ endpoint: 'registry_module_versions', sample: `${m.namespace}/${m.name}/${m.provider} (${label}: ${m.n})`, sql: 'SELECT registry_module_versions($1, $2, $3)', args: [m.namespace!, m.name!, m.provider!] });
    const version = (await db.query(`SELECT version FROM modules WHERE namespace = $1 AND name = $2 AND provider = $3 ORDER BY id LIMIT 1`, [m.namespace, m.name, m.provider])).rows[0].version as string;
    list.push({ endpoint: 'registry_module_download', sample: `${m.namespace}/${m.name}/${m.provider} ${version}`, sql: 'SELECT registry_module_download($1, $2, $3, $4)', args: [m.namespace!, m.name!, m.provider!, version] });
  }
  return list;
}

export async function measureEndpoints(db: pg.Client, runs: number): Promise<EndpointFigure[]> {
  const figures: EndpointFigure[] = [];
  for (const sample of await samples(db)) {
    const planning: number[] = [];
    const execution: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const plan = (await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sample.sql}`, [...sample.args])).rows[0]['QUERY PLAN'][0] as { 'Planning Time': number; 'Execution Time': number };
      if (i < 3) continue; // warm-up
      planning.push(plan['Planning Time']);
      execution.push(plan['Execution Time']);
    }
    const planningMs = +median(planning).toFixed(3);
    const executionMs = +median(execution).toFixed(3);
    figures.push({ endpoint: sample.endpoint, sample: sample.sample, planningMs, executionMs, serverMs: +(planningMs + executionMs).toFixed(3) });
  }
  return figures;
}
