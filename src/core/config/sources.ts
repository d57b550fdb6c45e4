import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { checkKeywords, parseConnectionString, type ConnParams } from './conninfo.js';
import type { EnvFileContents } from './env-file.js';
import { findService } from './service-file.js';
import { DATABASE_URL, PG_VARIABLES, SERVER_KEYS, URI_KEYS, VARIABLES, type SettingKey } from './variables.js';

/**
 * Where each setting comes from. One order, highest first:
 *   1. command-line flags (--host, --port, --name, --user, --sslmode, --admin-user)
 *   2. TOFU_REGISTRY_DB_* variables in the process environment
 *   3. connection URIs in the process environment: TOFU_REGISTRY_DB_URL (else DATABASE_URL) for
 *      the application role, TOFU_REGISTRY_DB_ADMIN_URL for the admin
 *   4. TOFU_REGISTRY_DB_* variables in the env file
 *   5. connection URIs in the env file
 *   6. libpq's service file (PGSERVICE)
 *   7. libpq's PG* variables (PGHOST, PGPORT, PGUSER, …), which describe the admin's connection
 *   8. defaults
 * A variable in the environment beats the same variable in the file (the env file never
 * overrides a variable already set, as dotenv does), and a single variable beats a URI of its
 * own layer. Every value remembers where it came from.
 *
 * The server's settings (SERVER_KEYS: host, port, sslmode, …) are looked up once per role, as
 * if each role had its own libpq connection string: below the flags, the admin takes its own
 * URI's values first (the environment's, then the env file's), then the shared variables and the
 * application role's URI; the application role takes its own and the shared ones first, the
 * admin URI's last. A role whose own URI names a host takes nothing from the other role's URI.
 * So the registry API can go through PgBouncer on one port while the admin connects directly on
 * another.
 */
export type LayerKind = 'flag' | 'env' | 'env-uri' | 'file' | 'file-uri' | 'service' | 'pg-env';
export type SourceRole = 'app' | 'admin';

export interface Found {
  readonly value: string;
  readonly origin: string;
  readonly kind: LayerKind;
  /** For a value from a URI or the env file: the role its password belongs with (a URI's user, the file's user). */
  readonly pairedUser?: string;
}

interface Layer {
  readonly kind: LayerKind;
  /** A URI layer's role: only its own role's connection takes its server settings first. */
  readonly role?: SourceRole;
  get(key: SettingKey): Found | undefined;
}

export interface FlagValues {
  readonly host?: string;
  readonly port?: string;
  readonly database?: string;
  readonly user?: string;
  readonly sslMode?: string;
  readonly adminUser?: string;
}

const FLAG_NAMES: Readonly<Partial<Record<SettingKey, string>>> = {
  host: '--host', port: '--port', database: '--name', user: '--user', sslMode: '--sslmode', adminUser: '--admin-user',
};

export class SettingSources {
  /** Where each value came from; for the admin's server settings, see adminOrigins. */
  readonly origins: Record<string, string> = {};
  /** Where the admin connection's server settings came from (host, port, sslMode, …). */
  readonly adminOrigins: Record<string, string> = {};
  /** What a run should know: lower-precedence values that were overridden, parameters read past. */
  readonly notes: string[] = [];
  private readonly layers: readonly Layer[];

  constructor(layers: readonly Layer[], notes: readonly string[] = []) {
    this.layers = layers;
    this.notes.push(...notes);
  }

  /** The layers in the order that `role`'s connection reads `key` (see the comment at the top). */
  private order(key: SettingKey, role: SourceRole): readonly Layer[] {
    if (!(SERVER_KEYS as readonly string[]).includes(key)) return this.layers;
    const own = this.layers.filter((l) => l.role === role);
    // A role whose own URI names a host has a server of its own: the other role's URI, which
    // describes another one, lends it nothing (not its port, not its sslmode).
    const other = own.some((l) => l.get('host') !== undefined) ? [] : this.layers.filter((l) => l.role !== undefined && l.role !== role);
    const shared = this.layers.filter((l) => l.role === undefined && l.kind !== 'flag' && l.kind !== 'service' && l.kind !== 'pg-env');
    const flags = this.layers.filter((l) => l.kind === 'flag');
    const libpq = this.layers.filter((l) => l.kind === 'service' || l.kind === 'pg-env');
    // The application role's URIs sit among the shared variables, at their layers: for the admin
    // they are the registry server's description; the admin URI is the admin's alone.
    if (role === 'admin') return [...flags, ...own, ...this.layers.filter((l) => shared.includes(l) || other.includes(l)), ...libpq];
    return [...flags, ...this.layers.filter((l) => shared.includes(l) || own.includes(l)), ...other, ...libpq];
  }

