import { ConfigError } from '../../errors.js';
import { describe } from '../../config/names.js';
import type { Settings } from '../../config/settings.js';
import { MIGRATIONS_TABLE } from '../../migrations/bookkeeping.js';
import { LEASES_TABLE } from '../../migrations/lease.js';
import { quoteLiteral } from '../../sql/quote.js';

/**
 * create-user, step one: the facts. What the admin may do, what the database and its schema
 * look like, and what the role already is, read in one statement under create-user's lock;
 * plan.ts decides from them, transaction.ts acts.
 */

/** The schema the registry's tables live in. */
export const SCHEMA = 'public';

/**
 * create-user's advisory lock ("tofu" in ASCII, then 1). Advisory locks belong to the current
 * database, so this serialises the create-user runs on one registry database, whatever role
 * each one manages: the grants of two roles both rewrite the database's ACL, the schema's and
 * the admin's default privileges, and PostgreSQL answers a concurrent rewrite of one of those
 * rows with "tuple concurrently updated" (XX000) instead of waiting.
 */
export const CREATE_USER_LOCK = `${0x746f6675}, 1`; // decimal: hex literals need PostgreSQL 16

/** What the admin, the database and the role look like, read in the transaction under the lock. */
export interface RoleFacts {
  server_version: number;
  bookkeeping_exists: boolean;
  /** The lease table of no-transaction migrations (migrations/lease.ts): read-only for the role, as the bookkeeping. */
  leases_exist: boolean;
  admin_superuser: boolean;
  admin_createrole: boolean;
  admin_owns_database: boolean;
  database_owner: string;
  schema_exists: boolean;
  admin_owns_schema: boolean;
  /** May grant USAGE on the schema: its owner, a superuser, or a holder of the grant option. */
  admin_grants_on_schema: boolean;
  schema_owner: string | null;
  public_can_create: boolean;
  role_exists: boolean;
  role_superuser: boolean;
  role_createdb: boolean;
  role_createrole: boolean;
  role_replication: boolean;
  role_login: boolean;
  role_bypassrls: boolean;
  /** When its password stops working (VALID UNTIL), if it ever does. */
  role_valid_until: string | null;
  role_expired: boolean;
  admin_bypassrls: boolean;
  admin_has_admin_option: boolean;
  role_owns: string[];
  role_member_of: string[];
  foreign_objects: string[];
  /** The role's CONNECTION LIMIT (-1: none) and its sessions now. */
  role_connection_limit: number;
  role_connections: number;
  /** The database's CONNECTION LIMIT (-1: none) and its sessions now, this one left out. */
  database_connection_limit: number;
  database_connections: number;
}

/** The facts about `role` (a literal, quoted here) as seen by the admin in the registry database. */
export function roleFactsSql(role: string): string {
  const name = quoteLiteral(role);
  return `SELECT current_setting('server_version_num')::int AS server_version,
       to_regclass('${SCHEMA}.${MIGRATIONS_TABLE}') IS NOT NULL AS bookkeeping_exists,
       to_regclass('${SCHEMA}.${LEASES_TABLE}') IS NOT NULL AS leases_exist,
       a.rolsuper AS admin_superuser, a.rolcreaterole AS admin_createrole,
       pg_has_role(current_user, d.datdba, 'USAGE') AS admin_owns_database,
       pg_get_userbyid(d.datdba) AS database_owner,
       n.oid IS NOT NULL AS schema_exists,
       coalesce(pg_has_role(current_user, n.nspowner, 'USAGE'), false) AS admin_owns_schema,
       coalesce(has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION'), false) AS admin_grants_on_schema,
       pg_get_userbyid(n.nspowner) AS schema_owner,
       EXISTS (SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) acl
                WHERE acl.grantee = 0 AND acl.privilege_type = 'CREATE') AS public_can_create,
       r.oid IS NOT NULL AS role_exists,
       coalesce(r.rolsuper, false) AS role_superuser, coalesce(r.rolcreatedb, false) AS role_createdb,
       coalesce(r.rolcreaterole, false) AS role_createrole, coalesce(r.rolreplication, false) AS role_replication,
       coalesce(r.rolcanlogin, false) AS role_login,
       coalesce(r.rolbypassrls, false) AS role_bypassrls, a.rolbypassrls AS admin_bypassrls,
       CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') END AS role_valid_until,
       coalesce(r.rolvaliduntil < now(), false) AS role_expired,
       CASE WHEN r.oid IS NULL THEN false ELSE pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') END AS admin_has_admin_option,
       ARRAY(SELECT 'database ' || d.datname WHERE d.datdba = r.oid
             UNION ALL SELECT 'schema ' || n.nspname WHERE n.nspowner = r.oid
             UNION ALL SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = n.oid AND c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
             ORDER BY 1) AS role_owns,
       ARRAY(SELECT DISTINCT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid ORDER BY 1) AS role_member_of,
       coalesce(r.rolconnlimit, -1) AS role_connection_limit, d.datconnlimit AS database_connection_limit,
       (SELECT count(*) FROM pg_stat_activity s WHERE s.usename = ${name} AND s.backend_type = 'client backend')::int AS role_connections,
       (SELECT count(*) FROM pg_stat_activity s WHERE s.datid = d.oid AND s.backend_type = 'client backend' AND s.pid <> pg_backend_pid())::int AS database_connections,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
              ORDER BY 1) AS foreign_objects
  FROM pg_roles a
 CROSS JOIN pg_database d
  LEFT JOIN pg_namespace n ON n.nspname = '${SCHEMA}'
  LEFT JOIN pg_roles r ON r.rolname = ${name}
 WHERE a.rolname = current_user AND d.datname = current_database()`;
}

