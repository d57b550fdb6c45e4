import { loggerOf, recordChange, type CoreContext } from '../db/context.js';
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
import { migrationScript } from '../migrations/engine.js';
import { checkTransactionControl } from '../migrations/migration-errors.js';
import { extensionFactsSql, extensionNames, extensionsCreatedBy, judgeExtensions, probeExtensions, unavailableError, type ExtensionFacts, type ExtensionStatement } from '../migrations/extensions.js';

export interface CreateDatabaseOptions {
  /** Apply migrations after creating (default true). */
  readonly migrate?: boolean;
  /** Migrations folder (default: the bundled sql/). */
  readonly migrationsDir?: string;
  readonly dryRun?: boolean;
  /**
   * A later step's check (setup's), run on create-db's own facts before anything changes (no
   * extra round trip): it throws to stop the run while nothing has been created yet.
   */
  readonly preflight?: { readonly role: string; readonly check: (facts: AdminFacts) => void | Promise<void> };
}

/** What create-db reads about the server, the admin, the database and (for a preflight) a role. */
export interface AdminFacts {
  readonly standby: boolean;
  readonly server_version: number;
  /** Whether the registry database exists. */
  readonly exists: boolean;
  readonly superuser: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  /** Whether the admin owns the registry database (or is a member of its owner); null when it does not exist. */
  readonly owns_database: boolean | null;
  readonly database_owner: string | null;
  /** The preflight's role: whether it exists (null without a preflight). */
  readonly role_exists: boolean | null;
  /** Whether the admin holds ADMIN OPTION on that role (PostgreSQL 16+ needs it to change the role). */
  readonly admin_option: boolean | null;
  /** Whether that role is a superuser (null when it does not exist). */
  readonly role_superuser: boolean | null;
  /** The extensions the migrations create, as the maintenance database sees them. */
  readonly extensions: ExtensionFacts[];
}

export interface CreateDatabaseResult {
  readonly database: string;
  /** False when it already existed (also when a concurrent run created it first). */
  readonly created: boolean;
  readonly migrations?: MigrateResult;
  readonly plannedSql?: string;
}

const ADMIN_FACTS_SQL = `SELECT pg_is_in_recovery() AS standby,
       current_setting('server_version_num')::int AS server_version,
       d.oid IS NOT NULL AS exists,
       a.rolsuper AS superuser, a.rolcreatedb AS createdb, a.rolcreaterole AS createrole,
       CASE WHEN d.oid IS NULL THEN NULL ELSE pg_has_role(current_user, d.datdba, 'USAGE') END AS owns_database,
       pg_get_userbyid(d.datdba) AS database_owner,
       CASE WHEN $2::text IS NULL THEN NULL ELSE r.oid IS NOT NULL END AS role_exists,
       CASE WHEN r.oid IS NULL THEN NULL ELSE pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') END AS admin_option,
       r.rolsuper AS role_superuser,
       ${extensionFactsSql('$3')} AS extensions
  FROM pg_roles a
  LEFT JOIN pg_database d ON d.datname = $1
  LEFT JOIN pg_roles r ON r.rolname = $2
 WHERE a.rolname = current_user`;

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
    const needed = extensionsCreatedBy(files);
    const facts = (await runQuery<AdminFacts>(admin, logger, ADMIN_FACTS_SQL, [database, options.preflight?.role ?? null, extensionNames(needed)])).rows[0]!;
    if (facts.standby) throw standbyError(admin);
    await options.preflight?.check(facts);
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
        recordChange(context, `created database "${database}"`);
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
