import { runBatch } from '../../db/batch.js';
import { CONNECTION_VARIABLES, VARIABLES, readEnvFile, type Settings } from '../../config/settings.js';
import { connect, disconnect, type Connection } from '../../db/connection.js';
import { assertPrimary, connectAsAdmin, loggerOf, type CoreContext } from '../../db/context.js';
import { runCritical } from '../../runtime/critical-section.js';
import { ConfigError, RegistryDbError } from '../../errors.js';
import { checkEnvFileWritable, planEnvFileUpdate, prepareEnvFileUpdate, type EnvFileUpdateResult, type PreparedEnvFileUpdate } from '../../config/env-file.js';
import { describe, quoteLiteral, refuseSystemDatabase } from '../../config/names.js';
import type { Logger } from '../../logger.js';
import { generateAppPassword } from '../password.js';
import { toRegistryDbError } from '../../db/pg-errors.js';
import { REDACTED, redactSecrets, registerSecret } from '../../redact.js';
import {
  alterRoleSql,
  appRoleGrantsSql,
  createRoleSql,
  DATABASE_PRIVILEGES,
  SCHEMA_PRIVILEGES,
  SEQUENCE_PRIVILEGES,
  TABLE_PRIVILEGES,
  type AppRoleAttribute,
} from '../../sql/roles.js';
import { scramSha256VerifierAsync, scramVerifierMatches } from '../scram.js';
import { MIGRATIONS_TABLE } from '../../migrations/engine.js';

export interface CreateUserOptions {
  /** Give an existing role a new password (a new role always gets one). */
  readonly rotatePassword?: boolean;
  /** Write the credentials into the env file (default true). */
  readonly writeEnv?: boolean;
  /** Return the SQL that would run (password redacted) and change nothing. */
  readonly dryRun?: boolean;
  /**
   * Whether the caller keeps the returned password (prints or stores it). Default true.
   * When false and the env file is not written either, a new password would be known to
   * nobody: createUser then refuses (exit 2) before changing anything.
   */
  readonly passwordKept?: boolean;
}

export interface CreateUserEnvFile {
  readonly path: string;
  /** False with dryRun, or when the file already held every value. */
  readonly written: boolean;
  /** With dryRun: whether it would be created. */
  readonly created: boolean;
  readonly addedKeys: readonly string[];
  readonly changedKeys: readonly string[];
  readonly warnings: readonly string[];
}

export interface CreateUserResult {
  readonly role: string;
  readonly database: string;
  /** False when the role existed (also with dryRun). */
  readonly created: boolean;
  readonly passwordChanged: boolean;
  /** Only when a password was generated (new role) or rotated. */
  readonly password?: string;
  readonly envFile?: CreateUserEnvFile;
  /** What the role may do, in words. */
  readonly grants: readonly string[];
  readonly warnings: readonly string[];
  /** With dryRun: the SQL that would run, password redacted. */
  readonly plannedSql?: string;
}

const SCHEMA = 'public';

/**
 * create-user's advisory lock ("tofu" in ASCII, then 1). Advisory locks belong to the current
 * database, so this serialises the create-user runs on one registry database, whatever role
 * each one manages: the grants of two roles both rewrite the database's ACL, the schema's and
 * the admin's default privileges, and PostgreSQL answers a concurrent rewrite of one of those
 * rows with "tuple concurrently updated" (XX000) instead of waiting.
 */
const CREATE_USER_LOCK = `${0x746f6675}, 1`; // decimal: hex literals need PostgreSQL 16

/** PostgreSQL rejects these as role names (reserved prefix and keywords). */
function reservedRoleNameProblem(role: string): string | undefined {
  if (role.startsWith('pg_')) return 'starts with "pg_", which PostgreSQL reserves for its own roles';
  if (role === 'public' || role === 'none') return 'is reserved by PostgreSQL';
  return undefined;
}

interface Facts {
  server_version: number;
  bookkeeping_exists: boolean;
  admin_superuser: boolean;
  admin_createrole: boolean;
  admin_owns_database: boolean;
  database_owner: string;
  schema_exists: boolean;
  admin_owns_schema: boolean;
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
}

