/**
 * Reading one metadata file of the registry repository: parse the JSON and check that it
 * has the shape the importer relies on. Problems come back as data (a sentence naming
 * what is wrong), so the caller decides whether to stop or skip.
 */

/** One entry of a file's `versions` array, reduced to what becomes a row. */
export interface RegistryVersion {
  /** The version as written in the file (a module's Git tag may carry a leading `v`). */
  readonly version: string;
  /** RFC 3339 timestamp, when the file has one. */
  readonly discovered?: string;
}

export interface RegistryFileContent {
  readonly versions: readonly RegistryVersion[];
  /** Provider files only: a custom source repository. */
  readonly repository?: string;
}

export type ParsedRegistryFile =
  | { readonly ok: true; readonly content: RegistryFileContent }
  | { readonly ok: false; readonly problem: string };

export type RegistryKind = 'provider' | 'module';

/** RFC 3339 date-time (the `discovered` field): a date, `T`, a time, optional fraction, Z or an offset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

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

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Checks the fields a provider version carries besides `version`, when they are there. */
function providerVersionProblem(item: Record<string, unknown>, where: string): string | undefined {
  if (item.protocols != null && !isStringArray(item.protocols)) return `${where}.protocols is not a list of strings`;
  for (const field of ['shasums_url', 'shasums_signature_url'] as const) {
    if (item[field] != null && typeof item[field] !== 'string') return `${where}.${field} is ${kindOf(item[field])}, not a string`;
  }
  if (item.targets != null && !(Array.isArray(item.targets) && item.targets.every(isPlainObject))) {
    return `${where}.targets is not a list of objects`;
  }
  return undefined;
}

function moduleVersionProblem(item: Record<string, unknown>, where: string): string | undefined {
  if (item.commit != null && typeof item.commit !== 'string') return `${where}.commit is ${kindOf(item.commit)}, not a string`;
  return undefined;
}

/**
 * Parses a provider or module file. Validates what becomes a row (every `version`, every
 * `discovered`, a provider's `repository`) and the types of the other documented fields,
 * so that a file of another kind or a truncated file is caught, not half-imported.
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

  let repository: string | undefined;
  if (kind === 'provider') {
    if (document.repository != null) {
      if (typeof document.repository !== 'string' || document.repository.trim() === '') {
        return { ok: false, problem: `"repository" is ${kindOf(document.repository)}, not a non-empty string` };
      }
      if (document.repository.includes('\0')) return { ok: false, problem: '"repository" contains a NUL character' };
      repository = document.repository.trim();
    }
    if (document.warnings != null && !isStringArray(document.warnings)) return { ok: false, problem: '"warnings" is not a list of strings' };
  }

  const versions: RegistryVersion[] = [];
  for (let index = 0; index < document.versions.length; index++) {
    const item: unknown = document.versions[index];
    const where = `versions[${index}]`;
    if (!isPlainObject(item)) return { ok: false, problem: `${where} is ${kindOf(item)}, not an object` };
    if (typeof item.version !== 'string') {
      return { ok: false, problem: item.version === undefined ? `${where} has no "version"` : `${where}.version is ${kindOf(item.version)}, not a string` };
    }
    if (item.version.replace(/^v/, '').trim() === '') return { ok: false, problem: `${where}.version ${JSON.stringify(item.version)} is empty` };
    if (item.version.includes('\0')) return { ok: false, problem: `${where}.version contains a NUL character` };
    let discovered: string | undefined;
    if (item.discovered != null) {
      if (typeof item.discovered !== 'string' || !isRfc3339(item.discovered)) {
        return { ok: false, problem: `${where}.discovered ${JSON.stringify(item.discovered)} is not an RFC 3339 timestamp` };
      }
      discovered = item.discovered;
    }
    const extra = kind === 'provider' ? providerVersionProblem(item, where) : moduleVersionProblem(item, where);
    if (extra) return { ok: false, problem: extra };
    versions.push(discovered === undefined ? { version: item.version } : { version: item.version, discovered });
  }
  return { ok: true, content: repository === undefined ? { versions } : { versions, repository } };
}
