import type { ProviderTarget, RegistryFileContent, RegistryVersion } from './registry-file.js';
import type { RegistryFileRef } from './registry-tree.js';

/**
 * From the parsed files of one provider or module (every spelling of it, lower-case first)
 * to its rows: names lower-cased (the registry treats them case-insensitively), the leading
 * `v` of a version removed, one row per version however many spellings the files have, and
 * the source repository the registry derives. Where one file spells a version twice
 * (`v1.0.0` and `1.0.0`), the entry the registry serves wins: its generator maps both to
 * one download path and the later entry overwrites the earlier. Where two files spell one
 * provider or module (`QuiNovas/…` beside `quinovas/…`), the lower-case file wins.
 */

/** A provider version as stored: the `providers` row and its platforms. */
export interface ProviderVersionRow {
  readonly version: string;
  readonly sourceUrl: string;
  /** The entry's `discovered` timestamp as written (RFC 3339), or null. */
  readonly publishedAt: string | null;
  readonly protocols?: readonly string[];
  readonly shasumsUrl?: string;
  readonly shasumsSignatureUrl?: string;
  readonly targets: readonly ProviderTarget[];
}

/** A module version as stored: the `modules` row. */
export interface ModuleVersionRow {
  readonly version: string;
  /** The Git tag exactly as written, what `?ref=` needs. */
  readonly tag: string;
  readonly commit?: string;
  readonly sourceUrl: string;
  readonly publishedAt: string | null;
}

export interface MappedEntity<Row> {
  readonly namespace: string;
  readonly name: string;
  /** Modules only: the target system. */
  readonly system?: string;
  /** Providers only: the deprecation notices of the preferred file. */
  readonly warnings?: readonly string[];
  readonly rows: readonly Row[];
  /** Version entries in the files. */
  readonly entries: number;
  /** Entries that were another spelling of a version already counted (entries = rows + merged + left out). */
  readonly merged: number;
  /** Versions left out, each with its file and why (a value longer than its column). */
  readonly problems: readonly { readonly file: string; readonly problem: string }[];
}

/** Maximum lengths (characters) of the columns names and versions go into; undefined means unlimited. */
export interface ColumnLimits {
  readonly namespace?: number;
  readonly name?: number;
  readonly system?: number;
  readonly version?: number;
  readonly tag?: number;
  readonly os?: number;
  readonly arch?: number;
  readonly fileName?: number;
}

