import type { Endpoint } from '../config/host.js';
import { settingsForRole, type Settings } from '../config/settings.js';
import { adminPasswordProvider, writeTarget } from '../db/admin-connection.js';
import { connect, disconnect } from '../db/connection.js';
import type { CoreContext } from '../db/context.js';
import { RegistryDbError } from '../errors.js';

/**
 * test-connection with a host list: which server of it a client configured this way reaches
 * (libpq's order and target_session_attrs), and why the others were passed over. The ten checks
 * then examine that server; the list is part of the report.
 */
export interface HostReport {
  readonly host: string;
  readonly port: number;
  /** "connected", or why it was passed over. */
  readonly outcome: string;
  readonly chosen: boolean;
}

export interface HostChoice {
  /** The settings narrowed to the one server the checks examine. */
  readonly settings: Settings;
  readonly hosts: readonly HostReport[];
}

export async function chooseHost(context: CoreContext, role: 'app' | 'admin'): Promise<HostChoice> {
  const settings = settingsForRole(context.settings, role);
  const database = role === 'admin' ? settings.admin.database : settings.database;
  let target = settings.targetSessionAttrs;
  if (role === 'admin') target = safely(() => writeTarget(settings)) ?? target;
  let chosen: Endpoint;
  let passed: ReadonlyArray<{ host: string; port: number; outcome: string }>;
  try {
    const connection = await connect(settings, { role, database, target, passwordProvider: role === 'admin' ? adminPasswordProvider(context, database) : undefined });
    await disconnect(connection);
    chosen = connection.endpoint;
    passed = connection.attempts.map((a) => ({ ...a.endpoint, outcome: a.outcome }));
  } catch (error) {
    if (!(error instanceof RegistryDbError)) throw error;
    // Nothing qualified: examine the first server that answered (else the first of the list), so
    // the checks explain what is wrong with it; the report says what became of the others.
    passed = (error.data?.hosts as Array<{ host: string; port: number; outcome: string }> | undefined) ?? [];
    const answered = passed.find((a) => !/refused|resolve|no answer|timeout|closed the connection|socket/i.test(a.outcome));
    chosen = answered ?? settings.hosts[0]!;
  }
  // A server the list names again (a --port given for hosts that differed only by port) is reported once.
  const firstOf = (e: Endpoint) => settings.hosts.findIndex((h) => h.host === e.host && h.port === e.port);
  const chosenIndex = firstOf(chosen);
  const hosts = settings.hosts.map((e, i) => {
    if (firstOf(e) !== i) return { ...e, chosen: false, outcome: `the same server as host ${firstOf(e) + 1}, listed again` };
    const attempt = passed.find((a) => a.host === e.host && a.port === e.port);
    const isChosen = i === chosenIndex;
    return { ...e, chosen: isChosen, outcome: attempt?.outcome ?? (isChosen ? 'connected' : 'not tried') };
  });
  return { settings: { ...settings, hosts: [chosen], host: chosen.host, port: chosen.port }, hosts };
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