  /**
   * The value of the highest layer that has one for `role`'s connection, recorded under `key`
   * (in adminOrigins for the admin's server settings), with a note for each value of libpq's
   * variables or service file it hides.
   */
  find(key: SettingKey, role: SourceRole = 'app'): Found | undefined {
    const all = this.order(key, role).map((layer) => layer.get(key)).filter((f): f is Found => f !== undefined);
    const [winner, ...hidden] = all;
    if (winner?.value.includes('\0')) throw new ConfigError(`${winner.origin} contains a NUL byte.`);
    for (const lower of hidden) {
      if ((lower.kind === 'pg-env' || lower.kind === 'service') && lower.value !== winner!.value) {
        const shown = /password/i.test(key) ? '…' : lower.value;
        const note = `${lower.origin} (${shown}) is overridden by ${winner!.origin}`;
        if (!this.notes.includes(note)) this.notes.push(note);
      }
    }
    const admins = role === 'admin' && (SERVER_KEYS as readonly string[]).includes(key);
    (admins ? this.adminOrigins : this.origins)[key] = winner?.origin ?? 'default';
    return winner;
  }

  text(key: SettingKey, fallback?: string, role: SourceRole = 'app'): string | undefined {
    return this.find(key, role)?.value ?? fallback;
  }
}

/** Everything the resolver reads, gathered once. */
export interface RawInputs {
  readonly flags: FlagValues;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file?: EnvFileContents;
  readonly fileName: string;
}

function singles(kind: 'env' | 'file', values: Readonly<Record<string, string | undefined>>, originOf: (variable: string) => string, pairedUser?: string): Layer {
  return {
    kind,
    get(key) {
      const variable = VARIABLES[key];
      const value = values[variable];
      return value === undefined ? undefined : { value, origin: originOf(variable), kind, ...(key === 'password' ? { pairedUser } : {}) };
    },
  };
}

/** Where a URI's parameter came from: "DATABASE_URL's sslmode (.env, line 3)", `service "prod"'s port (~/.pg_service.conf)`. */
function paramOrigin(origin: string, param: string): string {
  const where = / \(([^()]*)\)$/.exec(origin);
  return where ? `${origin.slice(0, where.index)}'s ${param} (${where[1]})` : `${origin}'s ${param}`;
}

/**
 * One role's URI (or a service section) as a layer; a value's origin names the parameter
 * (paramOrigin). Its password pairs with its user, else with `owner` (a URI without a user name
 * logs in as the role its file names: config/env-file-credentials.ts), else with any role.
 */
function uriLayer(kind: 'env-uri' | 'file-uri' | 'service', uri: RoleUri | undefined, role?: SourceRole, owner?: string): Layer {
  return {
    kind,
    ...(role ? { role } : {}),
    get(key) {
      if (!uri) return undefined;
      const param = Object.entries(URI_KEYS[uri.role]).find(([, setting]) => setting === key)?.[0] as keyof ConnParams | undefined;
      const value = param && uri.params[param];
      if (param === undefined || value === undefined || value === '') return undefined;
      const pairedUser = key === 'password' || key === 'adminPassword' ? uri.params.user || owner : undefined;
      return { value, origin: paramOrigin(uri.origin, param), kind, ...(pairedUser !== undefined ? { pairedUser } : {}) };
    },
  };
}

interface RoleUri {
  readonly role: SourceRole;
  readonly params: ConnParams;
  readonly origin: string;
}

function parseUri(text: string, origin: string, env: Readonly<Record<string, string | undefined>>, notes: string[]): ConnParams {
  const parsed = parseConnectionString(text, origin);
  if (parsed.ignored.length > 0) notes.push(`${origin}: ${parsed.ignored.join(', ')} read past (not used by tofu-registry-db)`);
  registerSecret(parsed.params.password);
  if (!parsed.params.service) return parsed.params;
  // A service named in the URI fills what the URI itself leaves unset, as in libpq.
  return { ...serviceParams(parsed.params.service, env, origin).params, ...parsed.params };
}

