import { quoteIdent, quoteLiteral } from '../sql/quote.js';

/**
 * The staging side of an import, as small pure builders (each with an exact-string unit
 * test). Rows go first into TEMP staging tables (the application role may create
 * temporary tables but nothing in `public`), dropped at commit; sync-sql.ts then moves them
 * into the registry's tables. copy-lines.ts writes the lines in these columns' order.
 */

/** The columns a fresh import copies into each registry table, in copy-lines.ts's order. */
export const TABLE_COLUMNS = {
  registry_providers: ['namespace', 'name', 'warnings', 'versions_document'],
  providers: ['namespace', 'name', 'version', 'source_url', 'published_at', 'protocols', 'shasums_url', 'shasums_signature_url'],
  provider_platforms: ['namespace', 'name', 'version', 'os', 'arch', 'filename', 'download_url', 'shasum', 'h1', 'size'],
  registry_import_sources: ['kind', 'key', 'sha256', 'entries', 'merged', 'version_rows', 'platform_rows'],
  registry_modules: ['namespace', 'name', 'system'],
  modules: ['namespace', 'name', 'provider', 'version', 'source_url', 'published_at', 'tag', 'commit'],
  signing_keys: ['namespace', 'provider', 'file_name', 'key_id', 'ascii_armor'],
} as const;

export type RegistryTable = keyof typeof TABLE_COLUMNS;

/**
 * Where an import into tables that already hold rows stages what it read: TEMP tables
 * shaped like the registry's, with text columns where the table has varchar(n) (lengths are checked before a row is sent,
 * so a long value is reported with its file instead of failing the COPY).
 */
export const STAGING: Readonly<Record<RegistryTable | 'kept_key_namespaces', { readonly table: string; readonly columns: readonly (readonly [string, string])[] }>> = {
  registry_providers: { table: 'tofu_registry_import_registry_providers', columns: [['namespace', 'text'], ['name', 'text'], ['warnings', 'text[]'], ['versions_document', 'jsonb']] },
  providers: {
    table: 'tofu_registry_import_providers',
    columns: [['namespace', 'text'], ['name', 'text'], ['version', 'text'], ['source_url', 'text'], ['published_at', 'timestamp'], ['protocols', 'text[]'], ['shasums_url', 'text'], ['shasums_signature_url', 'text']],
  },
  provider_platforms: {
    table: 'tofu_registry_import_platforms',
    columns: [['namespace', 'text'], ['name', 'text'], ['version', 'text'], ['os', 'text'], ['arch', 'text'], ['filename', 'text'], ['download_url', 'text'], ['shasum', 'text'], ['h1', 'text'], ['size', 'bigint']],
  },
  registry_import_sources: {
    table: 'tofu_registry_import_sources',
    columns: [['kind', 'text'], ['key', 'text'], ['sha256', 'text'], ['entries', 'integer'], ['merged', 'integer'], ['version_rows', 'integer'], ['platform_rows', 'integer']],
  },
  registry_modules: { table: 'tofu_registry_import_registry_modules', columns: [['namespace', 'text'], ['name', 'text'], ['system', 'text']] },
  modules: {
    table: 'tofu_registry_import_modules',
    columns: [['namespace', 'text'], ['name', 'text'], ['provider', 'text'], ['version', 'text'], ['source_url', 'text'], ['published_at', 'timestamp'], ['tag', 'text'], ['commit', 'text']],
  },
  signing_keys: { table: 'tofu_registry_import_keys', columns: [['namespace', 'text'], ['provider', 'text'], ['file_name', 'text'], ['key_id', 'text'], ['ascii_armor', 'text']] },
  /** Key namespaces whose keys stay as they are, because a file of theirs was skipped. */
  kept_key_namespaces: { table: 'tofu_registry_import_kept_key_namespaces', columns: [['namespace', 'text']] },
};

export type StagingTable = keyof typeof STAGING;

/** A staging table, schema-qualified: pg_temp, so no table in public can be meant. */
export function stagingTable(table: StagingTable): string {
  return `pg_temp.${quoteIdent(STAGING[table].table)}`;
}

