import { quoteIdent, quoteLiteral } from './quote.js';

/**
 * Dynamic SQL for the registry database. Small pure functions: every name is quoted as an
 * identifier here, and each builder has an exact-string unit test.
 */

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE ${quoteIdent(database)}`;
}

/** PostgreSQL 13+ terminates other sessions itself; older servers need pg_terminate_backend first. */
export function dropDatabaseSql(database: string, force: boolean): string {
  return `DROP DATABASE IF EXISTS ${quoteIdent(database)}${force ? ' WITH (FORCE)' : ''}`;
}

/** For servers before 13: end the other sessions on the database before dropping it. */
export function terminateSessionsSql(database: string): string {
  return `SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity WHERE datname = ${quoteLiteral(database)} AND pid <> pg_backend_pid()`;
}
