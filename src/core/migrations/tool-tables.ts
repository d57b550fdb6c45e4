import { quoteLiteral } from '../sql/quote.js';
import { MIGRATIONS_TABLE } from './bookkeeping.js';
import { LEASES_TABLE } from './lease.js';

/**
 * The tool's own tables in schema public: the migration bookkeeping, and the leases of
 * no-transaction migrations (created by the first one). Only migrate writes them; the
 * application role may read them (test-connection reads the bookkeeping as that role) and never
 * writes them. They are not among "the tables" the API needs privileges on: every privilege
 * check, count and summary (create-user, status, test-connection) leaves them out through
 * this one list, and a role that may write one is warned about.
 */
export const TOOL_TABLES: readonly string[] = [MIGRATIONS_TABLE, LEASES_TABLE];

/** SQL: the relation-name column given is one of the tool's tables (`IN (…)`), as literals. */
export function isToolTableSql(column: string): string {
  return `${column} IN (${TOOL_TABLES.map(quoteLiteral).join(', ')})`;
}
