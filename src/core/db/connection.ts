import type { Client, ClientConfig } from 'pg';
import type { Settings, SslMode } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { trackOpenClient, untrackClient } from './cancel.js';
import { clientKeepAlive } from './network-timeouts.js';
import { toRegistryDbError } from './pg-errors.js';
import { readTlsState, sslAttempts, sslOptionsFor, type TlsState } from './tls-options.js';

export type Role = 'admin' | 'app';

export interface Connection {
  readonly client: Client;
  readonly tls: TlsState;
  readonly role: Role;
  readonly user: string;
  readonly database: string;
  /** Kept open for later steps of the same run: disconnect() leaves it alone. */
  readonly shared?: boolean;
}

export interface ConnectOptions {
  readonly role: Role;
  /** Defaults to the registry database for the app role and the maintenance database for the admin. */
  readonly database?: string;
  /** Supplies the admin password when the server asks and none is configured (pgpass, prompt). */
  readonly passwordProvider?: () => Promise<string | undefined>;
}

let pgModule: typeof import('pg') | undefined;
/** pg is loaded on first use, so commands that never connect start faster. */
export async function loadPg(): Promise<typeof import('pg')> {
  if (pgModule) return pgModule;
  // pg probes for Cloudflare Workers through navigator.userAgent; Node 20 has no navigator,
  // so the probe builds a fetch Response, which loads undici (~40 ms) for nothing. A
  // navigator that exists only while pg loads skips that. Node 21+ has a real one.
  const shim = (globalThis as { navigator?: unknown }).navigator === undefined;
  if (shim) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true });
  try {
    pgModule = (await import('pg')).default as unknown as typeof import('pg');
  } finally {
    if (shim) delete (globalThis as { navigator?: unknown }).navigator;
  }
  return pgModule;
}

function shouldFallBack(error: unknown, encrypted: boolean, mode: SslMode): boolean {
  const message = (error as Error)?.message ?? '';
  if (mode === 'prefer' && encrypted) return /does not support SSL/i.test(message);
  // `allow`: the server rejected the plain connection (pg_hba has only hostssl) — retry with TLS.
  if (mode === 'allow' && !encrypted) return (error as { code?: string })?.code === '28000';
  return false;
}

/** The run-time parameters each session's server reported (ParameterStatus messages). */
const reportedParameters = new WeakMap<Client, Map<string, string>>();

/**
 * A parameter the server reported at login or since (server_version, in_hot_standby on
 * PostgreSQL 14+, …): known without a query. Undefined when it was not reported (an older
 * server, or a pooler that does not pass it on).
 */
export function reportedParameter(client: Client, name: string): string | undefined {
  return reportedParameters.get(client)?.get(name);
}

/** Opens one connection with libpq's sslmode fallbacks; errors come back as RegistryDbError. */
export async function connect(settings: Settings, options: ConnectOptions): Promise<Connection> {
  const pg = await loadPg();
  const isAdmin = options.role === 'admin';
  const user = isAdmin ? settings.admin.user : settings.user;
  const database = options.database ?? (isAdmin ? settings.admin.database : settings.database);
  const configured = isAdmin ? settings.admin.password : settings.password;
  registerSecret(configured);

  // A function, so pg never falls back to PGPASSWORD or ~/.pgpass on its own: we decide.
  const password = async (): Promise<string> => {
    const resolved = configured ?? (await options.passwordProvider?.());
    if (resolved === undefined) {
      throw new ConfigError(
        `The server asks for a password for role "${user}" and none is set.`,
        isAdmin
          ? 'Set TOFU_REGISTRY_DB_ADMIN_PASSWORD (or PGPASSWORD, or an entry in ~/.pgpass), or run on a terminal to be asked.'
          : 'Set TOFU_REGISTRY_DB_PASSWORD (create-user writes it into the env file).',
        'PASSWORD_MISSING',
      );
    }
    registerSecret(resolved);
    return resolved;
  };

  const attempts = sslAttempts(settings.sslMode);
  let lastError: unknown;
  for (let i = 0; i < attempts.length; i++) {
    const encrypt = attempts[i]!;
    const ssl = sslOptionsFor(settings, encrypt);
    const config: ClientConfig = {
      host: settings.host,
      port: settings.port,
      user,
      database,
      password: password as unknown as string,
      ssl,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      application_name: 'tofu-registry-db',
      // A server that vanished without a word is noticed by TCP (db/network-timeouts.ts).
      ...clientKeepAlive(settings.networkTimeoutMs),
    };
    const client = new pg.Client(config);
    client.on('error', () => undefined); // surfaced through the failing query instead
    const parameters = new Map<string, string>();
    reportedParameters.set(client, parameters);
    (client as unknown as { connection: { on(event: 'parameterStatus', listener: (message: { parameterName: string; parameterValue: string }) => void): void } }).connection.on(
      'parameterStatus',
      (message) => parameters.set(message.parameterName, message.parameterValue),
    );
    try {
      await client.connect();
      trackOpenClient(client);
      return { client, tls: readTlsState(client, settings.sslMode, ssl), role: options.role, user, database };
    } catch (error) {
      await closeClient(client);
      lastError = error;
      if (i + 1 < attempts.length && shouldFallBack(error, encrypt, settings.sslMode)) continue;
      break;
    }
  }
  throw toRegistryDbError(lastError, { host: settings.host, port: settings.port, user, database, sslMode: settings.sslMode });
}

/**
 * Ends a session, ignoring errors: sends Terminate and resolves once it has been written and
 * our side of the socket is shut. pg's end() resolves only when the server has closed its
 * side too, 5–15 ms later, which nothing here depends on: the socket finishes closing in the
 * background (and a CLI run that exits right away loses nothing, the kernel delivers it).
 */
export function closeClient(client: Client): Promise<void> {
  untrackClient(client);
  const ended = client.end().then(() => undefined, () => undefined);
  const stream = (client as unknown as { connection?: { stream?: NodeJS.WritableStream & { writableFinished?: boolean; destroyed?: boolean } } })
    .connection?.stream;
  if (!stream || typeof stream.once !== 'function') return ended;
  return new Promise((resolve) => {
    const done = (): void => resolve();
    if (stream.writableFinished || stream.destroyed) return done();
    stream.once('finish', done);
    stream.once('close', done);
    void ended.then(done);
  });
}

/** Closes a connection, ignoring errors: used in finally blocks. */
export async function disconnect(connection: Connection | undefined): Promise<void> {
  if (connection && !connection.shared) await closeClient(connection.client);
}