const FACTS_SQL = `SELECT current_setting('server_version_num')::int AS server_version,
       to_regclass('${SCHEMA}.${MIGRATIONS_TABLE}') IS NOT NULL AS bookkeeping_exists,
       a.rolsuper AS admin_superuser, a.rolcreaterole AS admin_createrole,
       pg_has_role(current_user, d.datdba, 'USAGE') AS admin_owns_database,
       pg_get_userbyid(d.datdba) AS database_owner,
       n.oid IS NOT NULL AS schema_exists,
       coalesce(pg_has_role(current_user, n.nspowner, 'USAGE'), false) AS admin_owns_schema,
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
       ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid ORDER BY 1) AS role_member_of,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
              ORDER BY 1) AS foreign_objects
  FROM pg_roles a
 CROSS JOIN pg_database d
  LEFT JOIN pg_namespace n ON n.nspname = '${SCHEMA}'
  LEFT JOIN pg_roles r ON r.rolname = $1
 WHERE a.rolname = current_user AND d.datname = current_database()`;

interface GrantCheck {
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
const GRANT_CHECK_SQL = `SELECT has_database_privilege($1::name, current_database(), 'CONNECT') AS can_connect,
       has_database_privilege($1::name, current_database(), 'CREATE') AS can_create_in_database,
       has_schema_privilege($1::name, '${SCHEMA}', 'USAGE') AS schema_usage,
       has_schema_privilege($1::name, '${SCHEMA}', 'CREATE') AS can_create_in_schema,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND NOT (has_table_privilege($1::name, c.oid, 'SELECT') AND (c.relname = '${MIGRATIONS_TABLE}' OR (has_table_privilege($1::name, c.oid, 'INSERT')
                     AND has_table_privilege($1::name, c.oid, 'UPDATE') AND has_table_privilege($1::name, c.oid, 'DELETE'))))
              ORDER BY 1) AS tables_missing,
       ARRAY(SELECT format('%s (owner %s)', c.relname, pg_get_userbyid(c.relowner)) FROM pg_class c
              WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind = 'S'
                AND NOT (has_sequence_privilege($1::name, c.oid, 'USAGE') AND has_sequence_privilege($1::name, c.oid, 'SELECT'))
              ORDER BY 1) AS sequences_missing,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))::int AS table_count,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind = 'S')::int AS sequence_count`;

/** The role change, decided from the facts before anything is sent. */
interface RolePlan {
  readonly create: boolean;
  readonly newPassword: boolean;
  readonly attributeFixes: readonly AppRoleAttribute[];
  readonly revokeCreateOnSchemaFromPublic: boolean;
  readonly warnings: readonly string[];
}

function planRoleChange(facts: Facts, settings: Settings, options: CreateUserOptions): RolePlan {
  const role = settings.user;
  const admin = settings.admin.user;
  if (facts.role_exists && facts.role_superuser) {
    throw new ConfigError(
      `Role "${role}" exists and is a superuser: create-user will not use it as the application role, nor demote it.`,
      'Choose another name with --user (or TOFU_REGISTRY_DB_USER).',
      'ROLE_IS_SUPERUSER',
    );
  }
  if (!facts.schema_exists) {
    throw new RegistryDbError('schema', 'SCHEMA_MISSING', `Database "${settings.database}" has no schema "${SCHEMA}".`, {
      hint: 'Run `tofu-registry-db create-db` (or migrate) to set the database up.',
    });
  }
  if (!facts.admin_superuser && !facts.admin_owns_database) {
    throw new RegistryDbError(
      'auth',
      'DATABASE_NOT_OWNED',
      `Role "${admin}" neither owns database "${settings.database}" (owner: "${facts.database_owner}") nor is a superuser, so it cannot grant or revoke CONNECT on it.`,
      { hint: `Run create-user as "${facts.database_owner}" or a superuser (set TOFU_REGISTRY_DB_ADMIN_USER), or the role that ran create-db.`, cause: '42501' },
    );
  }
  if (!facts.role_exists && !facts.admin_superuser && !facts.admin_createrole) {
    throw new RegistryDbError('auth', 'ROLE_CREATE_DENIED', `Role "${admin}" may not create roles (it has neither CREATEROLE nor SUPERUSER).`, {
      hint: `Grant it: ALTER ROLE "${admin}" CREATEROLE; or set TOFU_REGISTRY_DB_ADMIN_USER to a role that has it.`,
      cause: '42501',
    });
  }
  const attributeFixes: AppRoleAttribute[] = [];
  // PostgreSQL 16+: CREATEROLE alone no longer lets a role alter roles it holds no ADMIN OPTION on.
  const mayAlter = facts.admin_superuser || (facts.admin_createrole && (facts.server_version < 160000 || facts.admin_has_admin_option));
  if (facts.role_exists) {
    if (!facts.role_login) attributeFixes.push('LOGIN');
    if (facts.role_createdb) attributeFixes.push('NOCREATEDB');
    if (facts.role_createrole) attributeFixes.push('NOCREATEROLE');
    if (facts.role_replication) attributeFixes.push('NOREPLICATION');
    // Only a superuser, or since PostgreSQL 16 a role that has BYPASSRLS itself and may alter
    // this role, may take it away; elsewhere it is a warning (below), not a failure.
    if (facts.role_bypassrls && (facts.admin_superuser || (facts.server_version >= 160000 && facts.admin_bypassrls && mayAlter))) attributeFixes.push('NOBYPASSRLS');
    // A password past its VALID UNTIL no longer logs in: the role would be useless, rotated or
    // not. Lifted where the admin may alter the role, else a warning that says who can.
    if (facts.role_expired && mayAlter) attributeFixes.push("VALID UNTIL 'infinity'");
  }
  const create = !facts.role_exists;
  const newPassword = create || Boolean(options.rotatePassword);
  const altersRole = !create && (newPassword || attributeFixes.length > 0);
  // PostgreSQL 16+: CREATEROLE alone no longer lets a role alter roles it holds no ADMIN OPTION on.
  if (altersRole && !facts.admin_superuser && (!facts.admin_createrole || (facts.server_version >= 160000 && !facts.admin_has_admin_option))) {
    throw roleNotManageable(settings, facts.server_version);
  }
  if (newPassword && !options.dryRun && options.writeEnv === false && options.passwordKept === false) {
    throw new ConfigError(
      `${create ? 'Creating' : 'Rotating the password of'} role "${role}" without writing the env file would leave a password nobody knows.`,
      'Drop --no-write-env, or add --json or --show-password to receive the password.',
      'PASSWORD_WOULD_BE_LOST',
    );
  }
  const warnings: string[] = [];
  const trimmed = attributeFixes.filter((a) => !a.startsWith('VALID UNTIL'));
  if (trimmed.length > 0) warnings.push(`Role "${role}" had more than it needs: set ${trimmed.join(' ')}.`);
  if (facts.role_expired && mayAlter) {
    warnings.push(`Role "${role}"'s password had expired (VALID UNTIL ${facts.role_valid_until}), so it could not log in: set VALID UNTIL 'infinity'.`);
  } else if (facts.role_expired) {
    warnings.push(
      `Role "${role}"'s password expired at ${facts.role_valid_until} (VALID UNTIL), so it cannot log in, and "${admin}" may not change the role: ` +
        `as a superuser (or with GRANT "${role}" TO "${admin}" WITH ADMIN OPTION) run ALTER ROLE "${role}" VALID UNTIL 'infinity'.`,
    );
  } else if (facts.role_valid_until) {
    warnings.push(
      `Role "${role}"'s password stops working at ${facts.role_valid_until} (VALID UNTIL): the registry API cannot log in after that. ` +
        `Lift it with ALTER ROLE "${role}" VALID UNTIL 'infinity', or rotate before then.`,
    );
  }
  if (facts.role_bypassrls && !attributeFixes.includes('NOBYPASSRLS')) {
    warnings.push(
      `Role "${role}" has BYPASSRLS (row-level security does not apply to it), which "${admin}" may not take away: ` +
        `as a superuser run ALTER ROLE "${role}" NOBYPASSRLS.`,
    );
  }
  if (facts.role_owns.length > 0) {
    warnings.push(
      `Role "${role}" owns ${facts.role_owns.join(', ')}: an owner may alter and drop what it owns. ` +
        `Hand them over with REASSIGN OWNED BY "${role}" TO "${admin}" (in database "${settings.database}").`,
    );
  }
  if (facts.role_member_of.length > 0) {
    warnings.push(`Role "${role}" is a member of ${facts.role_member_of.join(', ')} and may use their privileges.`);
  }
  if (facts.public_can_create && !facts.admin_owns_schema) {
    warnings.push(
      `Every role may create objects in schema "${SCHEMA}" (PostgreSQL 14 and older grant CREATE to PUBLIC), and "${admin}" does not own the schema to revoke it: ` +
        `run REVOKE CREATE ON SCHEMA ${SCHEMA} FROM PUBLIC as its owner.`,
    );
  }
  return {
    create,
    newPassword,
    attributeFixes,
    revokeCreateOnSchemaFromPublic: facts.public_can_create && facts.admin_owns_schema,
    warnings,
  };
}

function roleNotManageable(settings: Settings, serverVersion: number, serverMessage?: string): RegistryDbError {
  const role = settings.user;
  const admin = settings.admin.user;
  return new RegistryDbError(
    'auth',
    'ROLE_NOT_MANAGEABLE',
    `Role "${admin}" may not change the existing role "${role}"${serverMessage ? ` (SQLSTATE 42501: ${serverMessage})` : ''}.`,
    {
      hint:
        serverVersion >= 160000
          ? `Since PostgreSQL 16, CREATEROLE manages only the roles it created or holds ADMIN OPTION on: as a superuser (or "${role}"'s creator) run ` +
            `GRANT "${role}" TO "${admin}" WITH ADMIN OPTION; or choose another --user.`
          : `Only a superuser may change a superuser or replication role: run create-user as a superuser, or choose another --user.`,
      cause: '42501',
    },
  );
}

function envFileValues(settings: Settings, inFile: Readonly<Record<string, string>>, password: string | undefined): Record<string, string> {
  const effective: Record<(typeof CONNECTION_VARIABLES)[number], string> = {
    [VARIABLES.type]: 'postgres',
    [VARIABLES.host]: settings.host,
    [VARIABLES.port]: String(settings.port),
    [VARIABLES.database]: settings.database,
    [VARIABLES.sslMode]: settings.sslMode,
  };
  const values: Record<string, string> = { [VARIABLES.user]: settings.user };
  if (password !== undefined) values[VARIABLES.password] = password;
  for (const variable of CONNECTION_VARIABLES) {
    if (inFile[variable] === undefined) values[variable] = effective[variable];
  }
  return values;
}

/** Warnings about the env file that no write can fix: a password it lacks, or one that is wrong. */
function envFileWarnings(settings: Settings, inFile: Readonly<Record<string, string>>, storedVerifier: string | null | undefined): string[] {
  const role = settings.user;
  const warnings: string[] = [];
  const fileDatabase = inFile[VARIABLES.database];
  if (fileDatabase !== undefined && fileDatabase !== settings.database) {
    warnings.push(`${settings.envFile} sets ${VARIABLES.database}=${fileDatabase}, but the role was set up for database "${settings.database}".`);
  }
  const filePassword = inFile[VARIABLES.password];
  const fileUser = inFile[VARIABLES.user];
  if (!filePassword || (fileUser !== undefined && fileUser !== role)) {
    warnings.push(
      `Role "${role}" already exists and keeps its password, which ${settings.envFile} does not hold: ` +
        'run create-user --rotate-password to set a new one and write it there.',
    );
  } else if (storedVerifier !== undefined) {
    if (storedVerifier === null || !scramVerifierMatches(filePassword, storedVerifier)) {
      warnings.push(
        `The ${VARIABLES.password} in ${settings.envFile} is not role "${role}"'s password (checked against its SCRAM verifier): ` +
          'run create-user --rotate-password to set a new one.',
      );
    }
  }
  return warnings;
}

function describeGrants(settings: Settings, check?: Pick<GrantCheck, 'table_count' | 'sequence_count'>): string[] {
  const count = (n: number | undefined, what: string) => (n === undefined ? `all ${what}` : `all ${n} ${what}`);
  return [
    `${DATABASE_PRIVILEGES} on database ${settings.database} (CONNECT revoked from PUBLIC)`,
    `${SCHEMA_PRIVILEGES} on schema ${SCHEMA}`,
    `${TABLE_PRIVILEGES} on ${count(check?.table_count, 'tables')} in schema ${SCHEMA} (only SELECT on ${MIGRATIONS_TABLE})`,
    `${SEQUENCE_PRIVILEGES} on ${count(check?.sequence_count, 'sequences')} in schema ${SCHEMA}`,
    `the same on tables and sequences that ${settings.admin.user} creates later in schema ${SCHEMA} (default privileges)`,
  ];
}

async function execute(connection: Connection, logger: Logger, sql: string, values?: readonly unknown[]) {
  // The logger may belong to an embedding program: it only ever sees redacted SQL.
  logger.debug(redactSecrets(sql));
  return connection.client.query(sql, values as unknown[] | undefined);
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: string })?.code;
  return code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether a COMMIT that failed may still have happened. A server that answered with an
 * error rolled back; a lost connection leaves it open, so the new password is tried.
 */
