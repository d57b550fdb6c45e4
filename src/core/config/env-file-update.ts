import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';
import { editEnvText, type EnvFileUpdateOptions, type EnvValue } from './env-text.js';
import { fileError, NEW_FILE_MODE, resolveTarget, syncFolder, writeTempFile } from './env-file-io.js';

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
  /** The file's contents before the update; undefined when it did not exist. */
  readonly previous?: Buffer;
  /** Renames the prepared file over the target: the one atomic step. */
  commit(): Promise<void>;
  /** Removes the prepared file without touching the target. */
  discard(): Promise<void>;
  /** After commit(): puts back what was there before (removes the file if it was created). */
  restore(): Promise<void>;
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
  await checkFreeSpace(folder, absolute, stats?.size ?? 0);
}

/**
 * A full disk is found before anything changes, not after the database was created: the new
 * file, its temporary copy and the backup kept during a password change all need room.
 */
async function checkFreeSpace(folder: string, file: string, size: number): Promise<void> {
  const space = await fs.statfs(folder).catch(() => undefined);
  if (!space) return; // a file system that does not say: the write itself will tell
  const free = space.bavail * space.bsize;
  const needed = 3 * (size + 4096);
  if (free >= needed) return;
  throw new ConfigError(
    `The folder of the env file ${describe(file)} has ${free} bytes free, and writing the credentials needs about ${needed}. Nothing was changed.`,
    `Free space on that file system (df -h ${folder}), or point --env-file at a file on another one.`,
    'ENV_FILE_NO_SPACE',
  );
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
    previous,
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
