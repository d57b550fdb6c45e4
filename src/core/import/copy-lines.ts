import type { MappedEntity, ModuleVersionRow, ProviderVersionRow } from './row-mapper.js';

/**
 * The COPY text lines of the staging tables (import-sql.ts names their columns, in this
 * order). One staging table per kind holds every kind of row it has, told apart by its first
 * column, because a connection streams one COPY at a time:
 * - providers: `e` the provider (its warnings and import bookkeeping), `v` a version, `p` a platform;
 * - modules: `e` the module (bookkeeping), `v` a version;
 * - keys: `k` a key, `s` a namespace whose keys stay as they are (a file of it was skipped).
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

/** What import records about a provider or module it wrote: null where it must read the files again next time. */
export interface Bookkeeping {
  readonly sha256: string | null;
}

/** The provider's lines: itself, each version, each platform. Runs once per platform row: plain concatenation. */
export function providerLines(entity: MappedEntity<ProviderVersionRow>, bookkeeping: Bookkeeping): string {
  const ns = copyTextField(entity.namespace);
  const name = copyTextField(entity.name);
  const platforms = entity.rows.reduce((sum, row) => sum + row.targets.length, 0);
  let lines = `e\t${ns}\t${name}\t${N}\t${copyArrayField(entity.warnings)}\t${copyTextField(bookkeeping.sha256)}\t${entity.entries}\t${entity.merged}\t${entity.rows.length}\t${platforms}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\n`;
  for (const row of entity.rows) {
    const key = `${ns}\t${name}\t${copyTextField(row.version)}`;
    lines += `v\t${key}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${copyTextField(row.sourceUrl)}\t${copyTextField(row.publishedAt)}\t${copyArrayField(row.protocols)}\t${copyTextField(row.shasumsUrl)}\t${copyTextField(row.shasumsSignatureUrl)}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\n`;
    const blank = `p\t${key}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}\t${N}`;
    for (const t of row.targets) {
      lines += `${blank}\t${copyTextField(t.os)}\t${copyTextField(t.arch)}\t${copyTextField(t.filename)}\t${copyTextField(t.downloadUrl)}\t${t.shasum}\t${copyTextField(t.h1)}\t${t.size ?? N}\n`;
    }
  }
  return lines;
}

export function moduleLines(entity: MappedEntity<ModuleVersionRow>, bookkeeping: Bookkeeping): string {
  const key = `${copyTextField(entity.namespace)}\t${copyTextField(entity.name)}\t${copyTextField(entity.system)}`;
  let lines = `e\t${key}\t${N}\t${copyTextField(bookkeeping.sha256)}\t${entity.entries}\t${entity.merged}\t${entity.rows.length}\t${N}\t${N}\t${N}\t${N}\n`;
  for (const row of entity.rows) {
    lines += `v\t${key}\t${copyTextField(row.version)}\t${N}\t${N}\t${N}\t${N}\t${copyTextField(row.sourceUrl)}\t${copyTextField(row.publishedAt)}\t${copyTextField(row.tag)}\t${copyTextField(row.commit)}\n`;
  }
  return lines;
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

export function keyLine(key: KeyRow): string {
  return `k\t${copyTextField(key.namespace)}\t${copyTextField(key.provider)}\t${copyTextField(key.fileName)}\t${key.keyId}\t${copyTextField(key.asciiArmor)}\n`;
}

/** A namespace whose keys import leaves as they are, because one of its files was skipped. */
export function keptNamespaceLine(namespace: string): string {
  return `s\t${copyTextField(namespace)}\t${N}\t${N}\t${N}\t${N}\n`;
}
