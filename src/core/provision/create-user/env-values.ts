import { CONNECTION_VARIABLES, VARIABLES, type Settings } from '../../config/settings.js';
import { scramVerifierMatches } from '../scram.js';
import { type EnvFileUpdateResult } from '../../config/env-file-update.js';

/** What create-user writes into the env file, and what it says about a file it cannot fix. */

export const ENV_HEADER = 'Written by tofu-registry-db create-user: the application role and how to reach the registry database.';

/** The env file's part of create-user's result. */
export interface CreateUserEnvFile {
  readonly path: string;
  /** False with dryRun, or when the file already held every value. */
  readonly written: boolean;
  /** With dryRun: whether it would be created. */
  readonly created: boolean;
  readonly addedKeys: readonly string[];
  readonly changedKeys: readonly string[];
  readonly warnings: readonly string[];
}

export function envFileValues(settings: Settings, inFile: Readonly<Record<string, string>>, password: string | undefined): Record<string, string> {
  const effective: Record<(typeof CONNECTION_VARIABLES)[number], string> = {
    [VARIABLES.type]: 'postgres',
    [VARIABLES.host]: settings.host,
    [VARIABLES.port]: String(settings.port),
    [VARIABLES.database]: settings.database,
    [VARIABLES.sslMode]: settings.sslMode,
  };
  const values: Record<string, string> = { [VARIABLES.user]: settings.user };
  if (password !== undefined) values[VARIABLES.password] = password;
  for (const variable of CONNECTION_VARIABLES) {
    if (inFile[variable] === undefined) values[variable] = effective[variable];
  }
  return values;
}

/** Warnings about the env file that no write can fix: a password it lacks, or one that is wrong. */
export function envFileWarnings(settings: Settings, inFile: Readonly<Record<string, string>>, storedVerifier: string | null | undefined): string[] {
  const role = settings.user;
  const warnings: string[] = [];
  const fileDatabase = inFile[VARIABLES.database];
  if (fileDatabase !== undefined && fileDatabase !== settings.database) {
    warnings.push(`${settings.envFile} sets ${VARIABLES.database}=${fileDatabase}, but the role was set up for database "${settings.database}".`);
  }
  const filePassword = inFile[VARIABLES.password];
  const fileUser = inFile[VARIABLES.user];
  if (!filePassword || (fileUser !== undefined && fileUser !== role)) {
    warnings.push(
      `Role "${role}" already exists and keeps its password, which ${settings.envFile} does not hold: ` +
        'run create-user --rotate-password to set a new one and write it there.',
    );
  } else if (storedVerifier !== undefined) {
    if (storedVerifier === null || !scramVerifierMatches(filePassword, storedVerifier)) {
      warnings.push(
        `The ${VARIABLES.password} in ${settings.envFile} is not role "${role}"'s password (checked against its SCRAM verifier): ` +
          'run create-user --rotate-password to set a new one.',
      );
    }
  }
  return warnings;
}

export function envFileSummary(result: EnvFileUpdateResult, extraWarnings: readonly string[]): CreateUserEnvFile {
  const { path, written, created, addedKeys, changedKeys, warnings } = result;
  return { path, written, created, addedKeys, changedKeys, warnings: [...warnings, ...extraWarnings] };
}
