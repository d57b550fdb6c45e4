import type { TreeKind } from './registry-tree.js';
import { quoteIdent, quoteLiteral } from '../sql/quote.js';

/**
 * The staging side of an import, as small pure builders (each with an exact-string unit
 * test). Rows go first into TEMP staging tables (the application role may create
 * temporary tables but nothing in `public`), dropped at commit; sync-sql.ts then moves them
 * into the registry's tables. copy-lines.ts writes the lines in these columns' order.
 */

/** The temporary staging table of each kind, and its columns in COPY order. */
export const STAGING: Readonly<Record<TreeKind, { readonly table: string; readonly columns: readonly (readonly [string, string])[] }>> = {
  provider: {
    table: 'tofu_registry_import_providers',
    columns: [
      ['kind', 'text NOT NULL'],
      ['namespace', 'text NOT NULL'],
      ['name', 'text NOT NULL'],
      ['version', 'text'],
      ['warnings', 'text[]'],
      ['sha256', 'text'],
      ['entries', 'integer'],
      ['merged', 'integer'],
      ['version_rows', 'integer'],
      ['platform_rows', 'integer'],
      ['source_url', 'text'],
      ['published_at', 'timestamptz'],
      ['protocols', 'text[]'],
      ['shasums_url', 'text'],
      ['shasums_signature_url', 'text'],
      ['os', 'text'],
      ['arch', 'text'],
      ['filename', 'text'],
      ['download_url', 'text'],
      ['shasum', 'text'],
      ['h1', 'text'],
      ['size', 'bigint'],
    ],
  },
  module: {
    table: 'tofu_registry_import_modules',
    columns: [
      ['kind', 'text NOT NULL'],
      ['namespace', 'text NOT NULL'],
      ['name', 'text NOT NULL'],
      ['system', 'text NOT NULL'],
      ['version', 'text'],
      ['sha256', 'text'],
      ['entries', 'integer'],
      ['merged', 'integer'],
      ['version_rows', 'integer'],
      ['source_url', 'text'],
      ['published_at', 'timestamptz'],
      ['tag', 'text'],
      ['commit', 'text'],
    ],
  },
  keys: {
    table: 'tofu_registry_import_keys',
    columns: [
      ['kind', 'text NOT NULL'],
      ['namespace', 'text NOT NULL'],
      ['provider', 'text'],
      ['file_name', 'text'],
      ['key_id', 'text'],
      ['ascii_armor', 'text'],
    ],
  },
};

/** The staging table of a kind, schema-qualified: pg_temp, so no table in public can be meant. */
export function stagingTable(kind: TreeKind): string {
  return `pg_temp.${quoteIdent(STAGING[kind].table)}`;
}

export function createStagingTableSql(kind: TreeKind): string {
  // text, not varchar(n): lengths are checked before a row is sent, so a long value is
  // reported with its file instead of failing the COPY.
  const columns = STAGING[kind].columns.map(([name, type]) => `${quoteIdent(name)} ${type}`);
  return `CREATE TEMP TABLE ${quoteIdent(STAGING[kind].table)} (\n    ${columns.join(',\n    ')}\n) ON COMMIT DROP`;
}

export function copyIntoStagingSql(kind: TreeKind): string {
  return `COPY ${stagingTable(kind)} (${STAGING[kind].columns.map(([name]) => quoteIdent(name)).join(', ')}) FROM STDIN`;
}

export function analyzeStagingSql(kind: TreeKind): string {
  return `ANALYZE ${stagingTable(kind)}`;
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
export const LIMITED_TABLES = ['providers', 'modules', 'provider_platforms', 'registry_providers', 'registry_modules', 'signing_keys'] as const;

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
export const IMPORT_LOCK = `${0x746f6675}, 2`;

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
