import { InterruptedError, isSqlState, keepCause, RegistryDbError, type ErrorClass } from '../errors.js';
import { describeServer, isSocketHost } from '../config/host.js';
import { quoteIdent } from '../sql/quote.js';
import { answerKind, answerText, errorResponseIn, isPostgresAnswer, type ListenerFacts } from './listener.js';
import { permissionRemedy, sessionsQuery } from './permission-remedy.js';
import { missingDatabaseText, type DatabaseKind } from './missing-database.js';

export type { DatabaseKind } from './missing-database.js';

/** Where the failing connection or statement was aimed: used to write messages and hints. */
export interface ErrorContext {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly database?: string;
  readonly sslMode?: string;
  /** What was being done, e.g. "applying migration 001_initial.sql". */
  readonly action?: string;
  /** Where the host, port, user and database came from ("PGPORT (environment)"): hints name the setting to fix. */
  readonly origins?: {
    readonly host?: string;
    readonly port?: string;
    readonly user?: string;
    readonly password?: string;
    /** The registry database's name, when that is the database aimed at. */
    readonly database?: string;
    /** The admin's maintenance database's name, when that is the database aimed at. */
    readonly maintenanceDatabase?: string;
  };
  /** Which database `database` is: the registry database, the admin's maintenance database, or both (one name for both). */
  readonly databaseKind?: DatabaseKind;
  /** Whose session it was: a refused privilege is fixed by create-user for the application role, by a statement for the admin. */
  readonly role?: 'admin' | 'app';
  /** What the program at the other end did while the connection was opened (db/listener.ts). */
  readonly listener?: ListenerFacts;
}

/** The setting to fix, by where its value came from, else by its variable. */
function setting(context: ErrorContext, key: 'host' | 'port' | 'user' | 'password' | 'database' | 'maintenanceDatabase', variable: string): string {
  const origin = context.origins?.[key];
  if (!origin) return variable;
  return origin === 'default' ? `${variable} (not set: the default is used)` : origin;
}

