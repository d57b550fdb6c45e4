import type { Client } from 'pg';

/** The run-time parameters each session's server reported (ParameterStatus messages). */
const reportedParameters = new WeakMap<Client, Map<string, string>>();

/** Starts recording what the server reports, before the client connects (the login's reports count). */
export function watchParameters(client: Client): void {
  const parameters = new Map<string, string>();
  reportedParameters.set(client, parameters);
  (client as unknown as { connection: { on(event: 'parameterStatus', listener: (message: { parameterName: string; parameterValue: string }) => void): void } }).connection.on(
    'parameterStatus',
    (message) => parameters.set(message.parameterName, message.parameterValue),
  );
}

/**
 * A parameter the server reported at login or since (server_version, in_hot_standby on
 * PostgreSQL 14+, …): known without a query. Undefined when it was not reported (an older
 * server, or a pooler that does not pass it on).
 */
export function reportedParameter(client: Client, name: string): string | undefined {
  return reportedParameters.get(client)?.get(name);
}