async function commitHappened(error: unknown, settings: Settings, password: string | undefined): Promise<boolean | undefined> {
  const state = sqlStateOf(error);
  if (state && !state.startsWith('08') && !state.startsWith('57P')) return false;
  if (password === undefined) return undefined;
  try {
    await disconnect(await connect({ ...settings, password }, { role: 'app' }));
    return true;
  } catch (probeError) {
    const probeState = (probeError as RegistryDbError).sqlState;
    return probeState === '28P01' || probeState === '28000' ? false : undefined;
  }
}

/** A generated password and its SCRAM verifier, both registered as secrets at once. */
async function newCredentials(): Promise<{ password: string; verifier: string }> {
  const password = generateAppPassword();
  registerSecret(password);
  const verifier = await scramSha256VerifierAsync(password);
  registerSecret(verifier);
  return { password, verifier };
}

function checkRoleName(settings: Settings): void {
  const role = settings.user;
  const reserved = reservedRoleNameProblem(role);
  if (reserved) throw new ConfigError(`The application role ${describe(role)} ${reserved}.`, 'Choose another name with --user (or TOFU_REGISTRY_DB_USER).');
  if (role === settings.admin.user) {
    throw new ConfigError(
      `The application role and the admin role are both "${role}".`,
      'The application role must be a separate, least-privilege role: choose another --user (or TOFU_REGISTRY_DB_USER).',
    );
  }
}

