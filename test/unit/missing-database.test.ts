import { toRegistryDbError } from '../../src/core/db/pg-errors.js';
import { errorContext } from '../../src/core/db/network.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import path from 'node:path';
import { tempDir } from '../support/fixtures.js';

/**
 * Review 5, items 11 and 20: a missing database is named with where its name came from, and a
 * missing maintenance database (PGDATABASE, TOFU_REGISTRY_DB_ADMIN_DATABASE, an admin URI's) gets
 * a remedy that can work: create-db needs that database, it cannot create it.
 */
const missing = (database: string) => Object.assign(new Error(`database "${database}" does not exist`), { code: '3D000' });

describe('3D000: which database, from where, and what helps', () => {
  test('the registry database: create-db, or fix the setting it came from (not always TOFU_REGISTRY_DB_NAME)', () => {
    const fromFlag = toRegistryDbError(missing('reg'), { host: 'db', port: 5432, database: 'reg', databaseKind: 'registry', origins: { database: '--name' } });
    expect(fromFlag).toMatchObject({ code: 'DATABASE_MISSING', exitCode: 5, message: 'Database "reg" does not exist on db:5432 (SQLSTATE 3D000).' });
    expect(fromFlag.hint).toBe('Run `tofu-registry-db create-db` to create it, or fix --name.');
    const fromUri = toRegistryDbError(missing('reg'), { database: 'reg', databaseKind: 'registry', origins: { database: "DATABASE_URL's dbname (.env, line 3)" } });
    expect(fromUri.hint).toContain("fix DATABASE_URL's dbname (.env, line 3)");
  });

  test('the maintenance database from PGDATABASE: named, with TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres, and what PGDATABASE means here', () => {
    const failure = toRegistryDbError(missing('reg_psql'), { host: '127.0.0.1', port: 5432, database: 'reg_psql', databaseKind: 'maintenance', origins: { maintenanceDatabase: 'PGDATABASE (environment)' } });
    expect(failure).toMatchObject({ code: 'MAINTENANCE_DATABASE_MISSING', exitCode: 5, sqlState: '3D000' });
    expect(failure.message).toBe(`The admin's maintenance database "reg_psql" (from PGDATABASE (environment)) does not exist on 127.0.0.1:5432 (SQLSTATE 3D000): the admin connects to it first, to create the registry database and roles.`);
    expect(failure.hint).toContain('Set TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres');
    expect(failure.hint).toContain('reads PGDATABASE as the admin\'s maintenance database, not as the registry database');
    expect(failure.hint).not.toContain('create-db');
  });

  test('from TOFU_REGISTRY_DB_ADMIN_DATABASE, from an admin URI, by default', () => {
    const variable = toRegistryDbError(missing('nope'), { database: 'nope', databaseKind: 'maintenance', origins: { maintenanceDatabase: 'TOFU_REGISTRY_DB_ADMIN_DATABASE (.env, line 4)' } });
    expect(variable.hint).toBe('Set TOFU_REGISTRY_DB_ADMIN_DATABASE (.env, line 4) to a database that exists: postgres (template1 always exists).');
    const uri = toRegistryDbError(missing('nope'), { database: 'nope', databaseKind: 'maintenance', origins: { maintenanceDatabase: "TOFU_REGISTRY_DB_ADMIN_URL's dbname (environment)" } });
    expect(uri.hint).toContain("or fix TOFU_REGISTRY_DB_ADMIN_URL's dbname (environment)");
    const byDefault = toRegistryDbError(missing('postgres'), { database: 'postgres', databaseKind: 'maintenance', origins: { maintenanceDatabase: 'default' } });
    expect(byDefault.hint).toContain('The server has no "postgres" database');
  });

  test('one name for both: said, and the order of the fixes', () => {
    const both = toRegistryDbError(missing('reg_psql'), { database: 'reg_psql', databaseKind: 'both', origins: { database: '--name', maintenanceDatabase: 'PGDATABASE (environment)' } });
    expect(both.message).toContain('it is both the registry database (--name) and the admin\'s maintenance database (PGDATABASE (environment))');
    expect(both.hint).toMatch(/TOFU_REGISTRY_DB_ADMIN_DATABASE=postgres.*Then run `tofu-registry-db create-db`/s);
  });
});

describe("the network checks' remedies name where the host and port came from", () => {
  test('--port, a URI\'s port, the default', () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const settings = (env: Record<string, string>, flags = {}) => resolveSettings({ env, flags: { ...flags, envFile: path.join(tempDir(), '.env') } });
    expect(toRegistryDbError(refused(), errorContext(settings({}, { port: 1 }))).hint).toMatch(/^Check --port and/);
    expect(toRegistryDbError(refused(), errorContext(settings({ DATABASE_URL: 'postgres://u@127.0.0.1:1/x' }))).hint).toMatch(/^Check DATABASE_URL's port \(environment\) and/);
    expect(toRegistryDbError(refused(), errorContext(settings({}))).hint).toMatch(/^Check TOFU_REGISTRY_DB_PORT \(not set: the default is used\) and/);
  });
});
