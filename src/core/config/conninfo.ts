import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/**
 * libpq's two connection-string formats (PostgreSQL docs, "Connection Strings"), parsed the way
 * libpq parses them: RFC 3986 URIs (`postgresql://` or `postgres://`, several `host:port` parts,
 * percent-encoding, `[::1]`, a socket folder as `%2Frun%2Fpostgresql` or `?host=/run/postgresql`,
 * query parameters overriding the parts before them, JDBC's `ssl=true`) and `keyword=value`
 * strings (single quotes, backslash escapes). The result is the parameters by libpq's names.
 */
export type ConnParams = Partial<Record<ConnKeyword, string>>;

/** The parameters the tool uses. */
export const CONN_KEYWORDS = [
  'host',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'connect_timeout',
  'target_session_attrs',
  'application_name',
  'service',
] as const;
export type ConnKeyword = (typeof CONN_KEYWORDS)[number];

/**
 * Parameters a connection string may carry that change nothing the tool relies on (libpq's
 * tuning, and what other tools sharing DATABASE_URL add, such as Prisma's `schema`): read past.
 */
const IGNORED = new Set([
  'fallback_application_name', 'keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout',
  'client_encoding', 'sslcompression', 'ssl_min_protocol_version', 'ssl_max_protocol_version', 'sslsni', 'channel_binding',
  'gssencmode', 'load_balance_hosts', 'options', 'sslnegotiation',
  'schema', 'connection_limit', 'pool_timeout', 'pgbouncer', 'statement_cache_size', 'socket_timeout', 'connect_timeout_ms',
]);

/** libpq parameters whose meaning the tool cannot honour: refused rather than silently dropped. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  hostaddr: 'give the address as host instead',
  sslcert: 'client certificates are not supported; log in with a password',
  sslkey: 'client certificates are not supported; log in with a password',
  sslpassword: 'client certificates are not supported; log in with a password',
  sslcertmode: 'client certificates are not supported; log in with a password',
  sslcrl: 'certificate revocation lists are not supported',
  sslcrldir: 'certificate revocation lists are not supported',
  requirepeer: 'peer checks on Unix sockets are not supported',
  require_auth: 'the tool always authenticates with the password (SCRAM where the server asks for it)',
  replication: 'replication connections are not what the tool makes',
  krbsrvname: 'Kerberos (GSSAPI) is not supported',
  gsslib: 'Kerberos (GSSAPI) is not supported',
  gssdelegation: 'Kerberos (GSSAPI) is not supported',
  passfile: 'use PGPASSFILE',
};

export interface ParsedConnectionString {
  readonly params: ConnParams;
  /** Parameters read past (IGNORED), named for --verbose and test-connection. */
  readonly ignored: readonly string[];
  /** Every parameter as given (decoded), in order: what a rewrite of the string keeps of another tool's. */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
}

/** Parses either format. `origin` names where the text came from; the text itself is never quoted (it may hold a password). */
export function parseConnectionString(text: string, origin: string): ParsedConnectionString {
  const raw = /^postgres(?:ql)?:\/\//i.test(text) ? parseUri(text, origin) : parseKeywordValue(text, origin);
  return checkKeywords(raw, origin);
}

/** Checks parameters by libpq's names (from a connection string or a service file): used, read past, or refused. */
export function checkKeywords(raw: ReadonlyArray<readonly [string, string]>, origin: string): ParsedConnectionString {
  const params: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [key, value] of raw) {
    if (key === 'ssl' && value === 'true') {
      params.sslmode = 'require'; // JDBC's spelling, which libpq translates too
    } else if ((CONN_KEYWORDS as readonly string[]).includes(key)) {
      params[key] = value;
    } else if (IGNORED.has(key)) {
      ignored.push(key);
    } else if (key in UNSUPPORTED) {
      throw new ConfigError(`${origin} sets ${key}, which tofu-registry-db does not support: ${UNSUPPORTED[key]}.`, undefined, 'CONNINFO_UNSUPPORTED');
    } else {
      throw new ConfigError(`${origin} has an unknown connection parameter ${describe(key)}.`, `Known parameters: ${CONN_KEYWORDS.join(', ')} (libpq's names).`, 'CONNINFO_INVALID');
    }
  }
  return { params, ignored, pairs: raw };
}

/** Whether checkKeywords knows the parameter (uses, reads past or refuses it). */
function isKnownKeyword(key: string): boolean {
  return key === 'ssl' || (CONN_KEYWORDS as readonly string[]).includes(key) || IGNORED.has(key) || key in UNSUPPORTED;
}

const ENCODE_HINT = 'Percent-encode the user name and password: %2F for /, %3F for ?, %23 for #, %40 for @, %25 for % ' +
  "(encodeURIComponent in JavaScript, urllib.parse.quote(text, safe='') in Python). An @ in the database name or a parameter value is written %40 too.";

/**
 * A URI whose user:password@ part the parser cannot delimit: an "@" after the first "/" or "?"
 * means the password (or user name) holds an unencoded "/" or "?", so what looks like the
 * host, port or database is really a piece of the password. Nothing of the text is quoted.
 */
function userInfoError(origin: string): ConfigError {
  return new ConfigError(
    `${origin} has an "@" after its first "/" or "?": the password (or user name) most likely contains an unencoded "/" or "?", which ends the user:password@ part early. (Not shown: it holds a password.)`,
    ENCODE_HINT,
    'CONNINFO_INVALID',
  );
}

