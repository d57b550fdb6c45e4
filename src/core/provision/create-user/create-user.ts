import { readEnvFile } from '../../config/env-file.js';
import { refuseSystemDatabase } from '../../config/names.js';
import type { Settings } from '../../config/settings.js';
import { connectAsAdmin } from '../../db/admin-connection.js';
import { runBatch } from '../../db/batch.js';
import { disconnect, type Connection } from '../../db/connection.js';
import { loggerOf, recordChange, type CoreContext } from '../../db/context.js';
import { toRegistryDbError } from '../../db/pg-errors.js';
import { assertPrimary } from '../../db/primary.js';
import { rollbackQuietly, runQuery } from '../../db/query.js';
import type { Logger } from '../../logger.js';
import { MIGRATIONS_TABLE } from '../../migrations/bookkeeping.js';
import { LEASES_TABLE } from '../../migrations/lease.js';
import { REDACTED, redactSecrets } from '../../redact.js';
import { runCritical } from '../../runtime/critical-section.js';
import { appRoleGrantsSql } from '../../sql/grants.js';
import { quoteLiteral } from '../../sql/quote.js';
import { alterRoleSql, createRoleSql } from '../../sql/roles.js';
import { ENV_HEADER, envFileNotes, envFileSummary, envFileValues, envFileWarnings, environmentPassword, passwordInFile, passwordToWrite, refuseMislabel, refuseReplacingOtherRole, type CreateUserEnvFile } from './env-values.js';
import { checkGivenPassword } from './given-password.js';
import { checkRoleName, CREATE_USER_LOCK, roleFactsSql, SCHEMA, type RoleFacts } from './facts.js';
import { describeGrants, leftoverCreateWarnings, planRoleChange, type RolePlan } from './plan.js';
import { applyRoleAndGrants, commitAlongsideEnvFile, newCredentials } from './transaction.js';
import { recoverInterruptedChange } from './rotation-recovery.js';
import { writeEnvFileBackup } from '../../config/env-file-backup.js';
import { checkEnvFileWritable, planEnvFileUpdate, prepareEnvFileUpdate, type PreparedEnvFileUpdate } from '../../config/env-file-update.js';


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
  /**
   * Replace another role's login that the env file holds (its password is then gone from the
   * file). Without it createUser refuses (exit 2) before changing anything.
   */
  readonly replaceCredentials?: boolean;
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

/** One create-user run on its connection: what it decided, and what it still has to clean up. */
interface Run {
  readonly connection: Connection;
  readonly logger: Logger;
  readonly settings: Settings;
  readonly options: CreateUserOptions & { readonly writeEnv: boolean };
  readonly serverWarnings: string[];
  readonly context: CoreContext;
  prepared?: PreparedEnvFileUpdate;
  inTransaction: boolean;
}

/** What the transaction decided, read under the lock. */
interface Decision {
  readonly facts: RoleFacts;
  readonly plan: RolePlan;
  readonly grantStatements: readonly string[];
  /** The env file as read under the lock, so a concurrent run's write is seen. */
  readonly inFile: Readonly<Record<string, string>>;
  readonly envWarnings: readonly string[];
}

/**
 * `create-user`: the least-privilege application role, its password (as a client-side
 * SCRAM verifier) and the env file. One admin connection to the registry database does
 * everything in one transaction (facts.ts → plan.ts → transaction.ts); the env file is
 * renamed into place just before COMMIT, so a role never ends up with a password that is
 * neither in the env file nor returned.
 */
export async function createUser(context: CoreContext, options: CreateUserOptions = {}): Promise<CreateUserResult> {
  const { settings } = context;
  const writeEnv = options.writeEnv !== false;
  refuseSystemDatabase(settings.database, settings.origins.database);
  checkRoleName(settings);
  // Before connecting: an env file that cannot be written is a usage error, and nothing has changed yet.
  if (writeEnv) await checkEnvFileWritable(settings.envFile);

  const connection = await connectAsAdmin(context, settings.database);
  const run: Run = { connection, logger: loggerOf(context), settings, options: { ...options, writeEnv }, serverWarnings: [], context, inTransaction: false };
  const onNotice = (notice: { severity?: string; message?: string }) => {
    if (notice.severity === 'WARNING' && notice.message) run.serverWarnings.push(`PostgreSQL: ${notice.message}`);
  };
  connection.client.on('notice', onNotice); // removed below: the connection may be shared with later steps
  try {
    await assertPrimary(connection, run.logger);
    // A new role (or a rotation) needs a password and its verifier: made on the thread pool
    // while the server answers the opening batch, and simply dropped if the role keeps its own.
    const credentials = options.dryRun ? undefined : newCredentials(environmentPassword(settings));
    credentials?.catch(() => undefined); // awaited below when needed
    const decision = await decide(run);
    if (options.dryRun) return await dryRunResult(run, decision);
    return await apply(run, decision, decision.plan.newPassword ? await credentials! : undefined);
  } catch (error) {
    if (run.inTransaction) await rollbackQuietly(connection);
    await run.prepared?.discard().catch(() => undefined);
    throw toRegistryDbError(error, { database: settings.database, user: settings.admin.user });
  } finally {
    connection.client.off('notice', onNotice);
    await disconnect(connection);
  }
}

