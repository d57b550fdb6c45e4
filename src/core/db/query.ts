import type { QueryResult, QueryResultRow } from 'pg';
import type { Connection } from './connection.js';
import type { Logger } from '../logger.js';
import { redactSecrets } from '../redact.js';

/**
 * The one way a statement is sent with bound values: logged first (--verbose), redacted,
 * since the logger may belong to an embedding program and SQL can carry a SCRAM verifier.
 * Several statements in one round trip go through runBatch (db/batch.ts), which logs the same way.
 */
export async function runQuery<R extends QueryResultRow = QueryResultRow>(
  connection: Connection,
  logger: Logger,
  sql: string,
  values?: readonly unknown[],
): Promise<QueryResult<R>> {
  logger.debug(redactSecrets(sql.trim()));
  return connection.client.query<R>(sql, values as unknown[] | undefined);
}

/** Ends a transaction that failed, ignoring errors: a ROLLBACK outside a transaction is harmless. */
export async function rollbackQuietly(connection: Connection): Promise<void> {
  await connection.client.query('ROLLBACK').catch(() => undefined);
}
