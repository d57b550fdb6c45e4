import path from 'node:path';
import type { EnvFileUpdateResult } from '../../config/env-file-update.js';
import type { EnvValue } from '../../config/env-text.js';
import { type Settings } from '../../config/settings.js';
import { envFileCredentials, envFilePasswordOf, otherRolesPasswords } from '../../config/env-file-credentials.js';
import { buildConnectionUri } from '../../config/conninfo.js';
import { formatEndpoints } from '../../config/host.js';
import { ConfigError } from '../../errors.js';
import { scramVerifierMatches } from '../scram.js';
import { VARIABLES, type TargetSessionAttrs } from '../../config/variables.js';

/**
 * What create-user writes into the env file. The rule: afterwards the file describes exactly
 * the connection this run set up (database, host, port, sslmode, root certificate, role), and a
 * password in it is that role's password, never another role's. Every other line stays as it was.
 */

export const ENV_HEADER = 'Written by tofu-registry-db create-user: the application role and how to reach the registry database.';

/** Whether the file holds the role's password after the run: one it was given now, the one it had, or none. */
export type PasswordInFile = 'written' | 'unchanged' | 'absent';

/** The env file's part of create-user's result (written: false with dryRun, or when the file already held every value). */
export type CreateUserEnvFile = Pick<EnvFileUpdateResult, 'path' | 'written' | 'created' | 'addedKeys' | 'changedKeys' | 'removedKeys' | 'warnings'> & {
  readonly password: PasswordInFile;
};

/**
 * The application role's password as the operator gave it in the environment (a
 * TOFU_REGISTRY_DB_PASSWORD, or the password of a URI there), where it is this role's: the
 * environment wins over the env file whenever the API runs, so it is the password the role must
 * have. A new role gets it, and so does --rotate-password.
 */
export function environmentPassword(settings: Settings): string | undefined {
  return settings.password !== undefined && settings.origins.password?.endsWith('(environment)') ? settings.password : undefined;
}

/**
 * The password the file must hold after this run: a new one; else the one the operator gave in
 * the environment; else the file's own, where it is this role's. Undefined: the file holds none.
 */
export function passwordToWrite(settings: Settings, inFile: Readonly<Record<string, string>>, newPassword: string | undefined): string | undefined {
  if (newPassword !== undefined) return newPassword;
  const given = environmentPassword(settings);
  if (given !== undefined) return given;
  // The file as read under the lock (a concurrent run may have written it), else what the settings
  // paired with this role, where the file holds no password of its own.
  const credentials = envFileCredentials(inFile);
  if (credentials.role === settings.user) return credentials.password ?? settings.password;
  return credentials.passwords.length === 0 ? settings.password : undefined;
}

/**
 * Whether the file's URI stays as it is: it names the admin role (another tool's URL, such as
 * dbmate's DATABASE_URL), so the application role's login goes into separate variables, which
 * the tool reads before the URI. A URI naming this role, or none, is rewritten in place.
 */
function uriKept(settings: Settings, inFile: Readonly<Record<string, string>>): string | undefined {
  const uri = envFileCredentials(inFile).uri;
  const user = uri?.parsed.params.user;
  return uri !== undefined && user !== undefined && user !== settings.user && user === settings.admin.user ? uri.variable : undefined;
}

/** The other roles' passwords that writing this role's login would replace (a kept URI's are not). */
export function replacedPasswords(settings: Settings, inFile: Readonly<Record<string, string>>): ReadonlyArray<{ role: string; variable: string }> {
  const kept = uriKept(settings, inFile);
  return otherRolesPasswords(inFile, settings.user).filter((p) => p.variable !== kept);
}

function listed(passwords: ReadonlyArray<{ role: string; variable: string }>): string {
  return passwords.map((p) => `role "${p.role}"'s password (${p.variable})`).join(' and ');
}

/**
 * Refuses (exit 2, before anything changes) to write role "X" beside a password that belongs to
 * another role: the role keeps a password nobody here knows, and the file holds someone else's.
 */
export function refuseMislabel(settings: Settings, inFile: Readonly<Record<string, string>>, roleKeepsPassword: boolean): void {
  const others = replacedPasswords(settings, inFile);
  if (!roleKeepsPassword || passwordToWrite(settings, inFile, undefined) !== undefined || others.length === 0) return;
  throw new ConfigError(
    `Role "${settings.user}" already exists and keeps its password, which nobody here knows; ${settings.envFile} holds ${listed(others)}. ` +
      `Writing role "${settings.user}" there would leave a file that logs in as neither. Nothing was changed.`,
    `Give "${settings.user}" a new password written to that file with --rotate-password (it replaces "${others[0]!.role}"'s credentials there), ` +
      `use another --env-file for "${settings.user}", or set ${VARIABLES.password} in the environment.`,
    'PASSWORD_UNKNOWN',
  );
}

