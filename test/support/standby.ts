import { chownSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serverIds } from '../../src/core/dev/os-user.js';
import { runAsPostgres, sharedTempDir, startServer, SYSTEM_PG15_BIN, type TestServer } from './pg-server.js';

/**
 * A primary and a streaming replica made with `pg_basebackup -R`, from Debian's
 * PostgreSQL 15 binaries (the embedded package ships no pg_basebackup).
 */
export async function startPrimaryAndStandby(): Promise<{ primary: TestServer; standby: TestServer; stop(): Promise<void> }> {
  const primary = await startServer({
    binDir: SYSTEM_PG15_BIN,
    hbaLines: ['host replication all 127.0.0.1/32 trust'],
    conf: { wal_level: 'replica', max_wal_senders: '4' },
  });
  const dataDir = path.join(sharedTempDir('trdb-standby-'), 'data');
  const backup = runAsPostgres(path.join(SYSTEM_PG15_BIN, 'pg_basebackup'), [
    '-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync', '-c', 'fast',
  ]);
  if (backup.status !== 0) {
    await primary.stop();
    throw new Error(`pg_basebackup failed: ${backup.output}`);
  }
  const standby = await startServer({ binDir: SYSTEM_PG15_BIN, existingDataDir: dataDir });
  return {
    primary,
    standby,
    async stop() {
      await standby.stop();
      await primary.stop();
    },
  };
}

/**
 * A read-only standby from any bin folder, the embedded packages included (they ship no
 * pg_basebackup): a cluster is prepared as a primary, shut down cleanly, and started again
 * with standby.signal. With no primary to follow it stays a hot standby, read-only, at the
 * state it was left in.
 */
export async function startStandbyOf(binDir: string, prepare: (primary: TestServer) => Promise<void>): Promise<TestServer> {
  const folder = sharedTempDir('trdb-standby-');
  const dataDir = path.join(folder, 'data');
  const primary = await startServer({ binDir, existingDataDir: dataDir, keepData: true });
  try {
    await prepare(primary);
  } finally {
    await primary.stop();
  }
  const signal = path.join(dataDir, 'standby.signal');
  writeFileSync(signal, '');
  const ids = serverIds();
  if (ids) chownSync(signal, ids.uid, ids.gid);
  const standby = await startServer({ binDir, existingDataDir: dataDir });
  return {
    ...standby,
    async stop() {
      await standby.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
