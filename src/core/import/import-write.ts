import type { Connection } from '../db/connection.js';
import type { Logger } from '../logger.js';
import { runQuery } from '../db/query.js';
import { CopyWriter } from './copy-writer.js';
import {
  analyzeStagingSql,
  copyIntoStagingSql,
  copyIntoTableSql,
  createStagingTableSql,
  forgetSourcesSql,
  lockAgainstWritersSql,
  tableIsEmptySql,
  truncateStagingSql,
  type RegistryTable,
  type StagingTable,
} from './import-sql.js';
import type { TreeKind } from './registry-tree.js';
import { deleteStaleSql, importSourcesSync, MODULES, PROVIDER_PLATFORMS, PROVIDERS, REGISTRY_MODULES, REGISTRY_PROVIDERS, SIGNING_KEYS, upsertSql, type TableSync } from './sync-sql.js';
import { PARTS, type Chunk, type Part } from './chunk.js';
/**
 * Into empty tables, a table's lines are sent once there are this many bytes of them; into
 * tables with rows, a chunk is staged once it holds this many in all. Bigger means fewer
 * statements, smaller less memory: at most about twice this is held per table.
 */
const PART_BYTES = 1024 * 1024;
const CHUNK_BYTES = 2 * 1024 * 1024;

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

/** The tables each kind writes (besides import's bookkeeping), and the staging tables it fills instead where they hold rows. */
const TABLES: Readonly<Record<TreeKind, { readonly data: readonly string[]; readonly staging: readonly StagingTable[] }>> = {
  provider: { data: ['registry_providers', 'providers', 'provider_platforms'], staging: ['registry_providers', 'providers', 'provider_platforms', 'registry_import_sources'] },
  module: { data: ['registry_modules', 'modules'], staging: ['registry_modules', 'modules', 'registry_import_sources'] },
  keys: { data: ['signing_keys'], staging: ['signing_keys', 'kept_key_namespaces'] },
};

/**
 * Writes one kind's rows into the registry's tables, a chunk at a time, in the import's
 * transaction (which holds import's lock: no other import writes meanwhile). Into empty
 * tables the chunks are copied straight in, as `psql \copy` would; into tables that hold
 * rows they are staged, and then only what differs is written.
 */
