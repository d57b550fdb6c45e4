import type { Connection } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { rollbackQuietly } from '../db/query.js';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { stopwatch } from '../runtime/stopwatch.js';
import { compareMigrations, migrationTransactionSql, readAppliedMigrations, type MigrationStatus } from './bookkeeping.js';
import { checkLostCommit, commitInDoubt, lostCommitError } from './commit-doubt.js';
import type { MigrationFile } from './files.js';
import { applyInTransaction, CommitFailed, commitMigration } from './in-transaction.js';
import { changedMigrationError, checkTransactionControl, describeLockHolders, migrationError } from './migration-errors.js';
import { applyWithoutTransaction } from './no-transaction.js';
import { leaseTimings, noTransactionScript, readLeases } from './lease.js';
import { refuseUncreatableExtensions } from './extensions.js';

/**
 * The engine: applies pending migrations, each in its own transaction behind the migration
 * lock, exactly once however many runners race (bookkeeping.ts holds the SQL around each file).
 */

/** 'unknown': the answer to its COMMIT was lost and the check could not tell whether it took effect. */
export type MigrationOutcome = 'applied' | 'skipped' | 'failed' | 'not-executed' | 'unknown';

export interface MigrationResult {
  readonly version: string;
  readonly name: string;
  readonly fileName: string;
  readonly outcome: MigrationOutcome;
  readonly durationMs: number;
  /** False for a `--! no-transaction` file. */
  readonly transaction: boolean;
  /** Applied, but the server's answer to its COMMIT was lost (found out over a new connection). */
  readonly answerLost?: boolean;
  /** What the run did or found besides the file itself (an INVALID index dropped, a lost answer). */
  readonly notes?: readonly string[];
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
  /** TOFU_REGISTRY_DB_NETWORK_TIMEOUT: the server-side timeouts of each transaction (db/network-timeouts.ts). */
  readonly networkTimeoutMs: number;
  /**
   * Opens a second session to the same database: the lease heartbeat of a no-transaction file,
   * and the check of a COMMIT whose answer was lost. Without it such a COMMIT ends 'unknown'.
   */
  readonly openConnection?: () => Promise<Connection>;
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
  const applied = await readAppliedMigrations(connection, logger, options.freshDatabase ? { exists: false } : { confirmPrimary: true });
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
      plannedSql: pending.map((file, i) => migrationScript(file, { createBookkeeping: i === 0 && applied.length === 0, networkTimeoutMs: options.networkTimeoutMs })).join('\n\n'),
    };
  }

  const results: MigrationResult[] = [];
  // Once the bookkeeping table is known to exist, the preamble need not create it again.
  let bookkeepingExists = applied.length > 0;
  // An applied migration's COMMIT goes out with the next migration's preamble, one round
  // trip less per migration (the last one is sent alone). It is still sent only after the
  // client has seen the file and its bookkeeping row succeed. Its transaction id is kept: if
  // the answer to that COMMIT is lost, a new session asks the server what became of it.
  let commitPending: string | undefined;
  let finalCommit = false;
  let index = 0;
  let elapsed = stopwatch();
  try {
    for (; index < pending.length && !options.signal?.aborted; index++) {
      const file = pending[index]!;
      logger.step(`Applying ${file.fileName}${file.transaction ? '' : ' (outside a transaction)'}`);
      if (!file.transaction) {
        // Its lease is taken in transactions of its own: the COMMIT before it goes alone.
        if (commitPending !== undefined) await commitMigration(connection, logger);
        commitPending = undefined;
        elapsed = stopwatch();
        const outcome = await applyWithoutTransaction(connection, file, options, { bookkeepingExists });
        results.push({ ...resultOf(file, outcome.outcome, elapsed()), ...(outcome.answerLost ? { answerLost: true } : {}), ...(outcome.notes.length ? { notes: outcome.notes } : {}) });
      } else {
        elapsed = stopwatch();
        const outcome = await applyInTransaction(connection, file, options, { bookkeepingExists, commitFirst: commitPending !== undefined });
        commitPending = outcome.outcome === 'applied' ? outcome.xid : undefined;
        results.push(resultOf(file, outcome.outcome, elapsed()));
      }
      bookkeepingExists = true;
    }
    finalCommit = true;
    if (commitPending !== undefined) await commitMigration(connection, logger);
  } catch (error) {
    await rollbackQuietly(connection);
    if (error instanceof CommitFailed) {
      // A COMMIT that failed belongs to the migration before the one being started.
      error.file = pending[results.length - 1]!;
      await settleFailedCommit(error, commitPending!, results, options);
      // The run's last COMMIT took effect though its answer was lost: the schema is up to date.
      if (finalCommit && error.check?.verdict === 'committed') return finished(connection, results, pending, upToDateCount);
    } else {
      const unknown = error instanceof RegistryDbError && error.code === 'MIGRATION_OUTCOME_UNKNOWN'; // a no-transaction file's record
      results.push(resultOf(pending[index]!, unknown ? 'unknown' : 'failed', elapsed()));
    }
    results.push(...pending.slice(results.length).map((f) => notExecuted(f)));
    throw await failureOf(connection, error, pending[index], results);
  }
  return finished(connection, results, pending, upToDateCount);
}

