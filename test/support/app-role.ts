/**
 * A registry database with an application role, provisioned with plain SQL the way
 * create-user grants (LOGIN, CONNECT, TEMPORARY, USAGE on public, CRUD on the tables,
 * USAGE/SELECT on the sequences), for tests that need the app role before create-user.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { createDatabase } from '../../src/core/provision/create-database.js';
import type { CoreContext } from '../../src/core/db/context.js';
import { adminEnv, contextFor, forceDropDatabase, superClient, testServer, uniqueName, type ServerInfo } from './fixtures.js';

export interface Registry {
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** The CLI environment for the app role (the admin's variables included). */
  readonly env: Record<string, string>;
  readonly server: ServerInfo;
  context(overrides?: Record<string, string | undefined>): CoreContext;
  /** Runs SQL as the superuser in the registry database. */
  asSuperuser<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

export function appRoleGrantsSql(database: string, user: string): string[] {
  return [
    `REVOKE CONNECT ON DATABASE "${database}" FROM PUBLIC`,
    `GRANT CONNECT, TEMPORARY ON DATABASE "${database}" TO "${user}"`,
    // As create-user does (PostgreSQL 14 and older let PUBLIC create in schema public).
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    `GRANT USAGE ON SCHEMA public TO "${user}"`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${user}"`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "${user}"`,
    // As create-user leaves it: the bookkeeping is read-only for the application role.
    `DO $$ BEGIN IF to_regclass('public.tofu_registry_migrations') IS NOT NULL THEN REVOKE INSERT, UPDATE, DELETE ON public.tofu_registry_migrations FROM "${user}"; END IF; END $$`,
  ];
}

export async function provisionRegistry(
  options: { server?: ServerInfo; migrate?: boolean; migrationsDir?: string; prefix?: string } = {},
): Promise<Registry> {
  const server = options.server ?? testServer();
  const prefix = options.prefix ?? 'tc';
  const database = uniqueName(`${prefix}_db`);
  const user = uniqueName(`${prefix}_app`);
  const password = randomBytes(18).toString('base64url');
  await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: database }, server)), {
    migrate: options.migrate,
    migrationsDir: options.migrationsDir,
  });
  const admin = await superClient(database, server);
  try {
    await admin.query(`CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`);
    for (const sql of appRoleGrantsSql(database, user)) await admin.query(sql);
  } finally {
    await admin.end();
  }
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_USER: user, TOFU_REGISTRY_DB_PASSWORD: password }, server);
  return {
    database,
    user,
    password,
    env,
    server,
    context: (overrides = {}) => contextFor({ ...env, ...overrides }),
    async asSuperuser(fn) {
      const client = await superClient(database, server);
      try {
        return await fn(client);
      } finally {
        await client.end();
      }
    },
    drop: () => dropRegistry(database, user, server),
  };
}

async function dropRegistry(database: string, user: string, server: ServerInfo): Promise<void> {
  const client = await superClient('postgres', server);
  try {
    await forceDropDatabase(client, database);
    await client.query(`DROP ROLE IF EXISTS "${user}"`);
  } finally {
    await client.end();
  }
}
