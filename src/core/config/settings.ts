import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { readEnvFileWithLines } from './env-file.js';
import { describeServer, parseEndpoints, repeatedEndpoints, type Endpoint } from './host.js';
import { describe, validateName } from './names.js';
import { settingSources, type FlagValues, type Found, type SettingSources, type SourceRole } from './sources.js';
import { DEFAULTS, SERVER_KEYS, SSL_MODES, TARGET_SESSION_ATTRS, VARIABLES, type SettingKey, type SslMode, type TargetSessionAttrs } from './variables.js';

export type { Endpoint } from './host.js';

/**
 * Values given on the command line (or by a program using the library); they win over
 * everything else. Every setting a flag or a variable can set has a typed field here.
 */
export interface FlagSettings {
  /** One host or a list (`db1,db2`), or a Unix-socket folder. */
  readonly host?: string;
  /** One port for all hosts, or one per host (`5432,5433`). */
  readonly port?: number | string;
  readonly database?: string;
  readonly user?: string;
  readonly sslMode?: SslMode;
  readonly adminUser?: string;
  readonly envFile?: string;
}

export interface ConfigSources {
  readonly flags?: FlagSettings;
  /** The process environment (defaults to process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The working directory that a relative --env-file is resolved against. */
  readonly cwd?: string;
}

/** How one role's connections reach the server: libpq's host list, sslmode and the rest. */
export interface ServerSettings {
  /** The servers to try, in order (libpq's host list); one for most installations. */
  readonly hosts: readonly Endpoint[];
  /** The first of them: what messages name when a single server is meant. */
  readonly host: string;
  readonly port: number;
  readonly sslMode: SslMode;
  readonly sslRootCert?: string;
  /** Which server of the list a connection accepts (commands that write always need the primary). */
  readonly targetSessionAttrs: TargetSessionAttrs;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
}

/**
 * Validated settings: every field checked, typed, defaulted, and where it came from. The server
 * fields are the application role's; the admin's connections use `admin.server` where it has
 * one (settingsForRole).
 */
export interface Settings extends ServerSettings {
  readonly database: string;
  readonly user: string;
  /** The application role's password, when known. */
  readonly password?: string;
  readonly admin: {
    readonly user: string;
    /** Undefined until resolved from ~/.pgpass or a prompt. */
    readonly password?: string;
    /** Where the password came from, or 'unresolved' (then ~/.pgpass or a prompt). */
    readonly passwordSource: string;
    readonly database: string;
    /**
     * The admin's own server settings, when any differs from the application role's (a
     * TOFU_REGISTRY_DB_ADMIN_URL that names its own host, port, sslmode, …), with their origins.
     */
    readonly server?: ServerSettings & { readonly origins: Readonly<Record<string, string>> };
  };
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /**
   * How long a connection may stay silent while the tool waits for an answer before it checks
   * the server and gives up, and how long the server keeps a transaction of the tool's open
   * without a word from it (db/network-timeouts.ts).
   */
  readonly networkTimeoutMs: number;
  /** Absolute path of the env file (it may not exist). */
  readonly envFile: string;
  /** Whether the env file existed and was read. */
  readonly envFileLoaded: boolean;
  /** Where each setting came from ("TOFU_REGISTRY_DB_PORT (.env, line 3)", "PGHOST (environment)", "default"). */
  readonly origins: Readonly<Record<string, string>>;
  /** What was overridden or read past, for --verbose and test-connection. */
  readonly notes: readonly string[];
}

/**
 * Resolves settings in one documented order (config/sources.ts): flags, TOFU_REGISTRY_DB_*
 * variables, connection URIs, the env file's, libpq's service file and PG* variables, defaults.
 */