/** " (user from …; password from …)": where the login's name and password came from, when known. */
function loginSources(context: ErrorContext): string {
  const parts = [context.origins?.user && `user from ${context.origins.user}`, context.origins?.password && `password from ${context.origins.password}`].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

function target(context: ErrorContext): string {
  if (!context.host) return 'the server';
  return describeServer(context.host, context.port);
}

/**
 * The one place where PostgreSQL SQLSTATEs and Node network errors become the
 * tool's error classes (and so its exit codes): 3 unreachable, 4 auth/permission,
 * 5 schema, 2 usage, 1 anything unexpected.
 */
export function toRegistryDbError(error: unknown, context: ErrorContext = {}): RegistryDbError {
  if (error instanceof RegistryDbError) return error;
  // Ctrl-C at an inquirer prompt (a password, a confirmation) is an interruption, not a crash.
  if ((error as Error)?.name === 'ExitPromptError') return new InterruptedError('a prompt');
  const e = (error ?? {}) as PgLikeError;
  const code = e.code ?? '';
  const message = e.message ?? String(error);
  const where = target(context);
  const prefix = context.action ? `${context.action}: ` : '';
  const pgAnswer = isSqlState(code) ? ` (SQLSTATE ${code})` : code ? ` (${code})` : '';
  const data = { ...(e.detail ? { detail: e.detail } : {}), ...(e.hint ? { serverHint: e.hint } : {}) };
  const make: Make = (cls, id, text, hint) => {
    const mapped = new RegistryDbError(cls, id, `${prefix}${text}`, { hint, cause: code || undefined, data: Object.keys(data).length ? data : undefined });
    keepCause(mapped, error);
    return mapped;
  };
  const facts: Facts = { code, message, where, pgAnswer, context, make, path: e.path, detail: e.detail, serverHint: e.hint };
  return (
    listenerError(facts) ??
    networkError(facts) ??
    serverError(facts) ??
    (!isSqlState(code) && e.syscall !== undefined ? systemError(e, code, message, prefix, make) : undefined) ??
    (isSqlState(code)
      ? make('schema', 'SQL_ERROR', `PostgreSQL refused a statement${pgAnswer}: ${message}.`, 'See what PostgreSQL answered, above; --verbose shows the SQL that was sent.')
      : make('internal', 'INTERNAL', message))
  );
}

type Make = (cls: ErrorClass, id: string, text: string, hint?: string) => RegistryDbError;

/** What the mappers below need to know about one error. */
interface Facts {
  readonly code: string;
  readonly message: string;
  /** The server, in words. */
  readonly where: string;
  /** " (SQLSTATE 28P01)" or " (ECONNREFUSED)", for the message. */
  readonly pgAnswer: string;
  readonly context: ErrorContext;
  readonly make: Make;
  /** The file an operating-system error is about, if any. */
  readonly path?: string;
  readonly detail?: string;
  readonly serverHint?: string;
}

function isTimeout(code: string, message: string): boolean {
  return code === 'ETIMEDOUT' || /timeout expired|connection timeout|no answer within/i.test(message);
}

/**
 * What the program on the port did, before any other reading of the error: something that is
 * not PostgreSQL answered (a wrong port: an HTTP server, say), or the connection opened and
 * nothing answered at all. Neither is a missing TLS, nor a firewall: TCP got through.
 */
function listenerError({ code, message, where, context, make }: Facts): RegistryDbError | undefined {
  const listener = context.listener;
  if (!listener?.connected) return undefined;
  const request = listener.sent === 'SSLRequest' ? "PostgreSQL's SSL request" : "PostgreSQL's startup message";
  if (listener.answer && !isPostgresAnswer(listener)) {
    const first = String.fromCharCode(listener.answer[0]!);
    const psql = listener.sent === 'SSLRequest'
      ? `received invalid response to SSL negotiation: ${first}`
      : `expected authentication request from server, but received ${first}`;
    const kind = answerKind(listener.answer);
    return make('unreachable', 'NOT_POSTGRESQL',
      `Something other than PostgreSQL answers at ${where}${kind ? ` (${kind})` : ''}: it answered ${request} with "${answerText(listener.answer)}" (psql: "${psql}").`,
      `${setting(context, 'host', 'TOFU_REGISTRY_DB_HOST')} and ${setting(context, 'port', 'TOFU_REGISTRY_DB_PORT')} point at another service${kind ? `, ${kind}` : ''}: set them to where PostgreSQL listens (port 5432 unless its "port" setting says otherwise; on the server, SHOW port).`);
  }
  // pg reports an ErrorResponse to its SSLRequest only as "an error establishing an SSL connection": what the server said is in the answer.
  if (listener.sent === 'SSLRequest' && listener.answer?.[0] === 0x45 && !isSqlState(code)) {
    return toRegistryDbError(errorResponseIn(listener.answer), { ...context, listener: undefined });
  }
  if (!listener.answer && isTimeout(code, message)) {
    const seconds = listener.timeoutMs !== undefined ? ` within ${listener.timeoutMs / 1000} s` : '';
    return make('unreachable', 'SERVER_SILENT',
      `The connection to ${where} opened, and nothing answered ${request}${seconds}.`,
      'The port accepts connections, so no firewall is in the way; what listens there does not answer PostgreSQL\'s protocol. It may be a connection pooler (PgBouncer) that cannot get a connection to its server (it keeps logins waiting; --wait rides that out), another service that waits for its client to speak, a proxy or load balancer with no healthy PostgreSQL behind it, or a server that hangs. ' +
        `Check what listens there (on that host: ss -ltnp), and ${setting(context, 'port', 'TOFU_REGISTRY_DB_PORT')}; TOFU_REGISTRY_DB_CONNECT_TIMEOUT gives a slow server longer.`);
  }
  return undefined;
}

/** The network layer: DNS, refused, timeouts, resets, TLS. */
function networkError({ code, message, where, pgAnswer, context, make, path }: Facts): RegistryDbError | undefined {
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return make('unreachable', 'DNS_FAILED', `Cannot resolve host "${context.host}"${pgAnswer}.`,
      `Check ${setting(context, 'host', 'TOFU_REGISTRY_DB_HOST')} for typos, and that this machine can resolve it (VPN, /etc/hosts, DNS).`);
  }
  if (code === 'ECONNREFUSED') {
    return make('unreachable', 'CONNECTION_REFUSED', `Nothing accepts connections at ${where}${pgAnswer}.`,
      `Check ${setting(context, 'port', 'TOFU_REGISTRY_DB_PORT')} and that PostgreSQL is running and listening on that address (listen_addresses).`);
  }
  if (code === 'ENOENT' && context.host !== undefined && isSocketHost(context.host) && path === undefined) {
    return make('unreachable', 'SOCKET_MISSING', `No PostgreSQL socket at ${where}${pgAnswer}.`,
      `Check ${setting(context, 'host', 'TOFU_REGISTRY_DB_HOST')} (the socket directory) and ${setting(context, 'port', 'TOFU_REGISTRY_DB_PORT')}, and that the server runs.`);
  }
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout expired|connection timeout/i.test(message)) {
    return make('unreachable', 'CONNECTION_TIMEOUT', `No answer from ${where}${pgAnswer}: ${message}.`,
      'A firewall or security group may drop the traffic; check the host, port and network path. For a server that is still starting, use --wait.');
  }
  if (code === 'ECONNRESET' || /Connection terminated unexpectedly|encountered a connection error and is not queryable/i.test(message)) {
    return make('unreachable', 'CONNECTION_RESET', `${where} closed the connection${pgAnswer}: ${message}.`,
      'The server or a proxy in between dropped the connection; check its logs. A TLS-only proxy may need sslmode=require.');
  }
  if (/does not support SSL/i.test(message)) {
    return make('unreachable', 'TLS_UNAVAILABLE', `${where} does not support TLS, and sslmode ${context.sslMode} requires it.`,
      'Enable ssl on the server, or set TOFU_REGISTRY_DB_SSLMODE=prefer (or disable on a trusted network).');
  }
  // The server agreed to TLS ("S"), then what came was not a TLS handshake (OpenSSL: "wrong
  // version number"): a proxy or another service in between, not a certificate problem.
  if ((code === 'EPROTO' || code.startsWith('ERR_SSL_')) && !/certificate/i.test(message)) {
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.trim();
    return make('unreachable', 'TLS_HANDSHAKE_FAILED', `The TLS handshake with ${where} failed${pgAnswer}: ${reason}.`,
      `It agreed to TLS, then did not speak it: something other than PostgreSQL (a proxy, another service) may answer there. Check ${setting(context, 'host', 'TOFU_REGISTRY_DB_HOST')} and ${setting(context, 'port', 'TOFU_REGISTRY_DB_PORT')}, and a TLS-terminating proxy's configuration.`);
  }
  if (TLS_CERT_CODES.has(code) || /certificate/i.test(message) && !isSqlState(code)) {
    return make('unreachable', 'TLS_VERIFY_FAILED', `The server certificate of ${where} could not be verified${pgAnswer}: ${message}.`,
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'The certificate does not name this host: connect by the name it was issued for, or use sslmode=verify-ca.'
        : 'Set TOFU_REGISTRY_DB_SSLROOTCERT to the CA that signed the server certificate, or use sslmode=require (encrypted, not verified).');
  }
  return undefined;
}

