/**
 * The library: typed options in, typed results out, no printing, no process.exit.
 * The CLI in src/cli is a thin layer over these functions.
 */
export { resolveSettings, DEFAULTS, VARIABLES, SSL_MODES } from './config.js';
export type { Settings, SslMode, ConfigSources, FlagSettings } from './config.js';
export type { CoreContext } from './context.js';
export { RegistryDbError, ConfigError, EXIT_CODES } from './errors.js';
export type { ErrorClass } from './errors.js';
export type { Logger } from './logger.js';
export { createDatabase } from './create-database.js';
export type { CreateDatabaseOptions, CreateDatabaseResult } from './create-database.js';
export { migrate, getMigrationStatus } from './run-migrations.js';
export type { MigrateCommandOptions, MigrationStatusResult } from './run-migrations.js';
export type { MigrateResult, MigrationResult, MigrationStatus } from './migrate.js';
export { waitForServer } from './wait-for-server.js';
export { createUser } from './create-user.js';
export type { CreateUserOptions, CreateUserResult, CreateUserEnvFile } from './create-user.js';
export { updateEnvFile } from './env-file.js';
export type { EnvFileUpdateOptions, EnvFileUpdateResult } from './env-file.js';
export { generateAppPassword } from './password.js';
export { scramSha256Verifier } from './scram.js';
export { testConnection, configurationFailure, CHECK_NAMES } from './test-connection.js';
export type { TestConnectionOptions, TestConnectionResult, CheckName, CheckResult, CheckStatus } from './test-connection.js';
export { setup } from './setup.js';
export type { SetupOptions, SetupResult } from './setup.js';
export { dropDatabaseAndRole as drop } from './drop.js';
export type { DropOptions, DropResult } from './drop.js';
export { startEmbeddedServer } from './embedded-server.js';
export type { EmbeddedServer, EmbeddedServerOptions } from './embedded-server.js';
export { importRegistry } from './import/import-registry.js';
export type { ImportOptions, ImportResult, KindCounts, RowCounts, SkippedFile } from './import/import-registry.js';
