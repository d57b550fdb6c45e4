import { connect as netConnect } from 'node:net';
import type { Client } from 'pg';
import { isSocketHost } from '../config/host.js';
import { onInterrupt } from '../runtime/critical-section.js';
import { socketPath } from './network.js';

/** Sessions logged in and not closed yet: an interrupt cancels what they still run. */
const openClients = new Set<Client>();
onInterrupt(cancelRunningQueries);

/** A session that logged in: cancelled on an interrupt until it is closed. */
export function trackOpenClient(client: Client): void {
  openClients.add(client);
  client.once('end', () => openClients.delete(client));
}

export function untrackClient(client: Client): void {
  openClients.delete(client);
}

interface ClientInternals {
  readonly host: string;
  readonly port: number;
  readonly processID: number | null;
  readonly secretKey: number | null;
  readonly _activeQuery?: unknown;
}

/**
 * Asks the server to cancel the statements our sessions are running, as psql does on Ctrl-C:
 * a process that simply exits leaves its backend running the statement (pg_sleep, a table
 * rewrite) with its locks, until the statement ends or the statement timeout strikes. The
 * CancelRequest goes over a new, plain connection (the server does not authenticate it; it
 * needs the session's secret key) and is answered by the server closing it.
 */
async function cancelRunningQueries(): Promise<void> {
  const busy = [...openClients].filter((client) => {
    const c = client as unknown as ClientInternals;
    return c.processID !== null && c.secretKey !== null && c._activeQuery != null;
  });
  await Promise.all(busy.map((client) => sendCancelRequest(client as unknown as ClientInternals)));
}

function sendCancelRequest(client: ClientInternals): Promise<void> {
  return new Promise((resolve) => {
    const request = Buffer.alloc(16);
    request.writeInt32BE(16, 0);
    request.writeInt32BE(80877102, 4); // the CancelRequest code
    request.writeInt32BE(client.processID!, 8);
    request.writeInt32BE(client.secretKey!, 12);
    const socket = isSocketHost(client.host) ? netConnect(socketPath(client.host, client.port)) : netConnect(client.port, client.host);
    socket.once('connect', () => socket.end(request));
    socket.once('error', () => resolve());
    socket.once('close', () => resolve());
    socket.resume(); // the server answers nothing; it closes the connection
  });
}
