import type { QueryResult } from 'pg';
import type { Connection } from './connection.js';
import type { Logger } from '../logger.js';
import { redactSecrets } from '../redact.js';

/** The outcome of a batch: every statement's result, or the first failure and where it happened. */
export type BatchOutcome =
  | { readonly ok: true; readonly results: readonly QueryResult[] }
  | {
      readonly ok: false;
      readonly failedAt: number;
      readonly error: unknown;
      /** The command tags ("INSERT 0 1", "UPDATE 0", …) of the statements before the failing one. */
      readonly completedTags: readonly string[];
    };

interface ProtocolEvents {
  on(event: 'commandComplete', listener: (message: { text?: string }) => void): unknown;
  off(event: 'commandComplete', listener: (message: { text?: string }) => void): unknown;
}

/** The row count a command tag reports (its last number): "INSERT 0 1" → 1, "SELECT 0" → 0. */
export function tagRowCount(tag: string): number | undefined {
  const count = /(\d+)$/.exec(tag)?.[1];
  return count === undefined ? undefined : Number(count);
}

/**
 * Sends several statements as one message of the simple query protocol: one round trip,
 * however many statements, where one query each would wait for the server every time
 * (the grants of create-user, test-connection's round trip).
 *
 * PostgreSQL runs them in order and stops at the first error. Which statement failed is
 * known from the CommandComplete messages counted before the error: every statement sends
 * exactly one. The statements take no bound parameters: values go in as literals
 * (quoteLiteral); the log sees them redacted (a SCRAM verifier, for one).
 */
export async function runBatch(connection: Connection, logger: Logger, statements: readonly string[]): Promise<BatchOutcome> {
  // The logger may belong to an embedding program: it only ever sees redacted SQL.
  for (const statement of statements) logger.debug(redactSecrets(statement.trim()));
  const events = (connection.client as unknown as { connection?: ProtocolEvents }).connection;
  const tags: string[] = [];
  const count = (message: { text?: string }): void => {
    tags.push(message.text ?? '');
  };
  events?.on('commandComplete', count);
  try {
    // On a line of its own, the separator cannot end up inside a statement's trailing -- comment.
    const result = (await connection.client.query(statements.join('\n;\n'))) as QueryResult | QueryResult[];
    return { ok: true, results: Array.isArray(result) ? result : [result] };
  } catch (error) {
    return { ok: false, failedAt: Math.min(tags.length, statements.length - 1), error, completedTags: tags };
  } finally {
    events?.off('commandComplete', count);
  }
}
