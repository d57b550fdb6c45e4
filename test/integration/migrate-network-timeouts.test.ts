import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { closeClient, connect } from '../../src/core/db/connection.js';
import { silentLogger } from '../../src/core/logger.js';
import { applyPendingMigrations } from '../../src/core/migrations/engine.js';
import { loadMigrationFiles } from '../../src/core/migrations/files.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { adminEnv, dropDatabaseAndRole, settingsFor, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

/**
 * Issue #21, item 1, the settings behind the fault tests (test/e2e/network-partition.test.ts):
 * what a userspace proxy cannot show, because its own kernel answers TCP keepalives.
 */

test('connections keep TCP keepalives on, probing after half the network timeout', async () => {
  const settings = settingsFor(adminEnv({ TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '20' }));
  const connection = await connect(settings, { role: 'admin', database: 'postgres' });
  try {
    const pgConnection = (connection.client as unknown as { connection: { _keepAlive: boolean; _keepAliveInitialDelayMillis: number } }).connection;
    expect(pgConnection._keepAlive).toBe(true);
    expect(pgConnection._keepAliveInitialDelayMillis).toBe(10_000);
  } finally {
    await closeClient(connection.client);
  }
});

test('a migration runs with the server-side network timeouts (SET LOCAL), which end with its transaction', async () => {
  const db = uniqueName('netsettings');
  const dir = tempDir();
  writeFileSync(
    path.join(dir, '001_seen.sql'),
    `CREATE TABLE seen AS SELECT name, setting FROM pg_settings
  WHERE name IN ('idle_in_transaction_session_timeout', 'tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'client_connection_check_interval');\n`,
  );
  const settings = settingsFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_NETWORK_TIMEOUT: '20' }));
  await createDatabase({ settings }, { migrate: false });
  const connection = await connect(settings, { role: 'admin', database: db });
  try {
    const read = `SELECT current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('tcp_keepalives_idle') AS keepalive`;
    const before = (await connection.client.query(read)).rows[0];
    const files = await loadMigrationFiles(dir);
    await applyPendingMigrations(connection, files, { lockTimeoutMs: 5000, statementTimeoutMs: 60_000, networkTimeoutMs: settings.networkTimeoutMs, logger: silentLogger });
    // The same session afterwards: back to the server's defaults (a pooled server connection would carry nothing over).
    expect((await connection.client.query(read)).rows[0]).toEqual(before);
    expect(before.idle).toBe('0');
    const seen = await withSuperClient(db, async (c) => Object.fromEntries((await c.query('SELECT name, setting FROM seen')).rows.map((r) => [r.name, r.setting])));
    expect(seen).toEqual({
      idle_in_transaction_session_timeout: '20000',
      tcp_keepalives_idle: '10',
      tcp_keepalives_interval: '2',
      tcp_keepalives_count: '5',
      // A setting of PostgreSQL 14 and later; older servers skip it (db/network-timeouts.ts).
      ...(testServer().majorVersion >= 14 ? { client_connection_check_interval: '2000' } : {}),
    });
  } finally {
    await closeClient(connection.client);
    await dropDatabaseAndRole(db);
  }
});