/** What --dry-run prints for one migration: the script that does what a runner does, as printed. */
export function migrationScript(file: MigrationFile, options: { readonly createBookkeeping: boolean; readonly networkTimeoutMs: number }): string {
  if (file.transaction) return migrationTransactionSql(file, { createBookkeeping: options.createBookkeeping });
  return noTransactionScript(file, { createBookkeeping: options.createBookkeeping, durationMs: leaseTimings(options.networkTimeoutMs).durationMs });
}

function resultOf(file: MigrationFile, outcome: MigrationOutcome, durationMs: number): MigrationResult {
  return { version: file.version, name: file.name, fileName: file.fileName, outcome, durationMs, transaction: file.transaction };
}

function finished(connection: Connection, results: MigrationResult[], pending: readonly MigrationFile[], upToDateCount: number): MigrateResult {
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

/**
 * The COMMIT of the last applied migration failed. An answer from the server (a deferred
 * constraint) means it was rolled back; a lost connection leaves it in doubt, which a new
 * session settles (commit-doubt.ts). Marks the migration with what is true.
 */
async function settleFailedCommit(failure: CommitFailed, xid: string, results: MigrationResult[], options: MigrateOptions): Promise<void> {
  const last = results.length - 1;
  if (!commitInDoubt(failure.error)) {
    results[last] = { ...results[last]!, outcome: 'failed' };
    return;
  }
  const check = await checkLostCommit(options.openConnection, xid, failure.file!, options);
  failure.check = check;
  const note = `the server's answer to its COMMIT was lost; ${check.detail}`;
  if (check.verdict === 'committed') {
    options.logger.warn(`${failure.file!.fileName} is applied: ${note}.`);
    results[last] = { ...results[last]!, answerLost: true, notes: [note] };
  } else {
    results[last] = { ...results[last]!, outcome: check.verdict === 'unknown' ? 'unknown' : 'failed', notes: [note] };
  }
}

/** The error the run ends with, its results attached (a lock timeout names who holds the lock). */
async function failureOf(connection: Connection, error: unknown, current: MigrationFile | undefined, results: readonly MigrationResult[]): Promise<RegistryDbError> {
  const data = { results };
  if (error instanceof CommitFailed && error.check) {
    const { check, file } = error;
    if (check.verdict !== 'committed') return lostCommitError(file!, check, error.error, data);
    // It committed; the run stopped there because the connection is gone.
    const lost = toRegistryDbError(error.error, { user: connection.user, database: connection.database });
    return new RegistryDbError(lost.errorClass, lost.code, `${lost.message} ${file!.fileName} was applied all the same (checked over a new connection: ${check.detail}); the migrations after it did not run.`, {
      hint: 'Run migrate again once the network path is stable: it applies what is pending, exactly once.',
      cause: lost.sqlState,
      data,
    });
  }
  const file = error instanceof CommitFailed ? error.file! : current!;
  const cause = error instanceof CommitFailed ? error.error : error;
  const lockTimeout = cause instanceof RegistryDbError ? cause.sqlState === '55P03' : (cause as { code?: string }).code === '55P03';
  const blockers = lockTimeout ? await describeLockHolders(connection) : undefined;
  const failure = cause instanceof RegistryDbError ? cause : migrationError(file, cause);
  return failure.rewrap(failure.message + (blockers ? ` Blocked by ${blockers}.` : ''), { data });
}

function notExecuted(file: MigrationFile): MigrationResult {
  return resultOf(file, 'not-executed', 0);
}

/** Applied, pending, changed and missing migrations; a pending no-transaction file shows its lease, if one is out. */
export async function migrationStatus(connection: Connection, files: readonly MigrationFile[], logger: Logger): Promise<MigrationStatus[]> {
  const statuses = compareMigrations(files, await readAppliedMigrations(connection, logger));
  if (files.every((file) => file.transaction)) return statuses;
  const leases = await readLeases(connection, logger);
  return statuses.map((status) => {
    const lease = status.state === 'pending' ? leases.find((l) => l.version === status.version) : undefined;
    return lease ? { ...status, lease: { since: lease.acquired_at.toISOString(), until: lease.expires_at.toISOString(), live: lease.live } } : status;
  });
}
