import { providerVersionsDocument, type MappedEntity, type ModuleVersionRow, type ProviderVersionRow } from './row-mapper.js';

/**
 * The COPY text lines of one provider, module or key, one string per table, in the order of
 * the columns import-sql.ts names: the same lines go straight into the registry's tables on
 * a fresh import and into the staging tables otherwise.
 */

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const N = '\\N';

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as \N. */
export function copyTextField(value: string | null | undefined): string {
  if (value === null || value === undefined) return N;
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A text[] literal (every element double-quoted, `"` and `\` escaped), as a COPY field. */
export function copyArrayField(items: readonly string[] | undefined): string {
  if (items === undefined) return N;
  return copyTextField(`{${items.map((item) => `"${item.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

/**
 * An RFC 3339 timestamp (validated before) as UTC wall-clock time, what the registry's
 * `timestamp` columns hold: PostgreSQL ignores a zone in the input of a timestamp without
 * time zone, so an offset is applied here. The fraction is kept as written; the server
 * rounds it to microseconds as it would for any input.
 */
export function utcTimestamp(rfc3339: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(rfc3339)!;
  const fraction = match[7] ?? '';
  const wall = `${match[1]}-${match[2]}-${match[3]} ${match[4]}:${match[5]}:${match[6]}`;
  if (match[9] === undefined) return `${wall}${fraction}`;
  const sign = match[9] === '+' ? -1 : 1;
  const utc = new Date(0);
  utc.setUTCFullYear(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  utc.setUTCHours(Number(match[4]), Number(match[5]) + sign * (Number(match[10]) * 60 + Number(match[11])), Number(match[6]));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  // 0001-01-01 with a positive offset falls in 1 BC, which JavaScript counts as year 0.
  const year = utc.getUTCFullYear();
  const era = year < 1 ? ' BC' : '';
  return `${pad(year < 1 ? 1 - year : year, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}${fraction}${era}`;
}

/** What import records about a provider or module it wrote: null where it must read the files again next time. */
export interface Bookkeeping {
  readonly sha256: string | null;
}

/** A provider's lines for each of its tables. */
export interface ProviderLines {
  /** registry_providers: namespace, name, warnings, versions_document. */
  readonly registry: string;
  /** registry_import_sources ('' where import must read the files again). */
  readonly source: string;
  /** providers: namespace, name, version, source_url, published_at, protocols, shasums_url, shasums_signature_url. */
  readonly versions: string;
  /** provider_platforms: namespace, name, version, os, arch, filename, download_url, shasum, h1, size. */
  readonly platforms: string;
}

function sourceLine(kind: 'provider' | 'module', key: string, bookkeeping: Bookkeeping, counts: readonly number[]): string {
  return bookkeeping.sha256 === null ? '' : `${kind}\t${copyTextField(key)}\t${bookkeeping.sha256}\t${counts.join('\t')}\n`;
}

/** Runs once per platform row (most of a registry's rows): plain concatenation. */
export function providerLines(entity: MappedEntity<ProviderVersionRow>, bookkeeping: Bookkeeping): ProviderLines {
  const ns = copyTextField(entity.namespace);
  const name = copyTextField(entity.name);
  let versions = '';
  let platforms = '';
  let platformRows = 0;
  for (const row of entity.rows) {
    const key = `${ns}\t${name}\t${copyTextField(row.version)}`;
    const published = row.publishedAt === null ? N : utcTimestamp(row.publishedAt);
    versions += `${key}\t${copyTextField(row.sourceUrl)}\t${published}\t${copyArrayField(row.protocols)}\t${copyTextField(row.shasumsUrl)}\t${copyTextField(row.shasumsSignatureUrl)}\n`;
    for (const t of row.targets) {
      platforms += `${key}\t${copyTextField(t.os)}\t${copyTextField(t.arch)}\t${copyTextField(t.filename)}\t${copyTextField(t.download_url)}\t${t.shasum}\t${copyTextField(t.h1)}\t${t.size ?? N}\n`;
    }
    platformRows += row.targets.length;
  }
  return {
    registry: `${ns}\t${name}\t${copyArrayField(entity.warnings)}\t${copyTextField(providerVersionsDocument(entity))}\n`,
    source: sourceLine('provider', `${entity.namespace}/${entity.name}`, bookkeeping, [entity.entries, entity.merged, entity.rows.length, platformRows]),
    versions,
    platforms,
  };
}

/** A module's lines for each of its tables. */
export interface ModuleLines {
  /** registry_modules: namespace, name, system. */
  readonly registry: string;
  readonly source: string;
  /** modules: namespace, name, provider, version, source_url, published_at, tag, commit. */
  readonly versions: string;
}

export function moduleLines(entity: MappedEntity<ModuleVersionRow>, bookkeeping: Bookkeeping): ModuleLines {
  const key = `${copyTextField(entity.namespace)}\t${copyTextField(entity.name)}\t${copyTextField(entity.system)}`;
  let versions = '';
  for (const row of entity.rows) {
    const published = row.publishedAt === null ? N : utcTimestamp(row.publishedAt);
    versions += `${key}\t${copyTextField(row.version)}\t${copyTextField(row.sourceUrl)}\t${published}\t${copyTextField(row.tag)}\t${copyTextField(row.commit)}\n`;
  }
  return {
    registry: `${key}\n`,
    source: sourceLine('module', `${entity.namespace}/${entity.name}/${entity.system}`, bookkeeping, [entity.entries, entity.merged, entity.rows.length, 0]),
    versions,
  };
}

/** A signing key as stored. */
export interface KeyRow {
  readonly namespace: string;
  /** '' for a key of the whole namespace. */
  readonly provider: string;
  readonly fileName: string;
  readonly keyId: string;
  readonly asciiArmor: string;
}

/** signing_keys: namespace, provider, file_name, key_id, ascii_armor. */
export function keyLine(key: KeyRow): string {
  return `${copyTextField(key.namespace)}\t${copyTextField(key.provider)}\t${copyTextField(key.fileName)}\t${key.keyId}\t${copyTextField(key.asciiArmor)}\n`;
}
