import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/**
 * libpq's connection service file (PostgreSQL docs, "The Connection Service File"): named
 * sections of keyword=value lines, looked up in PGSERVICEFILE (else ~/.pg_service.conf), then in
 * PGSYSCONFDIR/pg_service.conf. The first file that has the section wins, as in libpq.
 */
export interface ServiceDefinition {
  readonly name: string;
  readonly file: string;
  readonly params: Readonly<Record<string, string>>;
}

function serviceFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const user = env.PGSERVICEFILE ?? path.join(env.HOME ?? homedir(), '.pg_service.conf');
  const system = path.join(env.PGSYSCONFDIR ?? '/etc/postgresql-common', 'pg_service.conf');
  return [user, system];
}

function section(text: string, name: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!.trim();
      if (current === name) found ??= {};
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf('=');
    if (eq > 0) found![line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return found;
}

export function findService(name: string, env: Readonly<Record<string, string | undefined>>, origin: string): ServiceDefinition {
  const files = serviceFiles(env);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const params = section(readFileSync(file, 'utf8'), name);
    if (params) return { name, file, params };
  }
  throw new ConfigError(
    `${origin} names the service ${describe(name)}, which neither ${files.join(' nor ')} defines.`,
    'Add a [section] of that name to the service file, or unset PGSERVICE.',
    'SERVICE_NOT_FOUND',
  );
}
