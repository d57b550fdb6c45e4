import { closeClient, connect, type Connection } from './connection.js';
import { loggerOf, type CoreContext } from './context.js';
import { passwordFromPgpass } from './pgpass.js';
import { settingsForRole, type Settings } from '../config/settings.js';
import type { TargetSessionAttrs } from '../config/variables.js';
import { ConfigError } from '../errors.js';
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
      // ~/.pgpass lines are matched on the host and port the admin connects to.
      const fromFile = await passwordFromPgpass(settingsForRole(context.settings, 'admin'), database);
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
 * A new admin connection of its own (never shared), to the primary of the host list (see
 * writeTarget), watched for a silent network path (db/liveness.ts): also what migrate uses for a
 * second session (a lease's heartbeat, checking whether a COMMIT whose answer was lost happened).
 */
export async function openAdminConnection(context: CoreContext, database: string): Promise<Connection> {
  const logger = loggerOf(context);
  const settings = settingsForRole(context.settings, 'admin');
  const target = writeTarget(settings);
  const servers = settings.hosts.map((e) => `${e.host}:${e.port}`).join(',');
  logger.debug(`connecting as ${settings.admin.user} to ${servers}/${database} (sslmode ${settings.sslMode}, target ${target})`);
  const connection = await connect(settings, { role: 'admin', database, passwordProvider: adminPasswordProvider(context, database), target });
  for (const attempt of connection.attempts) logger.debug(`passed over ${attempt.endpoint.host}:${attempt.endpoint.port}: ${attempt.outcome}`);
  // The watchdog's probe asks the very server this connection reached about it.
  const { endpoint } = connection;
  const sameServer = { ...settings, hosts: [endpoint], host: endpoint.host, port: endpoint.port };
  const probe = (): Promise<Connection> => connect(sameServer, { role: 'admin', database, passwordProvider: adminPasswordProvider(context, database), target: 'any' });
  watchConnection(connection, { networkTimeoutMs: settings.networkTimeoutMs, probe, logger, server: describeServer(endpoint.host, endpoint.port) });
  return connection;
}

/**
 * The server a command that writes connects to: the primary, whatever the host list's order.
 * A target that can only reach a standby cannot serve it: said before connecting.
 */
export function writeTarget(settings: Settings): TargetSessionAttrs {
  const configured = settings.targetSessionAttrs;
  if (configured === 'primary' || configured === 'read-write') return configured;
  if (configured === 'any') return 'primary';
  throw new ConfigError(
    `${settings.origins.targetSessionAttrs ?? 'target_session_attrs'} is "${configured}", and this command writes: it needs the primary.`,
    'Leave target_session_attrs out (the tool then finds the primary in the host list), or set it to primary or read-write.',
    'TARGET_NOT_WRITABLE',
  );
}
