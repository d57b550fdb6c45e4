import { type CoreContext } from '../db/context.js';
import { createDatabase, type CreateDatabaseResult } from './create-database.js';
import { createUser, type CreateUserResult } from './create-user/create-user.js';
import { EXIT_CODES, RegistryDbError, type ErrorClass } from '../errors.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { testConnection, type TestConnectionResult } from '../checks/test-connection.js';
import { retryWhileUnreachable, type Retry } from '../db/wait-for-server.js';
import { withSharedConnections } from '../db/admin-connection.js';
import { checkEnvFileWritable } from '../config/env-file-update.js';
import { checkSetupPreflight, knownPassword, passwordUnknownError } from './setup-preflight.js';
import { checkRoleName } from './create-user/facts.js';
import { environmentPassword, fileTargetSessionAttrs } from './create-user/env-values.js';
import type { Endpoint, Settings } from '../config/settings.js';

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
  /** Replace another role's login that the env file holds (see CreateUserOptions.replaceCredentials). */
  readonly replaceCredentials?: boolean;
}

/** The steps of a setup run, in order; a failure names the one it happened in. */
export type SetupStep = 'env-file' | 'wait' | 'create-db' | 'create-user' | 'test-connection';

/** What the steps that ran produced: on failure, the steps before the failing one. */
interface SetupSteps {
  readonly database?: CreateDatabaseResult;
  /** Absent only with dryRun when the database does not exist yet (or when create-user did not run). */
  readonly user?: CreateUserResult;
  /** Absent with dryRun (or when test-connection did not run). */
  readonly connection?: TestConnectionResult;
  /** With dryRun: the SQL that would run. */
  readonly plannedSql?: string;
  /** With waitSeconds: the failures it rode out (a failover, a switchover) before succeeding. */
  readonly retries?: readonly Retry[];
}

export interface SetupSuccess extends SetupSteps {
  readonly ok: true;
  readonly exitCode: 0;
  readonly database: CreateDatabaseResult;
}

export interface SetupFailure extends SetupSteps {
  readonly ok: false;
  /** The CLI's exit code for this failure: 2 usage, 3 unreachable, 4 auth, 5 schema, 130 interrupted, 1 internal. */
  readonly exitCode: number;
  /** What failed, with its code, message and hint (for a failed check: that check's error). */
  readonly error: RegistryDbError;
  readonly failedStep: SetupStep;
}

/**
 * setup()'s one contract: it never rejects. Success and every failure (a refused connection,
 * a failed migration, a failed check, an interruption) come back as data; `ok` tells which.
 */
export type SetupResult = SetupSuccess | SetupFailure;

/**
 * `setup`: create-db (with migrations), create-user, test-connection, in one idempotent
 * run — what a CI job calls. A second run changes nothing and keeps the password.
 */
export async function setup(context: CoreContext, options: SetupOptions = {}): Promise<SetupResult> {
  const progress: Progress = { step: 'env-file' };
  // One admin connection per database for the whole run: create-db's maintenance
  // connection, and one registry connection shared by the migrations and create-user.
  const once = () => withSharedConnections(context, (shared) => setupSteps(shared, options, progress));
  try {
    if (options.waitSeconds === undefined) return await once();
    // --wait: until a primary answers, and again after a failover cuts a step off (each is idempotent).
    const { result, retries } = await retryWhileUnreachable(context, options.waitSeconds, once);
    return retries.length > 0 ? { ...result, retries } : result;
  } catch (error) {
    const failure = toRegistryDbError(error);
    const { step, ...done } = progress;
    return { ok: false, exitCode: failure.exitCode, error: failure, failedStep: step, ...done };
  }
}

/** Where the run is, and what its finished steps returned. */
interface Progress {
  step: SetupStep;
  database?: CreateDatabaseResult;
  user?: CreateUserResult;
}

/** The failed check of a connection test, as the error of the run. */
function checkFailure(connection: TestConnectionResult): RegistryDbError {
  const failed = connection.checks.find((check) => check.status === 'fail');
  const errorClass = (Object.entries(EXIT_CODES).find(([, code]) => code === connection.exitCode)?.[0] ?? 'internal') as ErrorClass;
  const json = failed?.error;
  return new RegistryDbError(errorClass, json?.code ?? 'CHECK_FAILED', json?.message ?? `test-connection failed at ${failed?.name ?? 'a check'}.`, {
    hint: json?.hint ?? undefined,
    cause: json?.sqlstate ?? json?.errno,
    data: { check: failed?.name, ...(json?.details ?? {}) },
  });
}

