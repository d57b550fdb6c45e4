import { DATABASE_URL, DEFAULTS, PG_VARIABLES, VARIABLES, type SettingKey } from '../core/config/variables.js';

/**
 * The main --help's list of environment variables, made from VARIABLES, DEFAULTS and
 * PG_VARIABLES (config/variables.ts), so a variable added there is listed here, with its
 * default and libpq's variable below it, without more work. What a default cannot say in one
 * value (where a password comes from) is said here.
 */
const NOT_ONE_VALUE: Readonly<Record<string, string>> = {
  url: `none (else ${DATABASE_URL}): a connection URI for the application role`,
  adminUrl: 'none: a connection URI for the admin role',
  password: 'none: create-user writes it into the env file',
  sslRootCert: 'none (verify-ca and verify-full then use ~/.postgresql/root.crt; "system": the system roots)',
  adminPassword: `${PG_VARIABLES.adminPassword ?? 'PGPASSWORD'}, else ~/.pgpass, else a prompt on a terminal`,
};

function defaultOf(key: string): string {
  const defaults = DEFAULTS as Readonly<Record<string, string | number>>;
  const value = NOT_ONE_VALUE[key] ?? defaults[key] ?? (defaults[`${key}Seconds`] !== undefined ? `${defaults[`${key}Seconds`]} (seconds)` : 'none');
  const libpq = PG_VARIABLES[key as SettingKey];
  return libpq === undefined || String(value).includes(libpq) ? String(value) : `${libpq}, else ${value}`;
}

export function environmentHelp(): string {
  const rows = Object.entries(VARIABLES).map(([key, variable]) => [variable, defaultOf(key)] as const);
  const width = Math.max(...rows.map(([variable]) => variable.length));
  return [
    '',
    'Environment variables (a flag wins over the variable, the variable over the env file), with their defaults:',
    ...rows.map(([variable, value]) => `  ${variable.padEnd(width)}  ${value}`),
    '',
  ].join('\n');
}
