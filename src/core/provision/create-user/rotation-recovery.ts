import { readEnvFileBackup, removeEnvFileBackup, restoreEnvFileBackup, type EnvFileBackup } from '../../config/env-file-backup.js';
import { readEnvFile } from '../../config/env-file.js';
import { type Settings } from '../../config/settings.js';
import { envFilePasswordOf } from '../../config/env-file-credentials.js';
import { type Connection } from '../../db/connection.js';
import { passwordLogsIn } from '../../db/login-probe.js';
import { runQuery } from '../../db/query.js';
import type { Logger } from '../../logger.js';
import { registerSecret } from '../../redact.js';
import { scramVerifierMatches } from '../scram.js';

/**
 * After a run that was killed while changing a password. create-user renames the new env file
 * into place just before COMMIT, with the old file kept as a backup beside it; killed between
 * the two, the file holds a password the server rolled back. Under create-user's lock, the next
 * run looks for such a backup, learns whether the change was committed (the file's password
 * matches the role's verifier, or logs in), and keeps the new file or puts the old one back.
 * Either way the file logs in again, with no human involved.
 */
export async function recoverInterruptedChange(
  connection: Connection,
  logger: Logger,
  settings: Settings,
  superuser: boolean,
): Promise<string | undefined> {
  const backup = await readEnvFileBackup(settings.envFile);
  if (!backup || backup.ownerAlive) return undefined; // none, or a run that is still at it
  const current = envFilePasswordOf(readEnvFile(settings.envFile) ?? {}, backup.role);
  registerSecret(current);
  const committed = current !== undefined && (await passwordWorks(connection, logger, settings, backup, current, superuser));
  if (committed === undefined) return undefined; // cannot tell: the backup stays for a later run
  if (committed) {
    await removeEnvFileBackup(backup);
    return `A run that was killed while giving role "${backup.role}" a new password had committed it: ${settings.envFile} keeps the new password.`;
  }
  await restoreEnvFileBackup(backup);
  return `A run that was killed while giving role "${backup.role}" a new password had not committed it: ${settings.envFile} was put back as it was before that run.`;
}

/**
 * Whether `password` is the role's password now: against its stored verifier where the admin may
 * read pg_authid (a superuser), else by logging in as the role. Undefined when neither can tell.
 */
async function passwordWorks(
  connection: Connection,
  logger: Logger,
  settings: Settings,
  backup: EnvFileBackup,
  password: string,
  superuser: boolean,
): Promise<boolean | undefined> {
  if (superuser) {
    const { rows } = await runQuery<{ rolpassword: string | null }>(connection, logger, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [backup.role]);
    return rows.length > 0 && rows[0]!.rolpassword !== null && scramVerifierMatches(password, rows[0]!.rolpassword);
  }
  return passwordLogsIn(settings, backup.role, password);
}
