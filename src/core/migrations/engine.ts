import type { QueryResult, QueryResultRow } from 'pg';
import type { Connection } from '../db/connection.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { quoteLiteral } from '../config/names.js';
import type { Logger } from '../logger.js';
import { lineAndColumn, type MigrationFile } from './files.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { runBatch, type BatchOutcome } from '../db/batch.js';
import { stopwatch } from '../runtime/stopwatch.js';
import { scanStatements, transactionControlStatements } from '../sql/scan.js';

export const MIGRATIONS_TABLE = 'tofu_registry_migrations';

/**
 * Key of the transaction-scoped advisory lock that serialises migration runners in one
 * database. Transaction-scoped (pg_advisory_xact_lock), not session-scoped, so that it
 * also works through PgBouncer in transaction-pooling mode, where consecutive
 * transactions of one client may run on different server connections.
 */
export const MIGRATION_LOCK_KEY = 7_240_131_985_016_412n;

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing';

export interface MigrationStatus {
  readonly version: string;
  readonly name: string;
  /** The file name, or version_name for an applied migration whose file is gone. */
  readonly fileName: string;
  readonly state: MigrationState;
  readonly appliedAt?: string;
}

export type MigrationOutcome = 'applied' | 'skipped' | 'failed' | 'not-executed';

export interface MigrationResult {
  readonly version: string;
  readonly name: string;
  readonly fileName: string;
  readonly outcome: MigrationOutcome;
  readonly durationMs: number;
}

export interface MigrateResult {
  readonly database: string;
  readonly results: readonly MigrationResult[];
  readonly appliedCount: number;
  readonly upToDateCount: number;
  readonly dryRun: boolean;
  /** With dryRun: the SQL that would run. */
  readonly plannedSql?: string;
}

export interface MigrateOptions {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly dryRun?: boolean;
  readonly logger: Logger;
  /** Checked between migrations; an interrupted run stops at a migration boundary. */
  readonly signal?: AbortSignal;
  /** The database was created by this run: no bookkeeping table to read yet. */
  readonly freshDatabase?: boolean;
}

interface AppliedRow {
  version: string;
  name: string;
  checksum: string;
  applied_at: Date;
}

export async function runQuery<R extends QueryResultRow = QueryResultRow>(
  connection: Connection,
  logger: Logger,
  text: string,
  values?: readonly unknown[],
): Promise<QueryResult<R>> {
  logger.debug(text.trim());
  return connection.client.query<R>(text, values as unknown[] | undefined);
}

/** The bookkeeping table. Created under the migration lock, so concurrent runners never race on it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS public.${MIGRATIONS_TABLE} (
    version    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms INTEGER NOT NULL
)`;

/**
 * Right after the bookkeeping table is created: nobody but its owner may change it. Default
 * privileges (create-user's, when it ran before the first migration) would otherwise give the
 * application role INSERT, UPDATE and DELETE on it, as on every other table; it keeps SELECT.
 */
const BOOKKEEPING_WRITES_REVOKED = `DO $tofu$
DECLARE grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END
      FROM pg_class c, aclexplode(c.relacl) acl
     WHERE c.oid = 'public.${MIGRATIONS_TABLE}'::regclass AND acl.grantee <> c.relowner
       AND acl.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.${MIGRATIONS_TABLE} FROM %s', grantee);
  END LOOP;
END
$tofu$`;

/** Reads the transaction's id in the message that opens a migration: the guard after the file compares it. */
const TRANSACTION_ID_SQL = 'SELECT txid_current()::text AS xid';

/**
 * Runs after the file, before its bookkeeping row: a file that ended the transaction it runs
 * in (a COMMIT or ROLLBACK the scan did not see) now runs in another one, with another id, and
 * fails here, not recorded as applied. (A SET LOCAL marker would not do: RESET ALL clears it.)
 */
function stillInTransactionSql(xid: string): string {
  return `DO $tofu$ BEGIN
  IF txid_current()::text IS DISTINCT FROM ${quoteLiteral(xid)} THEN
    RAISE EXCEPTION USING ERRCODE = '25000', MESSAGE = 'tofu-registry-db: the migration ended the transaction it runs in';
  END IF;
END $tofu$`;
}