/**
 * SQLSTATE 53300 means one of three limits, and each has its own remedy: the role's CONNECTION
 * LIMIT, the database's, or the server's max_connections (whose last slots may be reserved).
 */
function connectionLimitError({ message, where, pgAnswer, make }: Facts): RegistryDbError {
  const answered = `${pgAnswer.replace(/\)$/, '')}: ${message})`;
  let match: RegExpExecArray | null;
  if ((match = /too many connections for role "([^"]+)"/.exec(message))) {
    const role = match[1]!;
    return make('unreachable', 'ROLE_CONNECTION_LIMIT', `Role "${role}" has used up its own connection limit on ${where}${answered}.`,
      `The role's CONNECTION LIMIT is reached (or is 0); the server's max_connections is not the problem. As a superuser (or a role that may alter "${role}"), run: ALTER ROLE ${quoteIdent(role)} CONNECTION LIMIT -1; (no limit), or give it a number above what the API's pool opens. Its sessions: ${sessionsQuery('usename', role)}.`);
  }
  if ((match = /too many connections for database "([^"]+)"/.exec(message))) {
    const database = match[1]!;
    return make('unreachable', 'DATABASE_CONNECTION_LIMIT', `Database "${database}" has used up its own connection limit on ${where}${answered}.`,
      `The database's CONNECTION LIMIT is reached (or is 0); the server's max_connections is not the problem. As its owner or a superuser, run: ALTER DATABASE ${quoteIdent(database)} CONNECTION LIMIT -1; (no limit), or a higher number. Its sessions: ${sessionsQuery('datname', database)}.`);
  }
  const reserved = /remaining connection slots are reserved/i.test(message);
  return make('unreachable', 'TOO_MANY_CONNECTIONS',
    `${where} has no free connection slots: ${reserved ? 'the few left are reserved for superusers (superuser_reserved_connections, reserved_connections)' : 'all of max_connections are in use'}${answered}.`,
    'The server-wide limit, not a role\'s or a database\'s: close idle sessions (see SELECT usename, datname, application_name, state FROM pg_stat_activity), put a pooler such as PgBouncer in front, or raise max_connections in postgresql.conf (a restart is needed).');
}

