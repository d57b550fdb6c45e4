import { type CoreContext } from '../db/context.js';
import { createDatabase, type CreateDatabaseResult } from './create-database.js';
import { createUser, type CreateUserResult } from './create-user/create-user.js';
import { testConnection, type TestConnectionResult } from '../checks/test-connection.js';
import { retryWhileUnreachable, type Retry } from '../db/wait-for-server.js';
import { withSharedConnections } from '../db/admin-connection.js';
import { checkEnvFileWritable } from '../config/env-file-update.js';
import { checkSetupPreflight, knownPassword, passwordUnknownError } from './setup-preflight.js';

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
  /** With waitSeconds: the failures it rode out (a failover, a switchover) before succeeding. */
  readonly retries?: readonly Retry[];
}

/**
 * `setup`: create-db (with migrations), create-user, test-connection, in one idempotent
 * run — what a CI job calls. A second run changes nothing and keeps the password.
 */
export async function setup(context: CoreContext, options: SetupOptions = {}): Promise<SetupResult> {
  // One admin connection per database for the whole run: create-db's maintenance
  // connection, and one registry connection shared by the migrations and create-user.
  const once = () => withSharedConnections(context, (shared) => setupSteps(shared, options));
  if (options.waitSeconds === undefined) return once();
  // --wait: until a primary answers, and again after a failover cuts a step off (each is idempotent).
  const { result, retries } = await retryWhileUnreachable(context, options.waitSeconds, once);
  return retries.length > 0 ? { ...result, retries } : result;
}

async function setupSteps(context: CoreContext, options: SetupOptions): Promise<SetupResult> {
  const { settings } = context;
  const writeEnv = options.writeEnv !== false;
  // An env file that cannot be written is a usage error found before anything changes: not
  // after the database was created, when create-user would find it.
  if (writeEnv && !options.dryRun) await checkEnvFileWritable(settings.envFile);
  const unknown = !options.dryRun && !options.rotatePassword && settings.password === undefined;
  const rotatePassword = Boolean(options.rotatePassword || (unknown && options.rotateIfUnknown === true));
  const database = await createDatabase(context, {
    migrationsDir: options.migrationsDir,
    dryRun: options.dryRun,
    preflight: {
      role: settings.user,
      check: (facts) => checkSetupPreflight(settings, { rotatePassword, writeEnv, dryRun: Boolean(options.dryRun) }, facts),
    },
  });
  if (options.dryRun && database.migrations === undefined) {
    // The database does not exist yet, so create-user has nothing to plan against: the
    // plan shows what create-db would do and says what follows.
    const note = `-- then create-user: role "${settings.user}" (LOGIN, SCRAM-SHA-256 verifier), its grants, and the env file ${settings.envFile}`;
    return { database, user: undefined, ok: true, exitCode: 0, plannedSql: [database.plannedSql, note].join('\n\n') };
  }
  const user = await createUser(context, { rotatePassword, writeEnv, dryRun: options.dryRun, passwordKept: options.passwordKept });
  if (options.dryRun) {
    const plannedSql = [database.plannedSql, user.plannedSql].filter(Boolean).join('\n\n');
    return { database, user, ok: true, exitCode: 0, plannedSql };
  }
  // The application role logs in with the password it has now: new, rotated, or kept.
  const tested = { ...settings, password: user.password ?? knownPassword(settings, { writeEnv }) };
  // Should a role appear after the check above with a password that did not reach the env file.
  if (tested.password === undefined) throw passwordUnknownError(tested, true);
  const connection = await testConnection({ ...context, settings: tested }, { migrationsDir: options.migrationsDir });
  return { database, user, connection, ok: connection.ok, exitCode: connection.exitCode };
}
