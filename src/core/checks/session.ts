import { connect, disconnect, type Connection } from '../db/connection.js';
import { RegistryDbError } from '../errors.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { runBatch } from '../db/batch.js';
import { failed, passed, type CheckOutcome, type CheckState } from './check.js';
import { catalogLookupSql } from './schema.js';
import { stopwatch } from '../runtime/stopwatch.js';
import { runQuery } from '../db/query.js';
import { adminPasswordProvider } from '../db/admin-connection.js';
import { describeServer } from '../config/host.js';

/** The oldest PostgreSQL the tool supports (server_version_num of 12.0). */
export const MINIMUM_SERVER_VERSION_NUM = 120000;

/** The same failure with a message and remedy that fit this check; the original answer stays attached. */
function reworded(failure: RegistryDbError, message: string, hint: string): RegistryDbError {
  return failure.rewrap(message, { hint });
}

function target(state: CheckState): string {
  const { host, port } = state.settings;
  return describeServer(host, port);
}

function passwordSource(state: CheckState): string {
  const { settings } = state;
  if (state.role === 'app') return `password from ${settings.origins.password ?? 'TOFU_REGISTRY_DB_PASSWORD'}`;
  if (settings.admin.passwordSource !== 'unresolved') return `password from ${settings.origins.adminPassword ?? settings.admin.passwordSource}`;
  return 'password from ~/.pgpass or a prompt, if the server asks';
}

function loginDatabase(state: CheckState): string {
  return state.role === 'admin' ? state.settings.admin.database : state.settings.database;
}

function openAs(state: CheckState, database: string): Promise<Connection> {
  return connect(state.settings, {
    role: state.role,
    database,
    passwordProvider: state.role === 'admin' ? adminPasswordProvider(state.context, database) : undefined,
  });
}

function authenticationFailure(failure: RegistryDbError, state: CheckState): RegistryDbError {
  const { user } = state;
  const admin = state.role === 'admin';
  const roleVariable = admin ? 'TOFU_REGISTRY_DB_ADMIN_USER' : 'TOFU_REGISTRY_DB_USER';
  switch (failure.code) {
    case 'AUTH_FAILED':
      return reworded(
        failure,
        `Password authentication failed for role "${user}" (SQLSTATE ${failure.sqlState}): the password is wrong, or the role does not exist (PostgreSQL does not say which).`,
        admin
          ? 'Check TOFU_REGISTRY_DB_ADMIN_PASSWORD (or PGPASSWORD, or ~/.pgpass) and TOFU_REGISTRY_DB_ADMIN_USER.'
          : `Check TOFU_REGISTRY_DB_PASSWORD (create-user writes it into the env file; \`tofu-registry-db create-user --rotate-password\` sets a new one). If role "${user}" does not exist yet, run \`tofu-registry-db create-user\` as the admin.`,
      );
    case 'ROLE_MISSING':
      return reworded(
        failure,
        `Role "${user}" does not exist on ${target(state)} (SQLSTATE ${failure.sqlState}).`,
        admin
          ? `Set ${roleVariable} (or PGUSER) to an existing role with CREATEDB and CREATEROLE.`
          : `Run \`tofu-registry-db create-user\` as the admin to create it, or fix ${roleVariable}.`,
      );
    case 'CONNECTION_REJECTED':
      return reworded(
        failure,
        `The server refused the login of role "${user}" to database "${loginDatabase(state)}" (SQLSTATE ${failure.sqlState}): pg_hba.conf has no rule that allows it.`,
        hbaRemedy(answerText(failure), loginDatabase(state), user),
      );
    default:
      return failure;
  }
}

/** pg_hba.conf's first matching line decides; its answer tells which kind of line is missing. */
function hbaRemedy(answer: string, database: string, user: string): string {
  const line = `hostssl ${database} ${user} <client address>/32 scram-sha-256`;
  // PostgreSQL ends its answer with "no encryption" for a plain login: a hostssl line can never
  // match that one, so the fix is TLS (which other lines may admit) or a host line.
  const plain = /no encryption/i.test(answer);
  const plainLine = `host ${database} ${user} <client address>/32 scram-sha-256`;
  if (/rejects connection/i.test(answer)) {
    return plain
      ? `A "reject" line in pg_hba.conf matches this unencrypted login (the first matching line wins): connect with TLS (TOFU_REGISTRY_DB_SSLMODE=require), which a hostssl line may admit, or add \`${plainLine}\` above the reject line and reload the server (SELECT pg_reload_conf()).`
      : `A "reject" line in pg_hba.conf matches this login (the first matching line wins): add \`${line}\` above it, then reload the server (SELECT pg_reload_conf()).`;
  }
  if (plain) {
    return `pg_hba.conf has no line for unencrypted logins from this client: use TOFU_REGISTRY_DB_SSLMODE=require (if a hostssl line exists), or add \`${plainLine}\` and reload the server.`;
  }
  return `Add \`${line}\` to pg_hba.conf, then reload the server (SELECT pg_reload_conf()).`;
}

