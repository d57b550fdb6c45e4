import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';
import { editEnvText, type EnvFileUpdateOptions, type EnvValue } from './env-text.js';

/**
 * Writing credentials back into the env file: every other line kept as it was, values
 * quoted so dotenv reads back exactly what was written, and the write atomic (temporary
 * file in the same folder, fsync, rename, fsync of the folder) so a crash never leaves a
 * truncated file. The write is split in prepare/commit so that create-user can put the
 * rename between its role change and its COMMIT.
 */

export interface EnvFileUpdateResult {
  /** The env file as named (absolute). */
  readonly path: string;
  /** The file actually written: differs from `path` when that is a symlink. */
  readonly target: string;
  readonly created: boolean;
  /** False when every value was already there: the file was left untouched. */
  readonly written: boolean;
  readonly changedKeys: readonly string[];
  readonly addedKeys: readonly string[];
  readonly removedKeys: readonly string[];
  /** Permission bits of the file after the update. */
  readonly mode: number;
  readonly warnings: readonly string[];
}

export interface PreparedEnvFileUpdate {
  /** What commit() will have done (written: false if nothing needs writing). */
  readonly result: EnvFileUpdateResult;
  /** Renames the prepared file over the target: the one atomic step. */
  commit(): Promise<void>;
  /** Removes the prepared file without touching the target. */
  discard(): Promise<void>;
  /** After commit(): puts back what was there before (removes the file if it was created). */
  restore(): Promise<void>;
}

const NEW_FILE_MODE = 0o600;
function fileError(action: string, file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  return new ConfigError(
    `Cannot ${action} the env file ${describe(file)}: ${(error as Error).message}.`,
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'Make the folder writable for this user, point --env-file elsewhere, or use --no-write-env with --json or --show-password.'
      : 'Point --env-file at a regular file in an existing, writable folder.',
    'ENV_FILE_UNWRITABLE',
  );
}

/** Follows symlinks one hop at a time, so a dangling link still names the file to create. */
async function resolveTarget(file: string): Promise<{ target: string; stats?: Stats }> {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    let stats: Stats;
    try {
      stats = await fs.lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { target: current };
      throw fileError('read', file, error);
    }
    if (!stats.isSymbolicLink()) return { target: current, stats };
    current = path.resolve(path.dirname(current), await fs.readlink(current));
  }
  throw new ConfigError(`The env file ${describe(file)} is a loop of symbolic links.`);
}

