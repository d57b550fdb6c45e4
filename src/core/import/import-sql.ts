import type { RegistryKind } from './registry-file.js';
import { quoteIdent, quoteLiteral } from '../sql/quote.js';

/**
 * The SQL of an import, as small pure builders (each with an exact-string unit test).
 * Rows go first into a TEMP staging table (the application role may create temporary
 * tables but nothing in `public`), dropped at commit; one set-based upsert per table
 * then moves them into `providers` / `modules`.
 */

interface TableShape {
  /** The registry table. */
  readonly table: string;
  /** The temporary staging table. */
  readonly staging: string;
  /** The natural key: the table's UNIQUE constraint, in its order. */
  readonly key: readonly string[];
}

export const TABLES: Readonly<Record<RegistryKind, TableShape>> = {
  provider: { table: 'providers', staging: 'tofu_registry_import_providers', key: ['namespace', 'name', 'version'] },
  module: { table: 'modules', staging: 'tofu_registry_import_modules', key: ['namespace', 'name', 'provider', 'version'] },
};

/** The columns an import writes; description and downloads are never touched. */
const VALUE_COLUMNS = ['source_url', 'published_at'] as const;

function list(columns: readonly string[], prefix = ''): string {
  return columns.map((column) => `${prefix}${quoteIdent(column)}`).join(', ');
}

/** Staging columns in COPY order: the key, the values, then the file's preference and its position in the walk. */
export function stagingColumns(kind: RegistryKind): readonly string[] {
  return [...TABLES[kind].key, ...VALUE_COLUMNS, 'preference', 'seq'];
}

export function createStagingTableSql(kind: RegistryKind): string {
  const { key, staging } = TABLES[kind];
  // text, not varchar(n): lengths are checked before a row is sent, so a long value is
  // reported with its file instead of failing the COPY.
  const columns = [
    ...key.map((column) => `${quoteIdent(column)} text NOT NULL`),
    `${quoteIdent('source_url')} text`,
    `${quoteIdent('published_at')} timestamptz`,
    `${quoteIdent('preference')} smallint NOT NULL`,
    `${quoteIdent('seq')} bigint NOT NULL`,
  ];
  return `CREATE TEMP TABLE ${quoteIdent(staging)} (\n    ${columns.join(',\n    ')}\n) ON COMMIT DROP`;
}

export function copyIntoStagingSql(kind: RegistryKind): string {
  return `COPY pg_temp.${quoteIdent(TABLES[kind].staging)} (${list(stagingColumns(kind))}) FROM STDIN`;
}

export function analyzeStagingSql(kind: RegistryKind): string {
  return `ANALYZE pg_temp.${quoteIdent(TABLES[kind].staging)}`;
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

/** Whether the registry table has no rows at all: then the first import needs no conflict handling. */
export function tableIsEmptySql(kind: RegistryKind): string {
  return `SELECT NOT EXISTS (SELECT 1 FROM public.${quoteIdent(TABLES[kind].table)}) AS empty`;
}

/**
 * Held until commit: no other transaction can write the table meanwhile (readers are not
 * blocked), so a table seen empty under it stays empty until this import's rows are in.
 */
export function lockAgainstWritersSql(kind: RegistryKind): string {
  return `LOCK TABLE public.${quoteIdent(TABLES[kind].table)} IN SHARE ROW EXCLUSIVE MODE`;
}

/** The staged rows chosen as by upsertSql's `staged`: one per key, lower-case file first, then the file walked first. */
function stagedRowsSelect(kind: RegistryKind): string {
  const { staging, key } = TABLES[kind];
  const keyList = list(key);
  return `SELECT DISTINCT ON (${keyList}) ${list(key)}, ${quoteIdent('source_url')}, ${quoteIdent('published_at')} AT TIME ZONE 'UTC' AS ${quoteIdent('published_at')}
      FROM pg_temp.${quoteIdent(staging)}
     ORDER BY ${keyList}, ${quoteIdent('preference')}, ${quoteIdent('seq')}`;
}

/**
 * Into a table known to be empty (and locked against other writers): a plain INSERT, every
 * staged row new, without upsertSql's per-row conflict checks. Its row count is the rows inserted.
 */
export function insertIntoEmptySql(kind: RegistryKind): string {
  const { table, key } = TABLES[kind];
  return `INSERT INTO public.${quoteIdent(table)} (${list([...key, ...VALUE_COLUMNS])})
    ${stagedRowsSelect(kind)}`;
}

/** Declared lengths of the key columns, so too-long values are reported before anything is sent. */
export function columnLimitsSql(): string {
  const tables = Object.values(TABLES).map((shape) => quoteLiteral(shape.table));
  return `SELECT table_name, column_name, character_maximum_length
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN (${tables.join(', ')})
   AND column_name IN ('namespace', 'name', 'provider', 'version')`;
}

/**
 * One statement per table, so the counts are exact even when another import runs at the
 * same time:
 * - `staged`: one row per key; where a lower-case and a mixed-case file carry the same
 *   version the lower-case file wins (preference 0), else the file walked first (`seq`);
 * - `changed`: only rows that are new or differ, so an unchanged row never reaches the
 *   INSERT (which would take a sequence value per row on every re-import);
 * - the upsert updates a conflicting row only WHERE it really differs; `xmax = 0` marks a
 *   freshly inserted row.
 * `published_at` is stored as UTC wall-clock time (the column has no time zone).
 */
export function upsertSql(kind: RegistryKind): string {
  const { table, key } = TABLES[kind];
  const target = `public.${quoteIdent(table)}`;
  const keyList = list(key);
  const columns = [...key, ...VALUE_COLUMNS];
  const keyMatch = key.map((column) => `t.${quoteIdent(column)} = s.${quoteIdent(column)}`).join(' AND ');
  const sameValues = VALUE_COLUMNS.map((column) => `t.${quoteIdent(column)} IS NOT DISTINCT FROM s.${quoteIdent(column)}`).join(' AND ');
  return `WITH staged AS (
    ${stagedRowsSelect(kind)}
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${keyMatch} AND ${sameValues})
), upserted AS (
    INSERT INTO ${target} AS t (${list(columns)})
    SELECT ${list(columns)} FROM changed
    ON CONFLICT (${keyList}) DO UPDATE
       SET ${VALUE_COLUMNS.map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`).join(', ')}
     WHERE (${list(VALUE_COLUMNS, 't.')}) IS DISTINCT FROM (${list(VALUE_COLUMNS, 'EXCLUDED.')})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`;
}
