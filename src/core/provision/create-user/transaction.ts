import { runBatch } from '../../db/batch.js';
import type { Settings } from '../../config/settings.js';
import { type Connection } from '../../db/connection.js';
import { passwordLogsIn } from '../../db/login-probe.js';
import { toRegistryDbError } from '../../db/pg-errors.js';
import { runQuery } from '../../db/query.js';
import { isSqlState, RegistryDbError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { registerSecret } from '../../redact.js';
import { generateAppPassword } from '../password.js';
import { scramSha256VerifierAsync } from '../scram.js';
import { grantCheckSql, SCHEMA, type GrantCheck } from './facts.js';
import { roleNotManageable } from './plan.js';
import { type PreparedEnvFileUpdate } from '../../config/env-file-update.js';

/**
 * create-user, step three: the transaction. The role statement, the grants and the proof of
 * the end state in one message; then the env file's rename and the COMMIT, together.
 */

/**
 * Creates or alters the role, runs the grants, then proves the end state, all in one message
 * (one wait for the server): a privilege the admin could not give fails the run (exit 4).
 */
export async function applyRoleAndGrants(
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
  const outcome = await runBatch(connection, logger, [...roleStatements, ...grants, grantCheckSql(settings.user)]);
  if (!outcome.ok) {
    const { error, failedAt } = outcome;
    if ((error as { code?: unknown })?.code !== '42501') throw error;
    if (failedAt < roleStatements.length) throw role.create ? error : roleNotManageable(settings, role.serverVersion, (error as Error).message);
    throw failure(`${(error as Error).message}${notOwned}`);
  }
  const check = outcome.results[outcome.results.length - 1]!.rows[0] as GrantCheck;
  const missing = [...check.tables_missing, ...check.sequences_missing];
  if (missing.length > 0) throw failure(`missing on ${missing.join(', ')}`);
  if (!check.can_connect || !check.schema_usage) throw failure(`missing on database "${settings.database}" or schema "${SCHEMA}"`);
  return check;
}

/**
 * COMMIT, with the env file already renamed into place. If COMMIT fails and the change
 * did not happen, the previous env file is put back; if it did, the new one stays.
 */
export async function commitAlongsideEnvFile(
  connection: Connection,
  logger: Logger,
  settings: Settings,
  prepared: PreparedEnvFileUpdate | undefined,
  password: string | undefined,
  dropBackup?: () => Promise<void>,
): Promise<string[]> {
  try {
    await runQuery(connection, logger, 'COMMIT');
    return [];
  } catch (error) {
    const happened = await commitHappened(error, settings, password);
    if (happened === true) return ['The answer to COMMIT was lost, but logging in with the new password proved that the change was made.'];
    if (happened === false) {
      await prepared?.restore();
      await dropBackup?.();
    }
    const failure = toRegistryDbError(error, { action: 'Committing the role change', database: settings.database, user: settings.admin.user });
    throw failure.rewrap(failure.message, {
      hint:
        happened === false
          ? 'The role change was rolled back and the env file restored: nothing was changed. Run create-user again.'
          : 'It is unknown whether the change was made; the env file holds the new credentials. Run create-user again (with --rotate-password if they do not work).',
    });
  }
}

/**
 * Whether a COMMIT that failed may still have happened. A server that answered with an
 * error rolled back; a lost connection leaves it open, so the new password is tried.
 */
async function commitHappened(error: unknown, settings: Settings, password: string | undefined): Promise<boolean | undefined> {
  const state = (error as { code?: unknown })?.code;
  if (isSqlState(state) && !state.startsWith('08') && !state.startsWith('57P')) return false;
  if (password === undefined) return undefined;
  return passwordLogsIn(settings, settings.user, password);
}

/** A password (generated, unless the operator gave one) and its SCRAM verifier, both registered as secrets at once. */
export async function newCredentials(given?: string): Promise<{ password: string; verifier: string }> {
  const password = given ?? generateAppPassword();
  registerSecret(password);
  const verifier = await scramSha256VerifierAsync(password);
  registerSecret(verifier);
  return { password, verifier };
}
