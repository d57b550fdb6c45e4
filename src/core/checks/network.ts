import { isIP } from 'node:net';
import { toRegistryDbError } from '../db/pg-errors.js';
import { builtin } from '../runtime/import-external.js';
import { failed, notApplicable, passed, type CheckOutcome, type CheckState } from './check.js';
import { isSocketHost, networkHost } from '../config/host.js';
import { endpoint, errorContext, openSocket, withTimeout } from '../db/network.js';

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
