import { MIGRATIONS_TABLE } from '../migrations/bookkeeping.js';
import { quoteLiteral } from '../sql/quote.js';
import { REGISTRY_TABLES } from './schema.js';

/**
 * What `status` reads from the catalog, as the admin, in one message: the server and the
 * database, the registry tables, and the application role with its privileges. The role is
 * looked up by name (a literal), and its privileges are asked by its oid, so a role that does
 * not exist yields no row instead of an error that would end the batch.
 */

export interface ServerRow {
  readonly version: string;
  readonly version_num: number;
  readonly in_recovery: boolean;
  readonly admin: string;
  readonly owner: string;
  readonly encoding: string;
  readonly connection_limit: number;
  readonly sessions: number;
  readonly size_bytes: string;
  readonly bookkept: boolean;
}

export interface TableRow {
  readonly name: string;
  /** The statistics' count of live rows (pg_stat_user_tables, else pg_class.reltuples): no table is scanned. */
  readonly rows_estimate: string;
}

export interface RoleRow {
  readonly login: boolean;
  readonly superuser: boolean;
  readonly bootstrap: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  readonly connection_limit: number;
  readonly valid_until: string | null;
  readonly expired: boolean;
  readonly sessions: number;
  readonly connect: boolean;
  readonly schema_usage: boolean | null;
  readonly schema_create: boolean | null;
  readonly tables_missing: string[];
  readonly sequences_missing: string[];
  readonly table_count: number;
  readonly sequence_count: number;
}

export function statusCatalogSql(role: string): string[] {
  const server = `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS version_num,
       pg_is_in_recovery() AS in_recovery, current_user AS admin,
       pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding, d.datconnlimit AS connection_limit,
       (SELECT count(*) FROM pg_stat_activity s WHERE s.datid = d.oid AND s.backend_type = 'client backend' AND s.pid <> pg_backend_pid())::int AS sessions,
       pg_database_size(d.oid)::text AS size_bytes,
       to_regclass(${quoteLiteral(`public.${MIGRATIONS_TABLE}`)}) IS NOT NULL AS bookkept
  FROM pg_database d WHERE d.datname = current_database()`;
  const tables = `SELECT c.relname AS name, coalesce(st.n_live_tup, greatest(c.reltuples, 0)::bigint)::text AS rows_estimate
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname IN (${REGISTRY_TABLES.map(quoteLiteral).join(', ')})
 ORDER BY c.relname`;
  // Every table in public but the bookkeeping (read-only for the role), as test-connection's privileges check.
  const objects = (kinds: string) => `FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN (${kinds}) AND c.relname <> ${quoteLiteral(MIGRATIONS_TABLE)}`;
  const roleSql = `SELECT r.rolcanlogin AS login, r.rolsuper AS superuser, r.oid = 10 AS bootstrap, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole,
       r.rolconnlimit AS connection_limit,
       CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') END AS valid_until,
       coalesce(r.rolvaliduntil < now(), false) AS expired,
       (SELECT count(*) FROM pg_stat_activity s WHERE s.usename = r.rolname AND s.backend_type = 'client backend')::int AS sessions,
       has_database_privilege(r.oid, current_database(), 'CONNECT') AS connect,
       has_schema_privilege(r.oid, n.oid, 'USAGE') AS schema_usage,
       has_schema_privilege(r.oid, n.oid, 'CREATE') AS schema_create,
       ARRAY(SELECT c.relname::text ${objects("'r', 'p'")}
               AND NOT (has_table_privilege(r.oid, c.oid, 'SELECT') AND has_table_privilege(r.oid, c.oid, 'INSERT')
                    AND has_table_privilege(r.oid, c.oid, 'UPDATE') AND has_table_privilege(r.oid, c.oid, 'DELETE')) ORDER BY 1) AS tables_missing,
       ARRAY(SELECT c.relname::text ${objects("'S'")}
               AND NOT (has_sequence_privilege(r.oid, c.oid, 'USAGE') AND has_sequence_privilege(r.oid, c.oid, 'SELECT')) ORDER BY 1) AS sequences_missing,
       (SELECT count(*) ${objects("'r', 'p'")})::int AS table_count,
       (SELECT count(*) ${objects("'S'")})::int AS sequence_count
  FROM pg_roles r LEFT JOIN pg_namespace n ON n.nspname = 'public'
 WHERE r.rolname = ${quoteLiteral(role)}`;
  return [server, tables, roleSql];
}