async function syncFolder(folder: string): Promise<void> {
  // Makes the rename itself durable; some file systems refuse fsync on folders, which is harmless.
  const handle = await fs.open(folder, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Temporary files of earlier writers that were killed before their rename: never read, safe to remove. */
async function removeOrphanedTempFiles(target: string): Promise<void> {
  const folder = path.dirname(target);
  const pattern = new RegExp(`^\\.${path.basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) await fs.unlink(path.join(folder, name)).catch(() => undefined);
  }
}

async function writeTempFile(target: string, content: string | Buffer, mode: number, owner?: { uid: number; gid: number }): Promise<string> {
  await removeOrphanedTempFiles(target);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // 'wx': O_EXCL, so a planted file or symlink under the temporary name is never followed.
  const handle = await fs.open(temp, 'wx', NEW_FILE_MODE);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode); // explicit: the mode given to open() is masked by the umask
    // Keep the owner when root rewrites another user's file; elsewhere this is not allowed, and not needed.
    if (owner && owner.uid !== process.getuid?.()) await handle.chown(owner.uid, owner.gid).catch(() => undefined);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

/** Checks that the env file could be written, without writing anything. */
export async function checkEnvFileWritable(file: string): Promise<void> {
  const absolute = path.resolve(file);
  const { target, stats } = await resolveTarget(absolute);
  if (stats && !stats.isFile()) {
    throw new ConfigError(
      `The env file ${describe(absolute)} is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}.`,
      'Point --env-file at a file (it is created if missing).',
      'ENV_FILE_UNWRITABLE',
    );
  }
  const folder = path.dirname(target);
  let folderStats: Stats;
  try {
    folderStats = await fs.stat(folder);
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? new ConfigError(`The folder of the env file, ${describe(folder)}, does not exist.`, 'Create it, or point --env-file elsewhere.', 'ENV_FILE_UNWRITABLE')
      : fileError('reach', absolute, error);
  }
  if (!folderStats.isDirectory()) {
    throw new ConfigError(`${describe(folder)} (the env file's folder) is not a folder.`, 'Point --env-file elsewhere.', 'ENV_FILE_UNWRITABLE');
  }
  // access() also honours read-only mounts; root passes permission bits, as it would when writing.
  await fs.access(folder, fs.constants.W_OK | fs.constants.X_OK).catch((error: unknown) => {
    throw fileError('write', absolute, error);
  });
}

/** What an update would do, with the new contents: nothing is written. */
export interface EnvFilePlan extends EnvFileUpdateResult {
  readonly content: string;
  /** The current contents; undefined when the file does not exist yet. */
  readonly previous?: Buffer;
  readonly owner?: { readonly uid: number; readonly gid: number };
}

export async function planEnvFileUpdate(
  file: string,
  values: Readonly<Record<string, EnvValue>>,
  options: EnvFileUpdateOptions = {},
): Promise<EnvFilePlan> {
  const absolute = path.resolve(file);
  await checkEnvFileWritable(absolute);
  const { target, stats } = await resolveTarget(absolute);
  let previous: Buffer | undefined;
  if (stats) {
    previous = await fs.readFile(target).catch((error: unknown) => {
      throw fileError('read', absolute, error);
    });
  }
  const edit = editEnvText(previous?.toString('utf8') ?? '', values, options);
  // A file that does not exist is created only to add something (removing keys from nothing writes nothing).
  const created = previous === undefined && edit.addedKeys.length > 0;
  const mode = stats ? stats.mode & 0o7777 : NEW_FILE_MODE;
  const warnings: string[] = [];
  if (mode & 0o044) {
    warnings.push(
      `The env file ${target} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); it holds a password: chmod 600 ${target}`,
    );
  }
  return {
    path: absolute,
    target,
    created,
    written: created || edit.changedKeys.length > 0 || edit.addedKeys.length > 0 || edit.removedKeys.length > 0,
    changedKeys: edit.changedKeys,
    addedKeys: edit.addedKeys,
    removedKeys: edit.removedKeys,
    mode,
    warnings,
    content: edit.content,
    previous,
    owner: stats ? { uid: stats.uid, gid: stats.gid } : undefined,
  };
}

/** Computes the new contents and writes them to a temporary file next to the target. */
export async function prepareEnvFileUpdate(
  file: string,
  values: Readonly<Record<string, EnvValue>>,
  options: EnvFileUpdateOptions = {},
): Promise<PreparedEnvFileUpdate> {
  const { content, previous, owner, ...result } = await planEnvFileUpdate(file, values, options);
  const { target, mode } = result;
  const folder = path.dirname(target);
  let temp: string | undefined;
  if (result.written) {
    temp = await writeTempFile(target, content, mode, owner).catch((error: unknown) => {
      throw fileError('write', result.path, error);
    });
  }
  let committed = false;
  return {
    result,
    async commit() {
      if (!temp || committed) return;
      await fs.rename(temp, target).catch((error: unknown) => {
        throw fileError('replace', result.path, error);
      });
      committed = true;
      await syncFolder(folder);
    },
    async discard() {
      if (temp && !committed) await fs.rm(temp, { force: true });
    },
    async restore() {
      if (!committed) return;
      if (previous === undefined) {
        await fs.rm(target, { force: true });
      } else {
        await fs.rename(await writeTempFile(target, previous, mode, owner), target);
      }
      await syncFolder(folder);
    },
  };
}

/** Sets `values` in the env file (creating it with mode 0600 if missing), atomically. */
export async function updateEnvFile(
  file: string,
  values: Readonly<Record<string, EnvValue>>,
  options: EnvFileUpdateOptions = {},
): Promise<EnvFileUpdateResult> {
  const prepared = await prepareEnvFileUpdate(file, values, options);
  try {
    await prepared.commit();
  } catch (error) {
    await prepared.discard();
    throw error;
  }
  return prepared.result;
}
