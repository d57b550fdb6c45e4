import path from 'node:path';
import type { EnvFileUpdateResult } from '../../config/env-file-update.js';
import type { EnvValue } from '../../config/env-text.js';
import { envFilePasswordOf, envFileRole, type Settings } from '../../config/settings.js';
import { buildConnectionUri } from '../../config/conninfo.js';
import { formatEndpoints } from '../../config/host.js';
import { ConfigError } from '../../errors.js';
import { scramVerifierMatches } from '../scram.js';
import { DATABASE_URL, VARIABLES } from '../../config/variables.js';

/**
 * What create-user writes into the env file. The rule: afterwards the file describes exactly
 * the connection this run set up (database, host, port, sslmode, root certificate, role), and a
 * password in it is that role's password, never another role's. Every other line stays as it was.
 */

export const ENV_HEADER = 'Written by tofu-registry-db create-user: the application role and how to reach the registry database.';

/** The env file's part of create-user's result (written: false with dryRun, or when the file already held every value). */
export type CreateUserEnvFile = Pick<EnvFileUpdateResult, 'path' | 'written' | 'created' | 'addedKeys' | 'changedKeys' | 'removedKeys' | 'warnings'>;

/**
 * The password the file must hold after this run: a new one; else the one the operator gave in
 * the environment; else the file's own, where it is this role's. Undefined: the file holds none.
 */
export function passwordToWrite(settings: Settings, inFile: Readonly<Record<string, string>>, newPassword: string | undefined): string | undefined {
  if (newPassword !== undefined) return newPassword;
  if (settings.password !== undefined && settings.origins.password?.endsWith('(environment)')) return settings.password;
  // The file as read under the lock (a concurrent run may have written it), else what the settings
  // paired with this role (a URI's password).
  return envFilePasswordOf(inFile, settings.user) ?? (inFile[VARIABLES.password] === undefined ? settings.password : undefined);
}

/**
 * Refuses (exit 2, before anything changes) to write role "X" beside a password that belongs to
 * another role: the role keeps a password nobody here knows, and the file holds someone else's.
 */
export function refuseMislabel(settings: Settings, inFile: Readonly<Record<string, string>>, roleKeepsPassword: boolean): void {
  if (!roleKeepsPassword || passwordToWrite(settings, inFile, undefined) !== undefined || !inFile[VARIABLES.password]) return;
  const other = envFileRole(inFile);
  throw new ConfigError(
    `Role "${settings.user}" already exists and keeps its password, which nobody here knows; ${settings.envFile} holds role "${other}"'s password. ` +
      `Writing ${VARIABLES.user}=${settings.user} beside it would leave a file that logs in as neither. Nothing was changed.`,
    `Give "${settings.user}" a new password written to that file with --rotate-password (it replaces "${other}"'s credentials there), ` +
      `use another --env-file for "${settings.user}", or set ${VARIABLES.password} in the environment.`,
    'PASSWORD_UNKNOWN',
  );
}

/** The root certificate as the file should name it: its own spelling kept where it names the same file. */
function rootCertValue(settings: Settings, inFile: Readonly<Record<string, string>>): EnvValue {
  if (settings.sslRootCert === undefined) return null;
  const written = inFile[VARIABLES.sslRootCert];
  if (written !== undefined && (written === settings.sslRootCert || path.resolve(written) === settings.sslRootCert)) return written;
  return settings.sslRootCert;
}

/**
 * target_session_attrs for the file: a host list needs the primary (the API writes), so one that
 * was left at "any" is written as read-write; a value the operator chose is kept.
 */
function targetValue(settings: Settings, inFile: Readonly<Record<string, string>>): EnvValue | undefined {
  if (settings.targetSessionAttrs !== 'any') return settings.targetSessionAttrs;
  if (settings.hosts.length > 1) return 'read-write';
  return inFile[VARIABLES.targetSessionAttrs] === undefined ? undefined : null;
}

/**
 * Every connection value of the run, and the role's password where one is known (see
 * passwordToWrite). A file that keeps its connection as a URI (TOFU_REGISTRY_DB_URL, or
 * DATABASE_URL) gets that URI rewritten, with the host list, instead of separate variables.
 */
export function envFileValues(settings: Settings, inFile: Readonly<Record<string, string>>, password: string | undefined): Record<string, EnvValue> {
  const endpoints = formatEndpoints(settings.hosts);
  const target = targetValue(settings, inFile);
  const singles: Record<string, EnvValue> = {
    [VARIABLES.type]: 'postgres',
    [VARIABLES.host]: endpoints.host,
    [VARIABLES.port]: endpoints.port,
    [VARIABLES.database]: settings.database,
    [VARIABLES.sslMode]: settings.sslMode,
    [VARIABLES.sslRootCert]: rootCertValue(settings, inFile),
    ...(target !== undefined ? { [VARIABLES.targetSessionAttrs]: target } : {}),
    [VARIABLES.user]: settings.user,
  };
  if (password !== undefined) singles[VARIABLES.password] = password;
  else if (inFile[VARIABLES.password] !== undefined) singles[VARIABLES.password] = null; // an empty value: none
  const uriVariable = [VARIABLES.url, DATABASE_URL].find((v) => inFile[v] !== undefined);
  if (uriVariable === undefined) return singles;
  // The file's own style: its URI carries the connection; separate variables it already has are kept in step.
  const uri = buildConnectionUri({
    hosts: settings.hosts,
    database: settings.database,
    user: settings.user,
    password,
    params: { sslmode: settings.sslMode, sslrootcert: settings.sslRootCert, ...(typeof target === 'string' ? { target_session_attrs: target } : {}) },
  });
  const kept = Object.fromEntries(Object.entries(singles).filter(([key]) => inFile[key] !== undefined));
  return { ...kept, [uriVariable]: uri };
}

/** Warnings about the env file that no write can fix: a password it lacks, or one that is wrong. */
export function envFileWarnings(settings: Settings, password: string | undefined, storedVerifier: string | null | undefined): string[] {
  const role = settings.user;
  if (password === undefined) {
    return [`Role "${role}" already exists and keeps its password, which ${settings.envFile} does not hold: run create-user --rotate-password to set a new one and write it there.`];
  }
  if (storedVerifier !== undefined && (storedVerifier === null || !scramVerifierMatches(password, storedVerifier))) {
    return [`The ${VARIABLES.password} in ${settings.envFile} is not role "${role}"'s password (checked against its SCRAM verifier): run create-user --rotate-password to set a new one.`];
  }
  return [];
}

export function envFileSummary(result: EnvFileUpdateResult, extraWarnings: readonly string[]): CreateUserEnvFile {
  const { path: file, written, created, addedKeys, changedKeys, removedKeys, warnings } = result;
  return { path: file, written, created, addedKeys, changedKeys, removedKeys, warnings: [...warnings, ...extraWarnings] };
}
