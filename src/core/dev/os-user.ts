import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryDbError } from '../errors.js';
import { builtin } from '../runtime/import-external.js';

/** node:child_process, loaded when first needed (the CLI bundle loads no module it does not use). */
function childProcess(): typeof import('node:child_process') {
  return builtin<typeof import('node:child_process')>('node:child_process');
}

/**
 * PostgreSQL refuses to run as root (initdb and postgres both exit). Run as root, as in most
 * containers, the server runs as the `postgres` OS user instead, made if missing; that user
 * must be able to reach the binaries, the data folder and everything above them.
 */

export interface OsIds {
  readonly uid: number;
  readonly gid: number;
}

/** The ids to run PostgreSQL as: undefined when not root (it runs as us). */
export function serverIds(): OsIds | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = idsOf('postgres');
  if (existing) return existing;
  // Debian, RHEL (shadow-utils), then BusyBox (Alpine).
  const made =
    childProcess().spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' }).status === 0 ||
    childProcess().spawnSync('adduser', ['-S', '-D', '-H', 'postgres'], { stdio: 'ignore' }).status === 0;
  const ids = made ? idsOf('postgres') : undefined;
  if (!ids) {
    throw new RegistryDbError('internal', 'POSTGRES_USER_MISSING', 'Running as root, PostgreSQL must run as another OS user, and there is no "postgres" user nor a way to add one (useradd, adduser).', {
      hint: 'Create one (useradd --system postgres), or run tofu-registry-db as a user other than root.',
    });
  }
  return ids;
}

function idsOf(user: string): OsIds | undefined {
  const uid = childProcess().spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = childProcess().spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The first folder above (and including) `target` that `ids` may not enter, if any. */
export function unreachableFolder(target: string, ids: OsIds): string | undefined {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    let stats;
    try {
      stats = statSync(dir);
    } catch {
      stats = undefined; // not created yet: created by us, with a mode that lets it in
    }
    if (stats?.isDirectory()) {
      const bit = stats.uid === ids.uid ? 0o100 : stats.gid === ids.gid ? 0o010 : 0o001;
      if ((stats.mode & bit) === 0) return dir;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/**
 * A PostgreSQL installation (bin/, lib/, share/) that `ids` can run. Where it cannot reach the
 * one given (a checkout inside /root, or any folder of mode 0700), a copy in the temporary
 * folder, made once and reused: root-owned, read-only to others, so nobody can swap binaries
 * that root then starts. Undefined when the original will do.
 */
export function reachableInstallation(binDir: string, ids: OsIds): string | undefined {
  const installation = path.dirname(path.resolve(binDir));
  if (unreachableFolder(binDir, ids) === undefined) return undefined;
  const stamp = statSync(path.join(binDir, 'postgres'));
  const name = `tofu-registry-db-binaries-${Math.round(stamp.mtimeMs).toString(36)}-${stamp.size.toString(36)}`;
  const copy = path.join(tmpdir(), name);
  if (!existsSync(copy) || !trustedCopy(copy)) {
    rmSync(copy, { recursive: true, force: true });
    const partial = mkdtempSync(path.join(tmpdir(), `${name}.partial-`));
    cpSync(installation, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755); // mkdtemp made it 0700
    renameSync(partial, copy);
  }
  if (unreachableFolder(path.join(copy, 'bin'), ids) !== undefined) {
    throw new RegistryDbError('internal', 'BINARIES_UNREACHABLE', `The PostgreSQL binaries in ${installation} cannot be reached by the postgres OS user, nor a copy in ${tmpdir()}.`, {
      hint: 'Install the package in a folder others may enter (chmod o+x on each folder above it), or run as a user other than root.',
    });
  }
  return path.join(copy, 'bin');
}

/** A copy made by an earlier run: owned by root and writable by nobody else. */
function trustedCopy(copy: string): boolean {
  const stats = lstatSync(copy);
  return stats.isDirectory() && stats.uid === 0 && (stats.mode & 0o022) === 0 && existsSync(path.join(copy, 'bin', 'postgres'));
}