/** What PostgreSQL answered: SQLSTATEs with a remedy of their own. */
function serverError(facts: Facts): RegistryDbError | undefined {
  const { code, message, where, pgAnswer, context, make } = facts;
  switch (code) {
    case '28P01':
      return make('auth', 'AUTH_FAILED', `Password authentication failed for role "${context.user}"${loginSources(context)}${pgAnswer}.`,
        'Check the password this role logs in with: TOFU_REGISTRY_DB_PASSWORD for the application role (create-user --rotate-password sets a new one); TOFU_REGISTRY_DB_ADMIN_PASSWORD, else PGPASSWORD, else ~/.pgpass for the admin.');
    case '28000':
      if (/role .* does not exist/i.test(message)) {
        return make('auth', 'ROLE_MISSING', `Role "${context.user}" does not exist${pgAnswer}.`,
          'Run `tofu-registry-db create-user` (as the admin) to create it, or fix TOFU_REGISTRY_DB_USER.');
      }
      return make('auth', 'CONNECTION_REJECTED', `The server rejected the connection${pgAnswer}: ${message}.`,
        /no encryption/i.test(message)
          ? 'pg_hba.conf has no rule for unencrypted connections from here: use sslmode=require, or add a "host" rule.'
          : 'Add a pg_hba.conf rule for this role, database and client address (then reload the server), or check sslmode.');
    case '3D000':
      return missingDatabase(facts);
    case '42501':
      return make('auth', 'PERMISSION_DENIED', `Permission denied${pgAnswer}: ${message}.`,
        permissionRemedy({ message, detail: facts.detail, serverHint: facts.serverHint }, { user: context.user, role: context.role, database: context.database }) ??
          `Role "${context.user ?? 'this role'}" lacks a privilege for this statement. For the application role, run \`tofu-registry-db create-user\` as the admin to re-apply its grants. ` +
            'For the admin: it must own the registry database and its tables (the role that ran create-db does) or be a superuser; a migration that needs more (an extension that is not trusted) must be run by a superuser.');
    case '55P03':
      return make('schema', 'LOCK_TIMEOUT', `Gave up waiting for a lock${pgAnswer}: ${message}.`,
        'Another session holds a lock on the table: find it in pg_stat_activity/pg_locks, or raise TOFU_REGISTRY_DB_LOCK_TIMEOUT.');
    case '57014':
      return make('schema', 'STATEMENT_TIMEOUT', `A statement ran longer than allowed${pgAnswer}: ${message}.`,
        'Raise TOFU_REGISTRY_DB_STATEMENT_TIMEOUT, or check what blocks the statement.');
    case '25006':
      return make('unreachable', 'READ_ONLY_STANDBY', `${where} is a read-only standby${pgAnswer}.`,
        'Connect to the primary server (check TOFU_REGISTRY_DB_HOST; on a cluster, use the primary/writer endpoint).');
    case '53300':
      return connectionLimitError(facts);
    case '55006':
      return make('schema', 'OBJECT_IN_USE', `${message}${pgAnswer}.`,
        /template/i.test(message)
          ? 'CREATE DATABASE copies the template, and another session is connected to it: close that session (see pg_stat_activity) and run the command again.'
          : 'Another session uses the object: close it (see pg_stat_activity) and run the command again.');
    case '57P03':
      return make('unreachable', 'SERVER_STARTING', `${where} is not accepting connections yet${pgAnswer}: ${message}.`,
        'Retry with --wait <seconds>.');
  }
  // PostgreSQL itself answers a wrong password with 28P01; PgBouncer relays its own failed
  // server login (and its retry pause, server_login_retry) to the client as 08P01.
  if (code === '08P01' && /password authentication failed|server login has been failing|no server connection|server conn crashed|pgbouncer cannot connect to server|query_wait_timeout/i.test(message)) {
    return make('unreachable', 'POOLER_SERVER_UNAVAILABLE', `A connection pooler at ${where} could not get a server connection for this login${pgAnswer}: ${message}.`,
      'PgBouncer (or another pooler) answered, but its own login to PostgreSQL failed: check the pooler\'s [databases] entry and the credentials it uses for the server (auth_file or auth_query) against the server, and that the server is up. It retries after server_login_retry; --wait <seconds> rides that out.');
  }
  if (code.startsWith('08') || code.startsWith('57P')) {
    return make('unreachable', 'CONNECTION_FAILED', `Lost or could not open the connection to ${where}${pgAnswer}: ${message}.`,
      'Check that the server is up and reachable.');
  }
  if (code === '42P01') {
    return make('schema', 'SCHEMA_MISSING', `${message}${pgAnswer}.`, 'Run `tofu-registry-db migrate` to create the tables.');
  }
  if (code === '3F000') {
    // The registry lives in schema public; someone dropped it (or never had it, on a custom template).
    return make('schema', 'SCHEMA_MISSING', `${message}${pgAnswer}.`,
      'Recreate it as the database owner (CREATE SCHEMA public), then run `tofu-registry-db migrate` to create the tables.');
  }
  return undefined;
}

