/**
 * The library: typed options in, typed results out, no printing, no process.exit.
 * The CLI in src/cli is a thin layer over these functions.
 */
export { resolveSettings, settingsForRole } from './config/settings.js';
export type { Settings, ServerSettings, ConfigSources, FlagSettings, Endpoint } from './config/settings.js';
export { DEFAULTS, VARIABLES, SSL_MODES, TARGET_SESSION_ATTRS } from './config/variables.js';
export type { SslMode, TargetSessionAttrs } from './config/variables.js';
export { parseConnectionString } from './config/conninfo.js';
export type { CoreContext } from './db/context.js';
export { RegistryDbError, ConfigError, EXIT_CODES } from './errors.js';
export type { ErrorClass, ErrorJson } from './errors.js';
export type { Logger } from './logger.js';
export { createDatabase } from './provision/create-database.js';
export type { CreateDatabaseOptions, CreateDatabaseResult } from './provision/create-database.js';
export { migrate, getMigrationStatus } from './migrations/migrate.js';
export type { MigrateCommandOptions, MigrationStatusResult } from './migrations/migrate.js';
export type { MigrateResult, MigrationResult } from './migrations/engine.js';
export type { MigrationStatus } from './migrations/bookkeeping.js';
export { waitForServer } from './db/wait-for-server.js';
export { createUser } from './provision/create-user/create-user.js';
export type { CreateUserOptions, CreateUserResult } from './provision/create-user/create-user.js';
export type { CreateUserEnvFile } from './provision/create-user/env-values.js';
export { updateEnvFile } from './config/env-file-update.js';
export type { EnvFileUpdateResult } from './config/env-file-update.js';
export type { EnvFileUpdateOptions } from './config/env-text.js';
export { generateAppPassword } from './provision/password.js';
export { scramSha256Verifier } from './provision/scram.js';
export { testConnection, configurationFailure, CHECK_NAMES } from './checks/test-connection.js';
export type { TestConnectionOptions, TestConnectionResult, CheckName, CheckResult, CheckStatus } from './checks/test-connection.js';
export { getStatus } from './checks/status.js';
export type { StatusOptions, StatusResult, StatusProblem } from './checks/status.js';
export { createMigrationFile } from './migrations/new-migration.js';
export type { NewMigrationOptions, NewMigrationResult } from './migrations/new-migration.js';
export { setup } from './provision/setup.js';
export type { SetupOptions, SetupResult, SetupSuccess, SetupFailure, SetupStep } from './provision/setup.js';
export { dropDatabaseAndRole as drop } from './provision/drop.js';
export type { DropOptions, DropResult } from './provision/drop.js';
export { startEmbeddedServer } from './dev/embedded-server.js';
export type { EmbeddedServer, EmbeddedServerOptions } from './dev/embedded-server.js';
export { importRegistry } from './import/import-registry.js';
export type { ImportOptions, ImportResult, KindCounts, KeyCounts, RowCounts, SkippedFile } from './import/import-registry.js';
