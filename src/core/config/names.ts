import { ConfigError } from '../errors.js';
import { redactSecrets, registerName } from '../redact.js';

/** Database and role names: what the spec allows, checked before any SQL is built. */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export const RESERVED_DATABASES: ReadonlySet<string> = new Set(['postgres', 'template0', 'template1']);

/**
 * The registry database may not be one of PostgreSQL's own: migrating template1 would put the
 * registry's tables into every database created after it, and create-user's REVOKE CONNECT
 * FROM PUBLIC on postgres would lock every other role out of the maintenance database.
 */
export function refuseSystemDatabase(database: string, source: string | undefined): void {
  if (!RESERVED_DATABASES.has(database)) return;
  throw new ConfigError(
    `${source ?? 'The registry database'} is "${database}", one of PostgreSQL's own databases: it cannot be the registry database.`,
    'Name the registry database with --name or TOFU_REGISTRY_DB_NAME (default "opentofu").',
    'SYSTEM_DATABASE',
  );
}

/** Returns a reason when `name` is not a valid database or role name, else undefined. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 63) return `is ${name.length} characters long (at most 63)`;
  if (!/^[A-Za-z_]/.test(name)) return 'must start with a letter or "_"';
  if (!NAME_PATTERN.test(name)) return 'may contain only letters, digits, "_" and "-"';
  return undefined;
}

export function validateName(name: string, source: string): string {
  const problem = nameProblem(name);
  if (problem) {
    throw new ConfigError(
      `${source} ${describe(name)} ${problem}.`,
      'Names are 1-63 characters: a letter or "_", then letters, digits, "_" or "-".',
    );
  }
  registerName(name); // printed as itself, even when a password equals it
  return name;
}

/** Shows a rejected value without letting control characters reach the terminal. */
export function describe(value: string): string {
  // Redact before cutting: a cut URL would no longer look like one to the redactor.
  const redacted = redactSecrets(value);
  const shown = redacted.length > 80 ? `${redacted.slice(0, 77)}...` : redacted;
  return JSON.stringify(shown);
}