export class KindWriter {
  private fresh = false;
  private readonly counts: WrittenCounts = {};

  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
    readonly kind: TreeKind,
    private readonly onCopy: (copy: CopyWriter) => void,
  ) {}

  /**
   * Whether the kind's tables have no rows at all, confirmed under locks that keep other
   * writers out until commit (readers go on): then the rows need no comparison with any.
   */
  async prepare(): Promise<void> {
    this.fresh = true;
    for (const table of TABLES[this.kind].data) {
      // Empty before the lock and still empty under it (a writer may have come in between).
      if (!(await this.isEmpty(table))) {
        this.fresh = false;
        break;
      }
      await this.run(lockAgainstWritersSql(table));
      if (!(await this.isEmpty(table))) {
        this.fresh = false;
        break;
      }
    }
    if (this.fresh && this.kind !== 'keys') await this.run(forgetSourcesSql(this.kind));
    if (!this.fresh) for (const table of TABLES[this.kind].staging) await this.run(createStagingTableSql(table));
  }

  /**
   * Which of the chunk's tables to send now, if any. Into empty tables each table's lines go
   * when there are PART_BYTES of them (a provider version before its platforms: they
   * reference it), so a COPY carries as many rows as memory allows. Into tables with rows,
   * a whole chunk is staged and compared at once.
   */
  due(chunk: Chunk): Part[] {
    if (!this.fresh) return chunk.bytes() >= CHUNK_BYTES ? [...PARTS] : [];
    const due = PARTS.filter((part) => chunk.bytes(part) >= PART_BYTES);
    return due.includes('platforms') && !due.includes('versions') ? ['versions', ...due] : due;
  }

  /**
   * Writes a chunk. Keys are compared once all are staged (`last`): the keys/ folder as a
   * whole says which are gone.
   */
  async write(chunk: Chunk, last: boolean): Promise<void> {
    if (this.fresh) {
      await this.copyFresh(chunk);
      return;
    }
    // Nothing staged (every file recognised by its hash): nothing to compare. Keys are compared
    // even then: the keys/ folder as a whole says which are gone.
    if (this.kind !== 'keys' && chunk.bytes() === 0) return;
    await this.stage(chunk);
    if (this.kind === 'keys' && !last) return;
    await this.run(analyzeStagingSql(TABLES[this.kind].staging));
    if (this.kind === 'provider') await this.syncProviders();
    else if (this.kind === 'module') await this.syncModules();
    else this.add(SIGNING_KEYS.table, await this.sync(SIGNING_KEYS));
    if (this.kind !== 'keys') await this.sync(importSourcesSync(this.kind));
    await this.run(truncateStagingSql(TABLES[this.kind].staging));
  }

  /** Counts per table, over all chunks. */
  written(): WrittenCounts {
    return this.counts;
  }

  /** Each table's lines straight into it, a version before its platforms. */
  private async copyFresh(chunk: Chunk): Promise<void> {
    for (const [part, table] of this.tablesOf()) {
      if (chunk.bytes(part) === 0) continue;
      const inserted = await this.copy(copyIntoTableSql(table), chunk.part(part));
      if (table !== 'registry_import_sources') this.add(table, { ...NO_ROWS, inserted });
    }
  }

  private async stage(chunk: Chunk): Promise<void> {
    for (const [part, table] of this.tablesOf()) {
      if (chunk.bytes(part) > 0) await this.copy(copyIntoStagingSql(table), chunk.part(part));
    }
    if (this.kind === 'keys') await this.copy(copyIntoStagingSql('kept_key_namespaces'), chunk.part('keptNamespaces'));
  }

  /** The kind's parts of a chunk and the tables they go into, in the order they must be written. */
  private tablesOf(): readonly (readonly [Part, RegistryTable])[] {
    if (this.kind === 'keys') return [['keys', 'signing_keys']];
    if (this.kind === 'module') return [['registry', 'registry_modules'], ['versions', 'modules'], ['sources', 'registry_import_sources']];
    return [['registry', 'registry_providers'], ['versions', 'providers'], ['platforms', 'provider_platforms'], ['sources', 'registry_import_sources']];
  }

  /**
   * In an order that keeps every count exact: platforms gone upstream are deleted before
   * versions gone upstream (whose platforms would otherwise go by cascade, uncounted), and
   * platforms are written after the versions they belong to.
   */
  private async syncProviders(): Promise<void> {
    this.add(REGISTRY_PROVIDERS.table, await this.sync(REGISTRY_PROVIDERS));
    const platformsDeleted = await this.deleteStale(PROVIDER_PLATFORMS);
    this.add(PROVIDERS.table, await this.sync(PROVIDERS));
    this.add(PROVIDER_PLATFORMS.table, { ...(await this.upsert(PROVIDER_PLATFORMS)), deleted: platformsDeleted });
  }

  private async syncModules(): Promise<void> {
    this.add(REGISTRY_MODULES.table, await this.sync(REGISTRY_MODULES));
    this.add(MODULES.table, await this.sync(MODULES));
  }

  /** Rows gone upstream deleted (where the table's rows may be deleted at all), the staged ones upserted. */
  private async sync(sync: TableSync): Promise<TableCounts> {
    const deleted = sync.scope === undefined ? 0 : await this.deleteStale(sync);
    return { ...(await this.upsert(sync)), deleted };
  }

  private async deleteStale(sync: TableSync): Promise<number> {
    return (await this.run(deleteStaleSql(sync))).rowCount ?? 0;
  }

  private async upsert(sync: TableSync): Promise<TableCounts> {
    const { rows } = await this.run<{ staged: string; inserted: string; updated: string }>(upsertSql(sync));
    const [staged, inserted, updated] = [Number(rows[0]!.staged), Number(rows[0]!.inserted), Number(rows[0]!.updated)];
    return { inserted, updated, unchanged: staged - inserted - updated, deleted: 0 };
  }

  /** One COPY of the lines given; returns the rows the server took. */
  private async copy(sql: string, lines: readonly Buffer[]): Promise<number> {
    this.logger.debug(sql);
    const copy = await CopyWriter.open(this.connection.client, sql);
    this.onCopy(copy);
    await copy.writeBuffers(lines);
    return copy.finish();
  }

  private async isEmpty(table: string): Promise<boolean> {
    return (await this.run<{ empty: boolean }>(tableIsEmptySql(table))).rows[0]!.empty;
  }

  private add(table: string, counts: TableCounts): void {
    this.counts[table] = addCounts(this.counts[table] ?? NO_ROWS, counts);
  }

  private run<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, values?: readonly unknown[]) {
    return runQuery<R>(this.connection, this.logger, sql, values);
  }
}
