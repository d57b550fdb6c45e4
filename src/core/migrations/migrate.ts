import { loggerOf, recordChange, type CoreContext } from '../db/context.js';
import { disconnect } from '../db/connection.js';
import { refuseSystemDatabase } from '../config/names.js';
import { applyPendingMigrations, migrationStatus, type MigrateResult, type MigrationResult } from './engine.js';
import { bundledMigrationsDir, loadMigrationFiles, type MigrationFile } from './files.js';
import { connectAsAdmin, openAdminConnection } from '../db/admin-connection.js';
import { assertPrimary } from '../db/primary.js';
import { withPermissionRemedy } from '../db/permission-remedy.js';
import { type MigrationStatus } from './bookkeeping.js';

export interface MigrateCommandOptions {
  readonly migrationsDir?: string;
  readonly dryRun?: boolean;
}

export interface MigrationStatusResult {
  readonly database: string;
  readonly migrations: readonly MigrationStatus[];
  readonly pendingCount: number;
  readonly changedCount: number;
}

/** Applies the given migration files to the registry database, as the admin. */
export async function runMigrations(
  context: CoreContext,
  files: readonly MigrationFile[],
  options: { readonly dryRun?: boolean; readonly freshDatabase?: boolean } = {},
): Promise<MigrateResult> {
  const logger = loggerOf(context);
  refuseSystemDatabase(context.settings.database, context.settings.origins.database);
  const connection = await connectAsAdmin(context, context.settings.database);
  try {
    await assertPrimary(connection, logger);
    const result = await applyPendingMigrations(connection, files, {
      lockTimeoutMs: context.settings.lockTimeoutMs,
      statementTimeoutMs: context.settings.statementTimeoutMs,
      networkTimeoutMs: context.settings.networkTimeoutMs,
      openConnection: () => openAdminConnection(context, context.settings.database),
      dryRun: options.dryRun,
      freshDatabase: options.freshDatabase,
      logger,
      signal: context.signal,
    });
    recordApplied(context, result.results);
    return result;
  } catch (error) {
    const results = (error as { data?: { results?: readonly MigrationResult[] } }).data?.results;
    if (results) recordApplied(context, results);
    // Migrations run as the admin: a refused privilege gets the statement that gives it to that role.
    throw withPermissionRemedy(error, { user: connection.user, role: 'admin', database: connection.database });
  } finally {
    await disconnect(connection);
  }
}

/** Into the run's journal: the migrations this run applied (committed). */
function recordApplied(context: CoreContext, results: readonly MigrationResult[]): void {
  const applied = results.filter((r) => r.outcome === 'applied').map((r) => r.fileName);
  if (applied.length > 0) recordChange(context, `applied ${applied.length} migration(s) to database "${context.settings.database}": ${applied.join(', ')}`);
}

/** `migrate`: apply pending migrations from sql/ (or --dir). */
export async function migrate(context: CoreContext, options: MigrateCommandOptions = {}): Promise<MigrateResult> {
  const files = await loadMigrationFiles(options.migrationsDir ?? bundledMigrationsDir());
  return runMigrations(context, files, options);
}

/** `migrate status`: applied, pending, changed and missing migrations. */
export async function getMigrationStatus(context: CoreContext, options: MigrateCommandOptions = {}): Promise<MigrationStatusResult> {
  const files = await loadMigrationFiles(options.migrationsDir ?? bundledMigrationsDir());
  const connection = await connectAsAdmin(context, context.settings.database);
  try {
    const migrations = await migrationStatus(connection, files, loggerOf(context));
    return {
      database: connection.database,
      migrations,
      pendingCount: migrations.filter((m) => m.state === 'pending').length,
      changedCount: migrations.filter((m) => m.state === 'changed').length,
    };
  } finally {
    await disconnect(connection);
  }
}