/** The role's privileges after the grants, read in the same transaction. */
export interface GrantCheck {
  can_connect: boolean;
  schema_usage: boolean;
  can_create_in_database: boolean;
  can_create_in_schema: boolean;
  tables_missing: string[];
  sequences_missing: string[];
  table_count: number;
  sequence_count: number;
}

/** Proves the end state inside the transaction: a grant the admin could not give fails the run. */
export function grantCheckSql(role: string): string {
  const name = `${quoteLiteral(role)}::name`;
  return `SELECT has_database_privilege(${name}, current_database(), 'CONNECT') AS can_connect,
       has_database_privilege(${name}, current_database(), 'CREATE') AS can_create_in_database,
       has_schema_privilege(${name}, '${SCHEMA}', 'USAGE') AS schema_usage,
       has_schema_privilege(${name}, '${SCHEMA}', 'CREATE') AS can_create_in_schema,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND NOT (has_table_privilege(${name}, c.oid, 'SELECT') AND (c.relname IN ('${MIGRATIONS_TABLE}', '${LEASES_TABLE}') OR (has_table_privilege(${name}, c.oid, 'INSERT')
                     AND has_table_privilege(${name}, c.oid, 'UPDATE') AND has_table_privilege(${name}, c.oid, 'DELETE'))))
              ORDER BY 1) AS tables_missing,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind = 'S'
                AND NOT (has_sequence_privilege(${name}, c.oid, 'USAGE') AND has_sequence_privilege(${name}, c.oid, 'SELECT'))
              ORDER BY 1) AS sequences_missing,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))::int AS table_count,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind = 'S')::int AS sequence_count`;
}

/** PostgreSQL rejects these as role names (reserved prefix and keywords). */
function reservedRoleNameProblem(role: string): string | undefined {
  if (role.startsWith('pg_')) return 'starts with "pg_", which PostgreSQL reserves for its own roles';
  if (role === 'public' || role === 'none') return 'is reserved by PostgreSQL';
  return undefined;
}

/** A role name PostgreSQL reserves, or the admin's own name, is refused before connecting. */
export function checkRoleName(settings: Settings): void {
  const role = settings.user;
  const reserved = reservedRoleNameProblem(role);
  const from = `(${settings.origins.user ?? 'default'})`;
  if (reserved) throw new ConfigError(`The application role ${describe(role)} ${from} ${reserved}. Nothing was changed.`, 'Choose another name with --user (or TOFU_REGISTRY_DB_USER).');
  if (role === settings.admin.user) {
    throw new ConfigError(
      `The application role and the admin role are both "${role}" (the application role from ${settings.origins.user ?? 'default'}, the admin from ${settings.origins.adminUser ?? 'default'}). Nothing was changed.`,
      'The application role must be a separate, least-privilege role: choose another --user (or TOFU_REGISTRY_DB_USER).',
    );
  }
}

