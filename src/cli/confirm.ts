import { ConfigError, RegistryDbError } from '../core/errors.js';
import { importExternal } from '../core/runtime/import-external.js';

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

