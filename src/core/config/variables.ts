/**
 * Every setting the tool reads: its variable, its default, and which libpq variable and
 * connection-string parameter stand for it. Defined once: settings resolution, --help, the
 * README's tables and the env file's write-back all read them from here.
 */

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** libpq's target_session_attrs: which server of a host list a connection accepts. */
export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number];

/** Defaults, defined once: the CLI shows them in --help and the README repeats them. */
export const DEFAULTS = {
  type: 'postgres',
  host: 'localhost',
  port: 5432,
  database: 'opentofu',
  user: 'opentofu_user',
  sslMode: 'require' as SslMode,
  targetSessionAttrs: 'any' as TargetSessionAttrs,
  applicationName: 'tofu-registry-db',
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
  url: 'TOFU_REGISTRY_DB_URL',
  adminUrl: 'TOFU_REGISTRY_DB_ADMIN_URL',
  type: 'TOFU_REGISTRY_DB_TYPE',
  host: 'TOFU_REGISTRY_DB_HOST',
  port: 'TOFU_REGISTRY_DB_PORT',
  database: 'TOFU_REGISTRY_DB_NAME',
  user: 'TOFU_REGISTRY_DB_USER',
  password: 'TOFU_REGISTRY_DB_PASSWORD',
  sslMode: 'TOFU_REGISTRY_DB_SSLMODE',
  sslRootCert: 'TOFU_REGISTRY_DB_SSLROOTCERT',
  targetSessionAttrs: 'TOFU_REGISTRY_DB_TARGET_SESSION_ATTRS',
  applicationName: 'TOFU_REGISTRY_DB_APPLICATION_NAME',
  adminUser: 'TOFU_REGISTRY_DB_ADMIN_USER',
  adminPassword: 'TOFU_REGISTRY_DB_ADMIN_PASSWORD',
  adminDatabase: 'TOFU_REGISTRY_DB_ADMIN_DATABASE',
  lockTimeout: 'TOFU_REGISTRY_DB_LOCK_TIMEOUT',
  statementTimeout: 'TOFU_REGISTRY_DB_STATEMENT_TIMEOUT',
  connectTimeout: 'TOFU_REGISTRY_DB_CONNECT_TIMEOUT',
  networkTimeout: 'TOFU_REGISTRY_DB_NETWORK_TIMEOUT',
} as const;

/** The fallback for the application role's connection URI, as dbmate and most tools read it. */
export const DATABASE_URL = 'DATABASE_URL';

/** A setting, by the name the resolver and Settings.origins use. */
export type SettingKey = Exclude<keyof typeof VARIABLES, 'url' | 'adminUrl'>;

/**
 * The server's settings, shared by both roles: a URI for either role may set them, and so may
 * libpq's variables.
 */
export const SERVER_KEYS = ['host', 'port', 'sslMode', 'sslRootCert', 'connectTimeout', 'targetSessionAttrs', 'applicationName'] as const satisfies readonly SettingKey[];

/** libpq's environment variables and what they stand for here: the operator's psql settings, so the user is the admin. */
export const PG_VARIABLES: Readonly<Partial<Record<SettingKey, string>>> = {
  host: 'PGHOST',
  port: 'PGPORT',
  adminDatabase: 'PGDATABASE',
  adminUser: 'PGUSER',
  adminPassword: 'PGPASSWORD',
  sslMode: 'PGSSLMODE',
  sslRootCert: 'PGSSLROOTCERT',
  connectTimeout: 'PGCONNECT_TIMEOUT',
  targetSessionAttrs: 'PGTARGETSESSIONATTRS',
  applicationName: 'PGAPPNAME',
};

/** Connection-string parameters (libpq's names) and the settings they set, for the application role's URI and the admin's. */
export const URI_KEYS: Readonly<Record<'app' | 'admin', Readonly<Record<string, SettingKey>>>> = {
  app: {
    host: 'host', port: 'port', sslmode: 'sslMode', sslrootcert: 'sslRootCert', connect_timeout: 'connectTimeout',
    target_session_attrs: 'targetSessionAttrs', application_name: 'applicationName',
    dbname: 'database', user: 'user', password: 'password',
  },
  admin: {
    host: 'host', port: 'port', sslmode: 'sslMode', sslrootcert: 'sslRootCert', connect_timeout: 'connectTimeout',
    target_session_attrs: 'targetSessionAttrs', application_name: 'applicationName',
    dbname: 'adminDatabase', user: 'adminUser', password: 'adminPassword',
  },
};
