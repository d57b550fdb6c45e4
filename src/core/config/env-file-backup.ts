import { promises as fs } from 'node:fs';
import path from 'node:path';
import { processAlive, resolveTarget, syncFolder, writeTempFile } from './env-file-io.js';

/**
 * The env file as it was before a password change, kept beside it from just before the new
 * file is renamed into place until the change is committed. A process killed in between (kill
 * -9, an OOM kill, an evicted pod) leaves a file holding a password the server rolled back;
 * the next create-user or setup finds this backup, learns which password works, and puts the
 * old file back if the change did not happen (provision/create-user/rotation-recovery.ts).
 */
export interface EnvFileBackup {
  /** Where the backup itself is. */
  readonly path: string;
  /** The env file it belongs to (its target, when the env file is a link). */
  readonly target: string;
  /** The run that wrote it, and whether it is still running (then it is not ours to touch). */
  readonly pid: number;
  readonly ownerAlive: boolean;
  /** The role whose password was being changed. */
  readonly role: string;
  /** Whether the env file existed before (if not, restoring removes it). */
  readonly existed: boolean;
  readonly content: Buffer;
}

interface Stored {
  readonly pid: number;
  readonly role: string;
  readonly existed: boolean;
  readonly content: string;
}

function backupPathOf(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tofu-registry-db-previous`);
}

/** Writes the backup (fsync, atomic rename); resolves with the function that removes it. */
export async function writeEnvFileBackup(file: string, role: string, previous: Buffer | undefined, mode: number): Promise<() => Promise<void>> {
  const { target } = await resolveTarget(path.resolve(file));
  const stored: Stored = { pid: process.pid, role, existed: previous !== undefined, content: (previous ?? Buffer.alloc(0)).toString('base64') };
  const backup = backupPathOf(target);
  const temp = await writeTempFile(backup, JSON.stringify(stored), mode & 0o600);
  await fs.rename(temp, backup);
  await syncFolder(path.dirname(target));
  return async () => {
    await fs.rm(backup, { force: true });
  };
}

/** The backup a run left beside the env file, if any (a damaged one is treated as none, and removed). */
export async function readEnvFileBackup(file: string): Promise<EnvFileBackup | undefined> {
  const { target } = await resolveTarget(path.resolve(file));
  const backup = backupPathOf(target);
  let text: string;
  try {
    text = await fs.readFile(backup, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const stored = JSON.parse(text) as Stored;
    return {
      path: backup,
      target,
      pid: stored.pid,
      ownerAlive: stored.pid !== process.pid && processAlive(stored.pid),
      role: stored.role,
      existed: stored.existed,
      content: Buffer.from(stored.content, 'base64'),
    };
  } catch {
    await fs.rm(backup, { force: true });
    return undefined;
  }
}

/** Puts the env file back as the backup has it (atomically), then removes the backup. */
export async function restoreEnvFileBackup(backup: EnvFileBackup): Promise<void> {
  if (backup.existed) {
    const stats = await fs.stat(backup.target).catch(() => undefined);
    const temp = await writeTempFile(backup.target, backup.content, stats ? stats.mode & 0o7777 : 0o600);
    await fs.rename(temp, backup.target);
  } else {
    await fs.rm(backup.target, { force: true });
  }
  await fs.rm(backup.path, { force: true });
  await syncFolder(path.dirname(backup.target));
}

export async function removeEnvFileBackup(backup: EnvFileBackup): Promise<void> {
  await fs.rm(backup.path, { force: true });
}
