import { loggerOf, type CoreContext } from '../db/context.js';
import { disconnect } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { RegistryDbError } from '../errors.js';
import { bundledMigrationsDir, loadMigrationFiles } from '../migrations/files.js';
import { runMigrations } from '../migrations/migrate.js';
import { type MigrateResult } from '../migrations/engine.js';
import { createDatabaseSql } from '../sql/database.js';
import { refuseSystemDatabase } from '../config/names.js';
import { quoteIdent } from '../sql/quote.js';
import { runQuery } from '../db/query.js';
import { connectAsAdmin, withSharedConnections } from '../db/admin-connection.js';
import { standbyError } from '../db/primary.js';
import { migrationTransactionSql } from '../migrations/bookkeeping.js';
import { checkTransactionControl } from '../migrations/migration-errors.js';
import { extensionFactsSql, extensionNames, extensionsCreatedBy, judgeExtensions, probeExtensions, unavailableError, type ExtensionFacts, type ExtensionStatement } from '../migrations/extensions.js';

export interface CreateDatabaseOptions {
  /** Apply migrations after creating (default true). */
  readonly migrate?: boolean;
  /** Migrations folder (default: the bundled sql/). */
  readonly migrationsDir?: string;
  readonly dryRun?: boolean;
  /**
   * setup's check, read with create-db's own facts (no extra round trip): called, before
   * anything changes, when this role already exists; it throws to stop the run.
   */
  readonly whenRoleExists?: { readonly role: string; readonly check: () => void };
}

export interface CreateDatabaseResult {
  readonly database: string;
  /** False when it already existed (also when a concurrent run created it first). */
  readonly created: boolean;
  readonly migrations?: MigrateResult;
  readonly plannedSql?: string;
}

interface AdminFacts {
  standby: boolean;
  exists: boolean;
  superuser: boolean;
  createdb: boolean;
  role_exists: boolean | null;
  server_version: number;
  /** The extensions the migrations create, as the maintenance database sees them. */
  extensions: ExtensionFacts[];
}

/** Duplicate database: 42P04, or 23505 when two CREATE DATABASE commands race on the catalog. */
function isDuplicateDatabase(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === '42P04' || code === '23505';
}

export async function createDatabase(context: CoreContext, options: CreateDatabaseOptions = {}): Promise<CreateDatabaseResult> {
  return withSharedConnections(context, (shared) => createDatabaseSteps(shared, options));
}

async function createDatabaseSteps(context: CoreContext, options: CreateDatabaseOptions): Promise<CreateDatabaseResult> {
  const logger = loggerOf(context);
  const { database } = context.settings;
  refuseSystemDatabase(database, context.settings.origins.database);
  // Read the migrations first: a bad --dir is a usage error, found before anything changes.
  const files = options.migrate === false ? [] : await loadMigrationFiles(options.migrationsDir ?? bundledMigrationsDir());
  const admin = await connectAsAdmin(context);
  let created = false;
  try {
    const factsSql = `SELECT pg_is_in_recovery() AS standby,
       EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists,
       r.rolsuper AS superuser, r.rolcreatedb AS createdb,
       CASE WHEN $2::text IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) END AS role_exists,
       current_setting('server_version_num')::int AS server_version,
       ${extensionFactsSql('$3')} AS extensions
  FROM pg_roles r WHERE r.rolname = current_user`;
    const needed = extensionsCreatedBy(files);
    const facts = (await runQuery<AdminFacts>(admin, logger, factsSql, [database, options.whenRoleExists?.role ?? null, extensionNames(needed)])).rows[0]!;
    if (facts.standby) throw standbyError(admin);
    if (facts.role_exists) options.whenRoleExists?.check();
    if (!facts.exists) {
      // Every file will run: one that would end its own transaction, or create an extension
      // the admin may not, is refused before the database is created (on an existing
      // database, the migration engine checks the pending files).
      checkTransactionControl(files);
      await refuseExtensionsBeforeCreating(context, needed, facts);
      if (options.dryRun) {
        return {
          database,
          created: false,
          plannedSql: [`${createDatabaseSql(database)};`, ...files.map((file, i) => migrationTransactionSql(file, { createBookkeeping: i === 0 }))].join('\n\n'),
        };
      }
      if (!facts.superuser && !facts.createdb) {
        throw new RegistryDbError('auth', 'PERMISSION_DENIED', `Role "${admin.user}" may not create databases (it has neither CREATEDB nor SUPERUSER).`, {
          hint: `Grant it: ALTER ROLE ${quoteIdent(admin.user)} CREATEDB; or set TOFU_REGISTRY_DB_ADMIN_USER to a role that has it.`,
          cause: '42501',
        });
      }
      logger.step(`Creating database ${database}`);
      try {
        await runQuery(admin, logger, createDatabaseSql(database));
        created = true;
      } catch (error) {
        if (!isDuplicateDatabase(error)) throw error;
        logger.debug(`database ${database} was created concurrently by another run`);
      }
    }
  } finally {
    await disconnect(admin);
  }
  if (options.migrate === false) return { database, created };
  const migrations = await runMigrations(context, files, { dryRun: options.dryRun, freshDatabase: created });
  return { database, created, migrations, plannedSql: migrations.plannedSql };
}

/**
 * The extensions the migrations create, checked before CREATE DATABASE: the new database is a
 * copy of template1, which holds what it will have, and the admin will own it (CREATE on it).
 * Only a doubt the catalog leaves (PostgreSQL 12, a non-superuser) costs a connection to
 * template1, closed at once: a concurrent run's CREATE DATABASE, which copies template1, waits
 * (up to 5 s) for such sessions to end before it fails.
 */
async function refuseExtensionsBeforeCreating(context: CoreContext, needed: readonly ExtensionStatement[], facts: AdminFacts): Promise<void> {
  if (needed.length === 0) return;
  const notHere = facts.extensions.map((e) => ({ ...e, installed: false })); // installed in the maintenance database says nothing
  const { unavailable, doubtful } = judgeExtensions(needed, notHere, { superuser: facts.superuser, createOnDatabase: true });
  if (unavailable.length > 0) throw unavailableError(unavailable);
  if (doubtful.length === 0) return;
  const template = await connectAsAdmin({ ...context, sharedConnections: undefined }, 'template1').catch((error: unknown) => {
    const failure = error instanceof RegistryDbError ? error : toRegistryDbError(error);
    const names = doubtful.map((d) => d.extension).join(', ');
    throw failure.rewrap(`Whether ${names} can be created in the new database is decided in template1 (which it is copied from), and that failed: ${failure.message} Nothing was changed.`, {
      hint: `Have a superuser run CREATE EXTENSION IF NOT EXISTS ${doubtful.map((d) => quoteIdent(d.extension)).join(', ')} in template1, or create the database first (create-db --no-migrate) and run it there; or let the admin connect to template1.`,
    });
  });
  try {
    const target = { admin: template.user, database: context.settings.database, databaseExists: false, serverVersion: facts.server_version };
    await probeExtensions(template, loggerOf(context), doubtful, facts.extensions, target);
  } finally {
    await disconnect(template);
  }
}
