import { quoteIdent } from '../sql/quote.js';
import { stagingTable } from './import-sql.js';
import type { RegistryKind } from './registry-file.js';

/**
 * How staged rows reach the registry's tables, one table at a time, as pure builders (each
 * with an exact-string unit test). Into an empty table, a plain INSERT. Into a table with
 * rows: a DELETE of the rows the staged providers, modules or key folders no longer have,
 * then one upsert that writes only rows that are new or differ, so an unchanged row is never
 * rewritten (nor takes a sequence value), and the counts are exact.
 */

/** One registry table as an import writes it. */
export interface TableSync {
  readonly table: string;
  /** The table's PRIMARY KEY or UNIQUE constraint: what identifies a row. */
  readonly key: readonly string[];
  /** The other columns an import writes: compared, and updated where they differ. */
  readonly values: readonly string[];
  /** SELECT of the rows to write, its columns named as the key and the values. */
  readonly staged: string;
  /** Which rows of the table the staged ones stand for, as a condition on `t`; absent: rows are never deleted. */
  readonly scope?: string;
}

const P = stagingTable('provider');
const M = stagingTable('module');
const K = stagingTable('keys');

/** Each provider: its warnings. */
export const REGISTRY_PROVIDERS: TableSync = {
  table: 'registry_providers',
  key: ['namespace', 'name'],
  values: ['warnings'],
  staged: `SELECT s.namespace, s.name, s.warnings FROM ${P} s WHERE s.kind = 'e'`,
};

/** Each provider version; `published_at` as UTC wall-clock time (the column has no time zone). */
export const PROVIDERS: TableSync = {
  table: 'providers',
  key: ['namespace', 'name', 'version'],
  values: ['source_url', 'published_at', 'protocols', 'shasums_url', 'shasums_signature_url'],
  staged: `SELECT s.namespace, s.name, s.version, s.source_url, s.published_at AT TIME ZONE 'UTC' AS published_at, s.protocols, s.shasums_url, s.shasums_signature_url
      FROM ${P} s WHERE s.kind = 'v'`,
  scope: `(t.namespace, t.name) IN (SELECT e.namespace, e.name FROM ${P} e WHERE e.kind = 'e')`,
};

/** Each provider version's platforms, found by the version's natural key. */
export const PROVIDER_PLATFORMS: TableSync = {
  table: 'provider_platforms',
  key: ['provider_id', 'os', 'arch'],
  values: ['filename', 'download_url', 'shasum', 'h1', 'size'],
  staged: `SELECT p.id AS provider_id, s.os, s.arch, s.filename, s.download_url, s.shasum, s.h1, s.size
      FROM ${P} s JOIN public.providers p ON p.namespace = s.namespace AND p.name = s.name AND p.version = s.version
     WHERE s.kind = 'p'`,
  scope: `t.provider_id IN (SELECT p.id FROM public.providers p JOIN ${P} e ON e.kind = 'e' AND p.namespace = e.namespace AND p.name = e.name)`,
};

export const REGISTRY_MODULES: TableSync = {
  table: 'registry_modules',
  key: ['namespace', 'name', 'system'],
  values: [],
  staged: `SELECT s.namespace, s.name, s.system FROM ${M} s WHERE s.kind = 'e'`,
};

/** Each module version; its target system goes into the seed's `provider` column. */
export const MODULES: TableSync = {
  table: 'modules',
  key: ['namespace', 'name', 'provider', 'version'],
  values: ['source_url', 'published_at', 'tag', 'commit'],
  staged: `SELECT s.namespace, s.name, s.system AS provider, s.version, s.source_url, s.published_at AT TIME ZONE 'UTC' AS published_at, s.tag, s."commit"
      FROM ${M} s WHERE s.kind = 'v'`,
  scope: `(t.namespace, t.name, t.provider) IN (SELECT e.namespace, e.name, e.system FROM ${M} e WHERE e.kind = 'e')`,
};