/**
 * Opens the transaction and decides. One message: the transaction, its timeouts, the lock (so
 * two runs never both create the role, both rotate it, or rewrite the same grants at once) and
 * the facts read under it.
 */
async function decide(run: Run): Promise<Decision> {
  const { connection, logger, settings, options } = run;
  run.inTransaction = true; // from the batch's BEGIN on (a ROLLBACK outside one is harmless)
  const opening = await runBatch(connection, logger, [
    'BEGIN',
    `SELECT set_config('lock_timeout', ${quoteLiteral(`${settings.lockTimeoutMs}ms`)}, true), set_config('statement_timeout', ${quoteLiteral(`${settings.statementTimeoutMs}ms`)}, true)`,
    `SELECT pg_advisory_xact_lock(${CREATE_USER_LOCK})`,
    roleFactsSql(settings.user),
  ]);
  if (!opening.ok) throw opening.error;
  const facts = opening.results[3]!.rows[0] as RoleFacts;
  // Under the lock: a run killed between its env file's rename and its COMMIT is repaired first.
  const recovered = options.writeEnv ? await recoverInterruptedChange(connection, logger, settings, facts.admin_superuser) : undefined;
  if (recovered) run.serverWarnings.push(recovered);
  const plan = planRoleChange(facts, settings, options);
  const grantStatements = appRoleGrantsSql({
    database: settings.database,
    schema: SCHEMA,
    role: settings.user,
    owner: settings.admin.user,
    revokeCreateOnSchemaFromPublic: plan.revokeCreateOnSchemaFromPublic,
    grantOnSchema: plan.grantOnSchema,
    readOnlyTables: [...(facts.bookkeeping_exists ? [MIGRATIONS_TABLE] : []), ...(facts.leases_exist ? [LEASES_TABLE] : [])],
  });
  const inFile = options.writeEnv ? (readEnvFile(settings.envFile) ?? {}) : {};
  let envWarnings: string[] = [];
  if (options.writeEnv && !plan.newPassword) {
    refuseMislabel(settings, inFile, true);
    const known = passwordToWrite(settings, inFile, undefined);
    // Only superusers may read pg_authid; for others the env file's password goes unchecked
    // (one the environment gives is tried by logging in).
    const stored = facts.admin_superuser && known !== undefined
      ? (((await runQuery(connection, logger, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [settings.user])).rows[0]?.rolpassword as string | null) ?? null)
      : undefined;
    await checkGivenPassword(settings, stored);
    envWarnings = envFileWarnings(settings, known, stored);
  }
  if (options.writeEnv) {
    refuseReplacingOtherRole(settings, inFile, Boolean(options.replaceCredentials));
    envWarnings = [...envWarnings, ...envFileNotes(settings, inFile)];
  }
  return { facts, plan, grantStatements, inFile, envWarnings };
}

/** Into the run's journal: what this create-user changed, once committed. */
function recordCommitted(run: Run, plan: RolePlan, roleChanged: boolean): void {
  const { settings, context } = run;
  if (plan.create) recordChange(context, `created role "${settings.user}"`);
  else if (plan.newPassword) recordChange(context, `gave role "${settings.user}" a new password`);
  else if (roleChanged) recordChange(context, `changed role "${settings.user}": ${plan.attributeFixes.join(' ')}`);
  recordChange(context, `granted role "${settings.user}" its privileges on database "${settings.database}"`);
  const env = run.prepared?.result;
  if (env?.written) recordChange(context, `${env.created ? 'created' : 'updated'} ${env.path} (${[...env.addedKeys, ...env.changedKeys, ...env.removedKeys].join(', ')})`);
}