async function setupSteps(context: CoreContext, options: SetupOptions, progress: Progress): Promise<SetupResult> {
  const { settings } = context;
  const writeEnv = options.writeEnv !== false;
  // An env file that cannot be written is a usage error found before anything changes: not
  // after the database was created, when create-user would find it.
  if (writeEnv && !options.dryRun) await checkEnvFileWritable(settings.envFile);
  // So are a role name that cannot be the application role's: before connecting.
  progress.step = 'create-user';
  checkRoleName(settings);
  progress.step = 'create-db';
  const unknown = !options.dryRun && !options.rotatePassword && settings.password === undefined;
  const rotatePassword = Boolean(options.rotatePassword || (unknown && options.rotateIfUnknown === true));
  const replaceCredentials = Boolean(options.replaceCredentials);
  const database = await createDatabase(context, {
    migrationsDir: options.migrationsDir,
    dryRun: options.dryRun,
    preflight: {
      role: settings.user,
      check: async (facts) => {
        // What create-user could not do, found before create-db changes anything: create-user's failure.
        try {
          await checkSetupPreflight(settings, { rotatePassword, writeEnv, replaceCredentials, dryRun: Boolean(options.dryRun) }, facts);
        } catch (error) {
          progress.step = 'create-user';
          throw error;
        }
      },
    },
  });
  if (options.dryRun && database.migrations === undefined) {
    // The database does not exist yet, so create-user has nothing to plan against: the
    // plan shows what create-db would do and says what follows.
    const note = `-- then create-user: role "${settings.user}" (LOGIN, SCRAM-SHA-256 verifier), its grants, and the env file ${settings.envFile}`;
    return { database, user: undefined, ok: true, exitCode: 0, plannedSql: [database.plannedSql, note].join('\n\n') };
  }
  progress.database = database;
  progress.step = 'create-user';
  const user = await createUser(context, { rotatePassword, writeEnv, dryRun: options.dryRun, passwordKept: options.passwordKept, replaceCredentials });
  if (options.dryRun) {
    const plannedSql = [database.plannedSql, user.plannedSql].filter(Boolean).join('\n\n');
    return { database, user, ok: true, exitCode: 0, plannedSql };
  }
  progress.user = user;
  // The application role logs in as the env file will have it: with the password it has now
  // (new, rotated, or kept), and a host list's primary where the file asks for one.
  const wrote = await context.sharedConnections?.get(settings.database)?.catch(() => undefined);
  const tested = testedSettings(settings, user, writeEnv, wrote?.endpoint);
  // Should a role appear after the check above with a password that did not reach the env file.
  if (tested.password === undefined) throw passwordUnknownError(tested, true);
  progress.step = 'test-connection';
  const connection = await testConnection({ ...context, settings: tested }, { migrationsDir: options.migrationsDir });
  if (!connection.ok) {
    const error = checkFailure(connection);
    return { ok: false, exitCode: error.exitCode, error, failedStep: 'test-connection', database, user, connection };
  }
  return { database, user, connection, ok: true, exitCode: 0 };
}

/**
 * The settings the closing check logs in with: what the env file now describes, and where its
 * password came from. A host list starts at the primary the run wrote to: a standby before it in
 * the list may not have replayed the new role yet, and a failed login ends the list, as in libpq.
 */
function testedSettings(settings: Settings, user: CreateUserResult, writeEnv: boolean, primary: Endpoint | undefined): Settings {
  const password = user.password ?? knownPassword(settings, { writeEnv });
  const given = environmentPassword(settings) !== undefined;
  const origin = user.password !== undefined && !given
    ? `the new password${writeEnv ? ` (written to ${settings.envFile})` : ''}`
    : settings.origins.password !== undefined && settings.origins.password !== 'default' ? settings.origins.password : settings.envFile;
  // The admin may reach the server another way (its own URL): only a primary of the role's own
  // list goes first.
  const same = (h: Endpoint) => primary !== undefined && h.host === primary.host && h.port === primary.port;
  const first = settings.hosts.find(same);
  const hosts = first && settings.hosts.length > 1 ? [first, ...settings.hosts.filter((h) => !same(h))] : settings.hosts;
  return {
    ...settings,
    hosts,
    host: hosts[0]!.host,
    port: hosts[0]!.port,
    password,
    targetSessionAttrs: writeEnv ? fileTargetSessionAttrs(settings) : settings.targetSessionAttrs,
    origins: { ...settings.origins, password: origin },
  };
}
