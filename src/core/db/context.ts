import type { Settings } from '../config/settings.js';
import { closeClient, connect, reportedParameter, type Connection } from './connection.js';
import { RegistryDbError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';

/** What every core operation receives besides its own options. */
export interface CoreContext {
  readonly settings: Settings;
  readonly logger?: Logger;
  /** Asked for the admin password when the server wants one and none is configured. */
  readonly promptPassword?: (question: string) => Promise<string | undefined>;
  readonly signal?: AbortSignal;
  /**
   * Admin connections kept open across steps (one per database), so a multi-step run such
   * as setup logs in once per database. Whoever creates the map closes them (closeShared).
   */
  readonly sharedConnections?: Map<string, Promise<Connection>>;
}

export function loggerOf(context: CoreContext): Logger {
  return context.logger ?? silentLogger;
}

/** ~/.pgpass lookup (PGPASSFILE honoured), as libpq does for the admin role. */
async function passwordFromPgpass(settings: Settings, database: string): Promise<string | undefined> {
  const { default: pgpass } = await import('pgpass');
  return new Promise((resolve) => {
    pgpass(
      { host: settings.host, port: settings.port, database, user: settings.admin.user },
      (password: string | undefined) => resolve(password),
    );
  });
}

/** The prompt's answer, kept for the whole run: every connection of it asks the same question. */
const promptedPasswords = new WeakMap<Settings, Promise<string | undefined>>();

/** Password for the admin role: configured, else ~/.pgpass (per database), else a prompt (terminal only), asked once. */
export function adminPasswordProvider(context: CoreContext, database: string): () => Promise<string | undefined> {
  let cached: Promise<string | undefined> | undefined;
  return () => {
    cached ??= (async () => {
      const fromFile = await passwordFromPgpass(context.settings, database);
      if (fromFile !== undefined) return fromFile;
      if (!context.promptPassword) return undefined;
      let prompted = promptedPasswords.get(context.settings);
      if (!prompted) {
        prompted = context.promptPassword(`Password for PostgreSQL role "${context.settings.admin.user}":`);
        promptedPasswords.set(context.settings, prompted);
      }
      return prompted;
    })();
    return cached;
  };
}

export async function connectAsAdmin(context: CoreContext, database?: string): Promise<Connection> {
  const target = database ?? context.settings.admin.database;
  const shared = context.sharedConnections;
  if (shared) {
    let connection = shared.get(target);
    if (!connection) {
      connection = openAdmin(context, target).then((c) => ({ ...c, shared: true }));
      connection.catch(() => shared.delete(target));
      shared.set(target, connection);
    }
    return connection;
  }
  return openAdmin(context, target);
}

/**
 * Runs `steps` with admin connections shared between them (one per database), unless the
 * caller already shares them; closes them afterwards.
 */
export async function withSharedConnections<T>(context: CoreContext, steps: (context: CoreContext) => Promise<T>): Promise<T> {
  if (context.sharedConnections) return steps(context);
  const sharedConnections = new Map<string, Promise<Connection>>();
  try {
    return await steps({ ...context, sharedConnections });
  } finally {
    await closeShared(sharedConnections);
  }
}

/** Closes the connections a run shared between its steps. */
async function closeShared(shared: Map<string, Promise<Connection>>): Promise<void> {
  const connections = await Promise.allSettled(shared.values());
  shared.clear();
  await Promise.all(connections.map((c) => (c.status === 'fulfilled' ? closeClient(c.value.client) : undefined)));
}

async function openAdmin(context: CoreContext, target: string): Promise<Connection> {
  loggerOf(context).debug(
    `connecting as ${context.settings.admin.user} to ${context.settings.host}:${context.settings.port}/${target} (sslmode ${context.settings.sslMode})`,
  );
  return connect(context.settings, {
    role: 'admin',
    database: target,
    passwordProvider: adminPasswordProvider(context, target),
  });
}

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
    const sql = 'SELECT pg_is_in_recovery() AS standby';
    logger.debug(sql);
    const { rows } = await connection.client.query<{ standby: boolean }>(sql);
    if (rows[0]?.standby) throw standbyError(connection);
  }
  knownPrimaries.add(connection.client);
}
