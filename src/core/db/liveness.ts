import type { Socket } from 'node:net';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { closeClient, type Connection } from './connection.js';

/**
 * The client-side deadline: a connection that stays silent while the tool waits for an answer
 * is checked, and given up when the check says the answer will not come. A plain deadline per
 * statement cannot tell a dead path from a long statement (a migration may rightly run for
 * minutes), and TCP keepalives see only the next hop (a pooler or proxy answers them), so after
 * T of silence (TOFU_REGISTRY_DB_NETWORK_TIMEOUT) the watchdog asks the server over a new
 * connection whether our session is still running a statement:
 * - the new connection cannot be opened either: the server is unreachable → lost;
 * - directly connected, our backend (by its pid) is not running a statement (gone, or done and
 *   waiting for us while its answer was lost) → lost; running → wait, and ask again after T;
 * - through a pooler our backend's pid is unknown: a backend of ours running our statement's text
 *   → wait; none → lost; the check waiting itself (no free server connection) → no verdict.
 * A lost connection is reset (so nothing queued in it is delivered later) and every statement on
 * it fails with CONNECTION_LOST (exit 3). The server's side is db/network-timeouts.ts.
 */

export interface LivenessOptions {
  readonly networkTimeoutMs: number;
  /** A fresh, unwatched connection to the same server and database, as the same role. */
  readonly probe: () => Promise<Connection>;
  readonly logger: Logger;
  /** The server in words, for the message. */
  readonly server: string;
}

interface ClientInternals {
  readonly processID: number | null;
  readonly _activeQuery?: { readonly text?: string } | null;
  readonly _queryQueue?: readonly unknown[];
  readonly connection: { readonly stream: Socket; emit(event: 'error', error: unknown): boolean };
}

type Verdict = { readonly lost: false } | { readonly lost: true; readonly reason: string };
const ALIVE: Verdict = { lost: false };

/** Whether the server still runs our statement: see the comment at the top. */
const PROBE_SQL = `SELECT pg_backend_pid() AS probe_pid,
       (SELECT state FROM pg_stat_activity WHERE pid = $1) AS state,
       EXISTS (SELECT 1 FROM pg_stat_activity
                WHERE usename = current_user AND state = 'active' AND pid <> pg_backend_pid()
                  AND starts_with(query, $2)) AS running`;

/** Watches a connection until it ends. */
export function watchConnection(connection: Connection, options: LivenessOptions): void {
  const client = connection.client as unknown as ClientInternals;
  const stream = client.connection.stream;
  let lastHeard = Date.now();
  let nextCheck = 0;
  let checking = false;
  const heard = (): void => {
    lastHeard = Date.now();
  };
  stream.on('data', heard);
  const tick = setInterval(() => {
    const now = Date.now();
    // Silence counts only while an answer is awaited: an idle session owes us nothing.
    if (client._activeQuery == null && (client._queryQueue?.length ?? 0) === 0) lastHeard = now;
    nextCheck = Math.max(nextCheck, lastHeard + options.networkTimeoutMs);
    if (checking || now < nextCheck) return;
    checking = true;
    const silentFor = Math.round((now - lastHeard) / 1000);
    options.logger.debug(`no answer from ${options.server} for ${silentFor} s: asking the server over a new connection whether the statement still runs`);
    void checkSession(client, options)
      .then((verdict) => {
        // An answer that arrived meanwhile settles it; a session still at work is asked again after T.
        if (verdict.lost && lastHeard <= now) abandonConnection(connection, lostError(options, silentFor, verdict.reason));
        else nextCheck = Date.now() + options.networkTimeoutMs;
      })
      .finally(() => {
        checking = false;
      });
  }, Math.max(100, Math.min(1000, options.networkTimeoutMs / 4)));
  tick.unref();
  connection.client.once('end', () => {
    clearInterval(tick);
    stream.off('data', heard);
  });
}

async function checkSession(client: ClientInternals, options: LivenessOptions): Promise<Verdict> {
  let probe: Connection;
  try {
    probe = await options.probe();
  } catch (error) {
    // Any answer from the server (a password prompt, a full server) means it can be reached.
    if (error instanceof RegistryDbError && error.errorClass === 'unreachable') return { lost: true, reason: `a new connection failed too (${error.message.replace(/\.$/, '')})` };
    return ALIVE;
  }
  try {
    const text = client._activeQuery?.text ?? '';
    const query = probe.client.query<{ probe_pid: number; state: string | null; running: boolean }>(PROBE_SQL, [client.processID, text.slice(0, 200)]);
    const answer = await withDeadline(query, options.networkTimeoutMs);
    if (!answer) return ALIVE; // the check is stuck too (a pooler without a free server connection): no verdict
    const row = answer.rows[0]!;
    const direct = row.probe_pid === (probe.client as unknown as ClientInternals).processID;
    if (direct) {
      if (row.state === 'active') return ALIVE;
      return { lost: true, reason: row.state === null ? 'the server has no session for it any more' : `the server's session is ${row.state}: its answer was lost` };
    }
    if (row.running) return ALIVE;
    return { lost: true, reason: 'no session of ours on the server is running the statement (its answer was lost)' };
  } catch {
    return ALIVE; // the check failed on its own: no verdict, ask again later
  } finally {
    await closeClient(probe.client);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  promise.catch(() => undefined);
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function lostError(options: LivenessOptions, silentFor: number, reason: string): RegistryDbError {
  return new RegistryDbError(
    'unreachable',
    'CONNECTION_LOST',
    `No answer from ${options.server} for ${silentFor} s while waiting for a statement, and ${reason}: the network path went silent (a partition, or a firewall or NAT that dropped the connection).`,
    {
      hint:
        `Check the network path to the server. The server ends a transaction of this tool's that hears nothing from it within TOFU_REGISTRY_DB_NETWORK_TIMEOUT (${Math.round(options.networkTimeoutMs / 1000)} s), ` +
        'releasing its locks; run the command again: every step is idempotent. See "Failures and recovery" in the documentation.',
      cause: 'ETIMEDOUT',
    },
  );
}

/**
 * Fails every statement on the connection with `error`, then resets the socket: for a connection
 * that must not be used any more (its path is dead, or what it runs lost its right to run).
 */
export function abandonConnection(connection: Connection, error: RegistryDbError): void {
  const client = connection.client as unknown as ClientInternals;
  const stream = client.connection.stream;
  if (stream.destroyed) return;
  client.connection.emit('error', error);
  try {
    // A reset, not a FIN: whatever is still queued in the socket (a COMMIT) must never arrive later.
    stream.resetAndDestroy();
  } catch {
    stream.destroy(); // a TLS stream has no reset of its own
  }
}