/** The role statement the plan needs, if any, with this verifier. */
function roleStatement(role: string, plan: RolePlan, verifier: string): string | undefined {
  if (plan.create) return createRoleSql(role, verifier);
  if (plan.newPassword || plan.attributeFixes.length > 0) {
    return alterRoleSql(role, { attributes: plan.attributeFixes, verifier: plan.newPassword ? verifier : undefined });
  }
  return undefined;
}

/** --dry-run: the transaction is rolled back, and the result says what would have been sent. */
async function dryRunResult(run: Run, decision: Decision): Promise<CreateUserResult> {
  const { settings, options } = run;
  const { plan } = decision;
  await runQuery(run.connection, run.logger, 'ROLLBACK');
  run.inTransaction = false;
  const statements = [roleStatement(settings.user, plan, `SCRAM-SHA-256$${REDACTED}`), ...decision.grantStatements].filter((s): s is string => s !== undefined);
  const plannedPassword = passwordToWrite(settings, decision.inFile, plan.newPassword ? (environmentPassword(settings) ?? REDACTED) : undefined);
  const plannedEnv = options.writeEnv
    ? await planEnvFileUpdate(settings.envFile, envFileValues(settings, decision.inFile, plannedPassword), { headerComment: ENV_HEADER })
    : undefined;
  return {
    role: settings.user,
    database: settings.database,
    created: false,
    passwordChanged: false,
    envFile: plannedEnv && envFileSummary({ ...plannedEnv, written: false }, decision.envWarnings, passwordInFile(settings, decision.inFile, plannedPassword)),
    grants: describeGrants(settings),
    warnings: plan.warnings,
    plannedSql: redactSecrets(['BEGIN;', ...statements.map((s) => `${s};`), 'COMMIT;'].join('\n')),
  };
}

/** Sends the role change and the grants, writes the env file beside them, then commits both. */
async function apply(run: Run, decision: Decision, credentials: { password: string; verifier: string } | undefined): Promise<CreateUserResult> {
  const { connection, logger, settings, options } = run;
  const { facts, plan } = decision;
  const password = credentials?.password;
  const written = options.writeEnv ? passwordToWrite(settings, decision.inFile, password) : undefined;
  const statement = roleStatement(settings.user, plan, credentials?.verifier ?? '');
  logger.step(`${statement ? (plan.create ? `Creating role ${settings.user}, granting` : `Updating role ${settings.user}, granting`) : 'Granting'} privileges on ${settings.database}`);
  // The env file goes to a temporary file (fsync included) while the server works on the
  // role and the grants; it is renamed into place only once they have succeeded. Nothing
  // may throw between starting the two and waiting for both (the caller discards it).
  const [granted, prepared] = await Promise.allSettled([
    applyRoleAndGrants(connection, logger, settings, { statement, create: plan.create, serverVersion: facts.server_version }, decision.grantStatements, facts.foreign_objects),
    options.writeEnv
      ? prepareEnvFileUpdate(settings.envFile, envFileValues(settings, decision.inFile, written), { headerComment: ENV_HEADER }).then(
          (p) => (run.prepared = p),
        )
      : undefined,
  ]);
  if (granted.status === 'rejected') throw granted.reason;
  if (prepared.status === 'rejected') throw prepared.reason;
  const check = granted.value;
  const warnings = [...plan.warnings, ...leftoverCreateWarnings(settings, check, plan.warnings)];
  const update = run.prepared;
  if (update) logger.step(`Writing ${update.result.path}`);
  // The rename and the COMMIT belong together: an interrupt waits until both are done, and
  // against a kill the old file is kept beside the new one until the COMMIT is known.
  let dropBackup: (() => Promise<void>) | undefined;
  await runCritical(async () => {
    if (update?.result.written && plan.newPassword) dropBackup = await writeEnvFileBackup(settings.envFile, settings.user, update.previous, update.result.mode);
    await update?.commit();
    run.inTransaction = false;
    warnings.push(...(await commitAlongsideEnvFile(connection, logger, settings, update, password, dropBackup)));
  });
  await dropBackup?.();
  recordCommitted(run, plan, statement !== undefined);
  return {
    role: settings.user,
    database: settings.database,
    created: plan.create,
    passwordChanged: plan.newPassword,
    ...(password !== undefined ? { password } : {}),
    ...(update ? { envFile: envFileSummary(update.result, decision.envWarnings, passwordInFile(settings, decision.inFile, written)) } : {}),
    grants: describeGrants(settings, check),
    warnings: [...warnings, ...run.serverWarnings],
  };
}
