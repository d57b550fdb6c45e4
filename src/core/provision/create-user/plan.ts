import { ConfigError, RegistryDbError } from '../../errors.js';
import type { Settings } from '../../config/settings.js';
import { MIGRATIONS_TABLE } from '../../migrations/bookkeeping.js';
import { DATABASE_PRIVILEGES, SCHEMA_PRIVILEGES, SEQUENCE_PRIVILEGES, TABLE_PRIVILEGES } from '../../sql/grants.js';
import type { AppRoleAttribute } from '../../sql/roles.js';
import { SCHEMA, type GrantCheck, type RoleFacts } from './facts.js';
import { quoteIdent } from '../../sql/quote.js';

/**
 * create-user, step two: the plan. Decided from the facts before anything is sent: refuse what
 * cannot work (exit 2 or 4, nothing changed), else say what changes and what to warn about.
 */

/** The role change, decided from the facts before anything is sent. */
export interface RolePlan {
  readonly create: boolean;
  readonly newPassword: boolean;
  readonly attributeFixes: readonly AppRoleAttribute[];
  readonly revokeCreateOnSchemaFromPublic: boolean;
  readonly grantOnSchema: boolean;
  readonly warnings: readonly string[];
}

export interface PlanOptions {
  readonly rotatePassword?: boolean;
  readonly dryRun?: boolean;
  readonly writeEnv: boolean;
  readonly passwordKept?: boolean;
}

export function planRoleChange(facts: RoleFacts, settings: Settings, options: PlanOptions): RolePlan {
  const role = settings.user;
  refuseUnworkable(facts, settings);
  const mayAlter = adminMayAlterRole(facts);
  const attributeFixes = attributeFixesFor(facts, mayAlter);
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
  return {
    create,
    newPassword,
    attributeFixes,
    revokeCreateOnSchemaFromPublic: facts.public_can_create && facts.admin_owns_schema,
    grantOnSchema: facts.admin_grants_on_schema,
    warnings: planWarnings(facts, settings, attributeFixes, mayAlter),
  };
}

/** PostgreSQL 16+: CREATEROLE alone no longer lets a role alter roles it holds no ADMIN OPTION on. */
function adminMayAlterRole(facts: RoleFacts): boolean {
  return facts.admin_superuser || (facts.admin_createrole && (facts.server_version < 160000 || facts.admin_has_admin_option));
}

/** What no run of create-user can fix as this admin: said before anything changes. */
function refuseUnworkable(facts: RoleFacts, settings: Settings): void {
  const admin = settings.admin.user;
  if (facts.role_exists && facts.role_superuser) throw roleIsSuperuser(settings);
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
}

/** The attributes an existing role has that the application role must not, and what stops it logging in. */
function attributeFixesFor(facts: RoleFacts, mayAlter: boolean): AppRoleAttribute[] {
  const attributeFixes: AppRoleAttribute[] = [];
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
  return attributeFixes;
}

function planWarnings(facts: RoleFacts, settings: Settings, attributeFixes: readonly AppRoleAttribute[], mayAlter: boolean): string[] {
  const role = settings.user;
  const admin = settings.admin.user;
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
  if (facts.schema_exists && !facts.admin_grants_on_schema) {
    warnings.push(
      `"${admin}" may not grant on schema "${SCHEMA}" (owner "${facts.schema_owner}", as PostgreSQL 14 and older make it): "${role}" reaches its tables through the USAGE that PUBLIC holds there, ` +
        `and loses them if that is revoked; as "${facts.schema_owner}" run GRANT USAGE ON SCHEMA ${SCHEMA} TO "${role}" to make it its own.`,
    );
  }
  warnings.push(...connectionLimitWarnings(facts, settings));
  if (facts.public_can_create && !facts.admin_owns_schema) {
    warnings.push(
      `Every role may create objects in schema "${SCHEMA}" (PostgreSQL 14 and older grant CREATE to PUBLIC), and "${admin}" does not own the schema to revoke it: ` +
        `run REVOKE CREATE ON SCHEMA ${SCHEMA} FROM PUBLIC as its owner.`,
    );
  }
  return warnings;
}

/**
 * A CONNECTION LIMIT of the role or of the database that leaves the API no connection: 0, or
 * already used up by other sessions. Said, not changed: an admin may have set it on purpose.
 */
function connectionLimitWarnings(facts: RoleFacts, settings: Settings): string[] {
  const warnings: string[] = [];
  const room = (limit: number, used: number) => limit >= 0 && used >= limit;
  if (facts.role_exists && room(facts.role_connection_limit, facts.role_connections)) {
    const role = settings.user;
    const now = facts.role_connection_limit === 0 ? 'CONNECTION LIMIT 0' : `CONNECTION LIMIT ${facts.role_connection_limit}, and ${facts.role_connections} session(s) of it are open`;
    warnings.push(
      `Role "${role}" has ${now}: the registry API cannot connect as it ("too many connections for role"). ` +
        `As a superuser (or a role that may alter it) run ALTER ROLE ${quoteIdent(role)} CONNECTION LIMIT -1 (no limit), or a number above the API's pool size.`,
    );
  }
  if (room(facts.database_connection_limit, facts.database_connections)) {
    const database = settings.database;
    const now = facts.database_connection_limit === 0 ? 'CONNECTION LIMIT 0' : `CONNECTION LIMIT ${facts.database_connection_limit}, and ${facts.database_connections} other session(s) are open`;
    warnings.push(
      `Database "${database}" has ${now}: the registry API cannot connect to it ("too many connections for database"). ` +
        `As its owner or a superuser run ALTER DATABASE ${quoteIdent(database)} CONNECTION LIMIT -1 (no limit), or a higher number.`,
    );
  }
  return warnings;
}

/** A superuser is never made the application role, nor demoted: said before anything changes. */
export function roleIsSuperuser(settings: Settings): ConfigError {
  return new ConfigError(
    `Role "${settings.user}" (${settings.origins.user ?? 'default'}) exists and is a superuser: it will not be used as the application role, nor demoted. Nothing was changed.`,
    'Choose another name with --user (or TOFU_REGISTRY_DB_USER): the application role must be a separate, least-privilege role.',
    'ROLE_IS_SUPERUSER',
  );
}

export function roleNotManageable(settings: Settings, serverVersion: number, serverMessage?: string): RegistryDbError {
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

/** What the role may do, in words. */
export function describeGrants(settings: Settings, check?: Pick<GrantCheck, 'table_count' | 'sequence_count'>): string[] {
  const count = (n: number | undefined, what: string) => (n === undefined ? `all ${what}` : `all ${n} ${what}`);
  return [
    `${DATABASE_PRIVILEGES} on database ${settings.database} (CONNECT revoked from PUBLIC)`,
    `${SCHEMA_PRIVILEGES} on schema ${SCHEMA}`,
    `${TABLE_PRIVILEGES} on ${count(check?.table_count, 'tables')} in schema ${SCHEMA} (only SELECT on ${MIGRATIONS_TABLE})`,
    `${SEQUENCE_PRIVILEGES} on ${count(check?.sequence_count, 'sequences')} in schema ${SCHEMA}`,
    `the same on tables and sequences that ${settings.admin.user} creates later in schema ${SCHEMA} (default privileges)`,
  ];
}

/** CREATE that the role still has through PUBLIC or another role, which create-user could not take back. */
export function leftoverCreateWarnings(settings: Settings, check: GrantCheck, planWarnings: readonly string[]): string[] {
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
