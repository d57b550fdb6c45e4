/**
 * Reading one metadata file of the registry repository: parse the JSON and check that it
 * has the shape the importer relies on, down to what the database would refuse (a NUL
 * character, a checksum that is not 64 hex digits), so that no value fails later in COPY
 * and aborts the import unnamed. Problems come back as data (a sentence naming what is
 * wrong), so the caller decides whether to stop or skip.
 */

/**
 * One `targets[]` entry of a provider version, a platform's download: the parsed JSON object
 * itself, validated (a registry holds most of a million of them: none is copied). Optional
 * fields may be null in a file, which counts as absent.
 */
export interface ProviderTarget {
  readonly os: string;
  readonly arch: string;
  readonly filename: string;
  readonly download_url: string;
  /** SHA-256 of the zip, 64 lower-case hex digits. */
  readonly shasum: string;
  readonly h1?: string | null;
  readonly size?: number | null;
}

/** One entry of a file's `versions` array, with what the registry protocols serve of it. */
export interface RegistryVersion {
  /** The version as written (a module's Git tag may carry a leading `v`). */
  readonly version: string;
  /** RFC 3339 timestamp, when the file has one. */
  readonly discovered?: string;
  /** Providers: absent where the file has none (the registry then serves null). */
  readonly protocols?: readonly string[];
  readonly shasumsUrl?: string;
  readonly shasumsSignatureUrl?: string;
  readonly targets?: readonly ProviderTarget[];
  /** Modules: the tag's commit, 40 hex digits (an empty string in a file means none). */
  readonly commit?: string;
}

export interface RegistryFileContent {
  readonly versions: readonly RegistryVersion[];
  /** Provider files only: a custom source repository. */
  readonly repository?: string;
  /** Provider files only: deprecation notices. */
  readonly warnings?: readonly string[];
}

export type ParsedRegistryFile =
  | { readonly ok: true; readonly content: RegistryFileContent }
  | { readonly ok: false; readonly problem: string };

export type RegistryKind = 'provider' | 'module';

/** RFC 3339 date-time (the `discovered` field): a date, `T`, a time, optional fraction, Z or an offset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT_HEX = /^[0-9a-f]{40}$/;

/**
 * An RFC 3339 timestamp that PostgreSQL can store: also the offset's hours and minutes are
 * checked (PostgreSQL refuses offsets beyond ±15:59, real ones end at ±14:00), and year 0000,
 * which RFC 3339 allows and PostgreSQL does not (it has no year zero).
 */
export function isRfc3339(text: string): boolean {
  const match = RFC3339.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offset = /^[+-](\d{2}):(\d{2})$/.exec(match[8]!);
  if (offset && (Number(offset[1]) > 15 || Number(offset[2]) > 59)) return false;
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A list of strings PostgreSQL can store (text never holds NUL). */
function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && !item.includes('\0'));
}

/** The problem with an optional string field, if any: a string without NUL, or absent (null counts as absent). */
function stringProblem(value: unknown, where: string, required = false): string | undefined {
  if (value == null) return required ? `${where} is missing` : undefined;
  if (typeof value !== 'string') return `${where} is ${kindOf(value)}, not a string`;
  if (required && value === '') return `${where} is empty`;
  if (value.includes('\0')) return `${where} contains a NUL character`;
  return undefined;
}

/** What is wrong with a target, if anything: checked in place, the object is kept as it is. */
function targetProblem(item: unknown, where: string): string | undefined {
  if (!isPlainObject(item)) return `${where} is ${kindOf(item)}, not an object`;
  for (const field of ['os', 'arch', 'filename', 'download_url', 'shasum'] as const) {
    const problem = stringProblem(item[field], `${where}.${field}`, true);
    if (problem) return problem;
  }
  if (!SHA256_HEX.test(item.shasum as string)) return `${where}.shasum ${JSON.stringify(item.shasum)} is not 64 lower-case hex digits`;
  const h1Problem = stringProblem(item.h1, `${where}.h1`);
  if (h1Problem) return h1Problem;
  if (item.size != null && !(Number.isSafeInteger(item.size) && (item.size as number) >= 0)) return `${where}.size ${JSON.stringify(item.size)} is not a whole number of bytes`;
  return undefined;
}

