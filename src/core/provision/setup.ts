import { type CoreContext } from '../db/context.js';
import { createDatabase, type CreateDatabaseResult } from './create-database.js';
import { createUser, type CreateUserResult } from './create-user/create-user.js';
import { VARIABLES, type Settings } from '../config/settings.js';
import { registerSecret } from '../redact.js';
import { ConfigError } from '../errors.js';
import { testConnection, type TestConnectionResult } from '../checks/test-connection.js';
import { waitForServer } from '../db/wait-for-server.js';
import { withSharedConnections } from '../db/admin-connection.js';
import { readEnvFile } from '../config/env-file.js';
import { checkEnvFileWritable } from '../config/env-file-update.js';

export interface SetupOptions {
  readonly migrationsDir?: string;
  readonly rotatePassword?: boolean;
  /** Rotate the password of an existing role whose password nobody here knows, instead of refusing (dev). */
  readonly rotateIfUnknown?: boolean;
  /** Write the credentials into the env file (default true). */
  readonly writeEnv?: boolean;
  readonly dryRun?: boolean;
  readonly waitSeconds?: number;
  /** Whether the caller keeps the returned password (see CreateUserOptions.passwordKept). */
  readonly passwordKept?: boolean;
}

export interface SetupResult {
  readonly database: CreateDatabaseResult;
  /** Absent only with dryRun when the database does not exist yet. */
  readonly user?: CreateUserResult;
  /** Absent with dryRun. */
  readonly connection?: TestConnectionResult;
  readonly ok: boolean;
  /** 0, or the exit code of the first failed check. */
  readonly exitCode: number;
  readonly plannedSql?: string;
}

/**
 * `setup`: create-db (with migrations), create-user, test-connection, in one idempotent
 * run — what a CI job calls. A second run changes nothing and keeps the password.
 */
export async function setup(context: CoreContext, options: SetupOptions = {}): Promise<SetupResult> {
  // One admin connection per database for the whole run: create-db's maintenance
  // connection, and one registry connection shared by the migrations and create-user.
  return withSharedConnections(context, (shared) => setupSteps(shared, options));
}

async function setupSteps(context: CoreContext, options: SetupOptions): Promise<SetupResult> {
  // An env file that cannot be written is a usage error found before anything changes: not
  // after the database was created, when create-user would find it.
  if (options.writeEnv !== false && !options.dryRun) await checkEnvFileWritable(context.settings.envFile);
  if (options.waitSeconds !== undefined) await waitForServer(context, options.waitSeconds);
  // A role that exists already, with a password nobody here knows, cannot be tested: said
  // before anything changes (create-db reads whether the role exists with its own facts). The
  // env file is read again once the role is seen: a concurrent run that created it wrote the
  // password there before its COMMIT made the role visible.
  const unknown = !options.dryRun && !options.rotatePassword && context.settings.password === undefined;
  const rotatePassword = options.rotatePassword || (unknown && options.rotateIfUnknown === true);
  const whenRoleExists = (): void => {
    if (keptPassword(context.settings, options) === undefined) throw passwordUnknownError(context.settings, false);
  };
  const database = await createDatabase(context, {
    migrationsDir: options.migrationsDir,
    dryRun: options.dryRun,
    ...(unknown && !rotatePassword ? { whenRoleExists: { role: context.settings.user, check: whenRoleExists } } : {}),
  });
  if (options.dryRun && database.migrations === undefined) {
    // The database does not exist yet, so create-user has nothing to plan against: the
    // plan shows what create-db would do and says what follows.
    const note = `-- then create-user: role "${context.settings.user}" (LOGIN, SCRAM-SHA-256 verifier), its grants, and the env file ${context.settings.envFile}`;
    return { database, user: undefined, ok: true, exitCode: 0, plannedSql: [database.plannedSql, note].join('\n\n') };
  }
  const user = await createUser(context, {
    rotatePassword,
    writeEnv: options.writeEnv,
    dryRun: options.dryRun,
    passwordKept: options.passwordKept,
  });
  if (options.dryRun) {
    const plannedSql = [database.plannedSql, user.plannedSql].filter(Boolean).join('\n\n');
    return { database, user, ok: true, exitCode: 0, plannedSql };
  }
  // The application role logs in with the password it has now: new, rotated, or kept.
  const settings = { ...context.settings, password: user.password ?? keptPassword(context.settings, options) };
  // Should a role appear after the check above with a password that did not reach the env file.
  if (settings.password === undefined) throw passwordUnknownError(settings, true);
  const connection = await testConnection({ ...context, settings }, { migrationsDir: options.migrationsDir });
  return { database, user, connection, ok: connection.ok, exitCode: connection.exitCode };
}

/**
 * The password of a role that kept its own. Read from the env file again, as create-user
 * read it under its lock: a concurrent run with the same env file may have created the role
 * and written its password after this run started (and resolved its settings). A password
 * from the process environment still wins over the file, as everywhere else.
 */
function keptPassword(settings: Settings, options: SetupOptions): string | undefined {
  if (options.writeEnv === false || settings.origins.password?.endsWith('(environment)')) return settings.password;
  const inFile = readEnvFile(settings.envFile);
  const fileUser = inFile?.[VARIABLES.user];
  const filePassword = inFile?.[VARIABLES.password];
  if (!filePassword || (fileUser !== undefined && fileUser !== settings.user)) return settings.password;
  registerSecret(filePassword);
  return filePassword;
}

/**
 * A role that exists with a password neither the env file nor the environment holds (a new
 * env file, say): test-connection could only fail at its configuration check, with a remedy
 * (create-user) that keeps the password.
 */
function passwordUnknownError(settings: Settings, provisioned: boolean): ConfigError {
  const done = provisioned ? ' The database and the grants are in place.' : ' Nothing was changed.';
  return new ConfigError(
    `Role "${settings.user}" already exists and keeps its password, which neither ${settings.envFile} nor the environment holds: the connection cannot be tested.${done}`,
    `Run setup again with --rotate-password (and --yes off a terminal) to give it a new password, written to ${settings.envFile}; or set TOFU_REGISTRY_DB_PASSWORD.`,
    'PASSWORD_UNKNOWN',
  );
}
