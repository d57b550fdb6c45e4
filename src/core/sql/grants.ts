import { quoteIdent } from './quote.js';

/**
 * The application role's privileges: each object's grants first revoked, then granted, so a
 * re-run converges on exactly these. Small pure functions with exact-string unit tests.
 */

export const DATABASE_PRIVILEGES = 'CONNECT, TEMPORARY';
export const SCHEMA_PRIVILEGES = 'USAGE';
export const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
export const SEQUENCE_PRIVILEGES = 'USAGE, SELECT';

export type DefaultPrivilegeObjects = 'TABLES' | 'SEQUENCES';

/** Without this every role on the server may connect: PUBLIC holds CONNECT on new databases. */
export function revokeConnectFromPublicSql(database: string): string {
  return `REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM PUBLIC`;
}

/** PostgreSQL 14 and older (and clusters upgraded from them) let PUBLIC create objects in schema public. */
export function revokeCreateOnSchemaFromPublicSql(schema: string): string {
  return `REVOKE CREATE ON SCHEMA ${quoteIdent(schema)} FROM PUBLIC`;
}

export function revokeDatabasePrivilegesSql(database: string, role: string): string {
  return `REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM ${quoteIdent(role)}`;
}

/** TEMPORARY: test-connection's round trip uses a temporary table. */
export function grantDatabasePrivilegesSql(database: string, role: string): string {
  return `GRANT ${DATABASE_PRIVILEGES} ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)}`;
}

export function revokeSchemaPrivilegesSql(schema: string, role: string): string {
  return `REVOKE ALL ON SCHEMA ${quoteIdent(schema)} FROM ${quoteIdent(role)}`;
}

export function grantSchemaUsageSql(schema: string, role: string): string {
  return `GRANT ${SCHEMA_PRIVILEGES} ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`;
}

export function revokeTablePrivilegesSql(schema: string, role: string): string {
  return `REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} FROM ${quoteIdent(role)}`;
}

export function grantTablePrivilegesSql(schema: string, role: string): string {
  return `GRANT ${TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`;
}

/** Tables the role may read but not change (the migration bookkeeping: the API never writes it). */
export function revokeTableWritesSql(schema: string, table: string, role: string): string {
  return `REVOKE INSERT, UPDATE, DELETE ON ${quoteIdent(schema)}.${quoteIdent(table)} FROM ${quoteIdent(role)}`;
}

export function revokeSequencePrivilegesSql(schema: string, role: string): string {
  return `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${quoteIdent(schema)} FROM ${quoteIdent(role)}`;
}

export function grantSequencePrivilegesSql(schema: string, role: string): string {
  return `GRANT ${SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`;
}

/** Default privileges apply to objects that `owner` creates later: the admin that runs migrations. */
export function revokeDefaultPrivilegesSql(owner: string, schema: string, objects: DefaultPrivilegeObjects, role: string): string {
  return `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(owner)} IN SCHEMA ${quoteIdent(schema)} REVOKE ALL ON ${objects} FROM ${quoteIdent(role)}`;
}

export function grantDefaultPrivilegesSql(owner: string, schema: string, objects: DefaultPrivilegeObjects, role: string): string {
  const privileges = objects === 'TABLES' ? TABLE_PRIVILEGES : SEQUENCE_PRIVILEGES;
  return `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(owner)} IN SCHEMA ${quoteIdent(schema)} GRANT ${privileges} ON ${objects} TO ${quoteIdent(role)}`;
}

export interface AppRoleGrantPlan {
  readonly database: string;
  readonly schema: string;
  readonly role: string;
  /** The role that creates tables (runs migrations): default privileges are set for it. */
  readonly owner: string;
  readonly revokeCreateOnSchemaFromPublic: boolean;
  /**
   * Whether the admin may grant on the schema (default true). PostgreSQL 14 and older make the
   * bootstrap superuser the owner of schema public, and a managed admin's GRANT there only
   * earns a warning: the role then uses it through PUBLIC's USAGE.
   */
  readonly grantOnSchema?: boolean;
  /** Existing tables that stay read-only for the role. */
  readonly readOnlyTables?: readonly string[];
}

/**
 * The privileges, in order. Each object's grants are first revoked and then granted,
 * in one transaction, so a re-run converges on exactly these privileges even if someone
 * granted the role more in the meantime.
 */
export function appRoleGrantsSql(plan: AppRoleGrantPlan): string[] {
  const { database, schema, role, owner } = plan;
  return [
    revokeConnectFromPublicSql(database),
    revokeDatabasePrivilegesSql(database, role),
    grantDatabasePrivilegesSql(database, role),
    ...(plan.revokeCreateOnSchemaFromPublic ? [revokeCreateOnSchemaFromPublicSql(schema)] : []),
    ...(plan.grantOnSchema === false ? [] : [revokeSchemaPrivilegesSql(schema, role), grantSchemaUsageSql(schema, role)]),
    revokeTablePrivilegesSql(schema, role),
    grantTablePrivilegesSql(schema, role),
    ...(plan.readOnlyTables ?? []).map((table) => revokeTableWritesSql(schema, table, role)),
    revokeSequencePrivilegesSql(schema, role),
    grantSequencePrivilegesSql(schema, role),
    revokeDefaultPrivilegesSql(owner, schema, 'TABLES', role),
    grantDefaultPrivilegesSql(owner, schema, 'TABLES', role),
    revokeDefaultPrivilegesSql(owner, schema, 'SEQUENCES', role),
    grantDefaultPrivilegesSql(owner, schema, 'SEQUENCES', role),
  ];
}