export function resolveSettings(sources: ConfigSources = {}): Settings {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  if (flags.envFile !== undefined && flags.envFile.trim() === '') {
    throw new ConfigError('--env-file is empty.', 'Give a path, for example --env-file ./.env.');
  }
  const envFile = path.resolve(cwd, flags.envFile ?? DEFAULTS.envFile);
  const file = readEnvFileWithLines(envFile);
  const flagValues: FlagValues = {
    host: flags.host,
    port: flags.port === undefined ? undefined : String(flags.port),
    database: flags.database,
    user: flags.user,
    sslMode: flags.sslMode,
    adminUser: flags.adminUser,
  };
  const found = settingSources({ flags: flagValues, env, file, fileName: path.basename(envFile) });
  const type = found.text('type', DEFAULTS.type)!;
  if (type !== 'postgres') {
    throw new ConfigError(`${found.origins.type} is ${describe(type)}: only "postgres" is supported.`, `Set ${VARIABLES.type}=postgres or remove it.`);
  }
  const server = resolveServer(found, cwd, 'app');
  const adminServer = resolveServer(found, cwd, 'admin');
  const ownServer = SERVER_KEYS.some((key) => found.adminOrigins[key] !== found.origins[key]);
  return {
    ...server,
    ...resolveRole(found),
    admin: { ...resolveAdmin(found), ...(ownServer ? { server: { ...adminServer, origins: { ...found.adminOrigins } } } : {}) },
    ...resolveTimeouts(found),
    envFile,
    envFileLoaded: file !== undefined,
    origins: found.origins,
    notes: found.notes,
  };
}

