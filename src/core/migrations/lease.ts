import { randomBytes } from 'node:crypto';
import type { Connection } from '../db/connection.js';
import { closeClient } from '../db/connection.js';
import { runBatch } from '../db/batch.js';
import { runQuery } from '../db/query.js';
import type { Logger } from '../logger.js';
import { quoteLiteral } from '../sql/quote.js';
import { BOOKKEEPING_WRITES_REVOKED, CREATE_MIGRATIONS_TABLE, MIGRATION_LOCK_KEY, MIGRATIONS_TABLE, writesRevokedSql } from './bookkeeping.js';
import { NO_TRANSACTION_MARKER, type MigrationFile } from './files.js';
import { scanStatements } from '../sql/scan.js';

/**
 * The lease that stands in for the migration lock while a `--! no-transaction` file runs. The
 * lock is transaction-scoped (so that it works through PgBouncer in transaction mode), and such
 * a file runs as many transactions, one per statement; a session-level lock would be taken on
 * whichever pooled server connection ran that statement. So the runner writes a lease row
 * (taken under the lock, with an expiry) and renews it from a second connection while the
 * statements run; other runners that find a live lease wait for it to go. A runner that dies
 * stops renewing: once the lease has expired, the next runner cancels what the dead one's
 * statements still run on the server (they carry its lease token in a leading comment), takes the
 * lease over and runs the file again from the top.
 */

export const LEASES_TABLE = 'tofu_registry_migration_leases';

/** Created by the first no-transaction migration, under the migration lock; only its owner writes it. */
export const CREATE_LEASES_TABLE = [
  `CREATE TABLE IF NOT EXISTS public.${LEASES_TABLE} (
    version     TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
)`,
  writesRevokedSql(LEASES_TABLE),
];

/** How long a lease lasts after each renewal, and how often it is renewed: three renewals may fail before it expires. */
export function leaseTimings(networkTimeoutMs: number): { readonly durationMs: number; readonly renewEveryMs: number } {
  const durationMs = Math.max(2000, 2 * networkTimeoutMs);
  return { durationMs, renewEveryMs: Math.round(durationMs / 4) };
}

/** A runner's lease token: random, so that two runners never share one. */
export function newLeaseToken(): string {
  return randomBytes(9).toString('hex');
}

/** The comment every statement of a no-transaction file starts with, so that pg_stat_activity shows whose it is. */
export function statementTag(token: string): string {
  return `/* tofu-registry-db lease ${token} */ `;
}

export interface LeaseRow {
  readonly version: string;
  readonly holder: string;
  readonly acquired_at: Date;
  readonly expires_at: Date;
  readonly live: boolean;
}

export const READ_LEASES_SQL = `SELECT version, holder, acquired_at, expires_at, expires_at > now() AS live FROM public.${LEASES_TABLE} ORDER BY version`;

/**
 * Cancels what the holders of expired leases still run on the server (a runner that died mid-file
 * leaves its statement running; a CREATE INDEX CONCURRENTLY cancelled here leaves an INVALID index
 * that the rerun drops). Returns one row per statement still running: none means it is safe to go.
 */
export const FENCE_EXPIRED_SQL = `SELECT a.pid, pg_cancel_backend(a.pid) AS cancelled
  FROM pg_stat_activity a JOIN public.${LEASES_TABLE} l
    ON starts_with(a.query, '/* tofu-registry-db lease ' || l.holder || ' */')
 WHERE l.expires_at <= now() AND a.state = 'active' AND a.pid <> pg_backend_pid()`;

/** Takes the lease, replacing expired ones; no row comes back when another runner renewed it meanwhile. */
export function takeLeaseSql(version: string, token: string, durationMs: number): string[] {
  return [
    `DELETE FROM public.${LEASES_TABLE} WHERE expires_at <= now() AND version <> ${quoteLiteral(version)}`,
    `INSERT INTO public.${LEASES_TABLE} AS l (version, holder, expires_at)
VALUES (${quoteLiteral(version)}, ${quoteLiteral(token)}, now() + interval '${Math.round(durationMs)} milliseconds')
ON CONFLICT (version) DO UPDATE SET holder = excluded.holder, acquired_at = now(), expires_at = excluded.expires_at
 WHERE l.expires_at <= now() OR l.holder = excluded.holder
RETURNING 1`,
  ];
}

/**
 * The bookkeeping row, written only while this runner still holds the lease (no row is written
 * when another runner took it over), and the lease given back, in one transaction.
 */
