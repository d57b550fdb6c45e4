import { DEFAULTS, VARIABLES } from '../core/config/settings.js';

/**
 * The main --help's list of environment variables, made from VARIABLES and DEFAULTS (config/
 * settings.ts), so a variable added there is listed here with its default without more work.
 * Defaults that are not one value (the admin's password comes from several places) are said here.
 */
const NOT_ONE_VALUE: Readonly<Record<string, string>> = {
  password: 'none: create-user writes it into the env file',
  sslRootCert: 'none (verify-ca and verify-full then use ~/.postgresql/root.crt; "system": the system roots)',
  adminUser: `PGUSER, else ${DEFAULTS.adminUser}`,
  adminPassword: 'PGPASSWORD, else ~/.pgpass, else a prompt on a terminal',
};

function defaultOf(key: string): string {
  const defaults = DEFAULTS as Readonly<Record<string, string | number>>;
  if (NOT_ONE_VALUE[key] !== undefined) return NOT_ONE_VALUE[key];
  if (defaults[key] !== undefined) return String(defaults[key]);
  if (defaults[`${key}Seconds`] !== undefined) return `${defaults[`${key}Seconds`]} (seconds)`;
  return 'none';
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
