import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { RegistryKind } from './registry-file.js';

/**
 * Walks a checkout of the registry repository: `providers/<l>/<namespace>/<name>.json`,
 * `modules/<l>/<namespace>/<name>/<target>.json` and the signing keys,
 * `keys/<l>/<namespace>[/<provider>]/<file>.asc`. The registry treats names case-insensitively
 * and the repository holds some twice (`QuiNovas/…` beside `quinovas/…`), so folders whose
 * names differ only in case are walked as one, and the walk yields one entity per provider,
 * module or key namespace with all the files that spell it. One directory listing at a time,
 * sorted, so memory follows the widest directory and two runs see the same order.
 * Synchronous on purpose: the import reads tens of thousands of small files one after
 * another, and a thread-pool round trip per directory made the walk four times slower.
 */

export type TreeKind = RegistryKind | 'keys';

/** A file of the tree, with the names its path gives it (as spelled in the repository). */
export interface RegistryFileRef {
  readonly kind: TreeKind;
  readonly absolutePath: string;
  /** Relative to the tree's root, always with `/`, e.g. `providers/h/hashicorp/null.json`. */
  readonly relativePath: string;
  readonly namespace: string;
  /** Providers and modules: the name; keys: the provider folder, '' for a key of the whole namespace. */
  readonly name: string;
  /** Modules only: the target system (the file name without `.json`). */
  readonly target?: string;
  /** Keys only: the file name. */
  readonly fileName?: string;
}

/** A provider, module or key namespace: every file that spells it, lower-case spelling first. */
export interface RegistryEntity {
  readonly kind: TreeKind;
  /** Lower-cased: `namespace/name`, `namespace/name/target`, or `namespace` for keys. */
  readonly key: string;
  readonly files: readonly RegistryFileRef[];
}

/** A file at a place where the layout has none, or a link the walk cannot follow. */
export interface MisplacedFile {
  readonly kind: TreeKind;
  readonly relativePath: string;
  readonly problem: string;
}

export type TreeEntry = { readonly entity: RegistryEntity } | { readonly misplaced: MisplacedFile };

export const KIND_FOLDERS: Readonly<Record<TreeKind, string>> = { provider: 'providers', module: 'modules', keys: 'keys' };

/** Folders between the kind's folder and an entity's files: `<l>/<ns>`, `<l>/<ns>/<name>`, `<l>/<ns>` (keys). */
const ENTITY_DEPTH: Readonly<Record<TreeKind, number>> = { provider: 2, module: 3, keys: 2 };
const EXTENSION: Readonly<Record<TreeKind, string>> = { provider: '.json', module: '.json', keys: '.asc' };

const LAYOUT: Readonly<Record<TreeKind, string>> = {
  provider: 'providers/<letter>/<namespace>/<name>.json',
  module: 'modules/<letter>/<namespace>/<name>/<target>.json',
  keys: 'keys/<letter>/<namespace>/<file>.asc or keys/<letter>/<namespace>/<provider>/<file>.asc',
};

/** A folder being walked, and the real paths of the folders links led into on the way to it (for loops). */
interface Folder {
  readonly segments: readonly string[];
  readonly linkedFrom: ReadonlySet<string>;
}

/** A file found in a folder. */
interface FoundFile {
  readonly segments: readonly string[];
  readonly name: string;
}

