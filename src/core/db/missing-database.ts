/**
 * SQLSTATE 3D000 in words. The database a login asks for is the registry database, or the
 * admin's maintenance database (PGDATABASE, TOFU_REGISTRY_DB_ADMIN_DATABASE, the admin URI's
 * dbname), which the admin connects to first: create-db cannot create that one, it needs it.
 */
export type DatabaseKind = 'registry' | 'maintenance' | 'both';

export interface MissingDatabase {
  readonly name: string;
  /** The server, and the SQLSTATE: "127.0.0.1:5432 (SQLSTATE 3D000)". */
  readonly where: string;
  readonly kind: DatabaseKind;
  /** Where the registry database's and the maintenance database's names came from. */
  readonly registry: string;
  readonly maintenance: string;
}

export function missingDatabaseText({ name, where, kind, registry, maintenance }: MissingDatabase): { id: string; message: string; hint: string } {
  if (kind === 'registry') {
    return { id: 'DATABASE_MISSING', message: `Database "${name}" does not exist on ${where}.`, hint: `Run \`tofu-registry-db create-db\` to create it, or fix ${registry}.` };
  }
  const both = kind === 'both';
  return {
    id: 'MAINTENANCE_DATABASE_MISSING',
    message: both
      ? `Database "${name}" does not exist on ${where}: it is both the registry database (${registry}) and the admin's maintenance database (${maintenance}), which the admin connects to first to create the registry database.`
      : `The admin's maintenance database "${name}" (from ${maintenance}) does not exist on ${where}: the admin connects to it first, to create the registry database and roles.`,
    hint: `${maintenanceRemedy(maintenance)}${both ? ' Then run `tofu-registry-db create-db`.' : ''}`,
  };
}

/** How to point the admin at a maintenance database that exists, by where the missing one's name came from. */
function maintenanceRemedy(origin: string): string {
  if (/not set: the default/.test(origin)) return 'The server has no "postgres" database: set TOFU_REGISTRY_DB_ADMIN_DATABASE to one that exists (template1 always does).';
  if (/^TOFU_REGISTRY_DB_ADMIN_DATABASE\b/.test(origin)) return `Set ${origin} to a database that exists: postgres (template1 always exists).`;
  const pgDatabase = /^PGDATABASE\b/.test(origin)
    ? ' tofu-registry-db reads PGDATABASE as the admin\'s maintenance database, not as the registry database (that is TOFU_REGISTRY_DB_NAME or --name).'
    : '';
  return `Set TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres (or another database that exists), or fix ${origin}.${pgDatabase}`;
}
