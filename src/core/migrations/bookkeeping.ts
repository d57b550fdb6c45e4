import type { Connection } from '../db/connection.js';
import { runQuery } from '../db/query.js';
import { standbyError } from '../db/primary.js';
import type { Logger } from '../logger.js';
import { quoteLiteral } from '../sql/quote.js';
import type { MigrationFile } from './files.js';

/**
 * The bookkeeping table: which migrations ran, with their checksums, and the SQL each
 * migration's transaction wraps around the file (the lock, the table, the guard, the row).
 */

export const MIGRATIONS_TABLE = 'tofu_registry_migrations';

/**
 * Key of the transaction-scoped advisory lock that serialises migration runners in one
 * database. Transaction-scoped (pg_advisory_xact_lock), not session-scoped, so that it
 * also works through PgBouncer in transaction-pooling mode, where consecutive
 * transactions of one client may run on different server connections.
 */
export const MIGRATION_LOCK_KEY = 7_240_131_985_016_412n;

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing';

export interface MigrationStatus {
  readonly version: string;
  readonly name: string;
  /** The file name, or version_name for an applied migration whose file is gone. */
  readonly fileName: string;
  readonly state: MigrationState;
  readonly appliedAt?: string;
  /** False for a file marked `--! no-transaction` (undefined for a missing file). */
  readonly transaction?: boolean;
  /**
   * A pending no-transaction file that a runner is applying (live) or was applying when it
   * stopped (expired: the next run cancels what is left of it and runs the file again).
   */
  readonly lease?: { readonly since: string; readonly until: string; readonly live: boolean };
}

export interface AppliedRow {
  version: string;
  name: string;
  checksum: string;
  applied_at: Date;
}

/** The bookkeeping table. Created under the migration lock, so concurrent runners never race on it. */
export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS public.${MIGRATIONS_TABLE} (
    version    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms INTEGER NOT NULL
)`;

/**
 * Right after one of the tool's tables is created: nobody but its owner may change it. Default
 * privileges (create-user's, when it ran before the first migration) would otherwise give the
 * application role INSERT, UPDATE and DELETE on it, as on every other table; it keeps SELECT.
 */
export function writesRevokedSql(table: string): string {
  return `DO $tofu$
DECLARE grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END
      FROM pg_class c, aclexplode(c.relacl) acl
     WHERE c.oid = 'public.${table}'::regclass AND acl.grantee <> c.relowner
       AND acl.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.${table} FROM %s', grantee);
  END LOOP;
END
$tofu$`;
}

export const BOOKKEEPING_WRITES_REVOKED = writesRevokedSql(MIGRATIONS_TABLE);

/** Reads the transaction's id in the message that opens a migration: the guard after the file compares it. */
export const TRANSACTION_ID_SQL = 'SELECT txid_current()::text AS xid';

/**
 * Runs after the file, before its bookkeeping row: a file that ended the transaction it runs
 * in (a COMMIT or ROLLBACK the scan did not see) now runs in another one, with another id, and
 * fails here, not recorded as applied. (A SET LOCAL marker would not do: RESET ALL clears it.)
 */
export function stillInTransactionSql(xid: string): string {
  return `DO $tofu$ BEGIN
  IF txid_current()::text IS DISTINCT FROM ${quoteLiteral(xid)} THEN
    RAISE EXCEPTION USING ERRCODE = '25000', MESSAGE = 'tofu-registry-db: the migration ended the transaction it runs in';
  END IF;
END $tofu$`;
}

/** Reads what has been applied; an absent bookkeeping table means nothing has. */
/**
 * The bookkeeping rows. `known.exists` skips what the caller already knows (a database
 * created in this run has no table; test-connection has seen it in pg_class); otherwise
 * to_regclass() asks first. (Reading the table and treating 42P01 as "none" would save that
 * round trip but write an ERROR to the server log of every database without the table.)
 */
export async function readAppliedMigrations(
  connection: Connection,
  logger: Logger,
  known: { readonly exists?: boolean; readonly confirmPrimary?: boolean } = {},
): Promise<AppliedRow[]> {
  if (known.exists === undefined) {
    // migrate asks in the same statement whether this is the primary: the in_hot_standby the
    // login reported is trusted to save a round trip, and a pooler may replay a stale "off"
    // after a switchover (pgbouncer/pgbouncer#859); a no-op run on a standby would exit 0.
    const exists = await runQuery<{ present: boolean; standby: boolean }>(
      connection,
      logger,
      `SELECT to_regclass('public.${MIGRATIONS_TABLE}') IS NOT NULL AS present${known.confirmPrimary ? ', pg_is_in_recovery() AS standby' : ''}`,
    );
    if (known.confirmPrimary && exists.rows[0]?.standby) throw standbyError(connection);
    if (!exists.rows[0]?.present) return [];
  } else if (!known.exists) {
    return [];
  }
  const rows = await runQuery<AppliedRow>(connection, logger, `SELECT version, name, checksum, applied_at FROM public.${MIGRATIONS_TABLE}`);
  return rows.rows;
}

export function compareMigrations(files: readonly MigrationFile[], applied: readonly AppliedRow[]): MigrationStatus[] {
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  const statuses: MigrationStatus[] = files.map((file) => {
    const row = byVersion.get(file.version);
    byVersion.delete(file.version);
    if (!row) return { version: file.version, name: file.name, fileName: file.fileName, state: 'pending', transaction: file.transaction };
    return {
      version: file.version,
      name: file.name,
      fileName: file.fileName,
      state: row.checksum === file.checksum ? 'applied' : 'changed',
      appliedAt: row.applied_at.toISOString(),
      transaction: file.transaction,
    };
  });
  for (const row of byVersion.values()) {
    statuses.push({ version: row.version, name: row.name, fileName: `${row.version}_${row.name}`, state: 'missing', appliedAt: row.applied_at.toISOString() });
  }
  return statuses.sort((a, b) => (BigInt(a.version) < BigInt(b.version) ? -1 : 1));
}

/**
 * The SQL a runner sends for one migration (the timeouts left out): what --dry-run prints.
 * `createBookkeeping`: the first migration of a database without the bookkeeping table.
 */
export function migrationTransactionSql(file: MigrationFile, options: { readonly createBookkeeping?: boolean } = {}): string {
  // Always a semicolon of its own: a last statement without one may end in a comment that
  // ends in one (`SELECT 1 -- done;`); an empty statement is harmless.
  const body = file.sql.trimEnd();
  return [
    `-- ${file.fileName} (sha256 ${file.checksum})`,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`,
    ...(options.createBookkeeping ? [`${CREATE_MIGRATIONS_TABLE};`, `${BOOKKEEPING_WRITES_REVOKED};`] : []),
    `${body}\n;`,
    recordMigrationSql(file) + ';',
    'COMMIT;',
  ].join('\n');
}

export function recordMigrationSql(file: MigrationFile): string {
  // duration_ms: from the start of the transaction (now()) to the end of the migration.
  return `INSERT INTO public.${MIGRATIONS_TABLE} (version, name, checksum, duration_ms) VALUES (${quoteLiteral(file.version)}, ${quoteLiteral(file.name)}, ${quoteLiteral(file.checksum)}, (extract(epoch FROM clock_timestamp() - now()) * 1000)::integer)`;
}