export function createStagingTableSql(table: StagingTable): string {
  const columns = STAGING[table].columns.map(([name, type]) => `${quoteIdent(name)} ${type}`);
  return `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(STAGING[table].table)} (${columns.join(', ')}) ON COMMIT DROP`;
}

export function copyIntoStagingSql(table: StagingTable): string {
  return `COPY ${stagingTable(table)} (${STAGING[table].columns.map(([name]) => quoteIdent(name)).join(', ')}) FROM STDIN`;
}

/** A fresh import's COPY straight into a registry table. */
export function copyIntoTableSql(table: RegistryTable): string {
  return `COPY public.${quoteIdent(table)} (${TABLE_COLUMNS[table].map(quoteIdent).join(', ')}) FROM STDIN`;
}

/** A fresh import's bookkeeping of a kind starts empty: left-overs cannot stand for rows that are not there. */
export function forgetSourcesSql(kind: 'provider' | 'module'): string {
  return `DELETE FROM public.registry_import_sources WHERE kind = ${quoteLiteral(kind)}`;
}

export function analyzeStagingSql(tables: readonly StagingTable[]): string {
  return `ANALYZE ${tables.map(stagingTable).join(', ')}`;
}

/** Empties a staging table for the next chunk (a temporary table: nothing else sees it). */
export function truncateStagingSql(tables: readonly StagingTable[]): string {
  return `TRUNCATE ${tables.map(stagingTable).join(', ')}`;
}

/**
 * Marks the transaction as import's own: the triggers that make import forget what it
 * recorded when another writer changes the registry's rows (migration 007) let it pass.
 */
export function markImportSql(): string {
  return `SET LOCAL tofu_registry.importing = 'on'`;
}

/**
 * Sets temp_buffers for the rest of the transaction, if the session still allows it: the
 * server refuses once a temporary table has been used in the session, as on a connection a
 * transaction-pooling proxy hands over from an earlier import. Then the import goes on with
 * the setting it has.
 */
export function stagingTempBuffersSql(size: string): string {
  return `DO $$BEGIN
    PERFORM set_config('temp_buffers', ${quoteLiteral(size)}, true);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END$$`;
}

/** The registry tables whose varchar columns limit what an import may write. */
const LIMITED_TABLES = ['providers', 'modules', 'provider_platforms', 'registry_providers', 'registry_modules', 'signing_keys'] as const;

/** Declared lengths of the character columns, so too-long values are reported before anything is sent. */
export function columnLimitsSql(): string {
  return `SELECT table_name, column_name, character_maximum_length
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN (${LIMITED_TABLES.map(quoteLiteral).join(', ')})
   AND character_maximum_length IS NOT NULL`;
}

/** What earlier imports recorded about each provider and module: the hash of its files and what they held. */
export function knownSourcesSql(): string {
  return `SELECT kind, key, sha256, entries, merged, version_rows, platform_rows FROM public.registry_import_sources`;
}

/**
 * import's advisory lock ("tofu" in ASCII, then 2; create-user's is 1): imports of one
 * database write one after the other, each seeing what the one before it committed.
 * Transaction-scoped, so it also holds through a transaction-pooling proxy.
 */
const IMPORT_LOCK = `${0x746f6675}, 2`;

export function importLockSql(): string {
  return `SELECT pg_advisory_xact_lock(${IMPORT_LOCK})`;
}

/** Whether a registry table has no rows at all: then a plain INSERT needs no conflict handling. */
export function tableIsEmptySql(table: string): string {
  return `SELECT NOT EXISTS (SELECT 1 FROM public.${quoteIdent(table)}) AS empty`;
}

/**
 * Held until commit: no other transaction can write the table meanwhile (readers are not
 * blocked), so a table seen empty under it stays empty until this import's rows are in.
 */
export function lockAgainstWritersSql(table: string): string {
  return `LOCK TABLE public.${quoteIdent(table)} IN SHARE ROW EXCLUSIVE MODE`;
}
