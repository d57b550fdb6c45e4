import type { Role } from '../db/connection.js';
import { RegistryDbError } from '../errors.js';
import type { QueryResult } from 'pg';
import { runBatch } from '../db/batch.js';
import { failed, passed, type CheckOutcome, type CheckState } from './check.js';
import { quoteLiteral } from '../sql/quote.js';
import { compareMigrations, MIGRATIONS_TABLE, readAppliedMigrations } from '../migrations/bookkeeping.js';
import { isToolTableSql } from '../migrations/tool-tables.js';
import { changedMigrationsProblem } from '../migrations/migration-errors.js';

/** The registry's tables: the original design's three and what the registry protocols need (migrations 004-007). */
export const REGISTRY_TABLES = ['modules', 'providers', 'cache', 'provider_platforms', 'registry_providers', 'registry_modules', 'signing_keys', 'registry_import_sources'] as const;

/** The functions that answer the registry protocols' endpoints (migration 006): the API calls them. */
export const REGISTRY_FUNCTIONS = [
  'registry_provider_versions(text, text)',
  'registry_provider_download(text, text, text, text, text)',
  'registry_module_versions(text, text, text)',
  'registry_module_download(text, text, text, text)',
] as const;

function listed(names: readonly string[]): string {
  return names.join(', ');
}

/**
 * The catalog lookups of the schema and privileges checks. They read only the catalog, so
 * they travel in the database check's message (two round trips less) and the two checks
 * judge what came back; catalogLookups() hands each check its part.
 */
export function catalogLookupSql(): string[] {
  // The catalog, not to_regclass(): a table the role may not reach (no USAGE on the
  // schema) still exists, and the privileges check is the one to say what is missing.
  const tablesSql = `SELECT t AS table, EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = t AND c.relkind IN ('r', 'p')) AS present
  FROM unnest(ARRAY[${REGISTRY_TABLES.map(quoteLiteral).join(', ')}]) AS t`;
  const bookkeepingSql = `SELECT count(c.oid) > 0 AS present,
       COALESCE(bool_and(has_table_privilege(c.oid, 'SELECT')), false) AND has_schema_privilege('public', 'USAGE') AS readable
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ${quoteLiteral(MIGRATIONS_TABLE)}`;
  // oid 10 is the bootstrap superuser (the role initdb made): it can never lose SUPERUSER.
  const roleSql = `SELECT r.rolsuper AS superuser, r.oid = 10 AS bootstrap, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole,
       r.rolbypassrls AS bypassrls, r.rolreplication AS replication,
       ARRAY(SELECT DISTINCT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid ORDER BY 1) AS member_of,
       ARRAY(SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND ${isToolTableSql('c.relname')}
                AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')) ORDER BY 1) AS tool_tables_writable,
       has_schema_privilege('public', 'USAGE') AS schema_usage,
       has_schema_privilege('public', 'CREATE') AS schema_create,
       has_database_privilege(current_database(), 'CREATE') AS database_create,
       has_database_privilege(current_database(), 'TEMPORARY') AS database_temporary
  FROM pg_roles r WHERE r.rolname = current_user`;
  // Every table in public but the tool's own (migrations/tool-tables.ts), which the API never touches;
  // owned includes membership in the owning role, which gives the same powers.
  const privilegesSql = `SELECT c.relname AS name, pg_has_role(c.relowner, 'USAGE') AS owned,
       has_table_privilege(c.oid, 'SELECT') AS select, has_table_privilege(c.oid, 'INSERT') AS insert,
       has_table_privilege(c.oid, 'UPDATE') AS update, has_table_privilege(c.oid, 'DELETE') AS delete
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT ${isToolTableSql('c.relname')}
 ORDER BY c.relname`;
  const sequencesSql = `SELECT c.relname AS name, pg_has_role(c.relowner, 'USAGE') AS owned,
       has_sequence_privilege(c.oid, 'USAGE') AS usage, has_sequence_privilege(c.oid, 'SELECT') AS select
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
 ORDER BY c.relname`;
  // From pg_proc, not by name: a role without USAGE on the schema may not resolve names in it.
  // A function a pending migration will create is not there yet, and the schema check says so.
  const functionsSql = `SELECT f.name, has_function_privilege(p.oid, 'EXECUTE') AS execute
  FROM pg_proc p, LATERAL (SELECT p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS name) f
 WHERE p.pronamespace = 'public'::regnamespace AND f.name IN (${REGISTRY_FUNCTIONS.map(quoteLiteral).join(', ')})
 ORDER BY f.name`;
  return [tablesSql, bookkeepingSql, roleSql, privilegesSql, sequencesSql, functionsSql];
}

