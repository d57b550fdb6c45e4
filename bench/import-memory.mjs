// Peak RSS of `import` for the tenth and the whole generated tree, one build or several side by
// side: `node bench/import-memory.mjs <rounds> <bin/tofu-registry-db.cjs> [<other build's bin>…]`.
// The trees are the ones `npm run bench:import` generates into bench/.work/ (run it once first);
// another build is a copy of bin/, dist/, sql/ and package.json (and a node_modules link) in a
// folder of bench/.work/. Each import runs under /usr/bin/time -v into emptied tables, on a
// server of its own; rounds alternate the builds and the trees; medians are printed.
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startBenchServer } from './lib/server.mjs';

const [rounds, ...bins] = process.argv.slice(2);
if (!(Number(rounds) > 0) || bins.length === 0) {
  console.error('usage: node bench/import-memory.mjs <rounds> <bin> [<bin>…]');
  process.exit(2);
}
const WORK = path.join(path.dirname(fileURLToPath(import.meta.url)), '.work');
const TABLES = 'registry_providers, providers, provider_platforms, registry_modules, modules, signing_keys, registry_import_sources';
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const server = await startBenchServer({ conf: { max_wal_size: '4GB', shared_buffers: '256MB' } });
const env = {
  PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true',
  TOFU_REGISTRY_DB_HOST: server.host, TOFU_REGISTRY_DB_PORT: String(server.port), TOFU_REGISTRY_DB_SSLMODE: 'disable', TOFU_REGISTRY_DB_NAME: 'bench_memory',
  TOFU_REGISTRY_DB_ADMIN_USER: server.superuser, TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password,
};
/** One import under /usr/bin/time -v: peak RSS (MiB) and wall time (s). */
const timedImport = (bin, tree) =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, bin, 'import', path.join(WORK, tree), '--json', '--admin'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(output));
      resolve({ mib: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(output)[1]) / 1024, seconds: (Date.now() - started) / 1000 });
    });
  });

try {
  execFileSync(process.execPath, [bins[0], 'create-db'], { env, stdio: 'ignore' });
  const client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database: 'bench_memory' });
  await client.connect();
  const runs = new Map();
  for (let round = 0; round < Number(rounds); round++) {
    for (const bin of bins) {
      for (const tree of ['tree-tenth', 'tree-full']) {
        await client.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
        await client.query('CHECKPOINT');
        const run = await timedImport(bin, tree);
        const key = `${bin} ${tree}`;
        runs.set(key, [...(runs.get(key) ?? []), run]);
        console.error(`round ${round}: ${key}: ${run.mib.toFixed(1)} MiB, ${run.seconds.toFixed(2)} s`);
      }
    }
  }
  await client.end();
  for (const bin of bins) {
    const [tenth, whole] = ['tree-tenth', 'tree-full'].map((tree) => runs.get(`${bin} ${tree}`));
    const [t, w] = [tenth, whole].map((r) => median(r.map((x) => x.mib)));
    console.log(`${bin}: peak RSS tenth ${t.toFixed(1)} MiB [${tenth.map((r) => r.mib.toFixed(0)).join(' ')}], whole ${w.toFixed(1)} MiB [${whole.map((r) => r.mib.toFixed(0)).join(' ')}]: ${(((w - t) / t) * 100).toFixed(1)}%; whole import ${median(whole.map((r) => r.seconds)).toFixed(2)} s`);
  }
} finally {
  await server.stop();
}
