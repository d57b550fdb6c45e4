import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { builtin } from '../runtime/import-external.js';
import { failed, notApplicable, passed, type CheckOutcome, type CheckState } from './check.js';

/** The host as the network layer wants it: IPv6 without brackets. */
export function networkHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

export function isSocketHost(host: string): boolean {
  return host.startsWith('/');
}

/** Loopback traffic never leaves the machine, so an unencrypted connection there is no risk. */
export function isLoopback(host: string, addresses: readonly string[] = []): boolean {
  const plain = networkHost(host);
  if (isSocketHost(plain) || plain === 'localhost' || isLoopbackAddress(plain)) return true;
  return addresses.length > 0 && addresses.every(isLoopbackAddress);
}

function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

export function endpoint(settings: Settings): string {
  return isSocketHost(settings.host) ? socketPath(settings) : `${settings.host}:${settings.port}`;
}

function socketPath(settings: Settings): string {
  return `${settings.host.replace(/\/+$/, '')}/.s.PGSQL.${settings.port}`;
}

export function errorContext(settings: Settings) {
  return { host: settings.host, port: settings.port, sslMode: settings.sslMode };
}

/** Rejects after `ms` with a Node-style ETIMEDOUT error, which pg-errors maps to "no answer". */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function checkDns(state: CheckState): Promise<CheckOutcome> {
  const { settings } = state;
  const host = networkHost(settings.host);
  if (isSocketHost(host)) return notApplicable(`not needed: ${settings.host} is a Unix-socket directory`);
  if (isIP(host)) return notApplicable(`not needed: ${host} is an IP address`);
  try {
    const found = await withTimeout(builtin<typeof import('node:dns/promises')>('node:dns/promises').lookup(host, { all: true, verbatim: true }), settings.connectTimeoutMs, `resolving ${host}`);
    state.addresses = found.map((entry) => entry.address);
    return passed(`${host} resolves to ${state.addresses.join(', ')}`, { addresses: state.addresses });
  } catch (error) {
    const failure = toRegistryDbError(error, errorContext(settings));
    return failed(failure, `resolve "${host}" with the system resolver (getaddrinfo)`);
  }
}

/** A plain socket to the server, the same way pg opens one. */
export function openSocket(settings: Settings): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = isSocketHost(settings.host)
      ? netConnect({ path: socketPath(settings) })
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

export async function checkTcp(state: CheckState): Promise<CheckOutcome> {
  const { settings } = state;
  const target = endpoint(settings);
  try {
    const socket = await openSocket(settings);
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined;
    socket.destroy();
    return passed(`${target} accepts connections`, remote ? { remoteAddress: remote } : { socket: target });
  } catch (error) {
    const failure = toRegistryDbError(error, errorContext(settings));
    const how = isSocketHost(settings.host) ? `connect to the Unix socket ${target}` : `open a TCP connection to ${target}`;
    return failed(failure, `${how} (timeout ${settings.connectTimeoutMs / 1000} s)`);
  }
}
