import path from 'node:path';
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
    '-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync',
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
