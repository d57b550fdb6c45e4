import { loggerOf, recordChange, type CoreContext } from '../db/context.js';
import { readEnvFile } from '../config/env-file.js';
import { envFileCredentials, withoutLogin } from '../config/env-file-credentials.js';
import { disconnect, type Connection } from '../db/connection.js';
import type { Logger } from '../logger.js';
import { ConfigError, keepCause, RegistryDbError } from '../errors.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { RESERVED_DATABASES } from '../config/names.js';
import { dropDatabaseSql, terminateSessionsSql } from '../sql/database.js';
import { runQuery } from '../db/query.js';
import { dropRoleSql } from '../sql/roles.js';
import { connectAsAdmin } from '../db/admin-connection.js';
import { standbyError } from '../db/primary.js';
import { VARIABLES } from '../config/variables.js';
import { quoteIdent } from '../sql/quote.js';

export interface DropOptions {
  readonly dryRun?: boolean;
}

export interface DropResult {
  readonly database: string;
  readonly role: string;
  readonly databaseDropped: boolean;
  readonly roleDropped: boolean;
  /** Why the role was kept, when it was. */
  readonly roleKept?: string;
  /** The dropped role's login taken out of the env file (with dryRun: what would be): variables removed, and a URI's user-info (changed). */
  readonly envFile?: { readonly path: string; readonly removedKeys: readonly string[]; readonly changedKeys: readonly string[] };
  readonly plannedSql?: string;
}

interface DropFacts {
  standby: boolean;
  server_version: number;
  database_exists: boolean;
  role_exists: boolean;
  role_is_superuser: boolean;
  role_is_admin: boolean;
  /** Whether the admin may drop the role: a superuser; with CREATEROLE, on PostgreSQL 16+ only with ADMIN OPTION on it. */
  admin_may_drop_role: boolean;
  /** Databases other than the registry one in which the role owns objects (or which it owns). */
  other_databases: string[];
}

const FACTS_SQL = `SELECT pg_is_in_recovery() AS standby,
       current_setting('server_version_num')::int AS server_version,
       EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS database_exists,
       r.oid IS NOT NULL AS role_exists,
       COALESCE(r.rolsuper, false) AS role_is_superuser,
       COALESCE(r.rolname = current_user, false) AS role_is_admin,
       a.rolsuper OR (a.rolcreaterole AND (current_setting('server_version_num')::int < 160000
                                           OR COALESCE(pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION'), false))) AS admin_may_drop_role,
       COALESCE((SELECT array_agg(DISTINCT d.datname ORDER BY d.datname)
                   FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
                  WHERE s.refobjid = r.oid AND s.refclassid = 'pg_authid'::regclass AND s.deptype = 'o' AND d.datname <> $1)::text[], '{}')
         || COALESCE((SELECT array_agg(datname ORDER BY datname) FROM pg_database
                       WHERE datdba = r.oid AND datname <> $1)::text[], '{}') AS other_databases
  FROM pg_roles a LEFT JOIN pg_roles r ON r.rolname = $2
 WHERE a.rolname = current_user`;

/**
 * `drop`: the registry database, then the application role. Refuses the system
 * databases, a role that is a superuser or the admin itself, and a role that owns
 * objects in other databases (dropping it would fail or take others' objects with it).
 */
export async function dropDatabaseAndRole(context: CoreContext, options: DropOptions = {}): Promise<DropResult> {
  const logger = loggerOf(context);
  const { database, user: role } = context.settings;
  if (RESERVED_DATABASES.has(database) || database === context.settings.admin.database) {
    throw new ConfigError(`Refusing to drop "${database}": it is a system or maintenance database.`, 'Use --name to name the registry database.', 'DROP_REFUSED');
  }
  const admin = await connectAsAdmin(context);
  try {
    const facts = (await runQuery<DropFacts>(admin, logger, FACTS_SQL, [database, role])).rows[0]!;
    if (facts.standby) throw standbyError(admin);
    let roleKept = refuseOrKeep(context, facts);
    const force = facts.server_version >= 130000;
    const plan = [
      ...(facts.database_exists && !force ? [terminateSessionsSql(database)] : []),
      ...(facts.database_exists ? [dropDatabaseSql(database, force)] : []),
      ...(facts.role_exists && !roleKept ? [dropRoleSql(role)] : []),
    ];
    if (options.dryRun) {
      const changes = roleKept ? undefined : credentialChanges(context);
      return {
        database,
        role,
        databaseDropped: false,
        roleDropped: false,
        roleKept,
        ...(changes ? { envFile: envFileChange(context.settings.envFile, changes) } : {}),
        plannedSql: plan.length ? plan.map((s) => `${s};`).join('\n') : '-- nothing to drop',
      };
    }
    if (facts.database_exists) await dropRegistryDatabase(admin, logger, database, force);
    let roleDropped = false;
    if (facts.role_exists && !roleKept) {
      logger.step(`Dropping role ${role}`);
      try {
        await runQuery(admin, logger, dropRoleSql(role));
        roleDropped = true;
      } catch (error) {
        // 2BP01: the role still holds privileges somewhere (another database's grants).
        if ((error as { code?: string }).code !== '2BP01') {
          if (!facts.database_exists) throw error;
          const failure = toRegistryDbError(error, { action: `Dropping role ${role}` });
          throw failure.rewrap(`Database "${database}" was dropped, but role "${role}" was not: ${failure.message}`, {
            data: { databaseDropped: true, roleDropped: false },
          });
        }
        roleKept = `it still holds privileges elsewhere: ${(error as { detail?: string }).detail ?? (error as Error).message}`;
      }
    }
    if (roleKept) logger.warn(`Kept role "${role}": ${roleKept}.`);
    if (facts.database_exists) recordChange(context, `dropped database "${database}"`);
    if (roleDropped) recordChange(context, `dropped role "${role}"`);
    // A role that is gone (dropped now, or before) leaves no credentials behind in the env file.
    const envFile = roleDropped || !facts.role_exists ? await forgetCredentials(context) : undefined;
    return { database, role, databaseDropped: facts.database_exists, roleDropped, roleKept, ...(envFile ? { envFile } : {}) };
  } finally {
    await disconnect(admin);
  }
}

