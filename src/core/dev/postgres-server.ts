import type { ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryDbError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { builtin } from '../runtime/import-external.js';
import { reachableInstallation, serverIds, unreachableFolder, type OsIds } from './os-user.js';
import { diagnoseStartFailure, portInUseError } from './start-failures.js';

/**
 * A PostgreSQL server of our own, from a folder of its binaries: `dev`'s embedded server, and
 * the throwaway servers of the tests and benchmarks. initdb where the data folder is new,
 * `postgres` on a loopback port, a clear error for each way that can fail, and nothing left
 * behind but a data folder the caller asked to keep.
 */
export interface PostgresServerOptions {
  readonly binDir: string;
  /** An initialised cluster is started as it is; a new or empty folder is initialised. Default: a temporary folder. */
  readonly dataDir?: string;
  /** Keep the data folder on stop. Default: true for a given dataDir, false for the temporary one. */
  readonly keepData?: boolean;
  /** Default: a free port. */
  readonly port?: number;
  /** The superuser's password, set by initdb; logins use scram-sha-256. */
  readonly superuserPassword: string;
  /** Also listen on a Unix socket, in a folder of its own. Default: TCP on 127.0.0.1 only. */
  readonly unixSocket?: boolean;
  /** More server settings (passed as -c, so a kept data folder is never edited by them). */
  readonly conf?: Readonly<Record<string, string>>;
  /** Lines put at the top of pg_hba.conf when the cluster is initialised (the first match wins). */
  readonly hbaLines?: readonly string[];
  /** No durability (fsync, full_page_writes, synchronous_commit off): for tests and benchmarks. */
  readonly throwaway?: boolean;
  readonly logger?: Logger;
  readonly startTimeoutMs?: number;
}

export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly superuser: 'postgres';
  readonly dataDir: string;
  /** With unixSocket: the socket's folder. */
  readonly socketDir?: string;
  /** The binaries that run (a reachable copy, when root could not reach the ones given). */
  readonly binDir: string;
  readonly majorVersion: number;
  /** The server's log (stderr), kept while it runs. */
  readonly logFile: string;
  /** Whether this start ran initdb. */
  readonly initialised: boolean;
  stop(): Promise<void>;
}

const THROWAWAY_CONF = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

function childProcess(): typeof import('node:child_process') {
  return builtin<typeof import('node:child_process')>('node:child_process');
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether something already listens on 127.0.0.1:port (checked before anything is created). */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' || error.code === 'EACCES'));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

export function majorVersionOf(binDir: string): number {
  const out = childProcess().spawnSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) {
    throw new RegistryDbError('internal', 'BINARIES_BROKEN', `${path.join(binDir, 'postgres')} does not run: ${out.error?.message ?? out.stderr.trim()}.`, {
      hint: 'Reinstall the package (npm ci) so that its PostgreSQL binaries and their library links are in place.',
    });
  }
  return Number(/(\d+)(?:\.\d+)?/.exec(out.stdout)?.[1] ?? 0);
}

export async function startPostgres(options: PostgresServerOptions): Promise<PostgresServer> {
  const logger = options.logger ?? silentLogger;
  const ids = serverIds();
  const binDir = (ids && reachableInstallation(options.binDir, ids)) ?? path.resolve(options.binDir);
  const majorVersion = majorVersionOf(binDir);
  if (options.port !== undefined && (await portTaken(options.port))) throw portInUseError(options.port);
  const port = options.port ?? (await freePort());
  const workDir = ownedTempDir('tofu-registry-db-pg-', ids);
  const dataDir = path.resolve(options.dataDir ?? path.join(workDir, 'data'));
  const keepData = options.keepData ?? options.dataDir !== undefined;
  let child: ChildProcess | undefined;
  const cleanUp = (): void => {
    rmSync(workDir, { recursive: true, force: true });
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const initialised = prepareDataDir(dataDir, majorVersion, ids);
    if (initialised) initialise({ ...options, binDir, dataDir, workDir, ids, logger });
    const socketDir = options.unixSocket ? ownedFolder(path.join(workDir, 'sock'), ids) : undefined;
    const logFile = path.join(workDir, 'server.log');
    writeFileSync(logFile, '');
    const conf: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: socketDir ?? '',
      ...(options.throwaway ? THROWAWAY_CONF : {}),
      ...options.conf,
    };
    logger.step(`Starting PostgreSQL ${majorVersion} on 127.0.0.1:${port}`);
    child = await runServer(binDir, dataDir, conf, { ids, logFile, logger, timeoutMs: options.startTimeoutMs ?? 60_000, port });
    return served({ port, dataDir, socketDir, binDir, majorVersion, logFile, initialised, child, cleanUp });
  } catch (error) {
    if (child) await stopChild(child);
    cleanUp();
    throw error;
  }
}

function served(server: Omit<PostgresServer, 'host' | 'superuser' | 'stop'> & { child: ChildProcess; cleanUp: () => void }): PostgresServer {
  const { child, cleanUp, ...facts } = server;
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    superuser: 'postgres',
    ...facts,
    stop() {
      stopped ??= stopChild(child).then(cleanUp);
      return stopped;
    },
  };
}

/** A temporary folder the server's OS user owns (root's own would be closed to it). */
function ownedTempDir(prefix: string, ids: OsIds | undefined): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (ids) chownSync(dir, ids.uid, ids.gid);
  return dir;
}

