import { parse as parseDotenv } from 'dotenv';
import { readEnvText } from '../config/env-file.js';
import type { EnvValue } from '../config/env-text.js';
import { describe } from '../config/names.js';
import { ConfigError } from '../errors.js';
import { DATABASE_URL, VARIABLES } from '../config/variables.js';

/**
 * Which env file `dev` may write. `./.env` is usually the registry API's own file, holding a
 * production host, port, sslmode and password: dev must never replace what it did not write.
 * It writes a file that does not exist, one it wrote before (its comment is in it, and it
 * still points at a loopback server without TLS), and one that names no server at all (it only
 * adds lines there). Anything else is another program's file.
 */
export const DEV_COMMENT = 'Written by `tofu-registry-db dev`: an embedded PostgreSQL on loopback only, so sslmode is disable.';
const DEV_MARKER = '# Written by `tofu-registry-db dev`';

/** The variables that say where a connection goes: a file that sets any of them describes a server. */
const SERVER_VARIABLES = [VARIABLES.host, VARIABLES.port, VARIABLES.sslMode, VARIABLES.sslRootCert, VARIABLES.password, VARIABLES.url, VARIABLES.adminUrl, DATABASE_URL] as const;

export type DevEnvFileVerdict =
  | { readonly owned: true; readonly exists: boolean }
  | { readonly owned: false; readonly reason: string };

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function devEnvFileVerdict(file: string): DevEnvFileVerdict {
  const text = readEnvText(file);
  if (text === undefined) return { owned: true, exists: false };
  const values = parseDotenv(text);
  const set = SERVER_VARIABLES.filter((variable) => values[variable] !== undefined && values[variable] !== '');
  if (set.length === 0) return { owned: true, exists: true };
  const host = values[VARIABLES.host];
  const sslMode = values[VARIABLES.sslMode];
  if (text.includes(DEV_MARKER) && (host === undefined || isLoopbackHost(host)) && (sslMode === undefined || sslMode === 'disable') && values[VARIABLES.sslRootCert] === undefined) {
    return { owned: true, exists: true };
  }
  // Name what it points at, never the password.
  const shown = set.filter((variable) => variable !== VARIABLES.password).map((variable) => `${variable}=${describe(values[variable]!)}`);
  return { owned: false, reason: shown.length > 0 ? `it sets ${shown.join(', ')}` : `it holds a ${VARIABLES.password} that dev did not write` };
}

export function notOwnedError(file: string, reason: string): ConfigError {
  return new ConfigError(
    `${file} was not written by \`tofu-registry-db dev\` (${reason}): dev never overwrites a file it did not write. Nothing was started.`,
    `Give dev a file of its own with --env-file .env.dev (npm start -- --env-file .env.dev), or run a command against the database with \`tofu-registry-db dev -- <command>\`, which hands it the database in its environment and leaves ${file} alone.`,
    'ENV_FILE_NOT_OWNED',
  );
}

/** Everything dev writes: the embedded server, the role and its password, under dev's comment. */
export function devEnvValues(connection: { host: string; port: number; database: string; user: string; password: string }): Record<string, EnvValue> {
  return {
    [VARIABLES.type]: 'postgres',
    [VARIABLES.host]: connection.host,
    [VARIABLES.port]: String(connection.port),
    [VARIABLES.database]: connection.database,
    [VARIABLES.sslMode]: 'disable',
    [VARIABLES.sslRootCert]: null,
    [VARIABLES.user]: connection.user,
    [VARIABLES.password]: connection.password,
  };
}