const ENV_HEADER = 'Written by tofu-registry-db create-user: the application role and how to reach the registry database.';

function envFileSummary(result: EnvFileUpdateResult, extraWarnings: readonly string[]): CreateUserEnvFile {
  const { path, written, created, addedKeys, changedKeys, warnings } = result;
  return { path, written, created, addedKeys, changedKeys, warnings: [...warnings, ...extraWarnings] };
}

/**
 * Creates or alters the role, runs the grants, then proves the end state, all in one message
 * (one wait for the server): a privilege the admin could not give fails the run (exit 4).
 */
async function applyRoleAndGrants(
  connection: Connection,
  logger: Logger,
  settings: Settings,
  role: { readonly statement: string | undefined; readonly create: boolean; readonly serverVersion: number },
  grants: readonly string[],
  foreignObjects: readonly string[],
): Promise<GrantCheck> {
  const admin = settings.admin.user;
  const failure = (detail: string) =>
    new RegistryDbError('auth', 'GRANT_INCOMPLETE', `Role "${admin}" could not give role "${settings.user}" every privilege it needs: ${detail}. Nothing was changed.`, {
      hint: 'Run create-user as the owner of those objects (the role that ran the migrations) or as a superuser.',
      cause: '42501',
    });
  const notOwned = foreignObjects.length > 0 ? ` (not owned by "${admin}": ${foreignObjects.join(', ')})` : '';
  const roleStatements = role.statement ? [role.statement] : [];
  const outcome = await runBatch(connection, logger, [...roleStatements, ...grants, GRANT_CHECK_SQL.replaceAll('$1', quoteLiteral(settings.user))]);
  if (!outcome.ok) {
    const { error, failedAt } = outcome;
    if (sqlStateOf(error) !== '42501') throw error;
    if (failedAt < roleStatements.length) throw role.create ? error : roleNotManageable(settings, role.serverVersion, (error as Error).message);
    throw failure(`${(error as Error).message}${notOwned}`);
  }
  const check = outcome.results[outcome.results.length - 1]!.rows[0] as GrantCheck;
  const missing = [...check.tables_missing, ...check.sequences_missing];
  if (missing.length > 0) throw failure(`missing on ${missing.join(', ')}`);
  if (!check.can_connect || !check.schema_usage) throw failure(`missing on database "${settings.database}" or schema "${SCHEMA}"`);
  return check;
}

