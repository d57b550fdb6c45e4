import { readEnvFile } from '../config/env-file.js';
import { type Settings } from '../config/settings.js';
import { envFilePasswordOf } from '../config/env-file-credentials.js';
import { refuseMislabel, refuseReplacingOtherRole } from './create-user/env-values.js';
import { checkGivenPassword } from './create-user/given-password.js';
import { roleIsSuperuser } from './create-user/plan.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { registerSecret } from '../redact.js';
import type { AdminFacts } from './create-database.js';
import { VARIABLES } from '../config/variables.js';

/**
 * What setup knows before it changes anything, read with create-db's own facts: an admin that
 * may not create the role, may not change it, or does not own the database, and a role whose
 * password nobody here knows, stop the run while nothing has been created (a run that failed
 * at create-user used to leave a created and migrated database behind, unsaid).
 */
export interface SetupPlan {
  readonly rotatePassword: boolean;
  readonly writeEnv: boolean;
  /** The env file may hold another role's login, which this run replaces. */
  readonly replaceCredentials: boolean;
  /** A dry run changes and tests nothing: only what the admin may do is checked. */
  readonly dryRun?: boolean;
}

export async function checkSetupPreflight(settings: Settings, plan: SetupPlan, facts: AdminFacts): Promise<void> {
  const role = settings.user;
  const admin = settings.admin.user;
  if (facts.exists && facts.owns_database === false && !facts.superuser) {
    throw new RegistryDbError('auth', 'DATABASE_NOT_OWNED', `Role "${admin}" neither owns database "${settings.database}" (owner: "${facts.database_owner}") nor is a superuser: it could not migrate it or grant on it. Nothing was changed.`, {
      hint: `Run setup as "${facts.database_owner}" (set TOFU_REGISTRY_DB_ADMIN_USER), or as a superuser run: ALTER DATABASE "${settings.database}" OWNER TO "${admin}";`,
      cause: '42501',
    });
  }
  if (facts.role_exists === false && !facts.superuser && !facts.createrole) {
    throw new RegistryDbError('auth', 'ROLE_CREATE_DENIED', `Role "${admin}" may not create roles (it has neither CREATEROLE nor SUPERUSER), so setup could not create role "${role}". Nothing was changed.`, {
      hint: `As a superuser run: ALTER ROLE "${admin}" CREATEROLE; or set TOFU_REGISTRY_DB_ADMIN_USER to a role that has it.`,
      cause: '42501',
    });
  }
  if (facts.role_exists && plan.rotatePassword && !facts.superuser && (!facts.createrole || (facts.server_version >= 160000 && !facts.admin_option))) {
    throw new RegistryDbError('auth', 'ROLE_NOT_MANAGEABLE', `Role "${admin}" may not change the existing role "${role}", so its password cannot be rotated. Nothing was changed.`, {
      hint:
        facts.server_version >= 160000
          ? `Since PostgreSQL 16, CREATEROLE manages only the roles it created or holds ADMIN OPTION on: as a superuser run GRANT "${role}" TO "${admin}" WITH ADMIN OPTION;`
          : `Grant it CREATEROLE (ALTER ROLE "${admin}" CREATEROLE) or run setup as a superuser.`,
      cause: '42501',
    });
  }
  if (facts.role_superuser) throw roleIsSuperuser(settings);
  if (plan.dryRun || !plan.writeEnv) return;
  const inFile = readEnvFile(settings.envFile) ?? {};
  if (facts.role_exists && !plan.rotatePassword) {
    refuseMislabel(settings, inFile, true);
    if (knownPassword(settings, plan) === undefined) throw passwordUnknownError(settings);
    await checkGivenPassword(settings);
  }
  refuseReplacingOtherRole(settings, inFile, plan.replaceCredentials);
}

/**
 * The password of a role that keeps its own: from the environment, else from the env file where
 * it belongs to this role. Read from the file again, as create-user reads it under its lock: a
 * concurrent run with the same env file may have created the role and written its password
 * after this run resolved its settings.
 */
export function knownPassword(settings: Settings, plan: Pick<SetupPlan, 'writeEnv'>): string | undefined {
  if (!plan.writeEnv || settings.origins.password?.endsWith('(environment)')) return settings.password;
  const password = envFilePasswordOf(readEnvFile(settings.envFile) ?? {}, settings.user);
  registerSecret(password);
  return password ?? settings.password;
}

/**
 * A role that exists with a password neither the env file nor the environment holds: the
 * connection could not be tested, and create-user would leave a file that does not log in.
 */
export function passwordUnknownError(settings: Settings, provisioned = false): ConfigError {
  const done = provisioned ? ' The database and the grants are in place.' : ' Nothing was changed.';
  return new ConfigError(
    `Role "${settings.user}" already exists and keeps its password, which neither ${settings.envFile} nor the environment holds: the connection cannot be tested.${done}`,
    `Run setup again with --rotate-password (and --yes off a terminal) to give it a new password, written to ${settings.envFile}; or set ${VARIABLES.password}.`,
    'PASSWORD_UNKNOWN',
  );
}
