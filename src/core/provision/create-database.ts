import { loggerOf, type CoreContext } from '../db/context.js';
import { disconnect } from '../db/connection.js';
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
import { migrationScript } from '../migrations/engine.js';
import { checkTransactionControl } from '../migrations/migration-errors.js';

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
       CASE WHEN $2::text IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) END AS role_exists
  FROM pg_roles r WHERE r.rolname = current_user`;
    const facts = (await runQuery<AdminFacts>(admin, logger, factsSql, [database, options.whenRoleExists?.role ?? null])).rows[0]!;
    if (facts.standby) throw standbyError(admin);
    if (facts.role_exists) options.whenRoleExists?.check();
    if (!facts.exists) {
      // Every file will run: one that would end its own transaction is refused before the
      // database is created (on an existing database, only the pending files are checked).
      checkTransactionControl(files);
      if (options.dryRun) {
        return {
          database,
          created: false,
          plannedSql: [`${createDatabaseSql(database)};`, ...files.map((file, i) => migrationScript(file, { createBookkeeping: i === 0, networkTimeoutMs: context.settings.networkTimeoutMs }))].join('\n\n'),
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
