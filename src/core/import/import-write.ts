import type { Connection } from '../db/connection.js';
import type { Logger } from '../logger.js';
import { runQuery } from '../db/query.js';
import { analyzeStagingSql, lockAgainstWritersSql, tableIsEmptySql } from './import-sql.js';
import type { TreeKind } from './registry-tree.js';
import {
  deleteStaleSql,
  importSourcesSync,
  insertIntoEmptySql,
  MODULES,
  PROVIDER_PLATFORMS,
  PROVIDERS,
  REGISTRY_MODULES,
  REGISTRY_PROVIDERS,
  SIGNING_KEYS,
  upsertSql,
  type TableSync,
} from './sync-sql.js';

/** What happened to the rows of one table. */
export interface TableCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
}

export const NO_ROWS: TableCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0 };

export function addCounts(a: TableCounts, b: TableCounts): TableCounts {
  return { inserted: a.inserted + b.inserted, updated: a.updated + b.updated, unchanged: a.unchanged + b.unchanged, deleted: a.deleted + b.deleted };
}

/** Counts per table written, by table name. */
export type WrittenCounts = Record<string, TableCounts>;

/**
 * Whether a table has no rows at all, confirmed under a lock that keeps other writers out
 * until commit (readers go on): then a plain INSERT needs no conflict checks, which cost
 * about a third more. Another import waits for this one's lock on import first, so it
 * either comes before and this one upserts, or after and upserts against these rows.
 */
async function emptyUnderLock(connection: Connection, logger: Logger, table: string): Promise<boolean> {
  const isEmpty = async () => (await runQuery<{ empty: boolean }>(connection, logger, tableIsEmptySql(table))).rows[0]!.empty;
  if (!(await isEmpty())) return false;
  await runQuery(connection, logger, lockAgainstWritersSql(table));
  return isEmpty();
}

async function deleteStale(connection: Connection, logger: Logger, sync: TableSync): Promise<number> {
  return (await runQuery(connection, logger, deleteStaleSql(sync))).rowCount ?? 0;
}

/** Writes the staged rows of one table; `deleted` comes from a DELETE the caller ran before, if any. */
async function writeRows(connection: Connection, logger: Logger, sync: TableSync, empty: boolean, deleted = 0): Promise<TableCounts> {
  if (empty) {
    const { rowCount } = await runQuery(connection, logger, insertIntoEmptySql(sync));
    return { ...NO_ROWS, inserted: rowCount ?? 0 };
  }
  const { rows } = await runQuery<{ staged: string; inserted: string; updated: string }>(connection, logger, upsertSql(sync));
  const [staged, inserted, updated] = [Number(rows[0]!.staged), Number(rows[0]!.inserted), Number(rows[0]!.updated)];
  return { inserted, updated, unchanged: staged - inserted - updated, deleted };
}

/** A table in full: into an empty one a plain INSERT, else the rows gone upstream deleted and the staged ones upserted. */
async function syncTable(connection: Connection, logger: Logger, sync: TableSync): Promise<TableCounts> {
  if (await emptyUnderLock(connection, logger, sync.table)) return writeRows(connection, logger, sync, true);
  const deleted = sync.scope === undefined ? 0 : await deleteStale(connection, logger, sync);
  return writeRows(connection, logger, sync, false, deleted);
}

/**
 * A provider's rows, in an order that keeps every count exact: its platforms gone upstream
 * are deleted before its versions gone upstream (whose platforms would otherwise go by
 * cascade, uncounted), and platforms are written after the versions they belong to.
 */
async function writeProviders(connection: Connection, logger: Logger): Promise<WrittenCounts> {
  const counts: WrittenCounts = {};
  counts.registry_providers = await syncTable(connection, logger, REGISTRY_PROVIDERS);
  const platformsEmpty = await emptyUnderLock(connection, logger, PROVIDER_PLATFORMS.table);
  const platformsDeleted = platformsEmpty ? 0 : await deleteStale(connection, logger, PROVIDER_PLATFORMS);
  counts.providers = await syncTable(connection, logger, PROVIDERS);
  counts.provider_platforms = await writeRows(connection, logger, PROVIDER_PLATFORMS, platformsEmpty, platformsDeleted);
  await syncTable(connection, logger, importSourcesSync('provider'));
  return counts;
}

async function writeModules(connection: Connection, logger: Logger): Promise<WrittenCounts> {
  const counts: WrittenCounts = {};
  counts.registry_modules = await syncTable(connection, logger, REGISTRY_MODULES);
  counts.modules = await syncTable(connection, logger, MODULES);
  await syncTable(connection, logger, importSourcesSync('module'));
  return counts;
}

/** Moves one kind's staged rows into the registry's tables, in the import's transaction. */
export async function writeStagedRows(connection: Connection, logger: Logger, kind: TreeKind): Promise<WrittenCounts> {
  // Temporary tables are never analyzed by autovacuum: without statistics the planner guesses their size.
  await runQuery(connection, logger, analyzeStagingSql(kind));
  if (kind === 'provider') return writeProviders(connection, logger);
  if (kind === 'module') return writeModules(connection, logger);
  return { signing_keys: await syncTable(connection, logger, SIGNING_KEYS) };
}