/** CREATE that the role still has through PUBLIC or another role, which create-user could not take back. */
function leftoverCreateWarnings(settings: Settings, check: GrantCheck, planWarnings: readonly string[]): string[] {
  const role = settings.user;
  const warnings: string[] = [];
  if (check.can_create_in_database) {
    warnings.push(`Role "${role}" may still create schemas in database "${settings.database}" (granted to PUBLIC or a role it belongs to).`);
  }
  if (check.can_create_in_schema && !planWarnings.some((w) => w.includes('REVOKE CREATE ON SCHEMA'))) {
    warnings.push(`Role "${role}" may still create objects in schema "${SCHEMA}" (granted to PUBLIC or a role it belongs to).`);
  }
  return warnings;
}

/**
 * COMMIT, with the env file already renamed into place. If COMMIT fails and the change
 * did not happen, the previous env file is put back; if it did, the new one stays.
 */
async function commitAlongsideEnvFile(
  connection: Connection,
  logger: Logger,
  settings: Settings,
  prepared: PreparedEnvFileUpdate | undefined,
  password: string | undefined,
): Promise<string[]> {
  try {
    await execute(connection, logger, 'COMMIT');
    return [];
  } catch (error) {
    const happened = await commitHappened(error, settings, password);
    if (happened === true) return ['The answer to COMMIT was lost, but logging in with the new password proved that the change was made.'];
    if (happened === false) await prepared?.restore();
    const failure = toRegistryDbError(error, { action: 'Committing the role change', database: settings.database, user: settings.admin.user });
    throw new RegistryDbError(failure.errorClass, failure.code, failure.message, {
      cause: failure.sqlState,
      hint:
        happened === false
          ? 'The role change was rolled back and the env file restored: nothing was changed. Run create-user again.'
          : 'It is unknown whether the change was made; the env file holds the new credentials. Run create-user again (with --rotate-password if they do not work).',
    });
  }
}

