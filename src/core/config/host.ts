import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/** A host that is a Unix-socket directory, as libpq reads it: it starts with a slash. */
export function isSocketHost(host: string): boolean {
  return host.startsWith('/');
}

/** The host as the network layer wants it: IPv6 without brackets. */
export function networkHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** Host names, IP addresses (v4, v6, optionally bracketed) or a Unix-socket directory. */
export function checkHost(host: string, origin: string): void {
  if (isSocketHost(host)) {
    if (/[\x00-\x1f]/.test(host)) throw new ConfigError(`${origin} contains control characters.`);
    return;
  }
  if (host.length === 0 || host.length > 253 || !/^(\[[0-9A-Fa-f:.%a-z]+\]|[A-Za-z0-9._:%-]+)$/.test(host)) {
    throw new ConfigError(
      `${origin} ${describe(host)} is not a host name, IP address or socket directory.`,
      'Examples: localhost, db.example.com, 10.0.0.5, ::1, /var/run/postgresql.',
    );
  }
}

/** The one port parser: 1-65535, digits only. `origin` names where the text came from (a variable, a flag). */
export function parsePort(text: string, origin: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError(`${origin} ${describe(text)} is not a port number (1-65535).`);
  }
  return port;
}

/** A server in words, for messages: "db.example.com:5432", or "the socket in /run/postgresql (port 5432)". */
export function describeServer(host: string, port: number | undefined): string {
  if (port === undefined) return isSocketHost(host) ? `the socket in ${host}` : host;
  return isSocketHost(host) ? `the socket in ${host} (port ${port})` : `${host}:${port}`;
}

/** One server of a host list. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * A host list as libpq reads it: `db1,db2,/run/postgresql` with one port for all or one per
 * host (`5432,5433,`; an empty entry is the default port). An empty host is the default host.
 */
export function parseEndpoints(hostText: string, hostOrigin: string, portText: string | undefined, portOrigin: string, defaults: Endpoint): Endpoint[] {
  // A variable set to nothing at all is a mistake (TOFU_REGISTRY_DB_HOST=$UNSET in a CI job), not "the default".
  if (hostText.trim() === '') checkHost('', hostOrigin);
  if (portText !== undefined && portText.trim() === '') parsePort('', portOrigin);
  const hosts = hostText.split(',').map((h) => h.trim());
  const ports = portText === undefined ? [] : portText.split(',').map((p) => p.trim());
  if (ports.length > 1 && ports.length !== hosts.length) {
    throw new ConfigError(`${portOrigin} gives ${ports.length} ports for the ${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'} of ${hostOrigin}.`, portCountHint(hostOrigin, portOrigin, hosts.length), 'CONFIG_INVALID');
  }
  return hosts.map((raw, i) => {
    const host = raw === '' ? defaults.host : raw;
    checkHost(host, hosts.length > 1 ? `${hostOrigin} (host ${i + 1})` : hostOrigin);
    const portEntry = ports.length === 1 ? ports[0]! : (ports[i] ?? '');
    return { host, port: portEntry === '' ? defaults.port : parsePort(portEntry, ports.length > 1 ? `${portOrigin} (port ${i + 1})` : portOrigin) };
  });
}

/** libpq's rule (one port for all hosts, or one per host), said as the fix for where the two lists came from. */
function portCountHint(hostOrigin: string, portOrigin: string, hostCount: number): string {
  const rule = 'libpq\'s rule: one port for all hosts, or one per host';
  if (hostOrigin === '--host' && portOrigin !== '--port') {
    return `--host replaces the host list but not the ports of ${portOrigin}: add --port with ${hostCount === 1 ? 'the port' : `one port, or ${hostCount} (one per host)`} (${rule}).`;
  }
  if (portOrigin === '--port' && hostOrigin !== '--host') {
    return `Give --port one port (used for every host) or ${hostCount} (one per host), or add --host with as many hosts as ports (${rule}).`;
  }
  return `Give one port for all hosts, or one per host (${rule}).`;
}

/** Servers a host list names more than once (a port given for all hosts that differed only by port): for a note. */
export function repeatedEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  const repeated = new Map<string, Endpoint>();
  for (const e of endpoints) {
    const key = `${e.host}\0${e.port}`;
    if (seen.has(key)) repeated.set(key, e);
    seen.add(key);
  }
  return [...repeated.values()];
}

/** A host list back in libpq's form, for the env file and messages: hosts and ports as two lists (one port when all share it). */
export function formatEndpoints(endpoints: readonly Endpoint[]): { host: string; port: string } {
  const ports = endpoints.map((e) => String(e.port));
  return { host: endpoints.map((e) => e.host).join(','), port: ports.every((p) => p === ports[0]) ? ports[0]! : ports.join(',') };
}