/**
 * Pending files that would end their own transaction: refused before anything runs (exit 2).
 * Each migration already runs in a transaction of its own, with the migration lock.
 */
export function checkTransactionControl(files: readonly MigrationFile[]): void {
  const found = files.flatMap((file) => transactionControlStatements(file.sql).map((s) => `${file.fileName}:${s.line} (${s.statement})`));
  if (found.length === 0) return;
  throw new ConfigError(
    `Migration files must not end the transaction they run in: ${found.join(', ')}. Nothing was applied.`,
    'Each migration already runs in its own transaction, with the migration lock and its bookkeeping row: remove BEGIN/COMMIT/ROLLBACK from the file. (ROLLBACK TO SAVEPOINT is fine.)',
    'MIGRATION_TRANSACTION_CONTROL',
  );
}

/** Reads what has been applied; an absent bookkeeping table means nothing has. */
/**
 * The bookkeeping rows. `known.exists` skips what the caller already knows (a database
 * created in this run has no table; test-connection has seen it in pg_class); otherwise
 * to_regclass() asks first. (Reading the table and treating 42P01 as "none" would save that
 * round trip but write an ERROR to the server log of every database without the table.)
 */
export async function readAppliedMigrations(connection: Connection, logger: Logger, known: { readonly exists?: boolean } = {}): Promise<AppliedRow[]> {
  if (known.exists === undefined) {
    const exists = await runQuery<{ present: boolean }>(
      connection,
      logger,
      `SELECT to_regclass('public.${MIGRATIONS_TABLE}') IS NOT NULL AS present`,
    );
    if (!exists.rows[0]?.present) return [];
  } else if (!known.exists) {
    return [];
  }
  const rows = await runQuery<AppliedRow>(connection, logger, `SELECT version, name, checksum, applied_at FROM public.${MIGRATIONS_TABLE}`);
  return rows.rows;
}

export function compareMigrations(files: readonly MigrationFile[], applied: readonly AppliedRow[]): MigrationStatus[] {
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  const statuses: MigrationStatus[] = files.map((file) => {
    const row = byVersion.get(file.version);
    byVersion.delete(file.version);
    if (!row) return { version: file.version, name: file.name, fileName: file.fileName, state: 'pending' };
    return {
      version: file.version,
      name: file.name,
      fileName: file.fileName,
      state: row.checksum === file.checksum ? 'applied' : 'changed',
      appliedAt: row.applied_at.toISOString(),
    };
  });
  for (const row of byVersion.values()) {
    statuses.push({ version: row.version, name: row.name, fileName: `${row.version}_${row.name}`, state: 'missing', appliedAt: row.applied_at.toISOString() });
  }
  return statuses.sort((a, b) => (BigInt(a.version) < BigInt(b.version) ? -1 : 1));
}

function changedMigrationError(changed: readonly MigrationStatus[]): RegistryDbError {
  const list = changed.map((m) => m.fileName).join(', ');
  return new RegistryDbError('schema', 'MIGRATION_CHANGED', `Applied migration(s) changed since they ran: ${list}.`, {
    hint: 'Migrations are forward-only: restore the original file and put the change in a new migration.',
    data: { changed: changed.map((m) => m.version) },
  });
}

/** The line of the file's statement that was running when the server failed it without a position. */
function failingStatement(file: MigrationFile, completed: number | undefined): { line: number; column: number; text: string } | undefined {
  if (completed === undefined) return undefined;
  const statement = scanStatements(file.sql)[completed];
  if (!statement) return undefined; // the bookkeeping after the file, not the file itself
  const text = file.sql.split('\n')[statement.line - 1] ?? '';
  return { line: statement.line, column: text.length - text.trimStart().length + 1, text: text.trimEnd() };
}

/**
 * The SQL a runner sends for one migration (the timeouts left out): what --dry-run prints.
 * `createBookkeeping`: the first migration of a database without the bookkeeping table.
 */