/**
 * `create-user`: the least-privilege application role, its password (as a client-side
 * SCRAM verifier) and the env file. One admin connection to the registry database does
 * everything in one transaction; the env file is renamed into place just before COMMIT,
 * so a role never ends up with a password that is neither in the env file nor returned.
 */
export async function createUser(context: CoreContext, options: CreateUserOptions = {}): Promise<CreateUserResult> {
  const { settings } = context;
  const logger = loggerOf(context);
  const { user: role, database } = settings;
  const writeEnv = options.writeEnv !== false;
  refuseSystemDatabase(database, context.settings.origins.database);
  checkRoleName(settings);
  // Before connecting: an env file that cannot be written is a usage error, and nothing has changed yet.
  if (writeEnv) await checkEnvFileWritable(settings.envFile);

  const connection = await connectAsAdmin(context, database);
  const serverWarnings: string[] = [];
  const onNotice = (notice: { severity?: string; message?: string }) => {
    if (notice.severity === 'WARNING' && notice.message) serverWarnings.push(`PostgreSQL: ${notice.message}`);
  };
  connection.client.on('notice', onNotice); // removed below: the connection may be shared with later steps
  let prepared: PreparedEnvFileUpdate | undefined;
  let inTransaction = false;
  try {
    await assertPrimary(connection, logger);
    // A new role (or a rotation) needs a password and its verifier: made on the thread pool
    // while the server answers the batch below, and simply dropped if the role keeps its own.
    const credentials = options.dryRun ? undefined : newCredentials();
    credentials?.catch(() => undefined); // awaited below when needed
    inTransaction = true; // from the batch's BEGIN on (a ROLLBACK outside one is harmless)
    // One message: the transaction, its timeouts, the lock (so two runs never both create
    // the role, both rotate it, or rewrite the same grants at once) and the facts read under it.
    const opening = await runBatch(connection, logger, [
      'BEGIN',
      `SELECT set_config('lock_timeout', ${quoteLiteral(`${settings.lockTimeoutMs}ms`)}, true), set_config('statement_timeout', ${quoteLiteral(`${settings.statementTimeoutMs}ms`)}, true)`,
      `SELECT pg_advisory_xact_lock(${CREATE_USER_LOCK})`,
      FACTS_SQL.replaceAll('$1', quoteLiteral(role)),
    ]);
    if (!opening.ok) throw opening.error;
    const facts = opening.results[3]!.rows[0] as Facts;
    const plan = planRoleChange(facts, settings, { ...options, writeEnv });
    const grantStatements = appRoleGrantsSql({
      database,
      schema: SCHEMA,
      role,
      owner: settings.admin.user,
      revokeCreateOnSchemaFromPublic: plan.revokeCreateOnSchemaFromPublic,
      readOnlyTables: facts.bookkeeping_exists ? [MIGRATIONS_TABLE] : [],
    });
    const roleStatement = (verifier: string): string | undefined =>
      plan.create
        ? createRoleSql(role, verifier)
        : plan.newPassword || plan.attributeFixes.length > 0
          ? alterRoleSql(role, { attributes: plan.attributeFixes, verifier: plan.newPassword ? verifier : undefined })
          : undefined;

    // Read under the lock, so a concurrent run's write is seen.
    const inFile = writeEnv ? (readEnvFile(settings.envFile) ?? {}) : {};
    let envWarnings: string[] = [];
    if (writeEnv && !plan.newPassword) {
      // Only superusers may read pg_authid; for others the env file's password goes unchecked.
      const stored = facts.admin_superuser
        ? (((await execute(connection, logger, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]?.rolpassword as string | null) ?? null)
        : undefined;
      envWarnings = envFileWarnings(settings, inFile, stored);
    }

    if (options.dryRun) {
      await execute(connection, logger, 'ROLLBACK');
      inTransaction = false;
      const statements = [roleStatement(`SCRAM-SHA-256$${REDACTED}`), ...grantStatements].filter((s): s is string => s !== undefined);
      const plannedEnv = writeEnv
        ? await planEnvFileUpdate(settings.envFile, envFileValues(settings, inFile, plan.newPassword ? REDACTED : undefined), { headerComment: ENV_HEADER })
        : undefined;
      return {
        role,
        database,
        created: false,
        passwordChanged: false,
        envFile: plannedEnv && envFileSummary({ ...plannedEnv, written: false }, envWarnings),
        grants: describeGrants(settings),
        warnings: plan.warnings,
        plannedSql: redactSecrets(['BEGIN;', ...statements.map((s) => `${s};`), 'COMMIT;'].join('\n')),
      };
    }

    let password: string | undefined;
    let verifier = '';
    if (plan.newPassword) ({ password, verifier } = await credentials!);
    const statement = roleStatement(verifier);
    logger.step(`${statement ? (plan.create ? `Creating role ${role}, granting` : `Updating role ${role}, granting`) : 'Granting'} privileges on ${database}`);
    // The env file goes to a temporary file (fsync included) while the server works on the
    // role and the grants; it is renamed into place only once they have succeeded. Nothing
    // may throw between starting the two and waiting for both (the catch below discards it).
    const [granted, written] = await Promise.allSettled([
      applyRoleAndGrants(connection, logger, settings, { statement, create: plan.create, serverVersion: facts.server_version }, grantStatements, facts.foreign_objects),
      writeEnv
        ? prepareEnvFileUpdate(settings.envFile, envFileValues(settings, inFile, password), { headerComment: ENV_HEADER }).then((p) => (prepared = p))
        : undefined,
    ]);
    if (granted.status === 'rejected') throw granted.reason;
    if (written.status === 'rejected') throw written.reason;
    const check = granted.value;
    const warnings = [...plan.warnings, ...leftoverCreateWarnings(settings, check, plan.warnings)];

    if (prepared) logger.step(`Writing ${prepared.result.path}`);
    // The rename and the COMMIT belong together: an interrupt waits until both are done.
    await runCritical(async () => {
      await prepared?.commit();
      inTransaction = false;
      warnings.push(...(await commitAlongsideEnvFile(connection, logger, settings, prepared, password)));
    });
    return {
      role,
      database,
      created: plan.create,
      passwordChanged: plan.newPassword,
      ...(password !== undefined ? { password } : {}),
      ...(prepared ? { envFile: envFileSummary(prepared.result, envWarnings) } : {}),
      grants: describeGrants(settings, check),
      warnings: [...warnings, ...serverWarnings],
    };
  } catch (error) {
    if (inTransaction) await connection.client.query('ROLLBACK').catch(() => undefined);
    await prepared?.discard().catch(() => undefined);
    throw toRegistryDbError(error, { database, user: settings.admin.user });
  } finally {
    connection.client.off('notice', onNotice);
    await disconnect(connection);
  }
}