function answerText(failure: RegistryDbError): string {
  return String((failure.cause as { message?: unknown } | undefined)?.message ?? failure.message);
}

/**
 * Starts the login while the DNS, TCP and TLS checks run: on a remote server that saves
 * their round trips (bench/README.md, Round trips); on loopback nothing measurable. The authentication check takes
 * its outcome; when an earlier check fails, the attempt is discarded (whatever broke that
 * check breaks it too). Not when logging in could prompt for a password: a prompt must
 * come at its own step.
 */
export function startLogin(state: CheckState): void {
  const mayPrompt = state.role === 'admin' && state.settings.admin.passwordSource === 'unresolved';
  if (mayPrompt || state.pendingLogin) return;
  const elapsed = stopwatch();
  const attempt = openAs(state, loginDatabase(state));
  const timed = () => void (state.pendingLoginMs = elapsed());
  attempt.then(timed, timed); // observed by the authentication check, or discarded
  state.pendingLogin = attempt;
}

/** Closes a login that started early but was not used (an earlier check failed). */
export async function discardPendingLogin(state: CheckState): Promise<void> {
  const attempt = state.pendingLogin;
  state.pendingLogin = undefined;
  const connection = await attempt?.catch(() => undefined);
  if (connection) await disconnect(connection);
}

/** Logs in. A database the server refuses after the login (3D000, 42501) is the next check's finding. */
export async function checkAuthentication(state: CheckState): Promise<CheckOutcome> {
  const pending = state.pendingLogin;
  state.pendingLogin = undefined;
  const outcome = await logIn(state, pending);
  // An early login is reported with its own duration, not with what was left of it.
  return pending ? { ...outcome, durationMs: state.pendingLoginMs } : outcome;
}

async function logIn(state: CheckState, pending: Promise<Connection> | undefined): Promise<CheckOutcome> {
  const database = loginDatabase(state);
  const tried = `log in to ${target(state)} as "${state.user}" (database "${database}", ${passwordSource(state)})`;
  try {
    state.login = await (pending ?? openAs(state, database));
    if (database === state.settings.database) state.connection = state.login;
  } catch (error) {
    const failure = toRegistryDbError(error, { host: state.settings.host, port: state.settings.port, user: state.user, database, sslMode: state.settings.sslMode });
    // PostgreSQL authenticates before it looks up the database (and counts its connections), so these mean the login worked.
    if (failure.sqlState === '3D000' || failure.sqlState === '42501' || failure.code === 'DATABASE_CONNECTION_LIMIT') {
      state.databaseFailure = failure;
      return passed(`role "${state.user}" logged in (then the server refused database "${database}": see the next check)`, { user: state.user });
    }
    return failed(authenticationFailure(failure, state), tried);
  }
  const { tls } = state.login;
  return passed(`role "${state.user}" logged in${tls.encrypted ? ` over ${tls.protocol ?? 'TLS'}` : ''}`, {
    user: state.user,
    database,
    encrypted: tls.encrypted,
  });
}

/** The database check's finding, about the database that was actually asked for (for --admin, the login's is the maintenance database). */
function databaseFailure(failure: RegistryDbError, state: CheckState, database: string): RegistryDbError {
  if (failure.sqlState === '3D000') {
    // The admin's maintenance database: pg-errors already names where it came from, and create-db cannot help.
    if (failure.code !== 'DATABASE_MISSING') return failure;
    return reworded(
      failure,
      `Database "${database}" does not exist on ${target(state)} (SQLSTATE 3D000).`,
      `Run \`tofu-registry-db create-db\` as the admin to create it (and its tables), or fix ${state.settings.origins.database && state.settings.origins.database !== 'default' ? state.settings.origins.database : 'TOFU_REGISTRY_DB_NAME (or --name)'}.`,
    );
  }
  if (failure.sqlState === '42501') {
    return reworded(
      failure,
      `Role "${state.user}" may not connect to database "${database}" (SQLSTATE 42501: no CONNECT privilege).`,
      state.role === 'admin'
        ? `Grant it as a superuser or the database owner: GRANT CONNECT ON DATABASE "${database}" TO "${state.user}".`
        : `Run \`tofu-registry-db create-user\` as the admin: it grants CONNECT on "${database}" to "${state.user}" (CONNECT is revoked from PUBLIC there).`,
    );
  }
  return failure;
}