export function migrationTransactionSql(file: MigrationFile, options: { readonly createBookkeeping?: boolean } = {}): string {
  // Always a semicolon of its own: a last statement without one may end in a comment that
  // ends in one (`SELECT 1 -- done;`); an empty statement is harmless.
  const body = file.sql.trimEnd();
  return [
    `-- ${file.fileName} (sha256 ${file.checksum})`,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`,
    ...(options.createBookkeeping ? [`${CREATE_MIGRATIONS_TABLE};`, `${BOOKKEEPING_WRITES_REVOKED};`] : []),
    `${body}\n;`,
    recordMigrationSql(file) + ';',
    'COMMIT;',
  ].join('\n');
}

function recordMigrationSql(file: MigrationFile): string {
  // duration_ms: from the start of the transaction (now()) to the end of the migration.
  return `INSERT INTO public.${MIGRATIONS_TABLE} (version, name, checksum, duration_ms) VALUES (${quoteLiteral(file.version)}, ${quoteLiteral(file.name)}, ${quoteLiteral(file.checksum)}, (extract(epoch FROM clock_timestamp() - now()) * 1000)::integer)`;
}

/**
 * @param completed how many statements of the message completed before the error: where the
 *   server gives no position (a runtime error), it tells which of the file's statements failed.
 */
function migrationError(file: MigrationFile, error: unknown, completed?: number): RegistryDbError {
  const pgError = error as { code?: string; message?: string; position?: string; detail?: string; hint?: string };
  const mapped = toRegistryDbError(error, { action: `Migration ${file.fileName} failed` });
  // Lock and statement timeouts, permission problems and lost connections keep their
  // own code and class; any other SQL error is the migration's own fault.
  if (mapped.errorClass !== 'schema' || mapped.code === 'LOCK_TIMEOUT' || mapped.code === 'STATEMENT_TIMEOUT') {
    return mapped;
  }
  if (pgError.code === '25000' && pgError.message?.startsWith('tofu-registry-db: the migration ended')) {
    return new RegistryDbError(
      'schema',
      'MIGRATION_ENDS_TRANSACTION',
      `Migration ${file.fileName} ended the transaction it runs in (a COMMIT, ROLLBACK or END in the file): it was not recorded as applied, and what it did before that statement may have been committed.`,
      {
        hint: `Remove the transaction control from ${file.fileName} (each migration runs in its own transaction), check the database for what its first part created, then run migrate again.`,
        cause: pgError.code,
        data: { file: file.fileName },
      },
    );
  }
  const position = Number(pgError.position);
  const where = position > 0 && position <= file.sql.length ? lineAndColumn(file.sql, position) : failingStatement(file, completed);
  const location = where ? `${file.fileName}:${where.line}:${where.column}` : file.fileName;
  const excerpt = where ? `\n  ${where.text}\n  ${' '.repeat(Math.max(0, where.column - 1))}^` : '';
  return new RegistryDbError(
    'schema',
    'MIGRATION_FAILED',
    `Migration ${location} failed (SQLSTATE ${pgError.code}): ${pgError.message}${pgError.detail ? ` (${pgError.detail})` : ''}${excerpt}`,
    {
      hint: `Nothing of ${file.fileName} was applied (it ran in a transaction that was rolled back). Fix the file and run migrate again.`,
      cause: pgError.code,
      data: {
        file: file.fileName,
        ...(where ? { line: where.line, column: where.column } : {}),
        ...(pgError.detail ? { detail: pgError.detail } : {}),
        ...(pgError.hint ? { serverHint: pgError.hint } : {}),
      },
    },
  );
}

/**
 * Applies pending migrations, each in its own transaction that first takes the
 * migration lock and re-reads the bookkeeping table, so concurrent runners apply each
 * migration exactly once and a runner that waited simply finds it done.
 */
export async function applyPendingMigrations(
  connection: Connection,
  files: readonly MigrationFile[],
  options: MigrateOptions,
): Promise<MigrateResult> {
  const { logger } = options;
  const applied = await readAppliedMigrations(connection, logger, options.freshDatabase ? { exists: false } : {});
  const statuses = compareMigrations(files, applied);
  const changed = statuses.filter((s) => s.state === 'changed');
  if (changed.length > 0) throw changedMigrationError(changed);
  const pending = files.filter((file) => statuses.find((s) => s.version === file.version)?.state === 'pending');
  const upToDateCount = files.length - pending.length;
  checkTransactionControl(pending);

  if (options.dryRun) {
    return {
      database: connection.database,
      results: pending.map(notExecuted),
      appliedCount: 0,
      upToDateCount,
      dryRun: true,
      plannedSql: pending.map((file, i) => migrationTransactionSql(file, { createBookkeeping: i === 0 && applied.length === 0 })).join('\n\n'),
    };
  }

  const results: MigrationResult[] = [];
  // Once the bookkeeping table is known to exist, the preamble need not create it again.
  let bookkeepingExists = applied.length > 0;
  // An applied migration's COMMIT goes out with the next migration's preamble, one round
  // trip less per migration (the last one is sent alone). It is still sent only after the
  // client has seen the file and its bookkeeping row succeed.
  let commitPending = false;
  let index = 0;
  let elapsed = stopwatch();
  try {
    for (; index < pending.length && !options.signal?.aborted; index++) {
      const file = pending[index]!;
      logger.step(`Applying ${file.fileName}`);
      elapsed = stopwatch();
      const outcome = await applyOneMigration(connection, file, options, { bookkeepingExists, commitFirst: commitPending });
      commitPending = outcome === 'applied';
      bookkeepingExists = true;
      results.push({ version: file.version, name: file.name, fileName: file.fileName, outcome, durationMs: elapsed() });
    }
    if (commitPending) await commitMigration(connection, logger);
  } catch (error) {
    await connection.client.query('ROLLBACK').catch(() => undefined);
    // A COMMIT that failed belongs to the migration before the one being started.
    const commitFailure = error instanceof CommitFailed ? error : undefined;
    const file = commitFailure ? pending[results.length - 1]! : pending[index]!;
    if (commitFailure) results[results.length - 1] = { ...results[results.length - 1]!, outcome: 'failed' };
    else results.push({ version: file.version, name: file.name, fileName: file.fileName, outcome: 'failed', durationMs: elapsed() });
    results.push(...pending.slice(results.length).map((f) => notExecuted(f)));
    const cause = commitFailure ? commitFailure.error : error;
    const lockTimeout = cause instanceof RegistryDbError ? cause.sqlState === '55P03' : (cause as { code?: string }).code === '55P03';
    const blockers = lockTimeout ? await describeLockHolders(connection) : undefined;
    const failure = cause instanceof RegistryDbError ? cause : migrationError(file, cause);
    throw new RegistryDbError(failure.errorClass, failure.code, failure.message + (blockers ? ` Blocked by ${blockers}.` : ''), {
      hint: failure.hint,
      cause: failure.sqlState,
      data: { ...failure.data, results },
    });
  }
  // Interrupted between migrations: what follows did not run.
  results.push(...pending.slice(results.length).map((f) => notExecuted(f)));
  return {
    database: connection.database,
    results,
    appliedCount: results.filter((r) => r.outcome === 'applied').length,
    upToDateCount: upToDateCount + results.filter((r) => r.outcome === 'skipped').length,
    dryRun: false,
  };
}

/** Who holds table locks in this database right now: named in a lock-timeout error. */
async function describeLockHolders(connection: Connection): Promise<string | undefined> {
  const sql = `SELECT DISTINCT l.pid, a.usename, a.state, l.relation::regclass::text AS relation, l.mode
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.relation::regclass::text NOT LIKE 'pg\\_%'
 ORDER BY l.pid LIMIT 5`;
  try {
    const { rows } = await connection.client.query<{ pid: number; usename: string | null; state: string | null; relation: string; mode: string }>(sql);
    if (rows.length === 0) return undefined;
    // A role that is not a superuser sees other roles' sessions without their state (null).
    return rows.map((r) => `pid ${r.pid} (${r.usename ?? 'another role'}${r.state ? `, ${r.state}` : ''}) holding ${r.mode} on ${r.relation}`).join('; ');
  } catch {
    return undefined;
  }
}

function notExecuted(file: MigrationFile): MigrationResult {
  return { version: file.version, name: file.name, fileName: file.fileName, outcome: 'not-executed', durationMs: 0 };
}

/** The COMMIT of the migration before, which failed: that migration failed, not the next one. */
class CommitFailed extends Error {
  constructor(readonly error: unknown) {
    super('COMMIT failed');
  }
}

async function commitMigration(connection: Connection, logger: Logger): Promise<void> {
  try {
    await runQuery(connection, logger, 'COMMIT');
  } catch (error) {
    throw new CommitFailed(error);
  }
}

async function applyOneMigration(
  connection: Connection,
  file: MigrationFile,
  options: MigrateOptions,
  state: { readonly bookkeepingExists: boolean; readonly commitFirst: boolean },
): Promise<'applied' | 'skipped'> {
  const { logger } = options;
  // One round trip: open the transaction, wait for the lock (bounded by the statement
  // timeout, since the holder is itself bounded), then tighten lock_timeout so that the
  // migration's own DDL fails fast instead of queueing behind another session's lock.
  const waitForLock = [
    `SET LOCAL lock_timeout = ${options.statementTimeoutMs}`,
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
    `SET LOCAL lock_timeout = ${options.lockTimeoutMs}`,
    ...(state.bookkeepingExists ? [] : [CREATE_MIGRATIONS_TABLE, BOOKKEEPING_WRITES_REVOKED]),
    TRANSACTION_ID_SQL,
    `SELECT checksum FROM public.${MIGRATIONS_TABLE} WHERE version = ${quoteLiteral(file.version)}`,
  ];
  const opening = ['BEGIN', `SET LOCAL statement_timeout = ${options.statementTimeoutMs}`];
  let outcome: BatchOutcome;
  if (!state.commitFirst) {
    outcome = await runBatch(connection, logger, [...opening, ...waitForLock]);
  } else {
    // With the previous migration's COMMIT in front. Its answer arrives only when the whole
    // message is done, so this message never waits: it only tries the lock (the bookkeeping
    // table exists by now). Another runner holding it costs a second message that waits.
    const tried = await runBatch(connection, logger, [
      'COMMIT',
      ...opening,
      `SELECT pg_try_advisory_xact_lock(${MIGRATION_LOCK_KEY}) AS locked`,
      `SET LOCAL lock_timeout = ${options.lockTimeoutMs}`,
      TRANSACTION_ID_SQL,
      `SELECT checksum FROM public.${MIGRATIONS_TABLE} WHERE version = ${quoteLiteral(file.version)}`,
    ]);
    if (!tried.ok && tried.failedAt === 0) throw new CommitFailed(tried.error);
    const locked = tried.ok && (tried.results[1 + opening.length]!.rows[0] as { locked: boolean }).locked;
    outcome = !tried.ok || locked ? tried : await runBatch(connection, logger, waitForLock);
  }
  if (!outcome.ok) {
    // That message also creates the bookkeeping table when there is none: a permission error
    // there is about the schema, not the lock.
    const what = state.bookkeepingExists ? 'Waiting for the migration lock' : `Taking the migration lock and creating ${MIGRATIONS_TABLE}`;
    throw toRegistryDbError(outcome.error, { action: `${what} before ${file.fileName}`, user: connection.user, database: connection.database });
  }
  const existing = outcome.results[outcome.results.length - 1]?.rows[0] as { checksum: string } | undefined;
  const xid = (outcome.results[outcome.results.length - 2]?.rows[0] as { xid: string }).xid;
  if (existing) {
    await runQuery(connection, logger, 'ROLLBACK');
    if (existing.checksum !== file.checksum) {
      throw changedMigrationError([{ version: file.version, name: file.name, fileName: file.fileName, state: 'changed' }]);
    }
    return 'skipped'; // another runner applied it while we waited for the lock
  }
  // The file and its bookkeeping row travel in one round trip; the file comes first so
  // that PostgreSQL's error position points into it (the newline ends a trailing `--`
  // comment). COMMIT is sent only after the client has seen the file succeed, so a
  // runner killed mid-migration leaves an open transaction that the server rolls back.
  const ran = await runBatch(connection, logger, [file.sql, stillInTransactionSql(xid), recordMigrationSql(file)]);
  if (!ran.ok) throw migrationError(file, ran.error, ran.completedTags.length);
  return 'applied'; // its COMMIT is the caller's
}

export async function migrationStatus(connection: Connection, files: readonly MigrationFile[], logger: Logger): Promise<MigrationStatus[]> {
  return compareMigrations(files, await readAppliedMigrations(connection, logger));
}