function serviceParams(name: string, env: Readonly<Record<string, string | undefined>>, origin: string): { params: ConnParams; origin: string } {
  const service = findService(name, env, origin);
  const where = `service "${name}" (${service.file})`;
  const { params } = checkKeywords(Object.entries(service.params), where);
  registerSecret(params.password);
  return { params, origin: where };
}

/** The URIs of one layer: the application role's (TOFU_REGISTRY_DB_URL, else DATABASE_URL) and the admin's. */
function urisOf(values: Readonly<Record<string, string | undefined>>, originOf: (variable: string) => string, useDatabaseUrl: boolean, env: Readonly<Record<string, string | undefined>>, notes: string[]) {
  const appVariable = values[VARIABLES.url] !== undefined ? VARIABLES.url : useDatabaseUrl && values[DATABASE_URL] !== undefined ? DATABASE_URL : undefined;
  const read = (role: SourceRole, variable: string | undefined): RoleUri | undefined => {
    if (variable === undefined || values[variable] === undefined) return undefined;
    const origin = originOf(variable);
    return { role, params: parseUri(values[variable]!, origin, env, notes), origin };
  };
  return { app: read('app', appVariable), admin: read('admin', VARIABLES.adminUrl) };
}

function serviceLayer(env: Readonly<Record<string, string | undefined>>): Layer | undefined {
  const name = env.PGSERVICE;
  if (!name) return undefined;
  const { params, origin } = serviceParams(name, env, 'PGSERVICE (environment)');
  return uriLayer('service', { role: 'admin', params, origin });
}

function pgEnvLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  return {
    kind: 'pg-env',
    get(key) {
      const variable = PG_VARIABLES[key];
      const value = variable ? env[variable] : undefined;
      return value === undefined || value === '' ? undefined : { value, origin: `${variable} (environment)`, kind: 'pg-env' };
    },
  };
}

function flagLayer(flags: FlagValues): Layer {
  return {
    kind: 'flag',
    get(key) {
      const value = (flags as Record<string, string | undefined>)[key];
      return value === undefined ? undefined : { value, origin: FLAG_NAMES[key] ?? key, kind: 'flag' };
    },
  };
}

/** The layers, highest first, built from what was read. */
export function settingSources(inputs: RawInputs): SettingSources {
  const { env, file, fileName } = inputs;
  const notes: string[] = [];
  const fileValues = file?.values ?? {};
  const appUrlSet = env[VARIABLES.url] !== undefined || fileValues[VARIABLES.url] !== undefined;
  // Only a DATABASE_URL that says something else is worth a note (dev -- <command> sets both to one URI).
  const databaseUrl = env[DATABASE_URL] ?? fileValues[DATABASE_URL];
  if (appUrlSet && databaseUrl !== undefined && databaseUrl !== (env[VARIABLES.url] ?? fileValues[VARIABLES.url])) notes.push(`${DATABASE_URL} is not used: ${VARIABLES.url} is set`);
  const fileOrigin = (variable: string) => `${variable} (${fileName}${file?.lines[variable] ? `, line ${file.lines[variable]}` : ''})`;
  const envUris = urisOf(env, (variable) => `${variable} (environment)`, !appUrlSet, env, notes);
  const fileUris = urisOf(fileValues, fileOrigin, !appUrlSet, env, notes);
  const layers: Layer[] = [
    flagLayer(inputs.flags),
    // A password in the environment is the operator's word, for the role the environment names
    // beside it if it names one (so --user other_role is not paired with it).
    singles('env', env, (variable) => `${variable} (environment)`, env[VARIABLES.user] || undefined),
    uriLayer('env-uri', envUris.app, 'app'),
    uriLayer('env-uri', envUris.admin, 'admin'),
    // The file's password belongs to the role the file names: its USER, else its URI's user.
    singles('file', fileValues, fileOrigin, fileValues[VARIABLES.user] ?? fileUris.app?.params.user ?? ''),
    uriLayer('file-uri', fileUris.app, 'app', fileValues[VARIABLES.user] ?? ''),
    uriLayer('file-uri', fileUris.admin, 'admin'),
    ...[serviceLayer(env)].filter((l): l is Layer => l !== undefined),
    pgEnvLayer(env),
  ];
  return new SettingSources(layers, notes);
}