/**
 * What drop refuses before anything is dropped (the database went first, and a run that then
 * failed on the role left half of what was asked done), and why it keeps the role, if it does.
 */
function refuseOrKeep(context: CoreContext, facts: DropFacts): string | undefined {
  const { user: role } = context.settings;
  let roleKept: string | undefined;
  if (facts.role_exists && (facts.role_is_superuser || facts.role_is_admin)) {
    throw new ConfigError(
      `Refusing to drop role "${role}": it is ${facts.role_is_admin ? 'the admin role running this command' : 'a superuser'}, not an application role.`,
      'Use --user to name the application role.',
      'DROP_REFUSED',
    );
  }
  if (facts.role_exists && facts.other_databases.length > 0) {
    roleKept = `it owns objects in other databases: ${facts.other_databases.join(', ')}`;
  }
  // Found out before anything is dropped: the database went first, and the run then failed on
  // the role, leaving half of what was asked done.
  if (facts.role_exists && !roleKept && !facts.admin_may_drop_role) {
    const admin = context.settings.admin.user;
    throw new RegistryDbError('auth', 'ROLE_NOT_MANAGEABLE', `Role "${admin}" may not drop role "${role}": nothing was dropped.`, {
      hint:
        facts.server_version >= 160000
          ? `Since PostgreSQL 16, CREATEROLE manages only the roles it created or holds ADMIN OPTION on: as a superuser (or "${role}"'s creator) run GRANT "${role}" TO "${admin}" WITH ADMIN OPTION, or run drop as that role.`
          : `Dropping a role needs CREATEROLE (or a superuser): ALTER ROLE "${admin}" CREATEROLE, or run drop as a superuser.`,
      cause: '42501',
    });
  }
  return roleKept;
}

/** The dropped role's login in the env file, taken out: its user and password variables, and a URI's user-info. */
function credentialChanges(context: CoreContext): Record<string, null | string> | undefined {
  const inFile = readEnvFile(context.settings.envFile);
  if (!inFile) return undefined;
  const role = context.settings.user;
  const credentials = envFileCredentials(inFile);
  const changes: Record<string, null | string> = {};
  if (credentials.role === role) for (const key of [VARIABLES.user, VARIABLES.password]) if (inFile[key] !== undefined) changes[key] = null;
  if (credentials.uri && (credentials.uri.parsed.params.user ?? credentials.role) === role) {
    const left = withoutLogin(credentials.uri.text);
    if (left !== credentials.uri.text) changes[credentials.uri.variable] = left;
  }
  return Object.keys(changes).length > 0 ? changes : undefined;
}

/** What drop does to the env file, for the result and --dry-run. */
function envFileChange(path: string, changes: Record<string, null | string>): DropResult['envFile'] {
  return {
    path,
    removedKeys: Object.keys(changes).filter((key) => changes[key] === null),
    changedKeys: Object.keys(changes).filter((key) => changes[key] !== null),
  };
}

/**
 * Takes the dropped role's user name and password out of the env file (the lines create-user
 * wrote, and the user-info of a URI naming the role), keeping every other line: a file that
 * still named the role would describe a login that no longer exists. A file that names another
 * role is left alone.
 */
async function forgetCredentials(context: CoreContext): Promise<DropResult['envFile']> {
  const changes = credentialChanges(context);
  if (!changes) return undefined;
  const { updateEnvFile } = await import('../config/env-file-update.js');
  const result = await updateEnvFile(context.settings.envFile, changes);
  if (result.written) recordChange(context, `took role "${context.settings.user}"'s login out of ${result.path} (${[...result.removedKeys, ...result.changedKeys].join(', ')})`);
  return { path: result.path, removedKeys: result.removedKeys, changedKeys: result.changedKeys };
}

/** The database, with the sessions still on it: WITH (FORCE) from PostgreSQL 13 on, pg_terminate_backend first before. */
async function dropRegistryDatabase(admin: Connection, logger: Logger, database: string, force: boolean): Promise<void> {
  logger.step(`Dropping database ${database}`);
  try {
    if (!force) await runQuery(admin, logger, terminateSessionsSql(database));
    await runQuery(admin, logger, dropDatabaseSql(database, force));
  } catch (error) {
    if ((error as { code?: string }).code === '42501') throw sessionsNotEnded(error, database, admin.user);
    throw error;
  }
}

/**
 * Other roles' sessions on the database (the registry API's) that the admin may not end: only a
 * superuser, a role with their privileges, or a member of pg_signal_backend may. WITH (FORCE)
 * (13+) and pg_terminate_backend (before) refuse alike, before anything is dropped.
 */
function sessionsNotEnded(error: unknown, database: string, admin: string): RegistryDbError {
  const detail = (error as { detail?: string }).detail;
  const failure = new RegistryDbError(
    'auth',
    'SESSIONS_NOT_ENDED',
    `Role "${admin}" may not end the other roles' sessions still connected to database "${database}" (SQLSTATE 42501: ${(error as Error).message}${detail ? `; ${detail}` : ''}): nothing was dropped.`,
    {
      hint: `Stop what is connected (the registry API) and run drop again; or, as a superuser, GRANT pg_signal_backend TO ${quoteIdent(admin)} (managed services give their admin role this).`,
      cause: '42501',
    },
  );
  keepCause(failure, error);
  return failure;
}