function oneOf<T extends string>(found: SettingSources, key: 'sslMode' | 'targetSessionAttrs', role: SourceRole, allowed: readonly T[], fallback: T, hint: string): T {
  const value = found.text(key, fallback, role)!;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${originOf(found, key, role)} is ${describe(value)}: expected one of ${allowed.join(', ')}.`, hint);
  }
  return value as T;
}

function originOf(found: SettingSources, key: SettingKey, role: SourceRole): string {
  return (role === 'admin' ? found.adminOrigins[key] : undefined) ?? found.origins[key]!;
}

/** Where the server is, and how to reach it, as `role`'s connections see it (config/sources.ts). */
function resolveServer(found: SettingSources, cwd: string, role: SourceRole): ServerSettings {
  const hostText = found.text('host', DEFAULTS.host, role)!;
  const portText = found.text('port', undefined, role);
  const hosts = parseEndpoints(hostText, originOf(found, 'host', role), portText, originOf(found, 'port', role), { host: DEFAULTS.host, port: DEFAULTS.port });
  for (const e of repeatedEndpoints(hosts)) {
    const note = `the host list names ${describeServer(e.host, e.port)} more than once (hosts from ${originOf(found, 'host', role)}, ports from ${originOf(found, 'port', role)}): each entry is tried, the same server each time`;
    if (!found.notes.includes(note)) found.notes.push(note);
  }
  const sslMode = oneOf(found, 'sslMode', role, SSL_MODES, DEFAULTS.sslMode, 'These are libpq\'s sslmode values; "require" encrypts, "verify-full" also checks the certificate and host name.');
  const rootCertText = found.text('sslRootCert', undefined, role) || undefined;
  const targetSessionAttrs = oneOf(found, 'targetSessionAttrs', role, TARGET_SESSION_ATTRS, DEFAULTS.targetSessionAttrs, 'These are libpq\'s target_session_attrs values.');
  const applicationName = found.text('applicationName', DEFAULTS.applicationName, role)!;
  const connectTimeoutMs = parseSeconds(found.text('connectTimeout', undefined, role), originOf(found, 'connectTimeout', role), DEFAULTS.connectTimeoutSeconds);
  return {
    hosts,
    host: hosts[0]!.host,
    port: hosts[0]!.port,
    sslMode,
    sslRootCert: rootCertText === undefined ? undefined : checkRootCert(rootCertText, originOf(found, 'sslRootCert', role), cwd),
    targetSessionAttrs,
    applicationName,
    connectTimeoutMs,
  };
}

/**
 * The settings as `role`'s connections see them: for the admin, its own server settings (those
 * of TOFU_REGISTRY_DB_ADMIN_URL) in place of the application role's, origins included. Applying
 * it twice changes nothing, and a view narrowed to one host stays narrowed.
 */
export function settingsForRole(settings: Settings, role: SourceRole): Settings {
  const server = role === 'admin' ? settings.admin.server : undefined;
  if (!server) return settings;
  const { origins, ...values } = server;
  const { server: _applied, ...admin } = settings.admin;
  return { ...settings, ...values, origins: { ...settings.origins, ...origins }, admin };
}

/** The application role: the registry database, its name and its password. */
function resolveRole(found: SettingSources): Pick<Settings, 'database' | 'user' | 'password'> {
  const database = validateName(found.text('database', DEFAULTS.database)!, found.origins.database!);
  const user = validateName(found.text('user', DEFAULTS.user)!, found.origins.user!);
  return { database, user, password: pairedPassword(found, found.find('password'), user, 'password') };
}

/**
 * A password only where it belongs to the role it will log in as: a password from the env file
 * is the password of the role that file names (its TOFU_REGISTRY_DB_USER, else the default), one
 * from a URI that of the URI's user; so `--user other_role` never pairs other_role with it. A
 * password in the environment's TOFU_REGISTRY_DB_* variables is the operator's word.
 */
function pairedPassword(found: SettingSources, password: Found | undefined, user: string, key: 'password' | 'adminPassword'): string | undefined {
  if (password === undefined || password.value === '') return undefined;
  registerSecret(password.value); // someone's password, even when not this role's
  if (password.pairedUser === undefined) return password.value;
  const owner = password.pairedUser === '' ? DEFAULTS.user : password.pairedUser;
  if (owner === user) return password.value;
  found.origins[key] = `${password.origin}: role "${owner}"'s, not "${user}"'s`;
  return undefined;
}

/** The admin role: its name, its password (else ~/.pgpass or a prompt, later) and its maintenance database. */
function resolveAdmin(found: SettingSources): Settings['admin'] {
  const user = validateName(found.text('adminUser', DEFAULTS.adminUser)!, found.origins.adminUser!);
  const passwordFound = found.find('adminPassword');
  const password = pairedPassword(found, passwordFound, user, 'adminPassword');
  const database = validateName(found.text('adminDatabase', DEFAULTS.adminDatabase)!, found.origins.adminDatabase!);
  return { user, password, passwordSource: password === undefined ? 'unresolved' : passwordFound!.origin, database };
}

function resolveTimeouts(found: SettingSources): Pick<Settings, 'lockTimeoutMs' | 'statementTimeoutMs' | 'networkTimeoutMs'> {
  const seconds = (key: 'lockTimeout' | 'statementTimeout' | 'networkTimeout', fallback: number): number =>
    parseSeconds(found.text(key), found.origins[key]!, fallback);
  return {
    lockTimeoutMs: seconds('lockTimeout', DEFAULTS.lockTimeoutSeconds),
    statementTimeoutMs: seconds('statementTimeout', DEFAULTS.statementTimeoutSeconds),
    networkTimeoutMs: seconds('networkTimeout', DEFAULTS.networkTimeoutSeconds),
  };
}

function parseSeconds(text: string | undefined, origin: string, fallback: number): number {
  if (text === undefined || text === '') return fallback * 1000;
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0 && seconds <= 86400)) {
    throw new ConfigError(`${origin} ${describe(text)} is not a number of seconds (above 0, at most 86400).`);
  }
  return Math.round(seconds * 1000);
}

/** `system` means the platform's trusted roots, as in libpq 16+. */
function checkRootCert(file: string, origin: string, cwd: string): string {
  if (file === 'system') return file;
  const resolved = path.resolve(cwd, file);
  try {
    if (statSync(resolved).isFile()) return resolved;
  } catch {
    // fall through to the error below
  }
  throw new ConfigError(
    `${origin} ${describe(file)} is not a readable file.`,
    'Give the path of the CA certificate (PEM) that signed the server certificate, or "system".',
  );
}

/** Parses the --wait value: whole or fractional seconds, 0 to one day. */
export function parseWaitSeconds(text: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 0 && seconds <= 86400)) {
    throw new ConfigError(`--wait ${describe(text)} is not a number of seconds (0-86400).`);
  }
  return seconds;
}
