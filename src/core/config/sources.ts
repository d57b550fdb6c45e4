import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { checkKeywords, parseConnectionString, type ConnParams } from './conninfo.js';
import type { EnvFileContents } from './env-file.js';
import { findService } from './service-file.js';
import { DATABASE_URL, PG_VARIABLES, URI_KEYS, VARIABLES, type SettingKey } from './variables.js';

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
 */
export type LayerKind = 'flag' | 'env' | 'env-uri' | 'file' | 'file-uri' | 'service' | 'pg-env';

export interface Found {
  readonly value: string;
  readonly origin: string;
  readonly kind: LayerKind;
  /** For a value from a URI or the env file: the role its password belongs with (a URI's user, the file's user). */
  readonly pairedUser?: string;
}

interface Layer {
  readonly kind: LayerKind;
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
  readonly origins: Record<string, string> = {};
  /** What a run should know: lower-precedence values that were overridden, parameters read past. */
  readonly notes: string[] = [];
  private readonly layers: readonly Layer[];

  constructor(layers: readonly Layer[], notes: readonly string[] = []) {
    this.layers = layers;
    this.notes.push(...notes);
  }

  /** The value of the highest layer that has one, recorded under `key` (and a note for each value of libpq's variables or service file it hides). */
  find(key: SettingKey): Found | undefined {
    const all = this.layers.map((layer) => layer.get(key)).filter((f): f is Found => f !== undefined);
    const [winner, ...hidden] = all;
    if (winner?.value.includes('\0')) throw new ConfigError(`${winner.origin} contains a NUL byte.`);
    for (const lower of hidden) {
      if ((lower.kind === 'pg-env' || lower.kind === 'service') && lower.value !== winner!.value) {
        const shown = /password/i.test(key) ? '…' : lower.value;
        this.notes.push(`${lower.origin} (${shown}) is overridden by ${winner!.origin}`);
      }
    }
    this.origins[key] = winner?.origin ?? 'default';
    return winner;
  }

  text(key: SettingKey, fallback?: string): string | undefined {
    return this.find(key)?.value ?? fallback;
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

/** A URI's parameters as a layer: the app URI's first, then the admin URI's for the shared server keys. */
function uriLayer(kind: 'env-uri' | 'file-uri' | 'service', uris: ReadonlyArray<{ role: 'app' | 'admin'; params: ConnParams; origin: string }>): Layer {
  return {
    kind,
    get(key) {
      for (const { role, params, origin } of uris) {
        const param = Object.entries(URI_KEYS[role]).find(([, setting]) => setting === key)?.[0] as keyof ConnParams | undefined;
        const value = param && params[param];
        if (value !== undefined && value !== '') {
          const pairedUser = key === 'password' ? params.user : key === 'adminPassword' ? params.user : undefined;
          return { value, origin, kind, ...(pairedUser !== undefined ? { pairedUser } : {}) };
        }
      }
      return undefined;
    },
  };
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
function urisOf(values: Readonly<Record<string, string | undefined>>, where: string, useDatabaseUrl: boolean, env: Readonly<Record<string, string | undefined>>, notes: string[]) {
  const uris: Array<{ role: 'app' | 'admin'; params: ConnParams; origin: string }> = [];
  const app = values[VARIABLES.url] !== undefined ? VARIABLES.url : useDatabaseUrl && values[DATABASE_URL] !== undefined ? DATABASE_URL : undefined;
  if (app) uris.push({ role: 'app', params: parseUri(values[app]!, `${app} (${where})`, env, notes), origin: `${app} (${where})` });
  if (values[VARIABLES.adminUrl] !== undefined) {
    uris.push({ role: 'admin', params: parseUri(values[VARIABLES.adminUrl]!, `${VARIABLES.adminUrl} (${where})`, env, notes), origin: `${VARIABLES.adminUrl} (${where})` });
  }
  const [first, second] = uris;
  if (first && second && first.params.host !== undefined && second.params.host !== undefined && first.params.host !== second.params.host) {
    throw new ConfigError(
      `${first.origin} and ${second.origin} name different servers (${first.params.host}, ${second.params.host}): both roles use the one registry server.`,
      'Give both the same hosts, or leave the host out of one of them.',
      'CONNINFO_CONFLICT',
    );
  }
  return uris;
}

function serviceLayer(env: Readonly<Record<string, string | undefined>>): Layer | undefined {
  const name = env.PGSERVICE;
  if (!name) return undefined;
  const { params, origin } = serviceParams(name, env, 'PGSERVICE (environment)');
  return uriLayer('service', [{ role: 'admin', params, origin }]);
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
  if (appUrlSet && (env[DATABASE_URL] !== undefined || fileValues[DATABASE_URL] !== undefined)) notes.push(`${DATABASE_URL} is not used: ${VARIABLES.url} is set`);
  const envUris = urisOf(env, 'environment', !appUrlSet, env, notes);
  const fileUris = urisOf(fileValues, fileName, !appUrlSet, env, notes);
  const fileOrigin = (variable: string) => `${variable} (${fileName}${file?.lines[variable] ? `, line ${file.lines[variable]}` : ''})`;
  const layers: Layer[] = [
    flagLayer(inputs.flags),
    // A password in the environment is the operator's word, for the role the environment names
    // beside it if it names one (so --user other_role is not paired with it).
    singles('env', env, (variable) => `${variable} (environment)`, env[VARIABLES.user] || undefined),
    uriLayer('env-uri', envUris),
    // The file's password belongs to the role the file names: its USER, else its URI's user.
    singles('file', fileValues, fileOrigin, fileValues[VARIABLES.user] ?? fileUris.find((u) => u.role === 'app')?.params.user ?? ''),
    uriLayer('file-uri', fileUris),
    ...[serviceLayer(env)].filter((l): l is Layer => l !== undefined),
    pgEnvLayer(env),
  ];
  return new SettingSources(layers, notes);
}
