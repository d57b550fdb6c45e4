import type { ClientConfig } from 'pg';
import { quoteLiteral } from '../sql/quote.js';

/**
 * How both ends notice a network path that went silent (a partition, an expired NAT or firewall
 * entry) instead of waiting for ever, all derived from one setting, the network timeout T
 * (TOFU_REGISTRY_DB_NETWORK_TIMEOUT): the client's TCP keepalives, and for the server, the
 * settings each of the tool's transactions takes with SET LOCAL. SET LOCAL, because a session
 * setting would outlive the transaction on a pooled server connection (PgBouncer in transaction
 * mode) and change other clients' sessions; and not the startup packet's `options`, which poolers
 * refuse or ignore. The client-side deadline is db/liveness.ts.
 */

/**
 * TCP keepalives on the client's socket: probes after T/2 of idleness. libuv then probes every
 * second, 10 times (Node sets TCP_KEEPINTVL and TCP_KEEPCNT itself), so a peer that vanished
 * without a word is noticed about T/2 + 10 s later, even while a statement's answer is awaited.
 * (They only see the next hop: a pooler or proxy answers them for a server behind it.)
 */
export function clientKeepAlive(networkTimeoutMs: number): Pick<ClientConfig, 'keepAlive' | 'keepAliveInitialDelayMillis'> {
  return { keepAlive: true, keepAliveInitialDelayMillis: Math.max(1000, Math.round(networkTimeoutMs / 2)) };
}

/** The server's side of T, as setting → value (seconds or milliseconds, as PostgreSQL reads a bare number). */
export function serverTimeoutSettings(networkTimeoutMs: number): Readonly<Record<string, string>> {
  const seconds = Math.max(1, Math.ceil(networkTimeoutMs / 1000));
  return {
    // A transaction of the tool's that waits for a client that went silent ends after T: its
    // locks (the migration lock among them) are released and its work rolled back.
    idle_in_transaction_session_timeout: String(Math.max(1000, networkTimeoutMs)),
    // Keepalives from the server: probes after T/2, then 5 more T/10 apart, so a client that is
    // gone is noticed within about T (the value applies to this session's socket at once).
    tcp_keepalives_idle: String(Math.max(1, Math.ceil(seconds / 2))),
    tcp_keepalives_interval: String(Math.max(1, Math.ceil(seconds / 10))),
    tcp_keepalives_count: '5',
    // PostgreSQL 14+: a statement that runs for a client that is gone is cancelled (checked every T/10).
    client_connection_check_interval: String(Math.max(1000, Math.round(networkTimeoutMs / 10))),
  };
}

/**
 * One statement that gives the current transaction the server-side timeouts (set_config with
 * is_local = true is SET LOCAL). client_connection_check_interval only where the server has it.
 */
export function transactionNetworkTimeoutsSql(networkTimeoutMs: number, local = true): string {
  const settings = Object.entries(serverTimeoutSettings(networkTimeoutMs)).map(([name, value]) => {
    const set = `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, ${local})`;
    return name === 'client_connection_check_interval' ? `CASE WHEN current_setting(${quoteLiteral(name)}, true) IS NOT NULL THEN ${set} END` : set;
  });
  return `SELECT ${settings.join(',\n       ')}`;
}

/** The settings sessionNetworkTimeoutsSql sets, for RESET once the session is done with them. */
export const SESSION_TIMEOUT_NAMES = ['statement_timeout', 'lock_timeout', ...Object.keys(serverTimeoutSettings(30_000))] as const;

/**
 * The same, for the session, with the statement and lock timeouts: for statements that must
 * run outside a transaction, on a session known to be the tool's own (never a pooled one).
 */
export function sessionNetworkTimeoutsSql(timeouts: { readonly networkTimeoutMs: number; readonly statementTimeoutMs: number; readonly lockTimeoutMs: number }): string {
  return [
    `SET statement_timeout = ${Math.round(timeouts.statementTimeoutMs)}`,
    `SET lock_timeout = ${Math.round(timeouts.lockTimeoutMs)}`,
    transactionNetworkTimeoutsSql(timeouts.networkTimeoutMs, false),
  ].join(';\n');
}

/**
 * Undoes sessionNetworkTimeoutsSql: the session goes back to its defaults. Through pg_settings, so
 * that a setting the server does not have (client_connection_check_interval before 14) is skipped.
 */
export function resetSessionTimeoutsSql(): string {
  return `SELECT set_config(name, reset_val, false) FROM pg_settings WHERE name IN (${SESSION_TIMEOUT_NAMES.map((name) => quoteLiteral(name)).join(', ')})`;
}