/** A parameter right after a password=… value that does not parse: most likely the rest of the password. */
function passwordValueError(origin: string, inUri: boolean): ConfigError {
  return inUri
    ? new ConfigError(`${origin}: what follows its password parameter does not parse: the password most likely contains an unencoded "&". (Not shown: it holds a password.)`, 'Percent-encode the password: %26 for &, %25 for %, %23 for #.', 'CONNINFO_INVALID')
    : new ConfigError(`${origin}: what follows password= does not parse: the password most likely contains a space. (Not shown: it holds a password.)`, "Put the password in single quotes: password='…' (inside them, \\' for a quote and \\\\ for a backslash).", 'CONNINFO_INVALID');
}

function decode(part: string, origin: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`${origin} has an invalid percent-encoding in its ${what}.`, 'A "%" not followed by two hex digits: encode reserved characters as %XX (%25 for %, %40 for @, %2F for /).', 'CONNINFO_INVALID');
  }
}

/** postgresql://[user[:password]@][host[:port][,...]][/dbname][?param=value&...] */
function parseUri(text: string, origin: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let rest = text.replace(/^postgres(?:ql)?:\/\//i, '');
  const authorityEnd = rest.search(/[/?]/);
  if (authorityEnd !== -1 && rest.indexOf('@', authorityEnd) !== -1) throw userInfoError(origin);
  const query = rest.indexOf('?');
  const queryText = query === -1 ? '' : rest.slice(query + 1);
  rest = query === -1 ? rest : rest.slice(0, query);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  if (slash !== -1 && rest.length > slash + 1) out.push(['dbname', decode(rest.slice(slash + 1), origin, 'database name')]);
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    if (user !== '') out.push(['user', decode(user, origin, 'user name')]);
    if (colon !== -1) out.push(['password', decode(userinfo.slice(colon + 1), origin, 'password')]);
  }
  out.push(...hostsOfAuthority(at === -1 ? authority : authority.slice(at + 1), origin));
  let previous = '';
  for (const pair of queryText.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : decode(pair.slice(0, eq), origin, 'query');
    // After password=…, an unencoded "&" in the password leaves a piece of it as a "parameter".
    if (previous === 'password' && (eq === -1 || !isKnownKeyword(key))) throw passwordValueError(origin, true);
    if (eq === -1) throw new ConfigError(`${origin} has a query parameter without a value (${describe(decode(pair, origin, 'query'))}).`, undefined, 'CONNINFO_INVALID');
    out.push([key, decode(pair.slice(eq + 1), origin, 'query')]);
    previous = key;
  }
  return out;
}

/** host1:5432,[::1]:5433,host3 → host=host1,::1,host3 port=5432,5433, (an empty port: the default) */
function hostsOfAuthority(authority: string, origin: string): Array<[string, string]> {
  if (authority === '') return [];
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const part of authority.split(',')) {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(part);
    if (!match) throw new ConfigError(`${origin} has a host part that is not host[:port].`, undefined, 'CONNINFO_INVALID');
    hosts.push(decode(match[1]!.replace(/^\[(.*)\]$/, '$1'), origin, 'host'));
    // Not quoted: in a URI without "@", a password's first characters would stand here.
    if (!/^\d*$/.test(match[2] ?? '')) {
      throw new ConfigError(`${origin} has a port that is not a number (host ${hosts.length} of its host part; not shown, in case it is part of a password).`, `Write host:port with a port from 1 to 65535. ${ENCODE_HINT}`, 'CONNINFO_INVALID');
    }
    ports.push(match[2] ?? '');
  }
  const out: Array<[string, string]> = [['host', hosts.join(',')]];
  if (ports.some((p) => p !== '')) out.push(['port', ports.join(',')]);
  return out;
}

/** host=db1,db2 port=5432 dbname='my db' password='it\'s' */
function parseKeywordValue(text: string, origin: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  // After an unquoted password=…, a word that does not parse is most likely the rest of the password.
  let barePassword = false;
  for (skipSpace(); i < text.length; skipSpace()) {
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (barePassword && (!key || !isKnownKeyword(key) || !/^\s*=/.test(text.slice(i + key.length)))) throw passwordValueError(origin, false);
    if (!key) throw new ConfigError(`${origin} is not a connection string (keyword=value pairs or a postgresql:// URI).`, undefined, 'CONNINFO_INVALID');
    i += key.length;
    skipSpace();
    if (text[i] !== '=') throw new ConfigError(`${origin}: ${describe(key)} has no "=" after it.`, undefined, 'CONNINFO_INVALID');
    i++;
    skipSpace();
    let value = '';
    const quoted = text[i] === "'";
    if (quoted) i++;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quoted ? c === "'" : /\s/.test(c)) break;
      if (c === '\\' && i + 1 < text.length) {
        value += text[++i];
        continue;
      }
      value += c;
    }
    if (quoted) {
      if (text[i] !== "'") throw new ConfigError(`${origin}: the quoted value of "${key}" is not closed.`, undefined, 'CONNINFO_INVALID');
      i++;
    }
    barePassword = key === 'password' && !quoted;
    out.push([key, value]);
  }
  return out;
}

export interface UriParts {
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  readonly params: Readonly<Record<string, string | undefined>>;
}

/** A postgresql:// URI that parseConnectionString reads back to the same parts (percent-encoded where needed). */
export function buildConnectionUri(parts: UriParts): string {
  const enc = (text: string) => encodeURIComponent(text);
  const userinfo = `${enc(parts.user)}${parts.password !== undefined ? `:${enc(parts.password)}` : ''}@`;
  const hosts = parts.hosts.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : enc(host)}:${port}`).join(',');
  const query = Object.entries(parts.params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${enc(value)}`)
    .join('&');
  return `postgresql://${userinfo}${hosts}/${enc(parts.database)}${query ? `?${query}` : ''}`;
}
