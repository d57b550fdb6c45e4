import { ConfigError, RegistryDbError } from '../core/errors.js';
import { importExternal } from '../core/runtime/import-external.js';
import type { Settings } from '../core/config/settings.js';

/** A rotation breaks every client still using the old password: asked on a terminal, --yes elsewhere. */
export async function confirmRotation(role: string, interactive: boolean, yes: boolean): Promise<void> {
  if (yes) return;
  if (!interactive) {
    throw new ConfigError(
      `--rotate-password replaces the password of role "${role}", which running clients may still use.`,
      'Confirm with --yes (or -y).',
      'CONFIRMATION_REQUIRED',
    );
  }
  const { confirm } = await importExternal<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  // Ctrl-C at the prompt becomes an interruption (exit 130) in toRegistryDbError.
  const confirmed = await confirm(
    { message: `Give role "${role}" a new password? The old one stops working at once.`, default: false },
    { output: process.stderr },
  );
  if (!confirmed) throw new RegistryDbError('usage', 'CANCELLED', 'Cancelled: the password was not rotated.');
}


/**
 * Writing a role's login over another role's in the env file loses that role's password there:
 * asked on a terminal; elsewhere --yes, else the command refuses (exit 2) with nothing changed.
 */
export async function confirmReplacement(settings: Settings, interactive: boolean, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!interactive) return false;
  const { readEnvFile } = await import('../core/config/env-file.js');
  const { replacedPasswords } = await import('../core/provision/create-user/env-values.js');
  const others = replacedPasswords(settings, readEnvFile(settings.envFile) ?? {});
  if (others.length === 0) return false;
  const { confirm } = await importExternal<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  const roles = [...new Set(others.map((o) => `"${o.role}"`))].join(' and ');
  const confirmed = await confirm(
    { message: `${settings.envFile} holds role ${roles}'s password; replace it with role "${settings.user}"'s login? That password is then gone from the file.`, default: false },
    { output: process.stderr },
  );
  if (!confirmed) throw new RegistryDbError('usage', 'CANCELLED', `Cancelled: ${settings.envFile} was left as it is, and nothing was changed.`);
  return true;
}