/** One folder level of a group of same-named folders: subfolders and files, grouped by lower-case name, sorted. */
interface Level {
  readonly folders: ReadonlyMap<string, Folder[]>;
  readonly files: ReadonlyMap<string, FoundFile[]>;
  readonly misplaced: readonly MisplacedFile[];
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function sortedMap<T>(map: Map<string, T[]>): Map<string, T[]> {
  return new Map([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Follows a symbolic link: as a folder (unless it leads back into the way here), as a file, or reported. */
function followLink(root: string, folder: Folder, entry: Dirent, kind: TreeKind): { folder: Folder } | { file: true } | { misplaced: MisplacedFile } {
  const here = [...folder.segments, entry.name];
  const full = path.join(root, ...here);
  let target;
  let real: string | undefined;
  try {
    target = statSync(full, { throwIfNoEntry: false });
    if (target?.isDirectory()) real = realpathSync(full);
  } catch (error) {
    return { misplaced: { kind, relativePath: here.join('/'), problem: `is a link that cannot be followed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` } };
  }
  // A dangling link counts as a file: its read fails and is reported with the file.
  if (real === undefined) return { file: true };
  const current = realpathSync(path.join(root, ...folder.segments));
  if (folder.linkedFrom.has(real) || current === real || current.startsWith(`${real}${path.sep}`)) {
    return { misplaced: { kind, relativePath: here.join('/'), problem: 'is a link into a folder on its own path (a loop)' } };
  }
  return { folder: { segments: here, linkedFrom: new Set([...folder.linkedFrom, current, real]) } };
}

/** Lists every folder of a group (hidden entries skipped) and merges what they hold by lower-case name. */
function listLevel(root: string, group: readonly Folder[], kind: TreeKind): Level {
  const folders = new Map<string, Folder[]>();
  const files = new Map<string, FoundFile[]>();
  const misplaced: MisplacedFile[] = [];
  for (const folder of group) {
    const entries = readdirSync(path.join(root, ...folder.segments), { withFileTypes: true }).sort(byName);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .git, editor droppings
      const key = entry.name.toLowerCase();
      let isFile = entry.isFile();
      let subfolder: Folder | undefined = entry.isDirectory() ? { segments: [...folder.segments, entry.name], linkedFrom: folder.linkedFrom } : undefined;
      if (entry.isSymbolicLink()) {
        const followed = followLink(root, folder, entry, kind);
        if ('misplaced' in followed) {
          misplaced.push(followed.misplaced);
          continue;
        }
        if ('folder' in followed) subfolder = followed.folder;
        else isFile = true;
      }
      if (subfolder) folders.set(key, [...(folders.get(key) ?? []), subfolder]);
      else if (isFile) files.set(key, [...(files.get(key) ?? []), { segments: folder.segments, name: entry.name }]);
    }
  }
  return { folders: sortedMap(folders), files: sortedMap(files), misplaced };
}

function fileRef(root: string, kind: TreeKind, file: FoundFile): RegistryFileRef {
  const [, , namespace = '', third] = file.segments;
  const relativePath = [...file.segments, file.name].join('/');
  const absolutePath = path.join(root, ...file.segments, file.name);
  if (kind === 'provider') return { kind, absolutePath, relativePath, namespace, name: file.name.slice(0, -EXTENSION[kind].length) };
  if (kind === 'module') return { kind, absolutePath, relativePath, namespace, name: third ?? '', target: file.name.slice(0, -EXTENSION[kind].length) };
  return { kind, absolutePath, relativePath, namespace, name: third ?? '', fileName: file.name };
}

/** Lower-case spelling first (it wins where spellings disagree), then in path order. */
function preferLowerCase(a: RegistryFileRef, b: RegistryFileRef): number {
  const lowerA = a.relativePath === a.relativePath.toLowerCase() ? 0 : 1;
  const lowerB = b.relativePath === b.relativePath.toLowerCase() ? 0 : 1;
  return lowerA - lowerB || (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0);
}

function entity(kind: TreeKind, key: string, files: RegistryFileRef[]): TreeEntry {
  return { entity: { kind, key, files: files.sort(preferLowerCase) } };
}

export function* walkRegistryTree(root: string, kind: TreeKind): Generator<TreeEntry> {
  yield* walkLevel(root, kind, [{ segments: [KIND_FOLDERS[kind]], linkedFrom: new Set() }], []);
}

/**
 * @param depth the lower-cased names of the folders below the kind's folder, so far
 */
function* walkLevel(root: string, kind: TreeKind, group: readonly Folder[], depth: readonly string[]): Generator<TreeEntry> {
  const level = listLevel(root, group, kind);
  yield* level.misplaced.map((misplaced) => ({ misplaced }));
  const atEntity = depth.length === ENTITY_DEPTH[kind];
  if (atEntity && kind === 'keys') {
    yield* keyNamespace(root, level, depth);
    return;
  }
  for (const [name, files] of level.files) {
    if (!name.endsWith(EXTENSION[kind])) continue;
    const refs = files.map((file) => fileRef(root, kind, file));
    if (!atEntity) {
      yield* refs.map((ref) => ({ misplaced: { kind, relativePath: ref.relativePath, problem: `is not where the layout puts ${kind === 'keys' ? 'signing keys' : 'metadata files'} (${LAYOUT[kind]})` } }));
      continue;
    }
    yield entity(kind, [...depth.slice(1), name.slice(0, -EXTENSION[kind].length)].join('/'), refs);
  }
  for (const [name, folders] of level.folders) yield* walkLevel(root, kind, folders, [...depth, name]);
}

/** A key namespace: its own `.asc` files and those of its provider folders, as one entity; anything deeper is misplaced. */
function* keyNamespace(root: string, level: Level, depth: readonly string[]): Generator<TreeEntry> {
  const refs: RegistryFileRef[] = [];
  const misplaced: MisplacedFile[] = [];
  const take = (files: ReadonlyMap<string, FoundFile[]>) => {
    for (const [name, found] of files) if (name.endsWith('.asc')) refs.push(...found.map((file) => fileRef(root, 'keys', file)));
  };
  take(level.files);
  for (const [, folders] of level.folders) {
    const providerLevel = listLevel(root, folders, 'keys');
    misplaced.push(...providerLevel.misplaced);
    take(providerLevel.files);
    for (const [, deeper] of providerLevel.folders) {
      // Below the entity's depth the walk yields only misplaced files.
      for (const entry of walkLevel(root, 'keys', deeper, [...depth, '', ''])) if ('misplaced' in entry) misplaced.push(entry.misplaced);
    }
  }
  yield* misplaced.map((m) => ({ misplaced: m }));
  if (refs.length > 0) yield entity('keys', depth[1]!, refs);
}
