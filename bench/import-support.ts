/** Helpers of bench/import.ts: timing a process with its peak memory, medians, and a tree with ten files changed. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Run {
  readonly seconds: number;
  readonly maxRssKb: number;
  readonly stdout: string;
}

/** Runs a program under /usr/bin/time -v: wall time and peak RSS of the child. */
export function timed(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
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

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface ProviderDocument {
  versions: { version: string; targets: { shasum: string }[] }[];
}
interface ModuleDocument {
  versions: { version: string }[];
}

/** Five lower-case files of a kind, spread over the tree (the same ones every run). */
function spreadFiles(root: string, folder: string, depth: number): string[] {
  const files = (readdirSync(path.join(root, folder), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json') && f.split(path.sep).length === depth && f === f.toLowerCase())
    .sort();
  return [0, 1, 2, 3, 4].map((i) => path.join(root, folder, files[Math.floor(((i + 0.5) * files.length) / 5)]!));
}

/**
 * Ten files changed as upstream changes them: in five provider files a platform of the newest
 * version removed and another's checksum replaced; in five module files a new tag added and
 * the oldest removed. `apply` and `restore` switch between the two contents.
 */
export function changeTenFiles(root: string): { apply(): void; restore(): void } {
  const files = [...spreadFiles(root, 'providers', 3), ...spreadFiles(root, 'modules', 4)];
  const originals = new Map(files.map((file) => [file, readFileSync(file, 'utf8')]));
  const changed = new Map(
    files.map((file) => {
      const text = originals.get(file)!;
      if (file.includes(`${path.sep}providers${path.sep}`)) {
        const document = JSON.parse(text) as ProviderDocument;
        const targets = document.versions[0]!.targets;
        targets.pop();
        targets[0]!.shasum = targets[0]!.shasum.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        return [file, JSON.stringify(document, null, 2)];
      }
      const document = JSON.parse(text) as ModuleDocument;
      document.versions.pop();
      document.versions.unshift({ version: 'v99.0.0' });
      return [file, JSON.stringify(document, null, 2)];
    }),
  );
  return {
    apply: () => files.forEach((file) => writeFileSync(file, changed.get(file)!)),
    restore: () => files.forEach((file) => writeFileSync(file, originals.get(file)!)),
  };
}