/** A provider version's protocols, checksum URLs and targets, or what is wrong with them. */
function parseProviderFields(item: Record<string, unknown>, where: string): Partial<RegistryVersion> | string {
  if (item.protocols != null && !isStringArray(item.protocols)) return `${where}.protocols is not a list of strings`;
  for (const field of ['shasums_url', 'shasums_signature_url'] as const) {
    const problem = stringProblem(item[field], `${where}.${field}`);
    if (problem) return problem;
  }
  if (item.targets != null && !Array.isArray(item.targets)) return `${where}.targets is not a list of objects`;
  const targets = (item.targets as unknown[] | null | undefined) ?? [];
  const platforms = new Set<string>();
  for (let index = 0; index < targets.length; index++) {
    const problem = targetProblem(targets[index], `${where}.targets[${index}]`);
    if (problem) return problem;
    const target = targets[index] as ProviderTarget;
    const platform = `${target.os}\0${target.arch}`;
    // The registry would serve one download for both and list the platform twice: which one is meant is unknowable.
    if (platforms.has(platform)) return `${where}.targets lists ${target.os}/${target.arch} twice`;
    platforms.add(platform);
  }
  return {
    protocols: (item.protocols as string[] | null | undefined) ?? undefined,
    shasumsUrl: (item.shasums_url as string | null | undefined) ?? undefined,
    shasumsSignatureUrl: (item.shasums_signature_url as string | null | undefined) ?? undefined,
    targets: targets as ProviderTarget[],
  };
}

function parseModuleFields(item: Record<string, unknown>, where: string): Partial<RegistryVersion> | string {
  if (item.commit == null || item.commit === '') return {};
  if (typeof item.commit !== 'string') return `${where}.commit is ${kindOf(item.commit)}, not a string`;
  if (!COMMIT_HEX.test(item.commit)) return `${where}.commit ${JSON.stringify(item.commit)} is not a Git commit (40 lower-case hex digits)`;
  return { commit: item.commit };
}

function parseVersion(item: unknown, where: string, kind: RegistryKind): RegistryVersion | string {
  if (!isPlainObject(item)) return `${where} is ${kindOf(item)}, not an object`;
  if (typeof item.version !== 'string') {
    return item.version === undefined ? `${where} has no "version"` : `${where}.version is ${kindOf(item.version)}, not a string`;
  }
  if (item.version.replace(/^v/, '').trim() === '') return `${where}.version ${JSON.stringify(item.version)} is empty`;
  if (item.version.includes('\0')) return `${where}.version contains a NUL character`;
  if (item.discovered != null && (typeof item.discovered !== 'string' || !isRfc3339(item.discovered))) {
    return `${where}.discovered ${JSON.stringify(item.discovered)} is not an RFC 3339 timestamp`;
  }
  const extra = kind === 'provider' ? parseProviderFields(item, where) : parseModuleFields(item, where);
  if (typeof extra === 'string') return extra;
  return { version: item.version, discovered: (item.discovered as string | null | undefined) ?? undefined, ...extra };
}

/** A provider file's `repository` and `warnings`, or what is wrong with them. */
function parseProviderTop(document: Record<string, unknown>): Pick<RegistryFileContent, 'repository' | 'warnings'> | string {
  let repository: string | undefined;
  if (document.repository != null) {
    if (typeof document.repository !== 'string' || document.repository.trim() === '') {
      return `"repository" is ${kindOf(document.repository)}, not a non-empty string`;
    }
    if (document.repository.includes('\0')) return '"repository" contains a NUL character';
    repository = document.repository.trim();
  }
  if (document.warnings != null && !isStringArray(document.warnings)) return '"warnings" is not a list of strings';
  return { repository, warnings: (document.warnings as string[] | null | undefined) ?? undefined };
}

/**
 * Parses a provider or module file. Validates what becomes a row (every field the registry
 * protocols serve) and the types of the other documented fields, so that a file of another
 * kind or a truncated file is caught, not half-imported.
 */
export function parseRegistryFile(text: string, kind: RegistryKind): ParsedRegistryFile {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not valid JSON: ${(error as Error).message}` };
  }
  if (!isPlainObject(document)) return { ok: false, problem: `expected a JSON object, found ${kindOf(document)}` };
  if (!('versions' in document)) return { ok: false, problem: 'has no "versions" array' };
  if (!Array.isArray(document.versions)) return { ok: false, problem: `"versions" is ${kindOf(document.versions)}, not an array` };
  const top = kind === 'provider' ? parseProviderTop(document) : {};
  if (typeof top === 'string') return { ok: false, problem: top };

  const versions: RegistryVersion[] = [];
  for (let index = 0; index < document.versions.length; index++) {
    const version = parseVersion(document.versions[index], `versions[${index}]`, kind);
    if (typeof version === 'string') return { ok: false, problem: version };
    versions.push(version);
  }
  return { ok: true, content: { versions, ...top } };
}