/**
 * Refuses (exit 2, before anything changes) to replace another role's login in the file unless
 * the operator said so: its password would be gone, and whatever still logs in as that role
 * with this file would fail. (The role itself is not touched.)
 */
export function refuseReplacingOtherRole(settings: Settings, inFile: Readonly<Record<string, string>>, replace: boolean): void {
  const others = replacedPasswords(settings, inFile);
  if (replace || others.length === 0) return;
  throw new ConfigError(
    `${settings.envFile} holds ${listed(others)}; writing role "${settings.user}"'s login there would replace it, and that password would be lost. Nothing was changed.`,
    `Use another --env-file for "${settings.user}", or confirm the replacement (asked on a terminal; --yes elsewhere) once nothing needs "${others[0]!.role}"'s password from that file.`,
    'ENV_FILE_HOLDS_OTHER_ROLE',
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
export function fileTargetSessionAttrs(settings: Settings): TargetSessionAttrs {
  return settings.targetSessionAttrs === 'any' && settings.hosts.length > 1 ? 'read-write' : settings.targetSessionAttrs;
}

function targetValue(settings: Settings, inFile: Readonly<Record<string, string>>): EnvValue | undefined {
  if (fileTargetSessionAttrs(settings) !== 'any') return fileTargetSessionAttrs(settings);
  return inFile[VARIABLES.targetSessionAttrs] === undefined ? undefined : null;
}

/** The connection parameters the tool writes into a URI; a rewrite keeps every other one (another tool's). */
const OWNED_URI_KEYS = new Set(['host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'target_session_attrs', 'ssl']);

/**
 * Every connection value of the run, and the role's password where one is known (see
 * passwordToWrite). A file that keeps its connection as a URI (TOFU_REGISTRY_DB_URL, or
 * DATABASE_URL) gets that URI rewritten, with the host list and the parameters of other tools
 * kept, instead of separate variables; one naming the admin role is left alone (uriKept).
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
  const uri = envFileCredentials(inFile).uri;
  if (uri === undefined || uriKept(settings, inFile) !== undefined) return singles;
  // The file's own style: its URI carries the connection; separate variables it already has are kept in step.
  const foreign = uri.parsed.pairs.filter(([key]) => !OWNED_URI_KEYS.has(key));
  const rewritten = buildConnectionUri({
    hosts: settings.hosts,
    database: settings.database,
    user: settings.user,
    password,
    params: { sslmode: settings.sslMode, sslrootcert: settings.sslRootCert, ...(typeof target === 'string' ? { target_session_attrs: target } : {}), ...Object.fromEntries(foreign) },
  });
  const kept = Object.fromEntries(Object.entries(singles).filter(([key]) => inFile[key] !== undefined));
  return { ...kept, [uri.variable]: rewritten };
}

/** What the run left as it was, for the summary: a URI of the admin's, kept beside the role's variables. */
export function envFileNotes(settings: Settings, inFile: Readonly<Record<string, string>>): string[] {
  const kept = uriKept(settings, inFile);
  if (kept === undefined) return [];
  return [
    `${kept} in ${settings.envFile} names the admin role "${settings.admin.user}" (another tool's URL, such as dbmate's): it was left as it is, and role "${settings.user}"'s login ` +
      `was written as ${VARIABLES.user}, ${VARIABLES.password} and the other TOFU_REGISTRY_DB_* variables, which tofu-registry-db reads before ${kept}.`,
  ];
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

export function envFileSummary(result: EnvFileUpdateResult, extraWarnings: readonly string[], password: PasswordInFile): CreateUserEnvFile {
  const { path: file, written, created, addedKeys, changedKeys, removedKeys, warnings } = result;
  return { path: file, written, created, addedKeys, changedKeys, removedKeys, warnings: [...warnings, ...extraWarnings], password };
}

/** How the file's password stands after writing `password` (undefined: none) over the file as it was. */
export function passwordInFile(settings: Settings, inFile: Readonly<Record<string, string>>, password: string | undefined): PasswordInFile {
  if (password === undefined) return 'absent';
  const had = uriKept(settings, inFile) !== undefined
    ? (inFile[VARIABLES.user] === settings.user ? inFile[VARIABLES.password] : undefined)
    : envFilePasswordOf(inFile, settings.user);
  return had === password ? 'unchanged' : 'written';
}