/** The keys/ folder stands for all signing keys, but for namespaces a skipped file left as they were. */
export const SIGNING_KEYS: TableSync = {
  table: 'signing_keys',
  key: ['namespace', 'provider', 'file_name'],
  values: ['key_id', 'ascii_armor'],
  staged: `SELECT s.namespace, s.provider, s.file_name, s.key_id, s.ascii_armor FROM ${K} s WHERE s.kind = 'k'`,
  scope: `t.namespace NOT IN (SELECT s.namespace FROM ${K} s WHERE s.kind = 's')`,
};

/** The import bookkeeping of each staged provider or module; one read again next time (no hash) loses its row. */
export function importSourcesSync(kind: RegistryKind): TableSync {
  const staging = kind === 'provider' ? P : M;
  const key = kind === 'provider' ? `e.namespace || '/' || e.name` : `e.namespace || '/' || e.name || '/' || e.system`;
  const platformRows = kind === 'provider' ? 'e.platform_rows' : '0';
  return {
    table: 'registry_import_sources',
    key: ['kind', 'key'],
    values: ['sha256', 'entries', 'merged', 'version_rows', 'platform_rows'],
    staged: `SELECT '${kind}' AS kind, ${key} AS key, e.sha256, e.entries, e.merged, e.version_rows, ${platformRows} AS platform_rows
      FROM ${staging} e WHERE e.kind = 'e' AND e.sha256 IS NOT NULL`,
    scope: `(t.kind, t.key) IN (SELECT '${kind}', ${key} FROM ${staging} e WHERE e.kind = 'e')`,
  };
}

function list(columns: readonly string[], prefix = ''): string {
  return columns.map((column) => `${prefix}${quoteIdent(column)}`).join(', ');
}

function matching(columns: readonly string[], left: string, right: string): string {
  return columns.map((column) => `${left}.${quoteIdent(column)} = ${right}.${quoteIdent(column)}`).join(' AND ');
}

/** Into a table known to be empty (and locked against other writers): every staged row is new. Its row count is the rows inserted. */
export function insertIntoEmptySql(sync: TableSync): string {
  const columns = [...sync.key, ...sync.values];
  return `INSERT INTO public.${quoteIdent(sync.table)} (${list(columns)})
SELECT ${list(columns, 's.')} FROM (${sync.staged}) s`;
}

/** Rows in the staged rows' scope that were not staged: gone upstream. Its row count is the rows deleted. */
export function deleteStaleSql(sync: TableSync): string {
  if (sync.scope === undefined) throw new Error(`${sync.table}: rows are never deleted`);
  return `DELETE FROM public.${quoteIdent(sync.table)} t
 WHERE ${sync.scope}
   AND NOT EXISTS (SELECT 1 FROM (${sync.staged}) s WHERE ${matching(sync.key, 's', 't')})`;
}

/**
 * One statement, so the counts are exact: `changed` keeps only rows that are new or differ,
 * so an unchanged row never reaches the INSERT (which would take a sequence value per row on
 * every re-import); a conflicting row is updated only WHERE it really differs; `xmax = 0`
 * marks a freshly inserted row.
 */
export function upsertSql(sync: TableSync): string {
  const target = `public.${quoteIdent(sync.table)}`;
  const columns = [...sync.key, ...sync.values];
  const same = sync.values.map((column) => ` AND t.${quoteIdent(column)} IS NOT DISTINCT FROM s.${quoteIdent(column)}`).join('');
  const onConflict =
    sync.values.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE
       SET ${sync.values.map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`).join(', ')}
     WHERE (${list(sync.values, 't.')}) IS DISTINCT FROM (${list(sync.values, 'EXCLUDED.')})`;
  return `WITH staged AS (
    ${sync.staged}
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${matching(sync.key, 't', 's')}${same})
), upserted AS (
    INSERT INTO ${target} AS t (${list(columns)})
    SELECT ${list(columns)} FROM changed
    ON CONFLICT (${list(sync.key)}) ${onConflict}
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`;
}
