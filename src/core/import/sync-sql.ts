import { quoteIdent } from '../sql/quote.js';
import { stagingTable } from './import-sql.js';

/**
 * How staged rows reach registry tables that already hold rows, one table at a time, as
 * pure builders (each with an exact-string unit test): a DELETE of the rows the staged
 * providers, modules or key folders no longer have, then one upsert that writes only rows
 * that are new or differ, so an unchanged row is never rewritten (nor takes a sequence
 * value), and the counts are exact. (Into empty tables, import copies straight in.)
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

/** Each provider: its warnings, and its versions listing as the registry serves it. */
export const REGISTRY_PROVIDERS: TableSync = {
  table: 'registry_providers',
  key: ['namespace', 'name'],
  values: ['warnings', 'versions_document'],
  staged: `SELECT s.namespace, s.name, s.warnings, s.versions_document FROM ${stagingTable('registry_providers')} s`,
};

/** Each provider version of the staged providers; versions of theirs not staged are gone upstream. */
export const PROVIDERS: TableSync = {
  table: 'providers',
  key: ['namespace', 'name', 'version'],
  values: ['source_url', 'published_at', 'protocols', 'shasums_url', 'shasums_signature_url'],
  staged: `SELECT s.namespace, s.name, s.version, s.source_url, s.published_at, s.protocols, s.shasums_url, s.shasums_signature_url FROM ${stagingTable('providers')} s`,
  scope: `(t.namespace, t.name) IN (SELECT e.namespace, e.name FROM ${stagingTable('registry_providers')} e)`,
};

/** Each provider version's platforms, of the staged providers. */
export const PROVIDER_PLATFORMS: TableSync = {
  table: 'provider_platforms',
  key: ['namespace', 'name', 'version', 'os', 'arch'],
  values: ['filename', 'download_url', 'shasum', 'h1', 'size'],
  staged: `SELECT s.namespace, s.name, s.version, s.os, s.arch, s.filename, s.download_url, s.shasum, s.h1, s.size FROM ${stagingTable('provider_platforms')} s`,
  scope: `(t.namespace, t.name) IN (SELECT e.namespace, e.name FROM ${stagingTable('registry_providers')} e)`,
};

export const REGISTRY_MODULES: TableSync = {
  table: 'registry_modules',
  key: ['namespace', 'name', 'system'],
  values: [],
  staged: `SELECT s.namespace, s.name, s.system FROM ${stagingTable('registry_modules')} s`,
};

/** Each module version of the staged modules; its target system is the seed's `provider` column. */
export const MODULES: TableSync = {
  table: 'modules',
  key: ['namespace', 'name', 'provider', 'version'],
  values: ['source_url', 'published_at', 'tag', 'commit'],
  staged: `SELECT s.namespace, s.name, s.provider, s.version, s.source_url, s.published_at, s.tag, s."commit" FROM ${stagingTable('modules')} s`,
  scope: `(t.namespace, t.name, t.provider) IN (SELECT e.namespace, e.name, e.system FROM ${stagingTable('registry_modules')} e)`,
};

/** The keys/ folder stands for all signing keys, but for namespaces a skipped file left as they were. */
export const SIGNING_KEYS: TableSync = {
  table: 'signing_keys',
  key: ['namespace', 'provider', 'file_name'],
  values: ['key_id', 'ascii_armor'],
  staged: `SELECT s.namespace, s.provider, s.file_name, s.key_id, s.ascii_armor FROM ${stagingTable('signing_keys')} s`,
  scope: `t.namespace NOT IN (SELECT k.namespace FROM ${stagingTable('kept_key_namespaces')} k)`,
};

/**
 * import's record of each staged provider or module. Those staged without one (a version
 * left out: read again next time) lose theirs: they are in scope, but not staged.
 */
export function importSourcesSync(kind: 'provider' | 'module'): TableSync {
  const entities = kind === 'provider' ? `SELECT e.namespace || '/' || e.name FROM ${stagingTable('registry_providers')} e` : `SELECT e.namespace || '/' || e.name || '/' || e.system FROM ${stagingTable('registry_modules')} e`;
  return {
    table: 'registry_import_sources',
    key: ['kind', 'key'],
    values: ['sha256', 'entries', 'merged', 'version_rows', 'platform_rows'],
    staged: `SELECT s.kind, s.key, s.sha256, s.entries, s.merged, s.version_rows, s.platform_rows FROM ${stagingTable('registry_import_sources')} s`,
    scope: `t.kind = '${kind}' AND t.key IN (${entities})`,
  };
}

function list(columns: readonly string[], prefix = ''): string {
  return columns.map((column) => `${prefix}${quoteIdent(column)}`).join(', ');
}

function matching(columns: readonly string[], left: string, right: string): string {
  return columns.map((column) => `${left}.${quoteIdent(column)} = ${right}.${quoteIdent(column)}`).join(' AND ');
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