/** How many of catalogLookupSql()'s statements belong to the schema check (the rest are the privileges check's). */
const SCHEMA_LOOKUPS = 2;

/**
 * One check's part of the catalog lookup that the database check read (it always runs, and
 * passes, before these two). A statement that failed there fails the check it belongs to.
 */
async function catalogLookups(state: CheckState, check: 'schema' | 'privileges'): Promise<readonly QueryResult[]> {
  const lookup = state.catalog!;
  const [from, to] = check === 'schema' ? [0, SCHEMA_LOOKUPS] : [SCHEMA_LOOKUPS, catalogLookupSql().length];
  if (lookup.ok) return lookup.results.slice(from, to);
  if (lookup.failedAt < to) throw lookup.error;
  // A later statement failed, and a failed message keeps no results: ask for this part again.
  const again = await runBatch(state.connection!, state.logger, catalogLookupSql().slice(from, to));
  if (!again.ok) throw again.error;
  return again.results;
}

export async function checkSchema(state: CheckState): Promise<CheckOutcome> {
  const connection = state.connection!;
  const { database } = state.settings;
  const [facts, bookkeeping] = (await catalogLookups(state, 'schema')) as [QueryResult<{ table: string; present: boolean }>, QueryResult<{ present: boolean; readable: boolean }>];
  const missingTables = facts.rows.filter((row) => !row.present).map((row) => row.table);
  const { present: bookkept, readable } = bookkeeping.rows[0]!;

  const files = state.files ?? [];
  if (missingTables.length > 0 && bookkept && readable) {
    // Tables that pending migrations create are missing until migrate runs: that is the remedy.
    const pending = compareMigrations(files, await readAppliedMigrations(connection, state.logger, { exists: true })).filter((s) => s.state === 'pending');
    if (pending.length > 0) return pendingMigrations(state, files.length, pending.map((s) => `${s.version}_${s.name}`), { tables: REGISTRY_TABLES, missingTables, migrations: files.length });
  }
  if (missingTables.length > 0) {
    // Where the bookkeeping says the migrations ran, migrate will not run them again: the
    // tables were dropped after it, and only putting them back helps.
    const failure = new RegistryDbError('schema', 'SCHEMA_MISSING', `Database "${database}" lacks the table(s) ${listed(missingTables)}.`, {
      hint: bookkept
        ? `${MIGRATIONS_TABLE} records the migrations that created them, so \`migrate\` will not create them again: restore them from a backup (or recreate them as in sql/, then run \`tofu-registry-db create-user\` to grant on them); on a database that holds nothing worth keeping, \`tofu-registry-db drop\` and \`setup\` start it afresh.`
        : 'Run `tofu-registry-db migrate` (or `create-db`) as the admin to create them.',
    });
    return failed(failure, `look up tables ${listed(REGISTRY_TABLES)} in schema public of "${database}"`, {
      answer: `pg_class has no ${listed(missingTables.map((t) => `public.${t}`))}`,
      missingTables,
    });
  }

  if (bookkept && !readable) {
    // The API never reads the bookkeeping table, so its role need not have SELECT on it.
    return passed(
      `tables ${listed(REGISTRY_TABLES)} exist`,
      { tables: REGISTRY_TABLES },
      [`cannot tell whether all ${files.length} migrations are applied: "${state.user}" may not read ${MIGRATIONS_TABLE} (run \`tofu-registry-db migrate status\` or \`test-connection --admin\`)`],
    );
  }
  const statuses = compareMigrations(files, bookkept ? await readAppliedMigrations(connection, state.logger, { exists: true }) : []);
  const named = (state: string) => statuses.filter((s) => s.state === state).map((s) => `${s.version}_${s.name}`);
  const pending = named('pending');
  const changed = named('changed');
  const unknown = named('missing');
  const details = { tables: REGISTRY_TABLES, migrations: files.length, pending, changed, unknown };
  if (changed.length > 0) {
    const problem = changedMigrationsProblem(statuses.filter((s) => s.state === 'changed'), state.migrationsDir);
    const failure = new RegistryDbError('schema', problem.code, problem.message, { hint: problem.hint });
    return failed(failure, `compare the migrations in ${state.migrationsDir} with ${MIGRATIONS_TABLE}`, { answer: problem.code === 'MIGRATION_CHANGED' ? 'checksum differs' : 'other migrations under the same numbers', ...details });
  }
  if (pending.length > 0) return pendingMigrations(state, files.length, pending, details, bookkept);
  const warnings = unknown.length > 0
    ? [`the database has applied migration(s) that ${state.migrationsDir} does not hold (${listed(unknown)}): from a newer tofu-registry-db (upgrade this one) or from another --dir (pass the same --dir here)`]
    : [];
  return passed(`tables ${listed(REGISTRY_TABLES)} exist; all ${files.length} migrations applied`, details, warnings);
}

