import type { Client } from 'pg';
import { describeServer, type Endpoint } from '../config/host.js';
import type { Settings } from '../config/settings.js';
import type { TargetSessionAttrs } from '../config/variables.js';
import { RegistryDbError } from '../errors.js';
import { reportedParameter } from './parameters.js';

/**
 * libpq's target_session_attrs (PostgreSQL docs, "Parameter Key Words"): after logging in to a
 * host of the list, whether its server is the kind asked for. PostgreSQL 14+ reports
 * in_hot_standby and default_transaction_read_only at login, so most of the time no query is
 * needed; older servers, and poolers that do not pass the parameters on, are asked.
 */
export interface SessionKind {
  readonly matches: boolean;
  /** The server in words, for the host list's report: "a standby", "the primary", "read-only". */
  readonly description: string;
}

async function inRecovery(client: Client): Promise<boolean> {
  // "on" is confirmed: PgBouncer replays the value its first server reported (pgbouncer/pgbouncer#859)
  // and may still say "on" after a failover; "off" is trusted (the writes' own statements check again).
  if (reportedParameter(client, 'in_hot_standby') === 'off') return false;
  return (await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]!.standby;
}

async function readOnly(client: Client): Promise<boolean> {
  const standby = reportedParameter(client, 'in_hot_standby');
  const defaultReadOnly = reportedParameter(client, 'default_transaction_read_only');
  if (standby !== undefined && defaultReadOnly !== undefined) return standby === 'on' || defaultReadOnly === 'on';
  return (await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0]!.transaction_read_only === 'on';
}

export async function sessionKind(client: Client, target: TargetSessionAttrs): Promise<SessionKind> {
  switch (target) {
    case 'any':
      return { matches: true, description: 'a server' };
    case 'primary':
    case 'standby': {
      const standby = await inRecovery(client);
      return { matches: standby === (target === 'standby'), description: standby ? 'a standby' : 'the primary' };
    }
    case 'read-write':
    case 'read-only': {
      const ro = await readOnly(client);
      return { matches: ro === (target === 'read-only'), description: ro ? 'read-only (a standby, or default_transaction_read_only on)' : 'read-write' };
    }
    default:
      return { matches: true, description: 'a server' };
  }
}

function list(attempts: readonly { endpoint: Endpoint; outcome: string }[]): string {
  return attempts.map((a) => `${describeServer(a.endpoint.host, a.endpoint.port)}: ${a.outcome.replace(/\.$/, '')}`).join('; ');
}

/** A failure on one host of several: the same failure, with every host tried before it named. */
export function withAttempts(failure: RegistryDbError, attempts: readonly { endpoint: Endpoint; outcome: string }[], settings: Settings): RegistryDbError {
  if (settings.hosts.length === 1 || attempts.length <= 1) return failure;
  return failure.rewrap(`${failure.message} Hosts tried: ${list(attempts)}.`, { data: { hosts: attempts.map((a) => ({ ...a.endpoint, outcome: a.outcome })) } });
}

/** No host of the list was reachable, or none was the kind asked for. */
export function noServerMatches(settings: Settings, target: TargetSessionAttrs, attempts: readonly { endpoint: Endpoint; outcome: string; error?: RegistryDbError }[]): RegistryDbError {
  const reached = attempts.filter((a) => a.error === undefined);
  const data = { hosts: attempts.map((a) => ({ ...a.endpoint, outcome: a.outcome })) };
  if (reached.length === 0) {
    // No host let us in: the most telling failure (a server that answered, over one that did
    // not: a missing database says more than a refused connection), with every host named.
    const answered = attempts.find((a) => a.error && a.error.errorClass !== 'unreachable');
    const first = (answered ?? attempts[0]!).error!;
    if (answered) return first.rewrap(`${first.message} Hosts tried: ${list(attempts)}.`, { data });
    return first.rewrap(`No host of ${settings.origins.host ?? 'the host list'} could be reached: ${list(attempts)}.`, { data });
  }
  if (settings.hosts.length === 1 && target !== 'standby' && target !== 'read-only') {
    const { host, port } = attempts[0]!.endpoint;
    return new RegistryDbError('unreachable', 'READ_ONLY_STANDBY', `${describeServer(host, port)} is a read-only standby (pg_is_in_recovery() is true): provisioning and migrations need the primary.`, {
      hint: `Point ${settings.origins.host ?? 'TOFU_REGISTRY_DB_HOST'} at the primary (on a managed cluster, the writer endpoint), or give the cluster's hosts as a list (db1,db2,db3): the tool then finds the primary.`,
      data,
    });
  }
  const wanted = target === 'standby' || target === 'read-only' ? 'a standby (read-only)' : 'the primary (read-write)';
  return new RegistryDbError('unreachable', target === 'standby' || target === 'read-only' ? 'NO_STANDBY' : 'NO_PRIMARY', `None of the ${attempts.length} hosts is ${wanted}: ${list(attempts)}.`, {
    hint:
      target === 'standby' || target === 'read-only'
        ? 'Add a standby to the host list, or use target_session_attrs=any.'
        : 'A failover may be under way: retry with --wait <seconds>, which retries until a primary answers; or add the primary to the host list.',
    data,
  });
}
