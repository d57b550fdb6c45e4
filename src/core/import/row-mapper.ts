import type { RegistryFileContent } from './registry-file.js';
import type { RegistryFileRef } from './registry-tree.js';

/**
 * From a parsed file to the rows it contributes: names lower-cased (the registry treats
 * them case-insensitively), the leading `v` of a version removed, one row per version
 * however many spellings the file has, and the source repository the registry derives.
 */

/** A row for the staging table, in the staging table's column order. */
export interface StagedRow {
  readonly namespace: string;
  readonly name: string;
  /** Modules only: the target system. */
  readonly provider?: string;
  readonly version: string;
  readonly sourceUrl: string;
  /** The file's `discovered` timestamp as written (RFC 3339), or null. */
  readonly publishedAt: string | null;
  /**
   * 0 when the file's path is spelled in lower case, 1 otherwise: where a mixed-case and a
   * lower-case file (`QuiNovas/…` beside `quinovas/…`) carry the same version, the lower-case
   * file wins.
   */
  readonly preference: 0 | 1;
}

/** Maximum lengths (characters) of the target columns; undefined means unlimited. */
export interface ColumnLimits {
  readonly namespace?: number;
  readonly name?: number;
  readonly provider?: number;
  readonly version?: number;
}

/** As the registry protocol lists versions: `v1.2.0` and `1.2.0` are the same version. */
export function normalizeVersion(version: string): string {
  return version.startsWith('v') ? version.slice(1) : version;
}

/**
 * The repository the opentofu/registry tooling derives from the names: providers live in
 * `<namespace>/terraform-provider-<name>`, except that `hashicorp` providers are served from
 * the `opentofu` mirrors; modules live in `<namespace>/terraform-<target>-<name>`.
 */
export function derivedSourceUrl(file: Pick<RegistryFileRef, 'kind' | 'namespace' | 'name' | 'target'>): string {
  if (file.kind === 'provider') {
    const owner = file.namespace.toLowerCase() === 'hashicorp' ? 'opentofu' : file.namespace;
    return `https://github.com/${owner}/terraform-provider-${file.name}`;
  }
  return `https://github.com/${file.namespace}/terraform-${file.target}-${file.name}`;
}

/** A provider file's own `repository`: a URL as given, or `owner/repo` as its GitHub URL. */
export function repositoryUrl(repository: string): string {
  if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) return `https://github.com/${repository}`;
  return repository;
}

function isLowerCaseSpelling(file: Pick<RegistryFileRef, 'namespace' | 'name' | 'target'>): boolean {
  return [file.namespace, file.name, file.target ?? ''].every((part) => part === part.toLowerCase());
}

export interface MappedFile {
  readonly rows: readonly StagedRow[];
  /** Version entries in the file, before spellings of one version were merged. */
  readonly versionCount: number;
}

/** One row per distinct version; where a file spells a version twice, its first entry wins. */
export function mapFileToRows(file: RegistryFileRef, content: RegistryFileContent): MappedFile {
  const namespace = file.namespace.toLowerCase();
  const name = file.name.toLowerCase();
  const provider = file.kind === 'module' ? file.target!.toLowerCase() : undefined;
  const sourceUrl = content.repository !== undefined ? repositoryUrl(content.repository) : derivedSourceUrl(file);
  const preference = isLowerCaseSpelling(file) ? 0 : 1;
  const seen = new Set<string>();
  const rows: StagedRow[] = [];
  for (const entry of content.versions) {
    const version = normalizeVersion(entry.version);
    if (seen.has(version)) continue;
    seen.add(version);
    rows.push({ namespace, name, provider, version, sourceUrl, publishedAt: entry.discovered ?? null, preference });
  }
  return { rows, versionCount: content.versions.length };
}

/** Characters as PostgreSQL counts them for varchar(n): code points, not UTF-16 units. */
export function characterLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** Names the first value too long for its column, e.g. a 60-character version in varchar(50). */
export function widthProblem(row: StagedRow, limits: ColumnLimits): string | undefined {
  const checks: readonly [keyof ColumnLimits, string | undefined, string][] = [
    ['namespace', row.namespace, 'namespace'],
    ['name', row.name, 'name'],
    ['provider', row.provider, 'target system'],
    ['version', row.version, 'version'],
  ];
  for (const [column, value, label] of checks) {
    const limit = limits[column];
    // UTF-16 length >= code points: only a value longer in units can be too long in characters.
    if (value === undefined || limit === undefined || value.length <= limit) continue;
    const length = characterLength(value);
    if (length <= limit) continue;
    const shown = length > 80 ? `${[...value].slice(0, 77).join('')}...` : value;
    return `${label} ${JSON.stringify(shown)} is ${length} characters long; the ${column} column holds at most ${limit} (not imported, never cut)`;
  }
  return undefined;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as \N. */
export function copyTextField(value: string | null): string {
  if (value === null) return '\\N';
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** One staging-table line: the row's columns, then its file's preference and position in the walk (`seq`). */
export function copyLine(row: StagedRow, seq: number): string {
  // Plain concatenation: this runs once per row, several hundred thousand times.
  const provider = row.provider === undefined ? '' : `${copyTextField(row.provider)}\t`;
  return `${copyTextField(row.namespace)}\t${copyTextField(row.name)}\t${provider}${copyTextField(row.version)}\t${copyTextField(row.sourceUrl)}\t${copyTextField(row.publishedAt)}\t${row.preference}\t${seq}\n`;
}