function pendingMigrations(state: CheckState, total: number, pending: readonly string[], details: Record<string, unknown>, bookkept = true): CheckOutcome {
  const failure = new RegistryDbError('schema', 'MIGRATIONS_PENDING', `${pending.length} of ${total} migration(s) are not applied to "${state.settings.database}": ${listed(pending)}.`, {
    hint: 'Run `tofu-registry-db migrate` as the admin.',
  });
  return failed(failure, `compare the migrations in ${state.migrationsDir} with ${MIGRATIONS_TABLE}`, {
    answer: bookkept ? `${MIGRATIONS_TABLE} lacks ${listed(pending)}` : `${MIGRATIONS_TABLE} does not exist`,
    ...details,
  });
}

/** What the privileges check reads from the catalog: facts in, verdict out. */
export interface PrivilegeFacts {
  readonly role: Role;
  readonly user: string;
  readonly superuser: boolean;
  /** The bootstrap superuser (oid 10, the role initdb created), which cannot be demoted. */
  readonly bootstrap?: boolean;
  /** The admin role of these settings: demoting it would leave create-db and migrate without their role. */
  readonly isAdmin?: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  readonly bypassrls?: boolean;
  readonly replication?: boolean;
  /** Roles it is a member of (pg_read_all_data and the like give their privileges). */
  readonly memberOf?: readonly string[];
  /** The tool's own tables (the migration bookkeeping, the leases) it may change, which only migrate should. */
  readonly writableToolTables?: readonly string[];
  readonly schemaUsage: boolean;
  readonly schemaCreate: boolean;
  readonly databaseCreate: boolean;
  readonly tables: readonly { name: string; owned: boolean; select: boolean; insert: boolean; update: boolean; delete: boolean }[];
  readonly sequences: readonly { name: string; owned: boolean; usage: boolean; select: boolean }[];
  /** The registry protocol functions present, and whether the role may call them. */
  readonly functions?: readonly { name: string; execute: boolean }[];
}

const TABLE_PRIVILEGES = ['select', 'insert', 'update', 'delete'] as const;
const SEQUENCE_PRIVILEGES = ['usage', 'select'] as const;

function missingGrants(facts: PrivilegeFacts): string[] {
  const missing: string[] = [];
  for (const table of facts.tables) {
    const lacking = TABLE_PRIVILEGES.filter((p) => !table[p]).map((p) => p.toUpperCase());
    if (lacking.length > 0) missing.push(`${lacking.join(', ')} on table ${table.name}`);
  }
  for (const sequence of facts.sequences) {
    const lacking = SEQUENCE_PRIVILEGES.filter((p) => !sequence[p]).map((p) => p.toUpperCase());
    if (lacking.length > 0) missing.push(`${lacking.join(', ')} on sequence ${sequence.name}`);
  }
  // Everyone may call a new function unless EXECUTE was revoked from PUBLIC.
  for (const fn of facts.functions ?? []) if (!fn.execute) missing.push(`EXECUTE on function ${fn.name}`);
  return missing;
}

