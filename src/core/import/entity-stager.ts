import { parseRegistryFile, type RegistryKind } from './registry-file.js';
import type { RegistryEntity, RegistryFileRef } from './registry-tree.js';
import { entityWidthProblem, mapModuleEntity, mapProviderEntity, widthProblem, type ColumnLimits, type ParsedFile } from './row-mapper.js';
import { copyTextField, keyLine, moduleLines, providerLines, type KeyRow } from './copy-lines.js';
import type { EntityLines } from './chunk.js';
import { parseArmoredPublicKey } from './openpgp-key.js';
import { byPath, SourceHasher } from './source-hash.js';
import { decode, decodeLarge, readAndHash } from './file-reader.js';

/**
 * One provider, module or key namespace from disk to staging-table lines: read its files,
 * recognise them as unchanged by their hash, or parse, validate and map them.
 */

/** What an earlier import recorded about a provider or module (registry_import_sources). */
export interface KnownSource {
  readonly sha256: string;
  readonly entries: number;
  readonly merged: number;
  readonly versionRows: number;
  readonly platformRows: number;
}

export interface Problem {
  /** Relative to the imported folder, e.g. `modules/a/Azure/alz/azurerm.json`. */
  readonly file: string;
  readonly problem: string;
}

/** What one entity contributes. */
export interface StagedEntity {
  /** Its rows as COPY lines; none when the entity is unchanged or left out. */
  readonly lines?: EntityLines;
  /** Set when the files are what the last import recorded: nothing staged, its rows stay. */
  readonly unchanged?: KnownSource;
  /** Problems that leave the whole entity out (a file unreadable, not JSON, of the wrong shape). */
  readonly invalid: readonly Problem[];
  /** Versions left out, the rest staged (a value longer than its column). */
  readonly tooLong: readonly Problem[];
  readonly entries: number;
  readonly merged: number;
  /** Rows staged: versions (or keys), and platforms. */
  readonly rows: number;
  readonly platformRows: number;
}

function leftOut(invalid: Problem[]): StagedEntity {
  return { invalid, tooLong: [], entries: 0, merged: 0, rows: 0, platformRows: 0 };
}

/**
 * @param known what the last import recorded, by `kind` and key; an entity whose files hash
 *   to the recorded value is not parsed at all
 */
export function stageEntity(entity: RegistryEntity, limits: ColumnLimits, known: ReadonlyMap<string, KnownSource>): StagedEntity {
  // Read and hashed in path order; decoded only when the hash is not the one recorded.
  const contents = new Map<RegistryFileRef, Buffer | number>();
  const invalid: Problem[] = [];
  const hasher = new SourceHasher();
  for (const file of [...entity.files].sort(byPath)) {
    const read = readAndHash(file, hasher);
    if ('problem' in read) invalid.push(read);
    // Most entities are one file; the buffer it was read into serves the next file too.
    else if ('bytes' in read) contents.set(file, entity.files.length === 1 ? read.bytes : Buffer.from(read.bytes));
    else contents.set(file, read.size);
  }
  const sha256 = hasher.digest();
  const recorded = entity.kind === 'keys' || invalid.length > 0 ? undefined : known.get(`${entity.kind}:${entity.key}`);
  if (recorded?.sha256 === sha256) {
    return { unchanged: recorded, invalid: [], tooLong: [], entries: recorded.entries, merged: recorded.merged, rows: 0, platformRows: 0 };
  }
  const read: { file: RegistryFileRef; text: string }[] = [];
  for (const file of entity.files) {
    const content = contents.get(file);
    if (content === undefined) continue;
    const text = typeof content === 'number' ? decodeLarge(file, content) : decode(file, content);
    if (typeof text === 'string') read.push({ file, text });
    else invalid.push(text);
  }
  if (entity.kind === 'keys') return stageKeys(entity, read, invalid, limits);
  if (invalid.length > 0) return leftOut(invalid);
  const kind = entity.kind;
  const parsed: ParsedFile[] = [];
  for (const { file, text } of read) {
    const result = parseRegistryFile(text, kind);
    if (result.ok) parsed.push({ ref: file, content: result.content });
    else invalid.push({ file: file.relativePath, problem: result.problem });
  }
  if (invalid.length > 0) return leftOut(invalid);
  return mapAndStage(kind, parsed, limits, sha256);
}

function mapAndStage(kind: RegistryKind, parsed: readonly ParsedFile[], limits: ColumnLimits, sha256: string): StagedEntity {
  const first = parsed[0]!.ref;
  const nameProblem = entityWidthProblem(first.namespace.toLowerCase(), first.name.toLowerCase(), first.target?.toLowerCase(), limits);
  if (nameProblem) return leftOut(parsed.map(({ ref }) => ({ file: ref.relativePath, problem: nameProblem })));
  // With a version left out, the files are read again next time: no hash recorded.
  if (kind === 'provider') {
    const mapped = mapProviderEntity(parsed, limits);
    const platformRows = mapped.rows.reduce((sum, row) => sum + row.targets.length, 0);
    const lines: EntityLines = { kind, lines: providerLines(mapped, { sha256: mapped.problems.length > 0 ? null : sha256 }) };
    return { lines, invalid: [], tooLong: mapped.problems, entries: mapped.entries, merged: mapped.merged, rows: mapped.rows.length, platformRows };
  }
  const mapped = mapModuleEntity(parsed, limits);
  const lines: EntityLines = { kind, lines: moduleLines(mapped, { sha256: mapped.problems.length > 0 ? null : sha256 }) };
  return { lines, invalid: [], tooLong: mapped.problems, entries: mapped.entries, merged: mapped.merged, rows: mapped.rows.length, platformRows: 0 };
}

/** A key namespace: every `.asc` file's key ID; one bad file leaves the namespace's keys as they are. */
function stageKeys(entity: RegistryEntity, read: readonly { file: RegistryFileRef; text: string }[], invalid: Problem[], limits: ColumnLimits): StagedEntity {
  const keys = new Map<string, KeyRow>();
  let duplicates = 0;
  for (const { file, text } of read) {
    const parsed = text.includes('\0') ? { ok: false as const, problem: 'contains a NUL character' } : parseArmoredPublicKey(text);
    if (!parsed.ok) {
      invalid.push({ file: file.relativePath, problem: `is not an OpenPGP public key: it ${parsed.problem}` });
      continue;
    }
    const row: KeyRow = { namespace: entity.key, provider: file.name.toLowerCase(), fileName: file.fileName!, keyId: parsed.keyId, asciiArmor: text };
    const tooLong =
      widthProblem('namespace', 'namespace', row.namespace, limits.namespace) ??
      widthProblem('provider', 'provider', row.provider, limits.name) ??
      widthProblem('file name', 'file_name', row.fileName, limits.fileName);
    if (tooLong) {
      invalid.push({ file: file.relativePath, problem: tooLong });
      continue;
    }
    // Spellings of one folder that hold the same file: the lower-case folder's (first) wins.
    const key = `${row.provider}/${row.fileName}`;
    if (keys.has(key)) duplicates++;
    else keys.set(key, row);
  }
  if (invalid.length > 0) return { ...leftOut(invalid), lines: { kind: 'keys', keys: '', keptNamespace: `${copyTextField(entity.key)}\n` } };
  let lines = '';
  for (const row of keys.values()) lines += keyLine(row);
  return { lines: { kind: 'keys', keys: lines }, invalid: [], tooLong: [], entries: read.length, merged: duplicates, rows: keys.size, platformRows: 0 };
}