function ownedFolder(dir: string, ids: OsIds | undefined): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(dir, ids.uid, ids.gid);
  return dir;
}

/**
 * Checks the data folder before anything starts. True when it needs initdb (new or empty);
 * false for a cluster of the same major version. Anything else is said as what it is.
 */
function prepareDataDir(dataDir: string, majorVersion: number, ids: OsIds | undefined): boolean {
  const blocked = ids && unreachableFolder(path.dirname(dataDir), ids);
  if (blocked) {
    throw new RegistryDbError('usage', 'DATA_DIR_UNREACHABLE', `${dataDir} is inside ${blocked}, which the postgres OS user cannot enter.`, {
      hint: 'Running as root, the server runs as the "postgres" user: choose a data folder it can reach (e.g. under /var/tmp or /srv), or let dev use a temporary one.',
    });
  }
  if (!existsSync(dataDir)) {
    ownedFolder(dataDir, ids);
    return true;
  }
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const clusterVersion = Number(readFileSync(versionFile, 'utf8').trim());
    if (clusterVersion !== majorVersion) {
      throw new RegistryDbError('usage', 'DATA_DIR_VERSION', `${dataDir} holds a PostgreSQL ${clusterVersion} cluster, and these binaries are PostgreSQL ${majorVersion}.`, {
        hint: `Give another data folder, or dump and restore the data (pg_dump with a PostgreSQL ${clusterVersion} server).`,
      });
    }
    return false;
  }
  const entries = readdirFolder(dataDir);
  if (entries.length > 0) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
    throw new RegistryDbError('usage', 'DATA_DIR_NOT_EMPTY', `${dataDir} is not empty (${shown}) and holds no PostgreSQL cluster: initdb needs an empty folder.`, {
      hint: 'Give a new or empty folder, or one made by an earlier run.',
    });
  }
  if (ids) chownSync(dataDir, ids.uid, ids.gid);
  return true;
}

function readdirFolder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    throw new RegistryDbError('usage', 'DATA_DIR_UNUSABLE', `${dir} cannot be used as a data folder: ${(error as Error).message}.`, {
      hint: 'Give a folder (new or empty), or one made by an earlier run.',
    });
  }
}

function initialise(options: PostgresServerOptions & { binDir: string; dataDir: string; workDir: string; ids: OsIds | undefined; logger: Logger }): void {
  options.logger.step(`Initialising PostgreSQL in ${options.dataDir}`);
  const pwfile = path.join(options.workDir, 'pw');
  writeFileSync(pwfile, options.superuserPassword + '\n', { mode: 0o600 });
  if (options.ids) chownSync(pwfile, options.ids.uid, options.ids.gid);
  const args = ['-D', options.dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', ...(options.throwaway ? ['--no-sync'] : [])];
  const result = childProcess().spawnSync(path.join(options.binDir, 'initdb'), args, { encoding: 'utf8', ...(options.ids ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  rmSync(pwfile, { force: true });
  if (result.status !== 0) {
    const output = `${result.error?.message ?? ''}${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new RegistryDbError('internal', 'INITDB_FAILED', `initdb failed in ${options.dataDir}: ${output.split('\n').slice(-3).join(' ')}`, {
      hint: 'Check that the folder is writable and the disk has space; --verbose shows the whole output.',
    });
  }
  if (options.hbaLines?.length) {
    const hbaFile = path.join(options.dataDir, 'pg_hba.conf');
    writeFileSync(hbaFile, options.hbaLines.join('\n') + '\n' + readFileSync(hbaFile, 'utf8'));
  }
}

interface RunOptions {
  readonly ids: OsIds | undefined;
  readonly logFile: string;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly port: number;
}

/** Starts `postgres` and waits until it accepts connections; its failure is diagnosed from its log. */
async function runServer(binDir: string, dataDir: string, conf: Readonly<Record<string, string>>, options: RunOptions): Promise<ChildProcess> {
  const args = ['-D', dataDir, ...Object.entries(conf).flatMap(([key, value]) => ['-c', `${key}=${value}`])];
  const child = childProcess().spawn(path.join(binDir, 'postgres'), args, {
    ...(options.ids ?? {}),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let log = '';
  const record = (chunk: Buffer): void => {
    const text = chunk.toString();
    appendFileSync(options.logFile, text);
    options.logger.debug(text.trimEnd());
    log += text;
  };
  child.stderr!.on('data', record);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(diagnoseStartFailure(log, options.port, `it did not accept connections within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    const ready = (): void => {
      // "read only" before PostgreSQL 14, "read-only" since.
      if (!/ready to accept (read[- ]only )?connections/.test(log)) return;
      clearTimeout(timer);
      child.stderr!.off('data', ready);
      resolve();
    };
    child.stderr!.on('data', ready);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(diagnoseStartFailure(log, options.port, error.message));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(diagnoseStartFailure(log, options.port, `it exited (${signal ?? `code ${code}`})`));
    });
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('error', () => undefined);
  log = ''; // from here on only the log file keeps it
  child.stderr!.off('data', record);
  child.stderr!.on('data', (chunk: Buffer) => {
    appendFileSync(options.logFile, chunk);
    options.logger.debug(chunk.toString().trimEnd());
  });
  return child;
}

/** Fast shutdown (SIGINT), then SIGKILL after 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
