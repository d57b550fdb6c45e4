import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/**
 * The file-system steps the env file's writers share: following a symlink to the file to
 * write, temporary files written with O_EXCL and fsync, folder fsync after a rename, and
 * finding what a killed writer left behind.
 */

export const NEW_FILE_MODE = 0o600;

export function fileError(action: string, file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  return new ConfigError(
    `Cannot ${action} the env file ${describe(file)}: ${(error as Error).message}.`,
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'Make the folder writable for this user, point --env-file elsewhere, or use --no-write-env with --json or --show-password.'
      : code === 'ENOSPC' || code === 'EDQUOT'
        ? 'The file system is full: free space on it, or point --env-file at a file on another one.'
        : 'Point --env-file at a regular file in an existing, writable folder.',
    'ENV_FILE_UNWRITABLE',
  );
}

/** Follows symlinks one hop at a time, so a dangling link still names the file to create. */
export async function resolveTarget(file: string): Promise<{ target: string; stats?: Stats }> {
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

export async function syncFolder(folder: string): Promise<void> {
  // Makes the rename itself durable; some file systems refuse fsync on folders, which is harmless.
  const handle = await fs.open(folder, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

export function processAlive(pid: number): boolean {
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

export async function writeTempFile(target: string, content: string | Buffer, mode: number, owner?: { uid: number; gid: number }): Promise<string> {
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
