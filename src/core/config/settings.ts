import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe, validateName } from './names.js';
import { registerSecret } from '../redact.js';
import { checkHost, parsePort } from './host.js';
import { readEnvFile } from './env-file.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Defaults, defined once: the CLI shows them in --help and the README repeats them. */
export const DEFAULTS = {
  type: 'postgres',
  host: 'localhost',
  port: 5432,
  database: 'opentofu',
  user: 'opentofu_user',
  sslMode: 'require' as SslMode,
  adminUser: 'postgres',
  adminDatabase: 'postgres',
  envFile: '.env',
  /** How long a migration waits for a table lock another session holds before failing. */
  lockTimeoutSeconds: 10,
  /** Upper bound for any single statement, so nothing hangs forever. */
  statementTimeoutSeconds: 600,
  connectTimeoutSeconds: 10,
  /**
   * How long a connection may stay silent while the tool waits for an answer before it checks
   * the server and gives up, and how long the server keeps a transaction of the tool's open
   * without a word from it (db/network-timeouts.ts).
   */
  networkTimeoutSeconds: 30,
} as const;

/** Every variable the tool reads, in the order the README documents them. */
export const VARIABLES = {
  type: 'TOFU_REGISTRY_DB_TYPE',
  host: 'TOFU_REGISTRY_DB_HOST',
  port: 'TOFU_REGISTRY_DB_PORT',
  database: 'TOFU_REGISTRY_DB_NAME',
  user: 'TOFU_REGISTRY_DB_USER',
  password: 'TOFU_REGISTRY_DB_PASSWORD',
  sslMode: 'TOFU_REGISTRY_DB_SSLMODE',
  sslRootCert: 'TOFU_REGISTRY_DB_SSLROOTCERT',
  adminUser: 'TOFU_REGISTRY_DB_ADMIN_USER',
  adminPassword: 'TOFU_REGISTRY_DB_ADMIN_PASSWORD',
  adminDatabase: 'TOFU_REGISTRY_DB_ADMIN_DATABASE',
  lockTimeout: 'TOFU_REGISTRY_DB_LOCK_TIMEOUT',
  statementTimeout: 'TOFU_REGISTRY_DB_STATEMENT_TIMEOUT',
  connectTimeout: 'TOFU_REGISTRY_DB_CONNECT_TIMEOUT',
  networkTimeout: 'TOFU_REGISTRY_DB_NETWORK_TIMEOUT',
} as const;

/** The connection variables that env-file write-back adds where missing. */
export const CONNECTION_VARIABLES = [
  VARIABLES.type,
  VARIABLES.host,
  VARIABLES.port,
  VARIABLES.database,
  VARIABLES.sslMode,
] as const;

/** Values given on the command line; they win over everything else. */
export interface FlagSettings {
  readonly database?: string;
  readonly user?: string;
  readonly envFile?: string;
}

export interface ConfigSources {
  readonly flags?: FlagSettings;
  /** The process environment (defaults to process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The working directory that a relative --env-file is resolved against. */
  readonly cwd?: string;
}

export type AdminPasswordSource = 'TOFU_REGISTRY_DB_ADMIN_PASSWORD' | 'PGPASSWORD' | 'unresolved';

/** Validated settings: every field checked, typed, defaulted. */
export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The application role's password, when known. */
  readonly password?: string;
  readonly sslMode: SslMode;
  readonly sslRootCert?: string;
  readonly admin: {
    readonly user: string;
    /** Undefined until resolved from ~/.pgpass or a prompt (see resolveAdminPassword). */
    readonly password?: string;
    readonly passwordSource: AdminPasswordSource;
    readonly database: string;
  };
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly networkTimeoutMs: number;
  /** Absolute path of the env file (it may not exist). */
  readonly envFile: string;
  /** Whether the env file existed and was read. */
  readonly envFileLoaded: boolean;
  /** Where each setting came from, for --verbose and error messages. */
  readonly origins: Readonly<Record<string, string>>;
}

interface Lookup {
  readonly value: string | undefined;
  readonly origin: string;
}

/**
 * Where values come from, in the spec's order: flags, then the process environment, then the
 * env file, then defaults (the env file never overrides a variable already set). Every value
 * read is checked for NUL bytes and remembers its origin, for messages.
 */
class Sources {
  readonly origins: Record<string, string> = {};

  constructor(
    readonly env: Readonly<Record<string, string | undefined>>,
    private readonly fileValues: Readonly<Record<string, string>> | undefined,
    private readonly envFileName: string,
  ) {}

  lookup(variable: string): Lookup {
    const fromEnv = this.env[variable];
    if (fromEnv !== undefined) return { value: fromEnv, origin: `${variable} (environment)` };
    const fromFile = this.fileValues?.[variable];
    if (fromFile !== undefined) return { value: fromFile, origin: `${variable} (${this.envFileName})` };
    return { value: undefined, origin: `${variable} (default)` };
  }

  flagOr(flag: string, value: string | undefined, variable: string): Lookup {
    return value !== undefined ? { value, origin: flag } : this.lookup(variable);
  }

  /** The value found (or the fallback), recorded under `key` with its origin. */
  text(key: string, found: Lookup, fallback?: string): string | undefined {
    this.origins[key] = found.origin;
    if (found.value !== undefined && found.value.includes('\0')) {
      throw new ConfigError(`${found.origin} contains a NUL byte.`);
    }
    return found.value ?? fallback;
  }
}