/** More than the API needs: each is something a leaked application password would also give away. */
function excessPrivileges(facts: PrivilegeFacts, database: string): string[] {
  const role = `"${facts.user}"`;
  const excess: string[] = [];
  if (facts.superuser) {
    const dedicated = `give the API a role of its own: \`tofu-registry-db create-user --user <name>\` creates one with only what it needs, then set TOFU_REGISTRY_DB_USER to it`;
    // The bootstrap superuser cannot be demoted (PostgreSQL refuses), and demoting the admin would cripple create-db and migrate.
    if (facts.bootstrap || facts.isAdmin) {
      const which = facts.bootstrap ? 'the bootstrap superuser (the role initdb created), which always keeps SUPERUSER' : 'the admin role (TOFU_REGISTRY_DB_ADMIN_USER) and a superuser';
      return [`${role} is ${which}: the API would bypass every permission check (fix: ${dedicated})`];
    }
    return [`${role} is a superuser: it bypasses every permission check (fix: ${dedicated}; or, if nothing else needs it to be one, ALTER ROLE ${role} NOSUPERUSER as another superuser)`];
  }
  if (facts.createdb) excess.push(`${role} has CREATEDB (fix: ALTER ROLE ${role} NOCREATEDB)`);
  if (facts.createrole) excess.push(`${role} has CREATEROLE (fix: ALTER ROLE ${role} NOCREATEROLE)`);
  if (facts.replication) excess.push(`${role} has REPLICATION (fix: ALTER ROLE ${role} NOREPLICATION)`);
  if (facts.bypassrls) excess.push(`${role} has BYPASSRLS: row-level security does not apply to it (fix, as a superuser: ALTER ROLE ${role} NOBYPASSRLS)`);
  if (facts.memberOf && facts.memberOf.length > 0) {
    excess.push(`${role} is a member of ${listed(facts.memberOf)} and has their privileges too (fix: REVOKE ${facts.memberOf.join(', ')} FROM ${role})`);
  }
  if (facts.writableToolTables && facts.writableToolTables.length > 0) {
    const tables = listed(facts.writableToolTables);
    excess.push(`${role} may change ${tables}, which only migrate writes (fix: REVOKE INSERT, UPDATE, DELETE ON ${tables} FROM ${role})`);
  }
  const owned = [...facts.tables, ...facts.sequences].filter((r) => r.owned).map((r) => r.name);
  if (owned.length > 0) excess.push(`${role} owns ${listed(owned)}, so it may ALTER or DROP them (fix: ALTER TABLE … OWNER TO the admin role)`);
  if (facts.schemaCreate) {
    excess.push(`${role} may CREATE in schema public, as every role may before PostgreSQL 15 (fix: REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${role})`);
  }
  if (facts.databaseCreate) excess.push(`${role} may CREATE schemas in the database (fix: REVOKE CREATE ON DATABASE "${database}" FROM PUBLIC, ${role})`);
  return excess;
}

/** What the admin cannot do, as warnings: the admin is checked for what the other commands need. */
function adminGaps(facts: PrivilegeFacts): string[] {
  if (facts.superuser) return [];
  const gaps: string[] = [];
  if (!facts.createrole) gaps.push(`"${facts.user}" lacks CREATEROLE: create-user will fail`);
  if (!facts.createdb) gaps.push(`"${facts.user}" lacks CREATEDB: create-db cannot create a missing database`);
  if (!facts.schemaCreate) gaps.push(`"${facts.user}" may not CREATE in schema public: migrations that add tables will fail`);
  const foreign = facts.tables.filter((t) => !t.owned).map((t) => t.name);
  if (foreign.length > 0) gaps.push(`"${facts.user}" does not own ${listed(foreign)}: migrations cannot alter them and create-user cannot grant on them`);
  return gaps;
}

