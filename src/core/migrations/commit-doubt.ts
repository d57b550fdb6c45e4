import { closeClient, type Connection } from '../db/connection.js';
import { runQuery } from '../db/query.js';
import { isSqlState, RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { readAppliedMigrations } from './bookkeeping.js';
import type { MigrationFile } from './files.js';

/**
 * A COMMIT whose answer never came: the server may have committed (and recorded the migration)
 * or not. create-user settles the same doubt by logging in with the new password; here a new
 * session waits until the transaction is no longer in progress (txid_status(), PostgreSQL's
 * answer to exactly this question; the server ends a transaction of ours whose client went
 * silent within the network timeout, so the wait is bounded) and then reads the bookkeeping:
 * the row is there only if the COMMIT took effect.
 */

export type CommitVerdict = 'committed' | 'rolled-back' | 'unknown';

export interface LostCommitCheck {
  readonly verdict: CommitVerdict;
  /** What was found, for the message. */
  readonly detail: string;
}

/** A failed COMMIT that may still have happened: the connection was lost, the server did not answer with an error. */
export function commitInDoubt(error: unknown): boolean {
  const code = (error as { sqlState?: unknown; code?: unknown })?.sqlState ?? (error as { code?: unknown })?.code;
  return !isSqlState(code) || code.startsWith('08') || code.startsWith('57P');
}

export async function checkLostCommit(
  open: (() => Promise<Connection>) | undefined,
  xid: string,
  file: MigrationFile,
  options: { readonly networkTimeoutMs: number; readonly logger: Logger },
): Promise<LostCommitCheck> {
  if (!open) return { verdict: 'unknown', detail: 'no second connection could be opened to check' };
  let connection: Connection;
  try {
    connection = await open();
  } catch (error) {
    return { verdict: 'unknown', detail: `the server could not be reached to check (${(error as Error).message})` };
  }
  try {
    const status = await transactionEnd(connection, xid, options);
    const applied = (await readAppliedMigrations(connection, options.logger)).find((row) => row.version === file.version);
    // A row that can be seen was committed, whatever txid_status could tell.
    if (applied) return { verdict: 'committed', detail: `${file.fileName} is recorded in the bookkeeping as applied at ${applied.applied_at.toISOString()}` };
    if (status === 'in progress' || status === undefined) {
      return { verdict: 'unknown', detail: `its transaction ${status === 'in progress' ? 'was still open on the server' : 'could not be looked up'} when the check gave up` };
    }
    return { verdict: 'rolled-back', detail: `its transaction was rolled back (txid_status: ${status}) and ${file.fileName} is not recorded` };
  } catch (error) {
    return { verdict: 'unknown', detail: `the check failed (${(error as Error).message})` };
  } finally {
    await closeClient(connection.client);
  }
}

/** Waits until the transaction is no longer in progress, at most the network timeout and 5 s more. */
async function transactionEnd(connection: Connection, xid: string, options: { readonly networkTimeoutMs: number; readonly logger: Logger }): Promise<string | undefined> {
  const deadline = Date.now() + options.networkTimeoutMs + 5000;
  for (;;) {
    let status: string | undefined;
    try {
      const { rows } = await runQuery<{ status: string | null }>(connection, options.logger, 'SELECT txid_status($1::bigint) AS status', [xid]);
      status = rows[0]?.status ?? undefined;
    } catch (error) {
      // After a failover the new primary may not know the id ("in the future"): the bookkeeping decides.
      options.logger.debug(`txid_status(${xid}) failed: ${(error as Error).message}`);
      return undefined;
    }
    if (status !== 'in progress' || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The run's failure when a lost COMMIT did not (or may not) take effect: exit 3, what was found, what to do. */
export function lostCommitError(file: MigrationFile, check: LostCommitCheck, cause: unknown, data: Readonly<Record<string, unknown>> = {}): RegistryDbError {
  const lost = (cause as Error)?.message ?? String(cause);
  if (check.verdict === 'rolled-back') {
    return new RegistryDbError('unreachable', 'CONNECTION_LOST', `The connection was lost at the COMMIT of ${file.fileName} (${lost}); checked over a new connection: ${check.detail}. It was not applied.`, {
      hint: 'Run migrate again once the network path is stable: it applies what is pending, exactly once.',
      data: { file: file.fileName, commit: 'rolled-back', ...data },
    });
  }
  return new RegistryDbError('unreachable', 'MIGRATION_OUTCOME_UNKNOWN', `The connection was lost at the COMMIT of ${file.fileName} (${lost}), and whether it took effect is not known: ${check.detail}.`, {
    hint: 'Run `tofu-registry-db migrate status` once the server can be reached: it shows whether it is applied. `migrate` applies it if it is not, never twice.',
    data: { file: file.fileName, commit: 'unknown', ...data },
  });
}
