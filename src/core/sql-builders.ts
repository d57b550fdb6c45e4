import { quoteIdent } from './identifiers.js';

/**
 * Dynamic SQL for provisioning. Small pure functions: every name is quoted as an
 * identifier here, and each builder has an exact-string unit test.
 */

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE ${quoteIdent(database)}`;
}
