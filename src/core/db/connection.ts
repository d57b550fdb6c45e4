import type { Client, ClientConfig } from 'pg';
import { settingsForRole, type Endpoint, type Settings } from '../config/settings.js';
import { ConfigError, type RegistryDbError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { trackOpenClient, untrackClient } from './cancel.js';
import { clientKeepAlive } from './network-timeouts.js';
import { toRegistryDbError, type DatabaseKind } from './pg-errors.js';
import { watchListener, type ListenerFacts } from './listener.js';
import { readTlsState, sslAttempts, sslOptionsFor, type TlsState } from './tls-options.js';
import type { SslMode, TargetSessionAttrs } from '../config/variables.js';
import { noServerMatches, sessionKind, withAttempts } from './session-target.js';
import { watchParameters } from './parameters.js';

export type Role = 'admin' | 'app';

/** One host tried on the way to a connection, and why it was passed over. */
export interface Attempt {
  readonly endpoint: Endpoint;
  readonly outcome: string;
  readonly error?: RegistryDbError;
}

export interface Connection {
  readonly client: Client;
  readonly tls: TlsState;
  readonly role: Role;
  readonly user: string;
  readonly database: string;
  /** The server of the host list this connection reached. */
  readonly endpoint: Endpoint;
  /** The hosts passed over before it (empty for the first). */
  readonly attempts: readonly Attempt[];
  /** Kept open for later steps of the same run: disconnect() leaves it alone. */
  readonly shared?: boolean;
}

export interface ConnectOptions {
  readonly role: Role;
  /** Defaults to the registry database for the app role and the maintenance database for the admin. */
  readonly database?: string;
  /** Supplies the admin password when the server asks and none is configured (pgpass, prompt). */
  readonly passwordProvider?: () => Promise<string | undefined>;
  /** Which server of the host list to accept (default: the settings' target_session_attrs). */
  readonly target?: TargetSessionAttrs;
}

let pgModule: typeof import('pg') | undefined;
/** pg is loaded on first use, so commands that never connect start faster. */
export async function loadPg(): Promise<typeof import('pg')> {
  if (pgModule) return pgModule;
  // pg probes for Cloudflare Workers through navigator.userAgent; Node 20 has no navigator,
  // so the probe builds a fetch Response, which loads undici for nothing (bench/README.md, Start-up). A
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

/**
 * Opens a connection the way libpq does with a host list: each host in order (with its
 * sslmode fallbacks), and a host whose server is not what `target` asks for (a standby where
 * the primary is needed) is passed over. A failed login stops at once, as in libpq: the next
 * host would only refuse the same password. Errors come back as RegistryDbError, naming every
 * host tried and why it was passed over.
 */
export async function connect(given: Settings, options: ConnectOptions): Promise<Connection> {
  const isAdmin = options.role === 'admin';
  // The admin's own host, port, sslmode, … (TOFU_REGISTRY_DB_ADMIN_URL) where it has them.
  const settings = settingsForRole(given, options.role);
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
  const target = options.target ?? settings.targetSessionAttrs;
  const attempts: Attempt[] = [];
  // prefer-standby: a standby if there is one, else any server (libpq's second pass).
  const passes: readonly TargetSessionAttrs[] = target === 'prefer-standby' ? ['standby', 'any'] : [target];
  for (const wanted of passes) {
    for (const endpoint of settings.hosts) {
      let opened: { client: Client; tls: TlsState };
      try {
        opened = await connectEndpoint(settings, endpoint, { user, database, password, role: options.role });
      } catch (error) {
        const failure = error as RegistryDbError;
        attempts.push({ endpoint, outcome: failure.message, error: failure });
        // A failed login is the same on every host: libpq stops too. Anything else may be this
        // host's alone: a standby that has not yet replayed the CREATE DATABASE of the primary
        // answers 3D000, a node being shut down 57P01.
        if (failure.errorClass === 'auth' || failure.errorClass === 'usage' || settings.hosts.length === 1) throw withAttempts(failure, attempts, settings);
        continue;
      }
      const { client, tls } = opened;
      const kind = await sessionKind(client, wanted);
      if (kind.matches) return { client, tls, role: options.role, user, database, endpoint, attempts };
      attempts.push({ endpoint, outcome: `${kind.description}, not ${wanted === 'standby' ? 'a standby' : wanted === 'read-only' ? 'read-only' : 'the primary'}` });
      await closeClient(client);
    }
  }
  throw noServerMatches(settings, target, attempts);
}

interface LoginFor {
  readonly user: string;
  readonly database: string;
  readonly password: () => Promise<string>;
  readonly role: Role;
}

/** One host, with libpq's sslmode fallbacks (prefer: TLS then plain; allow: plain then TLS). */
async function connectEndpoint(settings: Settings, endpoint: Endpoint, login: LoginFor): Promise<{ client: Client; tls: TlsState }> {
  const pg = await loadPg();
  const tries = sslAttempts(settings.sslMode);
  let lastError: unknown;
  let listener: ListenerFacts | undefined;
  for (let i = 0; i < tries.length; i++) {
    const encrypt = tries[i]!;
    const ssl = sslOptionsFor({ ...settings, host: endpoint.host }, encrypt);
    const config: ClientConfig = {
      host: endpoint.host,
      port: endpoint.port,
      user: login.user,
      database: login.database,
      password: login.password as unknown as string,
      ssl,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      application_name: settings.applicationName,
      // A server that vanished without a word is noticed by TCP (db/network-timeouts.ts).
      ...clientKeepAlive(settings.networkTimeoutMs),
    };
    const client = new pg.Client(config);
    client.on('error', () => undefined); // surfaced through the failing query instead
    watchParameters(client);
    listener = watchListener(client, ssl === false ? 'StartupMessage' : 'SSLRequest', settings.connectTimeoutMs);
    try {
      await client.connect();
      trackOpenClient(client);
      return { client, tls: readTlsState(client, settings.sslMode, ssl) };
    } catch (error) {
      await closeClient(client);
      lastError = error;
      if (i + 1 < tries.length && shouldFallBack(error, encrypt, settings.sslMode)) continue;
      break;
    }
  }
  const admin = login.role === 'admin';
  throw toRegistryDbError(lastError, {
    host: endpoint.host,
    port: endpoint.port,
    user: login.user,
    database: login.database,
    sslMode: settings.sslMode,
    role: login.role,
    listener,
    origins: {
      host: settings.origins.host,
      port: settings.origins.port,
      user: settings.origins[admin ? 'adminUser' : 'user'],
      password: admin ? (settings.admin.passwordSource === 'unresolved' ? '~/.pgpass or a prompt' : settings.admin.passwordSource) : settings.origins.password,
      ...databaseOrigins(settings, login),
    },
    databaseKind: databaseKind(settings, login),
  });
}

/** Which database a login was aimed at: the admin's maintenance database, the registry database, or one name for both. */
function databaseKind(settings: Settings, login: LoginFor): DatabaseKind | undefined {
  const maintenance = login.role === 'admin' && login.database === settings.admin.database;
  const registry = login.database === settings.database;
  if (maintenance && registry) return 'both';
  return maintenance ? 'maintenance' : registry ? 'registry' : undefined;
}

function databaseOrigins(settings: Settings, login: LoginFor): { database?: string; maintenanceDatabase?: string } {
  return {
    ...(login.database === settings.database ? { database: settings.origins.database ?? 'default' } : {}),
    ...(login.role === 'admin' && login.database === settings.admin.database ? { maintenanceDatabase: settings.origins.adminDatabase ?? 'default' } : {}),
  };
}

/**
 * Ends a session, ignoring errors: sends Terminate and resolves once it has been written and
 * our side of the socket is shut. pg's end() resolves only when the server has closed its
 * side too, a moment later, which nothing here depends on: the socket finishes closing in the
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