/** A parsed file of the entity, in the order of preference. */
export interface ParsedFile {
  readonly ref: RegistryFileRef;
  readonly content: RegistryFileContent;
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

/** Characters as PostgreSQL counts them for varchar(n): code points, not UTF-16 units. */
export function characterLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** Names a value too long for its column, e.g. a 300-character version in varchar(255). */
export function widthProblem(label: string, column: string, value: string | undefined, limit: number | undefined): string | undefined {
  // UTF-16 length >= code points: only a value longer in units can be too long in characters.
  if (value === undefined || limit === undefined || value.length <= limit) return undefined;
  const length = characterLength(value);
  if (length <= limit) return undefined;
  const shown = length > 80 ? `${[...value].slice(0, 77).join('')}...` : value;
  return `${label} ${JSON.stringify(shown)} is ${length} characters long; the ${column} column holds at most ${limit} (not imported, never cut)`;
}

/**
 * The entries each version's row comes from: within a file the last spelling of a version,
 * across files the first file (in preference order) that has it.
 */
function servedEntries(files: readonly ParsedFile[]): { chosen: { file: ParsedFile; entry: RegistryVersion }[]; entries: number } {
  const chosen = new Map<string, { file: ParsedFile; entry: RegistryVersion }>();
  let entries = 0;
  for (const file of files) {
    entries += file.content.versions.length;
    const own = new Map<string, RegistryVersion>();
    for (const entry of file.content.versions) own.set(normalizeVersion(entry.version), entry);
    for (const [version, entry] of own) if (!chosen.has(version)) chosen.set(version, { file, entry });
  }
  return { chosen: [...chosen.values()], entries };
}

/** The problem with the entity's own names, which would leave out all of it. */
export function entityWidthProblem(namespace: string, name: string, system: string | undefined, limits: ColumnLimits): string | undefined {
  return (
    widthProblem('namespace', 'namespace', namespace, limits.namespace) ??
    widthProblem('name', 'name', name, limits.name) ??
    widthProblem('target system', 'system', system, limits.system)
  );
}

export function mapProviderEntity(files: readonly ParsedFile[], limits: ColumnLimits): MappedEntity<ProviderVersionRow> {
  const first = files[0]!.ref;
  const { chosen, entries } = servedEntries(files);
  const rows: ProviderVersionRow[] = [];
  const problems: { file: string; problem: string }[] = [];
  for (const { file, entry } of chosen) {
    const version = normalizeVersion(entry.version);
    const targets = entry.targets ?? [];
    const problem =
      widthProblem('version', 'version', version, limits.version) ??
      targets.reduce<string | undefined>((found, t) => found ?? widthProblem('os', 'os', t.os, limits.os) ?? widthProblem('arch', 'arch', t.arch, limits.arch), undefined);
    if (problem) {
      problems.push({ file: file.ref.relativePath, problem });
      continue;
    }
    const sourceUrl = file.content.repository !== undefined ? repositoryUrl(file.content.repository) : derivedSourceUrl(file.ref);
    rows.push({
      version,
      sourceUrl,
      publishedAt: entry.discovered ?? null,
      protocols: entry.protocols,
      shasumsUrl: entry.shasumsUrl,
      shasumsSignatureUrl: entry.shasumsSignatureUrl,
      targets,
    });
  }
  return {
    namespace: first.namespace.toLowerCase(),
    name: first.name.toLowerCase(),
    warnings: files[0]!.content.warnings,
    rows,
    entries,
    merged: entries - chosen.length,
    problems,
  };
}

export function mapModuleEntity(files: readonly ParsedFile[], limits: ColumnLimits): MappedEntity<ModuleVersionRow> {
  const first = files[0]!.ref;
  const { chosen, entries } = servedEntries(files);
  const rows: ModuleVersionRow[] = [];
  const problems: { file: string; problem: string }[] = [];
  for (const { file, entry } of chosen) {
    const version = normalizeVersion(entry.version);
    const problem = widthProblem('version', 'version', version, limits.version) ?? widthProblem('tag', 'tag', entry.version, limits.tag);
    if (problem) {
      problems.push({ file: file.ref.relativePath, problem });
      continue;
    }
    rows.push({ version, tag: entry.version, commit: entry.commit, sourceUrl: derivedSourceUrl(file.ref), publishedAt: entry.discovered ?? null });
  }
  return {
    namespace: first.namespace.toLowerCase(),
    name: first.name.toLowerCase(),
    system: first.target!.toLowerCase(),
    rows,
    entries,
    merged: entries - chosen.length,
    problems,
  };
}

/**
 * The answer of GET /v1/providers/:namespace/:type/versions for the provider, as the
 * registry's generator writes it: versions and platforms in the file's order, `protocols`
 * null where the file has none, `warnings` only where there are some.
 */
export function providerVersionsDocument(entity: MappedEntity<ProviderVersionRow>): string {
  // Built as text: a provider can have thousands of platforms, and objects made only to be
  // serialised would each be garbage to collect.
  let versions = '';
  for (const row of entity.rows) {
    let platforms = '';
    for (const t of row.targets) platforms += `${platforms === '' ? '' : ','}{"os":${JSON.stringify(t.os)},"arch":${JSON.stringify(t.arch)}}`;
    const protocols = row.protocols === undefined ? 'null' : JSON.stringify(row.protocols);
    versions += `${versions === '' ? '' : ','}{"version":${JSON.stringify(row.version)},"protocols":${protocols},"platforms":[${platforms}]}`;
  }
  const warnings = entity.warnings !== undefined && entity.warnings.length > 0 ? `,"warnings":${JSON.stringify(entity.warnings)}` : '';
  return `{"versions":[${versions}]${warnings}}`;
}
