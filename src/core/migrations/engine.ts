import { runBatch, type BatchOutcome } from '../db/batch.js';
import type { Connection } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { rollbackQuietly, runQuery } from '../db/query.js';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { stopwatch } from '../runtime/stopwatch.js';
import { quoteLiteral } from '../sql/quote.js';
import {
  BOOKKEEPING_WRITES_REVOKED,
  compareMigrations,
  CREATE_MIGRATIONS_TABLE,
  MIGRATION_LOCK_KEY,
  MIGRATIONS_TABLE,
  migrationTransactionSql,
  readAppliedMigrations,
  recordMigrationSql,
  stillInTransactionSql,
  TRANSACTION_ID_SQL,
  type MigrationStatus,
} from './bookkeeping.js';
import type { MigrationFile } from './files.js';
import { changedMigrationError, checkTransactionControl, describeLockHolders, migrationError } from './migration-errors.js';
import { refuseUncreatableExtensions } from './extensions.js';

/**
 * The engine: applies pending migrations, each in its own transaction behind the migration
 * lock, exactly once however many runners race (bookkeeping.ts holds the SQL around each file).
 */

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
  // create-db checked a database it has just created, before creating it.
  if (!options.freshDatabase) await refuseUncreatableExtensions(connection, pending, logger);

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
    await rollbackQuietly(connection);
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
    throw failure.rewrap(failure.message + (blockers ? ` Blocked by ${blockers}.` : ''), { data: { results } });
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
