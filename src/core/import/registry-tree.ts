import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RegistryKind } from './registry-file.js';

/**
 * Walks a checkout of the registry repository: `providers/<l>/<namespace>/<name>.json` and
 * `modules/<l>/<namespace>/<name>/<target>.json`. One directory listing at a time, in
 * sorted order, so memory follows the widest directory rather than the whole tree, and
 * two runs over the same tree see the files in the same order. Synchronous on purpose:
 * the import reads tens of thousands of small files one after another, and a thread-pool
 * round trip per directory made the walk four times slower.
 */

/** A metadata file, with the names its path gives it (as spelled in the repository). */
export interface RegistryFileRef {
  readonly kind: RegistryKind;
  readonly absolutePath: string;
  /** Relative to the tree's root, always with `/`, e.g. `providers/h/hashicorp/null.json`. */
  readonly relativePath: string;
  readonly namespace: string;
  readonly name: string;
  /** Modules only: the target system (the file name without `.json`). */
  readonly target?: string;
}

/** A `.json` file at a place where the layout has none. */
export interface MisplacedFile {
  readonly kind: RegistryKind;
  readonly relativePath: string;
  readonly problem: string;
}

export type TreeEntry = { readonly file: RegistryFileRef } | { readonly misplaced: MisplacedFile };

export const KIND_FOLDERS: Readonly<Record<RegistryKind, string>> = { provider: 'providers', module: 'modules' };

/** How many folders lie between the kind's folder and the file: `<l>/<ns>` or `<l>/<ns>/<name>`. */
const FOLDER_DEPTH: Readonly<Record<RegistryKind, number>> = { provider: 2, module: 3 };

const LAYOUT: Readonly<Record<RegistryKind, string>> = {
  provider: 'providers/<letter>/<namespace>/<name>.json',
  module: 'modules/<letter>/<namespace>/<name>/<target>.json',
};

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function* walkRegistryTree(root: string, kind: RegistryKind): Generator<TreeEntry> {
  const top = KIND_FOLDERS[kind];
  yield* walkFolder(root, [top], kind, new Set());
}

/**
 * @param linkedFrom the real paths of the folders a symbolic link led into on the way here:
 *   a link back into one of them (or into a folder that contains the current one) is a loop.
 */
function* walkFolder(root: string, segments: readonly string[], kind: RegistryKind, linkedFrom: ReadonlySet<string>): Generator<TreeEntry> {
  const folder = path.join(root, ...segments);
  const entries = readdirSync(folder, { withFileTypes: true }).sort(byName);
  const depth = segments.length - 1; // folders below providers/ or modules/
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue; // .git, editor droppings
    const here = [...segments, entry.name];
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    let nextLinkedFrom = linkedFrom;
    if (entry.isSymbolicLink()) {
      // Followed, as git checkouts and copies made with links hold them. A dangling link to a
      // .json file counts as a file (its read fails and is reported); a link that leads back
      // into the way here (a loop, also through several links) is reported instead of walked.
      const full = path.join(folder, entry.name);
      let target;
      let real: string | undefined;
      try {
        target = statSync(full, { throwIfNoEntry: false });
        if (target?.isDirectory()) real = realpathSync(full);
      } catch (error) {
        yield { misplaced: { kind, relativePath: here.join('/'), problem: `is a link that cannot be followed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` } };
        continue;
      }
      if (real !== undefined) {
        const current = realpathSync(folder);
        if (linkedFrom.has(real) || current === real || current.startsWith(`${real}${path.sep}`)) {
          yield { misplaced: { kind, relativePath: here.join('/'), problem: 'is a link into a folder on its own path (a loop)' } };
          continue;
        }
        isDirectory = true;
        nextLinkedFrom = new Set([...linkedFrom, current, real]);
      } else {
        isFile = target === undefined || target.isFile();
      }
    }
    if (isDirectory) {
      yield* walkFolder(root, here, kind, nextLinkedFrom);
      continue;
    }
    if (!isFile || !entry.name.endsWith('.json')) continue;
    const relativePath = here.join('/');
    if (depth !== FOLDER_DEPTH[kind]) {
      yield { misplaced: { kind, relativePath, problem: `is not where the layout puts metadata files (${LAYOUT[kind]})` } };
      continue;
    }
    const stem = entry.name.slice(0, -'.json'.length);
    const file: RegistryFileRef =
      kind === 'provider'
        ? { kind, absolutePath: path.join(folder, entry.name), relativePath, namespace: segments[2]!, name: stem }
        : { kind, absolutePath: path.join(folder, entry.name), relativePath, namespace: segments[2]!, name: segments[3]!, target: stem };
    yield { file };
  }
}
