import { quoteIdent } from '../config/names.js';

/**
 * Dynamic SQL for provisioning. Small pure functions: every name is quoted as an
 * identifier here, and each builder has an exact-string unit test.
 */

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE ${quoteIdent(database)}`;
}

/** PostgreSQL 13+ terminates other sessions itself; older servers need pg_terminate_backend first. */
export function dropDatabaseSql(database: string, force: boolean): string {
  return `DROP DATABASE IF EXISTS ${quoteIdent(database)}${force ? ' WITH (FORCE)' : ''}`;
}

export function dropRoleSql(role: string): string {
  return `DROP ROLE IF EXISTS ${quoteIdent(role)}`;
}

/** For servers before 13: end other sessions on the database (bound parameter, not pasted). */
export const TERMINATE_SESSIONS_SQL =
  'SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()';
