import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { REPO_ROOT, tempDir } from '../support/fixtures.js';

/**
 * The env file is written atomically: a writer killed with SIGKILL at any moment leaves
 * either the old or the new complete file, never a truncated or half-written one.
 */
const WRITER = `
import { updateEnvFile } from ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'core', 'config', 'env-file-update.js'))};
const file = process.argv[2];
let i = 0;
process.stdout.write('ready\\n');
for (;;) {
  i++;
  // Alternate between a short and a long value so a torn write would show.
  const value = i % 2 ? 'short' : 'x'.repeat(20000);
  await updateEnvFile(file, { TOFU_REGISTRY_DB_PASSWORD: value, TOFU_REGISTRY_DB_USER: 'user_' + (i % 2) });
}
`;

test('SIGKILL of a writer in a tight update loop, 40 times, never leaves a torn env file', async () => {
  const dir = tempDir();
  const file = path.join(dir, '.env');
  const header = '# keep me\nOTHER=value\n';
  writeFileSync(file, header + 'TOFU_REGISTRY_DB_USER=user_1\nTOFU_REGISTRY_DB_PASSWORD=short\n', { mode: 0o600 });
  const script = path.join(dir, 'writer.mjs');
  writeFileSync(script, WRITER);
  const seen = new Set<string>();
  for (let round = 0; round < 40; round++) {
    const child = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(header)).toBe(true);
    const parsed = parse(text);
    expect(parsed.OTHER).toBe('value');
    expect(['short', 'x'.repeat(20000)]).toContain(parsed.TOFU_REGISTRY_DB_PASSWORD);
    expect(parsed.TOFU_REGISTRY_DB_USER).toBe(parsed.TOFU_REGISTRY_DB_PASSWORD === 'short' ? 'user_1' : 'user_0');
    seen.add(parsed.TOFU_REGISTRY_DB_PASSWORD!.slice(0, 5));
  }
  // Both versions were observed, so the kills did land mid-loop.
  expect(seen.size).toBe(2);
  // A kill can leave the killed writer's temporary file (..env.<pid>.<random>.tmp); the next
  // write removes those of writers that are gone, and nothing else remains.
  const { updateEnvFile } = await import('../../src/core/config/env-file-update.js');
  const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')); // above every valid pid: never alive
  writeFileSync(path.join(dir, `..env.${deadPid}.0badc0de.tmp`), 'TOFU_REGISTRY_DB_PASSWORD=half'); // a dead writer's
  writeFileSync(path.join(dir, `..env.${process.pid}.0badc0de.tmp`), 'x'); // a live writer's: kept
  await updateEnvFile(file, { TOFU_REGISTRY_DB_USER: 'final' });
  expect(readdirSync(dir)).toContain(`..env.${process.pid}.0badc0de.tmp`);
  rmSync(path.join(dir, `..env.${process.pid}.0badc0de.tmp`));
  expect(readdirSync(dir).sort()).toEqual(['.env', 'writer.mjs']);
}, 120_000);
