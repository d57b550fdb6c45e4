import { closeClient, connect, type Connection } from './connection.js';
import { loggerOf, type CoreContext } from './context.js';
import { passwordFromPgpass } from './pgpass.js';
import type { Settings } from '../config/settings.js';
import { describeServer } from '../config/host.js';
import { watchConnection } from './liveness.js';

/**
 * The admin role's connections: its password (configured, else ~/.pgpass, else a prompt, asked
 * once per run), and the connections a multi-step run shares between its steps.
 */

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
      connection = openAdminConnection(context, target).then((c) => ({ ...c, shared: true }));
      connection.catch(() => shared.delete(target));
      shared.set(target, connection);
    }
    return connection;
  }
  return openAdminConnection(context, target);
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

/**
 * A new admin connection of its own (never shared), watched for a silent network path
 * (db/liveness.ts): what migrate uses for a second session (a lease's heartbeat, checking
 * whether a COMMIT whose answer was lost happened).
 */
export async function openAdminConnection(context: CoreContext, target: string): Promise<Connection> {
  const logger = loggerOf(context);
  const { settings } = context;
  logger.debug(`connecting as ${settings.admin.user} to ${settings.host}:${settings.port}/${target} (sslmode ${settings.sslMode})`);
  const open = (): Promise<Connection> => connect(settings, { role: 'admin', database: target, passwordProvider: adminPasswordProvider(context, target) });
  const connection = await open();
  watchConnection(connection, { networkTimeoutMs: settings.networkTimeoutMs, probe: open, logger, server: describeServer(settings.host, settings.port) });
  return connection;
}
