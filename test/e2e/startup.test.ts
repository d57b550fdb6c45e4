import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, tempDir } from '../support/fixtures.js';

/**
 * Start-up stays lean (README "Performance", Start-up): a run that never talks to the server
 * loads none of the modules that only a connection, a terminal or a child process needs, and
 * nothing from node_modules (commander and dotenv are inside the bundle). A preload records,
 * at exit, what the process had loaded.
 */
const HEAVY = ['net', 'tty', 'tls', 'crypto', 'dns', 'child_process', 'stream', 'readline', 'perf_hooks', 'worker_threads', 'zlib', 'http', 'https'];

const dir = tempDir('trdb-startup-');
const preload = path.join(dir, 'loaded.cjs');
writeFileSync(
  preload,
  `process.on('exit', () => require('fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify({
    builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)),
    files: Object.keys(require.cache),
  })));\n`,
);

type Sink = 'pipe' | 'file' | '/dev/null';

function loadedBy(args: readonly string[], sink: Sink, env: Record<string, string> = {}): { code: number | null; builtins: string[]; files: string[] } {
  const out = path.join(dir, `loaded-${process.hrtime.bigint()}.json`);
  const fd = sink === 'pipe' ? 'pipe' : openSync(sink === 'file' ? path.join(dir, 'out.txt') : '/dev/null', 'w');
  try {
    const result = spawnSync(process.execPath, ['-r', preload, '--', BIN, '--env-file', path.join(dir, 'missing.env'), ...args], {
      // No TOFU_REGISTRY_DB_* from the outer environment: what is loaded must not depend on it.
      env: { PATH: process.env.PATH ?? '', HOME: dir, LOADED_OUT: out, ...env },
      stdio: ['ignore', fd, fd],
      timeout: 20_000,
    });
    return { code: result.status, ...JSON.parse(readFileSync(out, 'utf8')) };
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}

describe('start-up loads only what the run needs (built binary)', () => {
  test.each<[string, Sink, string[], number]>([
    ['--version', 'pipe', ['--version'], 0],
    ['--version', '/dev/null', ['--version'], 0],
    ['--help', 'pipe', ['--help'], 0],
    ['--help', 'file', ['--help'], 0],
    // /dev/null is a character device, as a terminal is: it used to load node:tty (and with
    // it node:net and the streams) only to learn that it was not a terminal.
    ['--help', '/dev/null', ['--help'], 0],
    ['a command\'s --help', '/dev/null', ['setup', '--help'], 0],
    ['status --help', 'pipe', ['status', '--help'], 0],
    ['migrate new --help', 'pipe', ['migrate', 'new', '--help'], 0],
    ['-v', 'pipe', ['-v'], 0],
    ['an unknown command', 'pipe', ['migrat'], 2],
    ['an unknown option, --json', '/dev/null', ['--json', 'migrate', '--bogus'], 2],
    ['an invalid name', 'pipe', ['create-db', '--name', 'bad!name'], 2],
  ])('%s, output to %s', (_what, sink, args, code) => {
    const loaded = loadedBy(args, sink);
    expect(loaded.code).toBe(code);
    expect(loaded.builtins.filter((name) => HEAVY.includes(name))).toEqual([]);
    expect(loaded.files.filter((file) => file.includes(`${path.sep}node_modules${path.sep}`))).toEqual([]);
  });

  test('the check can fail: a run that connects loads node:net', () => {
    // Port 1 on loopback is closed: the run fails at the connection, after loading pg and net.
    const loaded = loadedBy(['--json', 'migrate'], 'pipe', {
      TOFU_REGISTRY_DB_HOST: '127.0.0.1',
      TOFU_REGISTRY_DB_PORT: '1',
      TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'unused-password-1',
    });
    expect(loaded.code).toBe(3);
    expect(loaded.builtins).toContain('net');
  });
});