export function recordUnderLeaseSql(file: MigrationFile, token: string, durationMs: number): string[] {
  return [
    `INSERT INTO public.${MIGRATIONS_TABLE} (version, name, checksum, duration_ms)
SELECT ${quoteLiteral(file.version)}, ${quoteLiteral(file.name)}, ${quoteLiteral(file.checksum)}, ${Math.round(durationMs)}
 WHERE EXISTS (SELECT 1 FROM public.${LEASES_TABLE} WHERE version = ${quoteLiteral(file.version)} AND holder = ${quoteLiteral(token)})`,
    `DELETE FROM public.${LEASES_TABLE} WHERE version = ${quoteLiteral(file.version)} AND holder = ${quoteLiteral(token)}`,
  ];
}

/** The leases, for `migrate status`: none where no no-transaction migration ever ran. */
export async function readLeases(connection: Connection, logger: Logger): Promise<LeaseRow[]> {
  const exists = await runQuery<{ present: boolean }>(connection, logger, `SELECT to_regclass('public.${LEASES_TABLE}') IS NOT NULL AS present`);
  if (!exists.rows[0]?.present) return [];
  return (await runQuery<LeaseRow>(connection, logger, READ_LEASES_SQL)).rows;
}

/**
 * What --dry-run prints for a no-transaction file: the lease taken, the statements one by one
 * (psql sends each on its own, as the tool does), the row written and the lease given back.
 */
export function noTransactionScript(file: MigrationFile, options: { readonly createBookkeeping?: boolean; readonly durationMs: number }): string {
  const token = 'dry-run';
  const statements = scanStatements(file.sql).map((s) => `${file.sql.slice(s.start, s.end).trim()};`);
  return [
    `-- ${file.fileName} (sha256 ${file.checksum}), ${NO_TRANSACTION_MARKER}: outside a transaction, one statement at a time, under the migration lease`,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`,
    ...(options.createBookkeeping ? [`${CREATE_MIGRATIONS_TABLE};`, `${BOOKKEEPING_WRITES_REVOKED};`] : []),
    ...CREATE_LEASES_TABLE.map((sql) => `${sql};`),
    ...takeLeaseSql(file.version, token, options.durationMs).map((sql) => `${sql};`),
    'COMMIT;',
    ...statements,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`,
    ...recordUnderLeaseSql(file, token, 0).map((sql) => `${sql};`),
    'COMMIT;',
  ].join('\n');
}

export function releaseLeaseSql(version: string, token: string): string {
  return `DELETE FROM public.${LEASES_TABLE} WHERE version = ${quoteLiteral(version)} AND holder = ${quoteLiteral(token)}`;
}

/**
 * Renews the lease from a connection of its own while the work connection runs the statements.
 * A renewal takes the migration lock too, so that it never slips between another runner's
 * check that the lease expired and its takeover.
 */
export class LeaseHeartbeat {
  /** Why the lease is no longer ours, once it is not. */
  lost: string | undefined;
  private validUntil: number;
  private connection: Connection | undefined;
  private readonly timer: NodeJS.Timeout;
  private renewing = false;

  constructor(
    private readonly open: () => Promise<Connection>,
    private readonly lease: { readonly version: string; readonly token: string; readonly durationMs: number; readonly renewEveryMs: number },
    private readonly logger: Logger,
    private readonly onLost: (reason: string) => void,
  ) {
    this.validUntil = Date.now() + lease.durationMs;
    this.timer = setInterval(() => void this.renew(), lease.renewEveryMs);
  }

  /** Time the lease surely has left, as this runner knows it. */
  remainingMs(): number {
    return this.validUntil - Date.now();
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lost) return;
    this.renewing = true;
    const asked = Date.now();
    try {
      this.connection ??= await this.open();
      const { version, token, durationMs } = this.lease;
      const outcome = await runBatch(this.connection, this.logger, [
        'BEGIN',
        `SET LOCAL lock_timeout = ${Math.round(this.lease.renewEveryMs)}`,
        `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
        `UPDATE public.${LEASES_TABLE} SET expires_at = now() + interval '${Math.round(durationMs)} milliseconds' WHERE version = ${quoteLiteral(version)} AND holder = ${quoteLiteral(token)}`,
        'COMMIT',
      ]);
      if (!outcome.ok) throw outcome.error;
      if (outcome.results[3]!.rowCount === 0) return this.loseLease('another runner took it over after it expired');
      this.validUntil = asked + durationMs;
    } catch (error) {
      this.logger.debug(`renewing the migration lease failed: ${(error as Error).message}`);
      const broken = this.connection;
      this.connection = undefined;
      if (broken) await closeClient(broken.client);
      if (this.remainingMs() <= 0) this.loseLease('it could not be renewed before it expired (the server could not be reached)');
    } finally {
      this.renewing = false;
    }
  }

  private loseLease(reason: string): void {
    this.lost = reason;
    this.onLost(reason);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.renewing) await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.connection) await closeClient(this.connection.client);
    this.connection = undefined;
  }
}
