import { connect as netConnect, type Socket } from 'node:net';
import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { isSocketHost, networkHost } from '../config/host.js';

/** Loopback traffic never leaves the machine, so an unencrypted connection there is no risk. */
export function isLoopback(host: string, addresses: readonly string[] = []): boolean {
  const plain = networkHost(host);
  if (isSocketHost(plain) || plain === 'localhost' || isLoopbackAddress(plain)) return true;
  return addresses.length > 0 && addresses.every(isLoopbackAddress);
}

function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

/** The socket file of a Unix-socket directory and port, as libpq builds it. */
export function socketPath(directory: string, port: number): string {
  return path.join(directory, `.s.PGSQL.${port}`);
}

/** Where a connection goes: host:port, or the socket file. */
export function endpoint(settings: Pick<Settings, 'host' | 'port'>): string {
  return isSocketHost(settings.host) ? socketPath(settings.host, settings.port) : `${settings.host}:${settings.port}`;
}

/** Where a failure of the network checks was aimed, and where the host and port came from, for toRegistryDbError's messages and hints. */
export function errorContext(settings: Settings) {
  return { host: settings.host, port: settings.port, sslMode: settings.sslMode, origins: { host: settings.origins.host, port: settings.origins.port } };
}

/** Rejects after `ms` with a Node-style ETIMEDOUT error, which pg-errors maps to "no answer". */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A plain socket to the server, the same way pg opens one. */
export function openSocket(settings: Pick<Settings, 'host' | 'port' | 'connectTimeoutMs'>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = isSocketHost(settings.host)
      ? netConnect({ path: socketPath(settings.host, settings.port) })
      : netConnect({ host: networkHost(settings.host), port: settings.port });
    socket.setTimeout(settings.connectTimeoutMs, () => {
      socket.destroy(Object.assign(new Error(`no answer within ${settings.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    });
    socket.once('connect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