/** 3D000: the database the login asked for, named with where its name came from (db/missing-database.ts). */
function missingDatabase({ where, pgAnswer, context, make }: Facts): RegistryDbError {
  const { id, message, hint } = missingDatabaseText({
    name: context.database ?? '',
    where: `${where}${pgAnswer}`,
    kind: context.databaseKind ?? 'registry',
    registry: setting(context, 'database', 'TOFU_REGISTRY_DB_NAME'),
    maintenance: setting(context, 'maintenanceDatabase', 'TOFU_REGISTRY_DB_ADMIN_DATABASE'),
  });
  return make('schema', id, message, hint);
}

/** Operating-system errors on a file or folder the user named (an env file, --dir, --data-dir, an import tree). */
const USER_PATH_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EEXIST', 'ENOTEMPTY']);

/**
 * An error from the operating system rather than from PostgreSQL (EPIPE, EROFS, ENOSPC, …):
 * said as what it is, never as "PostgreSQL refused a statement". A path the user gave that
 * cannot be used is a usage error (exit 2); anything else (a closed pipe, a full disk, an
 * I/O error) is unexpected here (exit 1).
 */
function systemError(
  e: PgLikeError,
  code: string,
  message: string,
  prefix: string,
  make: (cls: 'usage' | 'internal', id: string, text: string, hint?: string) => RegistryDbError,
): RegistryDbError {
  const what = e.path !== undefined ? `${e.syscall} ${JSON.stringify(e.path)}` : String(e.syscall);
  if (e.path !== undefined && USER_PATH_ERRORS.has(code)) {
    return make('usage', 'FILE_ERROR', `Cannot ${what}: ${message}.`, 'Check the path and its permissions (and that its file system is writable), or point the option at another one.');
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return make('internal', 'NO_SPACE', `${prefix}No space left (${what}): ${message}.`, 'Free some space on that file system, or point the option at another one.');
  }
  return make('internal', 'SYSTEM_ERROR', `${prefix}The operating system refused ${what} (${code}): ${message}.`);
}
