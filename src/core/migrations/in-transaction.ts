import { runBatch, type BatchOutcome } from '../db/batch.js';
import type { Connection } from '../db/connection.js';
import { transactionNetworkTimeoutsSql } from '../db/network-timeouts.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { runQuery } from '../db/query.js';
import type { Logger } from '../logger.js';
import { quoteLiteral } from '../sql/quote.js';
import {
  BOOKKEEPING_WRITES_REVOKED,
  CREATE_MIGRATIONS_TABLE,
  MIGRATION_LOCK_KEY,
  MIGRATIONS_TABLE,
  recordMigrationSql,
  stillInTransactionSql,
  TRANSACTION_ID_SQL,
} from './bookkeeping.js';
import type { LostCommitCheck } from './commit-doubt.js';
import type { MigrationFile } from './files.js';
import { changedMigrationError, migrationError } from './migration-errors.js';

/**
 * One migration in its own transaction, behind the transaction-scoped migration lock: the
 * file, a guard that it did not end its transaction, and its bookkeeping row. Its COMMIT is the
 * engine's (it travels with the next migration's opening statements).
 */

export interface InTransactionOptions {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly networkTimeoutMs: number;
  readonly logger: Logger;
}

/** The COMMIT of the migration before, which failed: that migration failed, not the next one. */
export class CommitFailed extends Error {
  /** The migration whose COMMIT it was. */
  file: MigrationFile | undefined;
  /** What a new session found out about it, when the answer was lost. */
  check: LostCommitCheck | undefined;
  constructor(readonly error: unknown) {
    super('COMMIT failed');
  }
}

export async function commitMigration(connection: Connection, logger: Logger): Promise<void> {
  try {
    await runQuery(connection, logger, 'COMMIT');
  } catch (error) {
    throw new CommitFailed(error);
  }
}

export async function applyInTransaction(
  connection: Connection,
  file: MigrationFile,
  options: InTransactionOptions,
  state: { readonly bookkeepingExists: boolean; readonly commitFirst: boolean },
): Promise<{ readonly outcome: 'applied' | 'skipped'; readonly xid: string }> {
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
  // The server-side network timeouts: a runner that goes silent leaves no open transaction
  // holding the migration lock for longer than the network timeout (db/network-timeouts.ts).
  const opening = ['BEGIN', `SET LOCAL statement_timeout = ${options.statementTimeoutMs}`, transactionNetworkTimeoutsSql(options.networkTimeoutMs)];
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
    return { outcome: 'skipped', xid }; // another runner applied it while we waited for the lock
  }
  // The file and its bookkeeping row travel in one round trip; the file comes first so
  // that PostgreSQL's error position points into it (the newline ends a trailing `--`
  // comment). COMMIT is sent only after the client has seen the file succeed, so a
  // runner killed mid-migration leaves an open transaction that the server rolls back.
  const ran = await runBatch(connection, logger, [file.sql, stillInTransactionSql(xid), recordMigrationSql(file)]);
  if (!ran.ok) throw migrationError(file, ran.error, ran.completedTags.length);
  return { outcome: 'applied', xid }; // its COMMIT is the caller's
}

