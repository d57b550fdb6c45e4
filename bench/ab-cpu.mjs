#!/usr/bin/env node
/**
 * As bench/ab.mjs (commands run alternately, the order reversed every other round, one warm-up
 * round not counted), but each run under GNU time, reporting the medians of wall time and of
 * CPU time (user + system, children included: a launcher's whole exec chain). On a loaded
 * machine CPU time is the steadier figure; GNU time reports it in steps of 10 ms.
 *
 *   node bench/ab-cpu.mjs 41 '["bin/tofu-registry-db.cjs","--version"]' '["node","--","bin/tofu-registry-db.cjs","--version"]'
 */
import { spawnSync } from 'node:child_process';
import { median } from './lib/measure.mjs';

const [rounds, ...commands] = process.argv.slice(2);
if (!Number(rounds) || commands.length < 2) {
  process.stderr.write('usage: node bench/ab-cpu.mjs <rounds> <command as JSON array> <command as JSON array> [...]\n');
  process.exit(2);
}
const parsed = commands.map((text) => /** @type {string[]} */ (JSON.parse(text)));
const wall = parsed.map(() => /** @type {number[]} */ ([]));
const cpu = parsed.map(() => /** @type {number[]} */ ([]));
for (let round = 0; round <= Number(rounds); round++) {
  const order = [...parsed.keys()];
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S', ...parsed[i]], { encoding: 'utf8' });
    if (result.status !== 0) {
      process.stderr.write(`${parsed[i].join(' ')} exited ${result.status}: ${result.stderr.slice(0, 500)}\n`);
      process.exit(1);
    }
    const [elapsed, user, system] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
    if (round > 0) {
      wall[i].push(elapsed * 1000);
      cpu[i].push((user + system) * 1000);
    }
  }
}
for (const [i, command] of parsed.entries()) {
  process.stdout.write(`wall ${median(wall[i]).toFixed(0).padStart(5)} ms   cpu ${median(cpu[i]).toFixed(0).padStart(5)} ms   ${command.join(' ')}\n`);
}