export async function checkDatabase(state: CheckState): Promise<CheckOutcome> {
  const { database } = state.settings;
  const tried = (name: string) => `connect to database "${name}" as "${state.user}"${name === database ? '' : ` (the admin's maintenance database, from ${state.settings.origins.adminDatabase ?? 'default'})`}`;
  if (state.databaseFailure) return failed(databaseFailure(state.databaseFailure, state, loginDatabase(state)), tried(loginDatabase(state)));
  if (!state.connection) {
    try {
      state.connection = await openAs(state, database);
    } catch (error) {
      const failure = toRegistryDbError(error, { host: state.settings.host, port: state.settings.port, user: state.user, database, sslMode: state.settings.sslMode });
      return failed(databaseFailure(failure, state, database), tried(database));
    }
  }
  // The server check's facts come along: one round trip for both checks.
  const sql = `SELECT pg_encoding_to_char(encoding) AS encoding, pg_get_userbyid(datdba) AS owner,
       current_setting('server_version_num')::int AS version_num, current_setting('server_version') AS version,
       pg_is_in_recovery() AS in_recovery
  FROM pg_database WHERE datname = current_database()`;
  // The schema and privileges checks' catalog lookups come along too: one round trip for four checks.
  const lookup = await runBatch(state.connection, state.logger, [sql, ...catalogLookupSql()]);
  if (!lookup.ok && lookup.failedAt === 0) throw lookup.error;
  state.catalog = lookup.ok ? { ok: true, results: lookup.results.slice(1) } : { ...lookup, failedAt: lookup.failedAt - 1, completedTags: lookup.completedTags.slice(1) };
  const rows = lookup.ok ? (lookup.results[0]!.rows as ({ encoding: string; owner: string } & ServerRow)[]) : await databaseFactsAlone(state, sql);
  state.server = serverFacts(rows[0]!);
  return passed(`database "${database}" exists and "${state.user}" may connect`, { database, owner: rows[0]?.owner, encoding: rows[0]?.encoding });
}

/** The database facts again, when a catalog lookup after them failed (a failed message keeps no results). */
async function databaseFactsAlone(state: CheckState, sql: string): Promise<({ encoding: string; owner: string } & ServerRow)[]> {
  return (await runQuery<{ encoding: string; owner: string } & ServerRow>(state.connection!, state.logger, sql)).rows;
}

export interface ServerFacts {
  readonly versionNum: number;
  readonly version: string;
  readonly inRecovery: boolean;
}

/** The server verdict, a pure function: old servers cannot be reached by a test here. */
export function judgeServer(facts: ServerFacts, where: string): CheckOutcome {
  const details = { version: facts.version, versionNum: facts.versionNum, inRecovery: facts.inRecovery };
  if (facts.versionNum < MINIMUM_SERVER_VERSION_NUM) {
    const failure = new RegistryDbError('unreachable', 'SERVER_TOO_OLD', `${where} runs PostgreSQL ${facts.version}; tofu-registry-db needs 12 or later.`, {
      hint: 'Upgrade the server (PostgreSQL 11 and older are out of support), or point TOFU_REGISTRY_DB_HOST at a newer one.',
    });
    return failed(failure, 'read server_version_num', { answer: `server_version_num = ${facts.versionNum}`, ...details });
  }
  if (facts.inRecovery) {
    const failure = new RegistryDbError('unreachable', 'READ_ONLY_STANDBY', `${where} is a read-only standby (pg_is_in_recovery() is true): the registry needs the primary.`, {
      hint: 'Connect to the primary: point TOFU_REGISTRY_DB_HOST at it (on a managed cluster, the writer endpoint, not a reader or replica).',
    });
    return failed(failure, 'SELECT pg_is_in_recovery()', { answer: 'pg_is_in_recovery() = true', ...details });
  }
  return passed(`PostgreSQL ${facts.version}, primary (accepts writes)`, details);
}

interface ServerRow {
  readonly version_num: number;
  readonly version: string;
  readonly in_recovery: boolean;
}

function serverFacts(row: ServerRow): ServerFacts {
  return { versionNum: row.version_num, version: row.version, inRecovery: row.in_recovery };
}

/** From the facts the database check read (it always runs, and passes, before this one). */
export async function checkServer(state: CheckState): Promise<CheckOutcome> {
  return judgeServer(state.server!, target(state));
}
