import { parseConnectionString, type ParsedConnectionString } from './conninfo.js';
import { DATABASE_URL, DEFAULTS, VARIABLES } from './variables.js';

/**
 * Whose login an env file holds. A file keeps the application role's connection either as
 * separate variables (TOFU_REGISTRY_DB_USER, TOFU_REGISTRY_DB_PASSWORD …) or as a URI
 * (TOFU_REGISTRY_DB_URL, else DATABASE_URL), or both; the separate variables win, as when the
 * settings are read. A password belongs to the role it sits with, never to whatever role a run
 * is about: this is what keeps a file from pairing one role's name with another role's password.
 */
export interface EnvFileCredentials {
  /** The role the file logs in as: its TOFU_REGISTRY_DB_USER, else its URI's user, else the default role. */
  readonly role: string;
  /** That role's password as the file holds it (the separate variable first, else the URI's). */
  readonly password?: string;
  /** The file's URI, when it has one: the variable, the parsed parameters and the text. */
  readonly uri?: { readonly variable: string; readonly parsed: ParsedConnectionString; readonly text: string };
  /** Every password in the file with the role it belongs to (a URI naming another role than the separate variables gives two). */
  readonly passwords: ReadonlyArray<{ readonly role: string; readonly variable: string }>;
}

type Values = Readonly<Record<string, string | undefined>>;

/** The file's URI variable: TOFU_REGISTRY_DB_URL, else DATABASE_URL. */
export function envFileUriVariable(values: Values): string | undefined {
  return [VARIABLES.url, DATABASE_URL].find((v) => values[v] !== undefined && values[v] !== '');
}

export function envFileCredentials(values: Values, fileName = 'the env file'): EnvFileCredentials {
  const variable = envFileUriVariable(values);
  const uri = variable === undefined ? undefined : { variable, text: values[variable]!, parsed: parseConnectionString(values[variable]!, `${variable} (${fileName})`) };
  const uriUser = uri?.parsed.params.user || undefined;
  const role = values[VARIABLES.user] || uriUser || DEFAULTS.user;
  const passwords: Array<{ role: string; variable: string }> = [];
  const single = values[VARIABLES.password] || undefined;
  if (single !== undefined) passwords.push({ role, variable: VARIABLES.password });
  const uriPassword = uri?.parsed.params.password || undefined;
  // A URI without a user name logs in as the role the file names.
  const uriRole = uriUser ?? role;
  if (uriPassword !== undefined) passwords.push({ role: uriRole, variable: uri!.variable });
  const password = single ?? (uriRole === role ? uriPassword : undefined);
  return { role, ...(password !== undefined ? { password } : {}), ...(uri ? { uri } : {}), passwords };
}

/** The env file's password if it belongs to `role`, else undefined. */
export function envFilePasswordOf(values: Values, role: string): string | undefined {
  const credentials = envFileCredentials(values);
  return credentials.role === role ? credentials.password : undefined;
}

/** The roles other than `role` whose passwords the file holds, and in which variables. */
export function otherRolesPasswords(values: Values, role: string): ReadonlyArray<{ readonly role: string; readonly variable: string }> {
  return envFileCredentials(values).passwords.filter((p) => p.role !== role);
}

/**
 * The connection string without its user name and password (in the user-info, or as
 * parameters), every other part as it was: what is left of a URI once its role is dropped.
 */
export function withoutLogin(text: string): string {
  const scheme = /^postgres(?:ql)?:\/\//i.exec(text)?.[0];
  if (scheme === undefined) {
    // keyword=value: the pairs other than user and password, each as it was written.
    return text.replace(/(^|\s)(user|password)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/g, '').trim();
  }
  const rest = text.slice(scheme.length);
  const query = rest.indexOf('?');
  const beforeQuery = query === -1 ? rest : rest.slice(0, query);
  const slash = beforeQuery.indexOf('/');
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const hosts = at === -1 ? beforeQuery : beforeQuery.slice(at + 1);
  const params = query === -1 ? [] : rest.slice(query + 1).split('&').filter((pair) => pair !== '' && !/^(user|password)=/.test(pair));
  return `${scheme}${hosts}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}
