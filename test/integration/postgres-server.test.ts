import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { diagnoseStartFailure } from '../../src/core/dev/start-failures.js';
import { startPostgres } from '../../src/core/dev/postgres-server.js';
import { EMBEDDED_BIN, runAsPostgres, sharedTempDir, SYSTEM_PG15_BIN } from '../support/pg-server.js';
import { tempDir } from '../support/fixtures.js';

/**
 * The tool's own server runner (dev, tests, benchmarks): every way a start can fail is said as
 * what it is, with nothing left behind, and root can run binaries from a private folder.
 */
const PASSWORD = 'runner-test-password-77';
const isRoot = process.getuid?.() === 0;

async function loginWorks(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' });
  try {
    await client.connect();
    return (await client.query('SELECT 1 AS one')).rows[0].one === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPostgres', () => {
  test('binaries inside a private folder (mode 0700, as mktemp -d and /root are) start, also as root', async () => {
    const privateDir = tempDir('trdb-private-');
    chmodSync(privateDir, 0o700);
    // A hard-linked copy of the package's installation: same files, in a folder only its owner may enter.
    const installation = path.join(privateDir, 'native');
    const copy = spawnSync('cp', ['-al', path.dirname(EMBEDDED_BIN), installation]);
    expect(copy.status).toBe(0);
    const server = await startPostgres({ binDir: path.join(installation, 'bin'), superuserPassword: PASSWORD, throwaway: true });
    try {
      expect(await loginWorks(server.port)).toBe(true);
      // As root the server ran from a copy the postgres user can reach; otherwise from the folder itself.
      expect(server.binDir.startsWith(privateDir)).toBe(!isRoot);
    } finally {
      await server.stop();
    }
  }, 120_000);

  test('a data folder that is not empty and holds no cluster: exit 2 saying so, the folder untouched', async () => {
    const dataDir = sharedTempDir('trdb-notempty-');
    writeFileSync(path.join(dataDir, 'notes.txt'), 'mine\n');
    await expect(startPostgres({ binDir: EMBEDDED_BIN, dataDir, superuserPassword: PASSWORD })).rejects.toMatchObject({ code: 'DATA_DIR_NOT_EMPTY', exitCode: 2 });
    expect(readdirSync(dataDir)).toEqual(['notes.txt']);
  });

  (existsSync(path.join(SYSTEM_PG15_BIN, 'initdb')) ? test : test.skip)('a data folder of another PostgreSQL version: exit 2 naming both versions', async () => {
    const dataDir = path.join(sharedTempDir('trdb-v15-'), 'data');
    mkdirSync(dataDir);
    if (isRoot) spawnSync('chown', ['postgres:postgres', dataDir]);
    expect(runAsPostgres(path.join(SYSTEM_PG15_BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--no-sync']).status).toBe(0);
    const error = await startPostgres({ binDir: EMBEDDED_BIN, dataDir, superuserPassword: PASSWORD }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DATA_DIR_VERSION', exitCode: 2 });
    expect((error as Error).message).toMatch(/PostgreSQL 15 cluster, and these binaries are PostgreSQL \d+/);
  }, 60_000);

  test('a server that exits while starting leaves no temporary folder behind', async () => {
    // A temporary folder of this test's own: other tests start servers at the same time.
    const ownTmp = sharedTempDir('trdb-tmp-');
    chmodSync(ownTmp, 0o755);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = ownTmp;
    try {
      // An unknown setting makes postgres exit at once.
      const error = await startPostgres({ binDir: EMBEDDED_BIN, superuserPassword: PASSWORD, throwaway: true, conf: { no_such_setting_at_all: 'x' } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SERVER_START_FAILED', exitCode: 3 });
      expect((error as Error).message).toContain('no_such_setting_at_all');
      expect(readdirSync(ownTmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  }, 60_000);
});

describe('diagnoseStartFailure', () => {
  test.each([
    ['2026-12-06 LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\n2026-12-06 FATAL:  could not create any TCP/IP sockets', 'PORT_IN_USE', 3],
    ['FATAL:  lock file "postmaster.pid" already exists\nHINT:  Is another postmaster (PID 123) running in data directory "/d"?', 'DATA_DIR_IN_USE', 2],
    ['FATAL:  database files are incompatible with server\nDETAIL:  The data directory was initialized by PostgreSQL version 15', 'DATA_DIR_VERSION', 2],
    ['FATAL:  could not create shared memory segment: No space left on device', 'SERVER_START_FAILED', 3],
    ['FATAL:  something nobody foresaw', 'SERVER_START_FAILED', 3],
  ] as const)('%s → %s', (log, code, exitCode) => {
    const error = diagnoseStartFailure(log, 5432, 'it exited (code 1)');
    expect(error).toMatchObject({ code, exitCode });
  });

  test('an unknown failure quotes what the server said', () => {
    expect(diagnoseStartFailure('LOG: starting\nFATAL:  something nobody foresaw\n', 5432, 'it exited (code 1)').message).toContain('FATAL:  something nobody foresaw');
  });
});