/** The privileges verdict, a pure function of the catalog facts. */
export function judgePrivileges(facts: PrivilegeFacts, database: string): CheckOutcome {
  const details = { superuser: facts.superuser, tables: facts.tables.map((t) => t.name), sequences: facts.sequences.map((s) => s.name), functions: (facts.functions ?? []).map((f) => f.name) };
  const remedy = facts.role === 'app'
    ? `Run \`tofu-registry-db create-user\` as the admin: it re-applies the grants "${facts.user}" needs.`
    : 'Run as the owner of the registry tables (the role that ran create-db), or grant the missing privileges.';
  const tried = `has_schema_privilege / has_table_privilege / has_sequence_privilege / has_function_privilege for "${facts.user}" in "${database}"`;
  if (!facts.schemaUsage) {
    const failure = new RegistryDbError('auth', 'PRIVILEGE_MISSING', `Role "${facts.user}" lacks USAGE on schema public of "${database}": it cannot reach the tables.`, {
      hint: remedy,
      cause: '42501',
    });
    return failed(failure, tried, { answer: "has_schema_privilege('public', 'USAGE') = false", ...details });
  }
  const missing = missingGrants(facts);
  if (missing.length > 0) {
    const unexecutable = (facts.functions ?? []).filter((fn) => !fn.execute).map((fn) => fn.name);
    // create-user grants on tables and sequences; functions are everyone's unless someone revoked that.
    const functionRemedy = unexecutable.length > 0 ? ` As the admin: GRANT EXECUTE ON FUNCTION ${unexecutable.join(', ')} TO "${facts.user}".` : '';
    const failure = new RegistryDbError('auth', 'PRIVILEGE_MISSING', `Role "${facts.user}" lacks privileges the registry API needs: ${missing.join('; ')}.`, {
      hint: unexecutable.length === missing.length ? functionRemedy.trim() : `${remedy}${functionRemedy}`,
      cause: '42501',
    });
    return failed(failure, tried, { answer: `missing: ${missing.join('; ')}`, missing, ...details });
  }
  const functionCount = facts.functions?.length ? `, call all ${facts.functions.length} registry functions` : '';
  const counted = `${facts.tables.length} tables, ${facts.sequences.length} sequences${functionCount}`;
  if (facts.role === 'admin') {
    return passed(`"${facts.user}" can read and write all ${counted}${facts.superuser ? ' (superuser)' : ''}`, details, adminGaps(facts));
  }
  const excess = excessPrivileges(facts, database);
  return passed(
    excess.length > 0
      ? `"${facts.user}" can read and write all ${counted}, and has more than it needs`
      : `"${facts.user}" can read and write all ${counted}, and has nothing more`,
    { ...details, excess },
    excess,
  );
}

export async function checkPrivileges(state: CheckState): Promise<CheckOutcome> {
  const [roleResult, tables, sequences, functions] = (await catalogLookups(state, 'privileges')) as [
    QueryResult,
    QueryResult<PrivilegeFacts['tables'][number]>,
    QueryResult<PrivilegeFacts['sequences'][number]>,
    QueryResult<NonNullable<PrivilegeFacts['functions']>[number]>,
  ];
  const role = roleResult.rows[0]!;
  state.canUseTemporary = role.database_temporary === true; // for the round trip
  return judgePrivileges(
    {
      role: state.role,
      user: state.user,
      superuser: role.superuser,
      bootstrap: role.bootstrap,
      isAdmin: state.user === state.settings.admin.user,
      createdb: role.createdb,
      createrole: role.createrole,
      bypassrls: role.bypassrls,
      replication: role.replication,
      memberOf: role.member_of,
      writableToolTables: role.tool_tables_writable,
      schemaUsage: role.schema_usage,
      schemaCreate: role.schema_create,
      databaseCreate: role.database_create,
      tables: tables.rows,
      sequences: sequences.rows,
      functions: functions.rows,
    },
    state.settings.database,
  );
}
