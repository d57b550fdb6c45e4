/**
 * Timing and memory of whole processes: what a user waits for, node start-up included.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/**
 * GNU time: `%M` is the peak resident set (KiB) of the largest process in the child's
 * tree; `%U %S` its CPU seconds, which a busy machine stretches far less than wall time.
 */
export const GNU_TIME = '/usr/bin/time';

/** True when GNU time is installed (`apt-get install -y time`); busybox's `time` has no `-o`. */
export function gnuTimeAvailable() {
  const probe = spawnSync(GNU_TIME, ['-f', '%M', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * @typedef {object} ProcessSpec
 * @property {string} command
 * @property {readonly string[]} args
 * @property {Record<string, string>} env
 * @property {string} cwd
 *
 * @typedef {object} ProcessResult
 * @property {number} ms         wall time from spawn to exit
 * @property {number | null} code
 * @property {string | null} signal
 * @property {string} stdout
 * @property {string} stderr
 * @property {number | undefined} peakRssKiB  only when memory was measured
 * @property {number | undefined} cpuMs       user + system CPU, only when memory was measured
 */

/**
 * Runs one process to completion. With `memoryFile`, it runs under GNU time to read the
 * peak RSS; that wrapper costs 1-3 ms, so timed rounds run without it (see run.mjs).
 * Every process starts in its own session (`detached`): it has no controlling terminal,
 * so `createuser --pwprompt` reads the password from stdin, as it would in a CI job.
 * @param {ProcessSpec} spec
 * @param {{ memoryFile?: string, timeoutMs?: number }} [options]
 * @returns {Promise<ProcessResult>}
 */
export function runProcess(spec, options = {}) {
  const { memoryFile, timeoutMs = 300_000 } = options;
  const [command, args] = memoryFile
    ? [GNU_TIME, ['-f', '%M %U %S', '-o', memoryFile, spec.command, ...spec.args]]
    : [spec.command, spec.args];
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let ms = 0;
    let exit = { code: null, signal: null };
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // The clock stops at 'exit'; 'close' (all output read) may come a little later.
    child.once('exit', (code, signal) => {
      ms = Number(process.hrtime.bigint() - started) / 1e6;
      exit = { code, signal };
    });
    child.once('close', () => {
      clearTimeout(timer);
      let peakRssKiB;
      let cpuMs;
      if (memoryFile) {
        // GNU time exits with the child's status; a signal-killed child adds a line first.
        const lines = readFileSync(memoryFile, 'utf8').trim().split('\n');
        const [rss, user, system] = lines[lines.length - 1].split(' ').map(Number);
        peakRssKiB = rss;
        cpuMs = (user + system) * 1000;
        rmSync(memoryFile, { force: true });
      }
      resolve({
        ms,
        code: exit.code,
        signal: exit.signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        peakRssKiB,
        cpuMs,
      });
    });
  });
}

/** @param {readonly number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Spread as the median absolute deviation relative to the median (robust against the
 * odd slow run that another process on the machine causes).
 * @param {readonly number[]} values
 */
export function relativeMad(values) {
  const m = median(values);
  return m === 0 ? 0 : median(values.map((v) => Math.abs(v - m))) / m;
}

/** @param {readonly number[]} values */
export function summarize(values) {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    relativeMad: relativeMad(values),
    samples: [...values],
  };
}
