import type { Connection } from '../db/connection.js';
import { runQuery } from '../db/query.js';
import type { Logger } from '../logger.js';
import { qualifiedNameSql, type ConcurrentIndexBuild } from '../sql/index-statements.js';
import { quoteLiteral } from '../sql/quote.js';

/**
 * A CREATE INDEX CONCURRENTLY that failed or was cancelled after its first phase leaves the index
 * behind, INVALID (unused by queries, but still updated by every write); a REINDEX … CONCURRENTLY
 * leaves a `<name>_ccnew` (or `_ccold`) copy. Run again as it is, the statement fails ("already
 * exists"), or with IF NOT EXISTS skips the broken index and records the migration as applied.
 * So before such a statement of a no-transaction file runs, what an earlier run left of it is
 * dropped (DROP INDEX CONCURRENTLY: no lock that blocks writes).
 */

const JOINS = `FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT i.indisvalid`;

/** The INVALID indexes an interrupted run of this statement may have left, schema-qualified and quoted. */
export function leftoverInvalidIndexesSql(build: ConcurrentIndexBuild): string {
  const select = `SELECT format('%I.%I', n.nspname, c.relname) AS index ${JOINS}`;
  if (build.kind === 'create') {
    return `${select} AND i.indrelid = to_regclass(${quoteLiteral(qualifiedNameSql(build.table))}) AND c.relname = ${quoteLiteral(build.index ?? '')}`;
  }
  const copies = `~ '^_cc(new|old)[0-9]*$'`;
  if (build.target === 'table') {
    return `${select} AND i.indrelid = to_regclass(${quoteLiteral(qualifiedNameSql(build.name))}) AND c.relname ~ '_cc(new|old)[0-9]*$'`;
  }
  const base = quoteLiteral(build.name.name);
  return `${select} AND i.indrelid = (SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass(${quoteLiteral(qualifiedNameSql(build.name))}))
   AND left(c.relname, length(${base})) = ${base} AND substr(c.relname, length(${base}) + 1) ${copies}`;
}

/** Drops them; returns a note for each, for the result. */
export async function dropLeftoverInvalidIndexes(connection: Connection, build: ConcurrentIndexBuild, tag: string, logger: Logger): Promise<string[]> {
  const { rows } = await runQuery<{ index: string }>(connection, logger, leftoverInvalidIndexesSql(build));
  const notes: string[] = [];
  for (const { index } of rows) {
    // The index name comes from format('%I'): quoted as an identifier by the server.
    await runQuery(connection, logger, `${tag}DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
    const note = `dropped the INVALID index ${index} that an interrupted ${build.kind === 'create' ? 'CREATE INDEX CONCURRENTLY' : 'REINDEX CONCURRENTLY'} left, before building it again`;
    logger.warn(note);
    notes.push(note);
  }
  return notes;
}