/**
 * Resolves settings in the spec's order: flags, then the process environment, then the
 * env file, then defaults. The env file never overrides a variable already set.
 */
export function resolveSettings(sources: ConfigSources = {}): Settings {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  if (flags.envFile !== undefined && flags.envFile.trim() === '') {
    throw new ConfigError('--env-file is empty.', 'Give a path, for example --env-file ./.env.');
  }
  const envFile = path.resolve(cwd, flags.envFile ?? DEFAULTS.envFile);
  const fileValues = readEnvFile(envFile);
  const found = new Sources(env, fileValues, path.basename(envFile));
  const type = found.text('type', found.lookup(VARIABLES.type), DEFAULTS.type)!;
  if (type !== 'postgres') {
    throw new ConfigError(`${found.origins.type} is ${describe(type)}: only "postgres" is supported.`, `Set ${VARIABLES.type}=postgres or remove it.`);
  }
  return {
    ...resolveConnection(found, flags, cwd),
    admin: resolveAdmin(found),
    ...resolveTimeouts(found),
    envFile,
    envFileLoaded: fileValues !== undefined,
    origins: found.origins,
  };
}

/** Where the application role connects, and as whom. */
function resolveConnection(found: Sources, flags: FlagSettings, cwd: string): Pick<Settings, 'host' | 'port' | 'database' | 'user' | 'password' | 'sslMode' | 'sslRootCert'> {
  const { origins } = found;
  const host = found.text('host', found.lookup(VARIABLES.host), DEFAULTS.host)!;
  checkHost(host, origins.host!);
  const portText = found.text('port', found.lookup(VARIABLES.port));
  const port = portText === undefined ? DEFAULTS.port : parsePort(portText, origins.port!);
  const database = validateName(found.text('database', found.flagOr('--name', flags.database, VARIABLES.database), DEFAULTS.database)!, origins.database!);
  const user = validateName(found.text('user', found.flagOr('--user', flags.user, VARIABLES.user), DEFAULTS.user)!, origins.user!);
  const password = found.text('password', found.lookup(VARIABLES.password)) || undefined;
  registerSecret(password);
  const sslModeText = found.text('sslMode', found.lookup(VARIABLES.sslMode), DEFAULTS.sslMode)!;
  if (!(SSL_MODES as readonly string[]).includes(sslModeText)) {
    throw new ConfigError(
      `${origins.sslMode} is ${describe(sslModeText)}: expected one of ${SSL_MODES.join(', ')}.`,
      'These are libpq\'s sslmode values; "require" encrypts, "verify-full" also checks the certificate and host name.',
    );
  }
  const sslRootCertText = found.text('sslRootCert', found.lookup(VARIABLES.sslRootCert)) || undefined;
  const sslRootCert = sslRootCertText === undefined ? undefined : checkRootCert(sslRootCertText, origins.sslRootCert!, cwd);
  return { host, port, database, user, password, sslMode: sslModeText as SslMode, sslRootCert };
}

/** The admin role: its name (else PGUSER), password (else PGPASSWORD, else resolved later) and maintenance database. */
function resolveAdmin(found: Sources): Settings['admin'] {
  const { origins, env } = found;
  const userLookup = found.lookup(VARIABLES.adminUser);
  const fromPgUser = userLookup.value === undefined && env.PGUSER !== undefined ? { value: env.PGUSER, origin: 'PGUSER (environment)' } : userLookup;
  const user = validateName(found.text('adminUser', fromPgUser, DEFAULTS.adminUser)!, origins.adminUser!);
  const passwordLookup = found.lookup(VARIABLES.adminPassword);
  let password: string | undefined;
  let passwordSource: AdminPasswordSource = 'unresolved';
  if (passwordLookup.value) {
    password = found.text('adminPassword', passwordLookup);
    passwordSource = VARIABLES.adminPassword;
  } else if (env.PGPASSWORD) {
    password = found.text('adminPassword', { value: env.PGPASSWORD, origin: 'PGPASSWORD (environment)' });
    passwordSource = 'PGPASSWORD';
  }
  registerSecret(password);
  const database = validateName(found.text('adminDatabase', found.lookup(VARIABLES.adminDatabase), DEFAULTS.adminDatabase)!, origins.adminDatabase!);
  return { user, password, passwordSource, database };
}

function resolveTimeouts(found: Sources): Pick<Settings, 'lockTimeoutMs' | 'statementTimeoutMs' | 'connectTimeoutMs' | 'networkTimeoutMs'> {
  const seconds = (key: string, variable: string, fallback: number): number =>
    parseSeconds(found.text(key, found.lookup(variable)), found.origins[key]!, fallback);
  return {
    lockTimeoutMs: seconds('lockTimeout', VARIABLES.lockTimeout, DEFAULTS.lockTimeoutSeconds),
    statementTimeoutMs: seconds('statementTimeout', VARIABLES.statementTimeout, DEFAULTS.statementTimeoutSeconds),
    connectTimeoutMs: seconds('connectTimeout', VARIABLES.connectTimeout, DEFAULTS.connectTimeoutSeconds),
    networkTimeoutMs: seconds('networkTimeout', VARIABLES.networkTimeout, DEFAULTS.networkTimeoutSeconds),
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
