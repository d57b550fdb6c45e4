/**
 * A read-only standby: a PostgreSQL 15 primary, copied with pg_basebackup -R (which
 * writes standby.signal and primary_conninfo), and the copy started as a hot standby.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { testConnection } from '../../src/core/checks/test-connection.js';
import { provisionRegistry, type Registry } from '../support/app-role.js';
import { runAsPostgres, sharedTempDir, startServer, SYSTEM_PG15_BIN, type TestServer } from '../support/pg-server.js';

describe('testConnection against a read-only standby', () => {
  let primary: TestServer;
  let standby: TestServer;
  let registry: Registry;
  let copyDir: string | undefined;

  beforeAll(async () => {
    primary = await startServer({
      binDir: SYSTEM_PG15_BIN,
      hbaLines: ['host replication all 127.0.0.1/32 trust'],
      conf: { wal_level: 'replica' },
    });
    // Provisioned on the primary before the copy, so the standby has the role and the tables.
    registry = await provisionRegistry({ server: primary, prefix: 'tcs' });
    copyDir = sharedTempDir('trdb-standby-');
    const dataDir = path.join(copyDir, 'data');
    const backup = runAsPostgres(path.join(SYSTEM_PG15_BIN, 'pg_basebackup'), [
      '-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast',
    ]);
    if (backup.status !== 0) throw new Error(`pg_basebackup failed: ${backup.output}`);
    standby = await startServer({ binDir: SYSTEM_PG15_BIN, existingDataDir: dataDir });
  });

  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
    if (copyDir) rmSync(copyDir, { recursive: true, force: true });
  });

  test('the primary passes; the standby fails the server check with exit 3 and "connect to the primary"', async () => {
    const onPrimary = await testConnection(registry.context());
    expect(onPrimary.ok).toBe(true);

    const onStandby = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: String(standby.port) }));
    expect(onStandby.ok).toBe(false);
    expect(onStandby.exitCode).toBe(3);
    expect(onStandby.checks.map((c) => c.status)).toEqual(['pass', 'skip', 'pass', 'pass', 'pass', 'pass', 'fail', 'skip', 'skip', 'skip']);
    const server = onStandby.checks.find((c) => c.name === 'server')!;
    expect(server.error?.code).toBe('READ_ONLY_STANDBY');
    expect(server.summary).toContain('read-only standby');
    expect(server.details).toMatchObject({ inRecovery: true, answer: 'pg_is_in_recovery() = true' });
    expect(server.error?.hint).toContain('Connect to the primary');
  });

  test('--admin on the standby fails the same way', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_PORT: String(standby.port) }), { admin: true });
    expect(result.exitCode).toBe(3);
    expect(result.checks.find((c) => c.status === 'fail')?.name).toBe('server');
  });
});
