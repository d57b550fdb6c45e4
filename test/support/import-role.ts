/**
 * Until create-user lands: a least-privilege application role made with plain SQL as the
 * superuser, with the grants the spec gives the API (CONNECT and TEMPORARY on the database,
 * USAGE on the schema, CRUD on the tables, USAGE/SELECT on the sequences) and nothing more.
 */
import { randomBytes } from 'node:crypto';
import { withSuperClient } from './fixtures.js';

export interface ImportRole {
  readonly user: string;
  readonly password: string;
}

export async function createImportRole(database: string, user: string): Promise<ImportRole> {
  const password = randomBytes(24).toString('hex');
  await withSuperClient(database, async (c) => {
    await c.query(`CREATE ROLE "${user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`);
    await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE "${database}" FROM PUBLIC`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE "${database}" TO "${user}"`);
    await c.query(`GRANT USAGE ON SCHEMA public TO "${user}"`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${user}"`);
    await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "${user}"`);
  });
  return { user, password };
}

/** Environment entries that make the CLI or core connect as that role. */
export function importRoleEnv(role: ImportRole): Record<string, string> {
  return { TOFU_REGISTRY_DB_USER: role.user, TOFU_REGISTRY_DB_PASSWORD: role.password };
}
