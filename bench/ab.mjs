#!/usr/bin/env node
/**
 * A against B (and C …): any commands, run alternately (the order reversed every other
 * round), one warm-up round not counted, then
 * N measured rounds; prints each median, the ratio of the first two and the median of their
 * per-round differences. How each change to start-up was measured against the build before
 * it (see README "Performance", History).
 *
 *   node bench/ab.mjs 21 '["bin/tofu-registry-db.cjs","--version"]' '["/tmp/old/bin/tofu-registry-db.cjs","--version"]'
 *
 * Each command is a JSON array (program, then arguments). `{N}` in an argument becomes a name
 * used by no other run (`ab<pid>_<n>`), for commands that create a database or a role; the
 * server and credentials come from the environment (TOFU_REGISTRY_DB_*), and nothing is
 * cleaned up. A run that exits non-zero stops everything.
 */
import { median, relativeMad, runProcess } from './lib/measure.mjs';

const [rounds, ...commands] = process.argv.slice(2);
if (!Number(rounds) || commands.length < 2) {
  process.stderr.write('usage: node bench/ab.mjs <rounds> <command as JSON array> <command as JSON array> [...]\n');
  process.exit(2);
}
const parsed = commands.map((text) => /** @type {string[]} */ (JSON.parse(text)));
const times = parsed.map(() => /** @type {number[]} */ ([]));
let counter = 0;
for (let round = 0; round <= Number(rounds); round++) {
  // Every other round in reverse order (A B, B A, A B …): the first process of a round is
  // measurably slower (~2 ms of a 60 ms database command here, A against A itself), and a
  // fixed order would charge that to A alone.
  const order = [...parsed.entries()];
  if (round % 2 === 1) order.reverse();
  for (const [i, command] of order) {
    const name = `ab${process.pid}_${counter++}`;
    const [program, ...args] = command.map((word) => word.replaceAll('{N}', name));
    const result = await runProcess({ command: program, args, env: /** @type {Record<string, string>} */ (process.env), cwd: process.cwd() });
    if (result.code !== 0) {
      process.stderr.write(`${[program, ...args].join(' ')} exited ${result.code ?? result.signal}: ${(result.stderr || result.stdout).slice(0, 500)}\n`);
      process.exit(1);
    }
    if (round > 0) times[i].push(result.ms);
  }
}
for (const [i, command] of parsed.entries()) {
  process.stdout.write(`${median(times[i]).toFixed(1).padStart(8)} ms ±${(relativeMad(times[i]) * 100).toFixed(0)}%  ${command.join(' ')}\n`);
}
process.stdout.write(`ratio first/second: ${(median(times[0]) / median(times[1])).toFixed(3)}\n`);
// The rounds are paired (the two ran one after the other), so a burst of load from elsewhere
// moves both: the median of the per-round differences resolves changes of a millisecond or
// two that the medians' own noise would hide.
const differences = times[0].map((t, i) => t - times[1][i]);
const faster = differences.filter((d) => d < 0).length;
process.stdout.write(`first - second, paired by round: median ${median(differences).toFixed(2)} ms; first faster in ${faster} of ${differences.length} rounds\n`);
