import { buildConnectionUri } from '../config/conninfo.js';
import { DATABASE_URL, VARIABLES } from '../config/variables.js';

/**
 * The environment of `dev -- <command>`: the caller's, with every connection variable describing
 * the dev server, or removed. A DATABASE_URL or TOFU_REGISTRY_DB_URL of the shell's (production,
 * say) would otherwise reach the command unchanged, and a PGTARGETSESSIONATTRS or PGSERVICE
 * would send psql (or a client reading them) elsewhere.
 */

/** The tool's variables that choose no server and no login: kept as the caller set them. */
const NEUTRAL_TOOL_VARIABLES: ReadonlySet<string> = new Set([
  VARIABLES.applicationName,
  VARIABLES.lockTimeout,
  VARIABLES.statementTimeout,
  VARIABLES.connectTimeout,
  VARIABLES.networkTimeout,
]);

/**
 * libpq's connection variables (PostgreSQL 18's list) that choose a server, a login or how the
 * connection is made: removed unless set below. PGAPPNAME, PGCONNECT_TIMEOUT, PGCLIENTENCODING,
 * PGDATESTYLE, PGTZ and PGGEQO choose nothing of the kind and are kept; so are variables of
 * other programs that happen to start with PG (PGDATA).
 */
const LIBPQ_CONNECTION_VARIABLES: readonly string[] = [
  'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGPASSFILE', 'PGSERVICE', 'PGSERVICEFILE',
  'PGOPTIONS', 'PGREQUIREAUTH', 'PGCHANNELBINDING', 'PGTARGETSESSIONATTRS', 'PGLOADBALANCEHOSTS',
  'PGSSLMODE', 'PGREQUIRESSL', 'PGSSLNEGOTIATION', 'PGSSLCOMPRESSION', 'PGSSLCERT', 'PGSSLKEY', 'PGSSLCERTMODE',
  'PGSSLROOTCERT', 'PGSSLCRL', 'PGSSLCRLDIR', 'PGSSLSNI', 'PGREQUIREPEER', 'PGSSLMINPROTOCOLVERSION', 'PGSSLMAXPROTOCOLVERSION',
  'PGGSSENCMODE', 'PGKRBSRVNAME', 'PGGSSLIB', 'PGGSSDELEGATION', 'PGMINPROTOCOLVERSION', 'PGMAXPROTOCOLVERSION',
];

/**
 * Variables that pg reads from the process's environment by itself, past the settings the tool
 * gives it: the caller's PGOPTIONS (a search_path, say) would reach dev's own sessions on its own
 * server and put the schema elsewhere. `dev` removes them from its process before it connects.
 */
export const VARIABLES_PG_READS_ITSELF: readonly string[] = ['PGOPTIONS', 'PGCLIENT_ENCODING', 'PGREPLICATION', 'PGSSLNEGOTIATION', 'PGBINARY'];

export interface DevConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

/** Whether `key` may point a connection somewhere: the caller's value never reaches the command. */
function isConnectionVariable(key: string): boolean {
  if (key === DATABASE_URL || LIBPQ_CONNECTION_VARIABLES.includes(key)) return true;
  return key.startsWith('TOFU_REGISTRY_DB_') && !NEUTRAL_TOOL_VARIABLES.has(key);
}

/**
 * The command's environment: the caller's other variables, and the dev server as the
 * application role, in the tool's variables, as a URI (TOFU_REGISTRY_DB_URL and DATABASE_URL)
 * and in libpq's (psql in the command connects to it as that role). The admin's variables are
 * removed, not replaced: the command gets the application role only.
 */
export function devChildEnvironment(caller: Readonly<Record<string, string | undefined>>, dev: DevConnection): Record<string, string> {
  const kept = Object.entries(caller).filter((entry): entry is [string, string] => entry[1] !== undefined && !isConnectionVariable(entry[0]));
  const uri = buildConnectionUri({ user: dev.user, password: dev.password, hosts: [{ host: dev.host, port: dev.port }], database: dev.database, params: { sslmode: 'disable' } });
  return {
    ...Object.fromEntries(kept),
    [VARIABLES.type]: 'postgres',
    [VARIABLES.host]: dev.host,
    [VARIABLES.port]: String(dev.port),
    [VARIABLES.database]: dev.database,
    [VARIABLES.sslMode]: 'disable',
    [VARIABLES.user]: dev.user,
    [VARIABLES.password]: dev.password,
    [VARIABLES.url]: uri,
    [DATABASE_URL]: uri,
    PGHOST: dev.host,
    PGPORT: String(dev.port),
    PGDATABASE: dev.database,
    PGUSER: dev.user,
    PGPASSWORD: dev.password,
    PGSSLMODE: 'disable',
  };
}
