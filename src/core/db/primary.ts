import type { Connection } from './connection.js';
import { reportedParameter } from './parameters.js';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { runQuery } from './query.js';

export function standbyError(connection: Connection): RegistryDbError {
  return new RegistryDbError(
    'unreachable',
    'READ_ONLY_STANDBY',
    `The server (connected to database "${connection.database}") is a read-only standby (pg_is_in_recovery() is true): ` +
      'provisioning and migrations need the primary.',
    { hint: 'Point TOFU_REGISTRY_DB_HOST at the primary (on a managed cluster, the writer endpoint).' },
  );
}

/** Connections already known to reach a primary: a connection shared by several steps is asked once. */
const knownPrimaries = new WeakSet<object>();

/** Refuses standbys before anything is attempted. */
export async function assertPrimary(connection: Connection, logger: Logger): Promise<void> {
  if (knownPrimaries.has(connection.client)) return;
  // PostgreSQL 14+ reports in_hot_standby at login (and again if it changes): "off" needs no
  // query. "on" is confirmed, since PgBouncer replays the value its first server reported
  // (pgbouncer/pgbouncer#859) and may still say "on" after a failover.
  const hotStandby = reportedParameter(connection.client, 'in_hot_standby');
  if (hotStandby !== 'off') {
    const { rows } = await runQuery<{ standby: boolean }>(connection, logger, 'SELECT pg_is_in_recovery() AS standby');
    if (rows[0]?.standby) throw standbyError(connection);
  }
  knownPrimaries.add(connection.client);
}
