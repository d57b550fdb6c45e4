import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors.js';
import { describe, validateName } from './names.js';
import { registerSecret } from '../redact.js';

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

/** Reads the env file with dotenv's parser; a missing file is not an error, a folder is. */
export function readEnvFile(file: string): Record<string, string> | undefined {
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Cannot read the env file ${describe(file)}: ${(error as Error).message}.`);
  }
  if (!stats.isFile()) {
    throw new ConfigError(
      `The env file ${describe(file)} is not a regular file.`,
      'Point --env-file at a file (it is created if missing).',
    );
  }
  try {
    return parseDotenv(readFileSync(file));
  } catch (error) {
    throw new ConfigError(`Cannot read the env file ${describe(file)}: ${(error as Error).message}.`);
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
  const envFileName = path.basename(envFile);

  const lookup = (variable: string): Lookup => {
    const fromEnv = env[variable];
    if (fromEnv !== undefined) return { value: fromEnv, origin: `${variable} (environment)` };
    const fromFile = fileValues?.[variable];
    if (fromFile !== undefined) return { value: fromFile, origin: `${variable} (${envFileName})` };
    return { value: undefined, origin: `${variable} (default)` };
  };
  const flagOr = (flag: string, value: string | undefined, variable: string): Lookup =>
    value !== undefined ? { value, origin: flag } : lookup(variable);

  const origins: Record<string, string> = {};
  const text = (key: string, found: Lookup, fallback?: string): string | undefined => {
    origins[key] = found.origin;
    if (found.value !== undefined && found.value.includes('\0')) {
      throw new ConfigError(`${found.origin} contains a NUL byte.`);
    }
    return found.value ?? fallback;
  };

  const type = text('type', lookup(VARIABLES.type), DEFAULTS.type)!;
  if (type !== 'postgres') {
    throw new ConfigError(
      `${origins.type} is ${describe(type)}: only "postgres" is supported.`,
      `Set ${VARIABLES.type}=postgres or remove it.`,
    );
  }

  const host = text('host', lookup(VARIABLES.host), DEFAULTS.host)!;
  checkHost(host, origins.host!);
  const port = parsePort(text('port', lookup(VARIABLES.port)), origins.port!);
  const database = validateName(
    text('database', flagOr('--name', flags.database, VARIABLES.database), DEFAULTS.database)!,
    origins.database!,
  );
  const user = validateName(text('user', flagOr('--user', flags.user, VARIABLES.user), DEFAULTS.user)!, origins.user!);
  const password = text('password', lookup(VARIABLES.password)) || undefined;
  registerSecret(password);

  const sslModeText = text('sslMode', lookup(VARIABLES.sslMode), DEFAULTS.sslMode)!;
  if (!(SSL_MODES as readonly string[]).includes(sslModeText)) {
    throw new ConfigError(
      `${origins.sslMode} is ${describe(sslModeText)}: expected one of ${SSL_MODES.join(', ')}.`,
      'These are libpq\'s sslmode values; "require" encrypts, "verify-full" also checks the certificate and host name.',
    );
  }
  const sslMode = sslModeText as SslMode;
  const sslRootCertText = text('sslRootCert', lookup(VARIABLES.sslRootCert)) || undefined;
  const sslRootCert = sslRootCertText === undefined ? undefined : checkRootCert(sslRootCertText, origins.sslRootCert!, cwd);

  const adminUserLookup = lookup(VARIABLES.adminUser);
  const adminUser = validateName(
    text(
      'adminUser',
      adminUserLookup.value !== undefined
        ? adminUserLookup
        : env.PGUSER !== undefined
          ? { value: env.PGUSER, origin: 'PGUSER (environment)' }
          : adminUserLookup,
      DEFAULTS.adminUser,
    )!,
    origins.adminUser!,
  );
  const adminPasswordLookup = lookup(VARIABLES.adminPassword);
  let adminPassword: string | undefined;
  let passwordSource: AdminPasswordSource = 'unresolved';
  if (adminPasswordLookup.value) {
    adminPassword = text('adminPassword', adminPasswordLookup);
    passwordSource = VARIABLES.adminPassword;
  } else if (env.PGPASSWORD) {
    adminPassword = text('adminPassword', { value: env.PGPASSWORD, origin: 'PGPASSWORD (environment)' });
    passwordSource = 'PGPASSWORD';
  }
  registerSecret(adminPassword);
  const adminDatabase = validateName(
    text('adminDatabase', lookup(VARIABLES.adminDatabase), DEFAULTS.adminDatabase)!,
    origins.adminDatabase!,
  );

  return {
    host,
    port,
    database,
    user,
    password,
    sslMode,
    sslRootCert,
    admin: { user: adminUser, password: adminPassword, passwordSource, database: adminDatabase },
    lockTimeoutMs: parseSeconds(text('lockTimeout', lookup(VARIABLES.lockTimeout)), origins.lockTimeout!, DEFAULTS.lockTimeoutSeconds),
    statementTimeoutMs: parseSeconds(
      text('statementTimeout', lookup(VARIABLES.statementTimeout)),
      origins.statementTimeout!,
      DEFAULTS.statementTimeoutSeconds,
    ),
    connectTimeoutMs: parseSeconds(
      text('connectTimeout', lookup(VARIABLES.connectTimeout)),
      origins.connectTimeout!,
      DEFAULTS.connectTimeoutSeconds,
    ),
    envFile,
    envFileLoaded: fileValues !== undefined,
    origins,
  };
}

/** Host names, IP addresses (v4, v6, optionally bracketed) or a Unix-socket directory. */
function checkHost(host: string, origin: string): void {
  if (host.startsWith('/')) {
    if (/[\x00-\x1f]/.test(host)) throw new ConfigError(`${origin} contains control characters.`);
    return;
  }
  if (host.length === 0 || host.length > 253 || !/^(\[[0-9A-Fa-f:.%a-z]+\]|[A-Za-z0-9._:%-]+)$/.test(host)) {
    throw new ConfigError(
      `${origin} ${describe(host)} is not a host name, IP address or socket directory.`,
      'Examples: localhost, db.example.com, 10.0.0.5, ::1, /var/run/postgresql.',
    );
  }
}

function parsePort(text: string | undefined, origin: string): number {
  if (text === undefined) return DEFAULTS.port;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError(`${origin} ${describe(text)} is not a port number (1-65535).`);
  }
  return port;
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
