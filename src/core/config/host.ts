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
