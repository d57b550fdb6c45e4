import { runBatch } from '../db/batch.js';
import type { Connection } from '../db/connection.js';
import { abandonConnection } from '../db/liveness.js';
import { resetSessionTimeoutsSql, sessionNetworkTimeoutsSql, transactionNetworkTimeoutsSql } from '../db/network-timeouts.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { rollbackQuietly, runQuery } from '../db/query.js';
import { InterruptedError, RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { concurrentIndexBuild } from '../sql/index-statements.js';
import { quoteLiteral } from '../sql/quote.js';
import { scanStatements } from '../sql/scan.js';
import { BOOKKEEPING_WRITES_REVOKED, CREATE_MIGRATIONS_TABLE, MIGRATION_LOCK_KEY, MIGRATIONS_TABLE, TRANSACTION_ID_SQL } from './bookkeeping.js';
import { checkLostCommit, commitInDoubt, lostCommitError } from './commit-doubt.js';
import type { MigrationFile } from './files.js';
import { dropLeftoverInvalidIndexes } from './invalid-indexes.js';
import {
  CREATE_LEASES_TABLE,
  FENCE_EXPIRED_SQL,
  LeaseHeartbeat,
  leaseTimings,
  newLeaseToken,
  READ_LEASES_SQL,
  recordUnderLeaseSql,
  releaseLeaseSql,
  statementTag,
  takeLeaseSql,
  type LeaseRow,
} from './lease.js';
import { changedMigrationError, migrationError } from './migration-errors.js';

/**
 * A `--! no-transaction` file: outside a transaction, one statement at a time, each in a message
 * of its own (CREATE INDEX CONCURRENTLY, REINDEX … CONCURRENTLY and VACUUM refuse a transaction
 * block, and several statements in one message are one). Exactly once among concurrent runners
 * through a lease (lease.ts) instead of the transaction-scoped lock; recorded, in a transaction
 * that checks the lease is still ours, only after every statement succeeded.
 */

export interface NoTransactionOptions {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly networkTimeoutMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** A second session: the lease's heartbeat, and the check of a COMMIT whose answer was lost. */
  readonly openConnection?: () => Promise<Connection>;
}

export interface NoTransactionOutcome {
  readonly outcome: 'applied' | 'skipped';
  /** What the run did besides the file's statements (an INVALID index dropped), or found (a lost answer). */
  readonly notes: readonly string[];
  readonly answerLost?: boolean;
}

export async function applyWithoutTransaction(
  connection: Connection,
  file: MigrationFile,
  options: NoTransactionOptions,
  state: { readonly bookkeepingExists: boolean },
): Promise<NoTransactionOutcome> {
  const open = options.openConnection;
  if (!open) throw new RegistryDbError('internal', 'INTERNAL', `${file.fileName} runs outside a transaction, which needs a second connection (openConnection) for its lease.`);
  const token = newLeaseToken();
  const timings = leaseTimings(options.networkTimeoutMs);
  const taken = await takeLease(connection, file, token, timings.durationMs, options, state);
  if (taken === 'skipped') return { outcome: 'skipped', notes: [] };
  const started = Date.now();
  const heartbeat = new LeaseHeartbeat(open, { version: file.version, token, ...timings }, options.logger, (reason) =>
    abandonConnection(connection, leaseLostError(file, reason)),
  );
  let serverAnswered = true; // a failure the server answered: none of our statements can still be running
  try {
    // A session of our own (not a pooled one) may carry session settings: the statement and lock
    // timeouts then bound each statement as they bound a transaction's. Through a pooler they
    // would stay on a server connection other clients use next: the server's defaults apply.
    if (taken.ownSession) await runQuery(connection, options.logger, sessionNetworkTimeoutsSql(options));
    const notes = await runStatements(connection, file, token, heartbeat, options);
    if (taken.ownSession) await runQuery(connection, options.logger, resetSessionTimeoutsSql());
    serverAnswered = false;
    const recorded = await recordUnderLease(connection, file, token, Date.now() - started, options);
    return { outcome: 'applied', notes: [...notes, ...recorded.notes], answerLost: recorded.answerLost };
  } catch (error) {
    serverAnswered &&= error instanceof RegistryDbError ? error.errorClass !== 'unreachable' : !commitInDoubt(error);
    // Given back only when nothing of ours can still run; otherwise it expires, and the next
    // runner cancels what still runs before it takes over.
    if (serverAnswered && !heartbeat.lost) await runQuery(connection, options.logger, releaseLeaseSql(file.version, token)).catch(() => undefined);
    if (serverAnswered && taken.ownSession) await runQuery(connection, options.logger, resetSessionTimeoutsSql()).catch(() => undefined);
    if (heartbeat.lost && !(error instanceof RegistryDbError && error.code === 'MIGRATION_LEASE_LOST')) throw leaseLostError(file, heartbeat.lost);
    throw error;
  } finally {
    await heartbeat.stop();
  }
}

/** Takes the lease, waiting while another runner holds it; 'skipped' when the migration is recorded by now. */
async function takeLease(
  connection: Connection,
  file: MigrationFile,
  token: string,
  durationMs: number,
  options: NoTransactionOptions,
  state: { readonly bookkeepingExists: boolean },
): Promise<'skipped' | { readonly ownSession: boolean }> {
  const { logger } = options;
  const deadline = Date.now() + options.statementTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    const read = await runBatch(connection, logger, [
      'BEGIN',
      `SET LOCAL statement_timeout = ${options.statementTimeoutMs}`,
      transactionNetworkTimeoutsSql(options.networkTimeoutMs),
      `SET LOCAL lock_timeout = ${options.statementTimeoutMs}`,
      `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
      `SET LOCAL lock_timeout = ${options.lockTimeoutMs}`,
      ...(state.bookkeepingExists ? [] : [CREATE_MIGRATIONS_TABLE, BOOKKEEPING_WRITES_REVOKED]),
      ...CREATE_LEASES_TABLE,
      `SELECT checksum FROM public.${MIGRATIONS_TABLE} WHERE version = ${quoteLiteral(file.version)}`,
      READ_LEASES_SQL,
      FENCE_EXPIRED_SQL,
      'SELECT pg_backend_pid() AS pid',
    ]);
    if (!read.ok) {
      await rollbackQuietly(connection);
      throw toRegistryDbError(read.error, { action: `Taking the migration lease for ${file.fileName}`, user: connection.user, database: connection.database });
    }
    const n = read.results.length;
    const existing = read.results[n - 4]!.rows[0] as { checksum: string } | undefined;
    const leases = read.results[n - 3]!.rows as LeaseRow[];
    const stillRunning = read.results[n - 2]!.rows.length;
    if (existing) {
      await runQuery(connection, logger, 'ROLLBACK');
      if (existing.checksum !== file.checksum) throw changedMigrationError([{ version: file.version, name: file.name, fileName: file.fileName, state: 'changed' }]);
      return 'skipped';
    }
    const held = leases.find((lease) => lease.live && lease.holder !== token);
    if (!held && stillRunning === 0) {
      const take = await runBatch(connection, logger, [...takeLeaseSql(file.version, token, durationMs), 'COMMIT']);
      if (!take.ok) {
        await rollbackQuietly(connection);
        throw toRegistryDbError(take.error, { action: `Taking the migration lease for ${file.fileName}`, user: connection.user, database: connection.database });
      }
      if (take.results[1]!.rowCount === 1) {
        const expired = leases.find((lease) => lease.version === file.version);
        if (expired) logger.warn(`${file.fileName}: took over the lease of a runner that stopped renewing it (since ${expired.acquired_at.toISOString()}); the file runs again from its first statement.`);
        const pid = (read.results[n - 1]!.rows[0] as { pid: number }).pid;
        return { ownSession: pid === (connection.client as unknown as { processID: number | null }).processID };
      }
      continue; // renewed by its holder meanwhile: read again
    }
    await runQuery(connection, logger, 'ROLLBACK');
    if (Date.now() >= deadline) throw leaseHeldError(file, held, stillRunning, options.statementTimeoutMs);
    if (attempt === 0) {
      logger.step(
        held
          ? `Waiting for another runner applying ${held.version === file.version ? file.fileName : `version ${held.version}`} outside a transaction (lease until ${held.expires_at.toISOString()})`
          : `Waiting for ${stillRunning} statement(s) of a runner that stopped to be cancelled`,
      );
    }
    await pause(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)), options.signal);
  }
}

async function runStatements(connection: Connection, file: MigrationFile, token: string, heartbeat: LeaseHeartbeat, options: NoTransactionOptions): Promise<string[]> {
  const statements = scanStatements(file.sql);
  const tag = statementTag(token);
  const notes: string[] = [];
  for (const [index, statement] of statements.entries()) {
    if (options.signal?.aborted) throw new InterruptedError(`${file.fileName} (after ${index} of its ${statements.length} statements)`);
    // Sent only while the lease surely outlives the network timeout: another runner takes over
    // only after it expired, and then cancels what this one still runs.
    while (!heartbeat.lost && heartbeat.remainingMs() < options.networkTimeoutMs) await pause(100);
    if (heartbeat.lost) throw leaseLostError(file, heartbeat.lost);
    const text = file.sql.slice(statement.start, statement.end);
    const build = concurrentIndexBuild(text);
    if (build) notes.push(...(await dropLeftoverInvalidIndexes(connection, build, tag, options.logger)));
    try {
      await runQuery(connection, options.logger, tag + text);
    } catch (error) {
      const positionShift = Array.from(file.sql.slice(0, statement.start)).length - tag.length;
      throw migrationError(file, error, undefined, { index, total: statements.length, positionShift, indexBuild: build !== undefined });
    }
  }
  return notes;
}

/** The bookkeeping row and the lease given back, in one transaction; a lost answer to its COMMIT is checked. */
async function recordUnderLease(
  connection: Connection,
  file: MigrationFile,
  token: string,
  durationMs: number,
  options: NoTransactionOptions,
): Promise<{ notes: string[]; answerLost?: boolean }> {
  const { logger } = options;
  const opened = await runBatch(connection, logger, [
    'BEGIN',
    `SET LOCAL statement_timeout = ${options.statementTimeoutMs}`,
    transactionNetworkTimeoutsSql(options.networkTimeoutMs),
    `SET LOCAL lock_timeout = ${options.statementTimeoutMs}`,
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
    TRANSACTION_ID_SQL,
    ...recordUnderLeaseSql(file, token, durationMs),
  ]);
  if (!opened.ok) {
    await rollbackQuietly(connection);
    throw toRegistryDbError(opened.error, { action: `Recording ${file.fileName}`, user: connection.user, database: connection.database });
  }
  const xid = (opened.results[5]!.rows[0] as { xid: string }).xid;
  if (opened.results[6]!.rowCount !== 1) {
    await runQuery(connection, logger, 'ROLLBACK');
    throw leaseLostError(file, 'another runner took it over after it expired; that runner runs the file again and records it');
  }
  try {
    await runQuery(connection, logger, 'COMMIT');
    return { notes: [] };
  } catch (error) {
    if (!commitInDoubt(error)) throw migrationError(file, error);
    const check = await checkLostCommit(options.openConnection, xid, file, options);
    if (check.verdict !== 'committed') throw lostCommitError(file, check, error);
    logger.warn(`${file.fileName}: the server's answer to its COMMIT was lost; ${check.detail}.`);
    return { notes: [`the server's answer to its COMMIT was lost; ${check.detail}`], answerLost: true };
  }
}

function leaseLostError(file: MigrationFile, reason: string): RegistryDbError {
  return new RegistryDbError('unreachable', 'MIGRATION_LEASE_LOST', `Lost the migration lease for ${file.fileName} (it runs outside a transaction): ${reason}. It is not recorded as applied.`, {
    hint: 'Statements of the file may have run and stay. Run migrate again once the server is reachable: the file runs again from its first statement (an INVALID index left by CREATE INDEX CONCURRENTLY is dropped and built again).',
    data: { file: file.fileName },
  });
}

function leaseHeldError(file: MigrationFile, held: LeaseRow | undefined, stillRunning: number, waitedMs: number): RegistryDbError {
  const what = held
    ? `another runner holds the migration lease (version ${held.version}, since ${held.acquired_at.toISOString()}, renewed until ${held.expires_at.toISOString()})`
    : `${stillRunning} statement(s) of a runner whose lease expired still run after being cancelled`;
  return new RegistryDbError('schema', 'MIGRATION_LEASE_HELD', `Gave up waiting to apply ${file.fileName} after ${Math.round(waitedMs / 1000)} s: ${what}.`, {
    hint: 'A migration that runs outside a transaction (a large CREATE INDEX CONCURRENTLY) may take long: wait for it and run migrate again, or raise TOFU_REGISTRY_DB_STATEMENT_TIMEOUT. A lease whose runner died expires on its own within twice TOFU_REGISTRY_DB_NETWORK_TIMEOUT.',
    data: { file: file.fileName, ...(held ? { lease: { version: held.version, since: held.acquired_at.toISOString(), until: held.expires_at.toISOString() } } : {}) },
  });
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new InterruptedError('waiting for the migration lease'));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
