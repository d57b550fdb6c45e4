import type { Settings } from '../../config/settings.js';
import { passwordLogsIn } from '../../db/login-probe.js';
import { RegistryDbError } from '../../errors.js';
import { scramVerifierMatches } from '../scram.js';
import { environmentPassword } from './env-values.js';

/**
 * The password the operator gave in the environment for a role that exists and keeps its own:
 * checked before anything changes, because the run would write it into the env file and the API
 * would log in with it. Against the role's stored verifier where the admin may read it (a
 * superuser: `stored`), else by logging in as the role.
 */
export async function checkGivenPassword(settings: Settings, stored?: string | null): Promise<void> {
  const given = environmentPassword(settings);
  if (given === undefined) return;
  const works = stored !== undefined ? stored !== null && scramVerifierMatches(given, stored) : await passwordLogsIn(settings, settings.user, given);
  if (works !== false) return;
  const origin = settings.origins.password ?? 'the environment';
  throw new RegistryDbError(
    'auth',
    'PASSWORD_WRONG',
    `The password that ${origin} gives for role "${settings.user}" is not its password (${stored !== undefined ? 'checked against its SCRAM verifier' : 'the server refused it'}). Nothing was changed.`,
    {
      hint: `Correct ${origin}; or, to make it the role's password, run again with --rotate-password (a role gets the password the environment gives, and the env file ${settings.envFile} records it).`,
      cause: '28P01',
    },
  );
}
