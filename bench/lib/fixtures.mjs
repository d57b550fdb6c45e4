/**
 * What the scenarios work on: generated migration folders, dbmate's copy of the bundled
 * schema, and an admin connection for the untimed preparation and clean-up.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/**
 * `count` small migrations, each one table and one row: the shape of a long-lived
 * project's history, where most migrations are small.
 * @param {string} dir
 * @param {number} count
 */
export function writeSmallMigrations(dir, count) {
  mkdirSync(dir, { recursive: true });
  const width = String(count).length + 1;
  for (let i = 1; i <= count; i++) {
    const n = String(i).padStart(width, '0');
    writeFileSync(
      path.join(dir, `${n}_table_${n}.sql`),
      `CREATE TABLE bench_${n} (id integer PRIMARY KEY, label text NOT NULL);\nINSERT INTO bench_${n} (id, label) VALUES (1, 'row ${n}');\n`,
    );
  }
  return readdirSync(dir).filter((f) => f.endsWith('.sql')).sort().map((f) => path.join(dir, f));
}

/**
 * The same SQL files in dbmate's format: one `-- migrate:up` section each, and an empty
 * `-- migrate:down` (our migrations are forward-only). dbmate wraps each file in a
 * transaction, as we do.
 * @param {string} sqlDir
 * @param {string} dir
 */
export function writeDbmateMigrations(sqlDir, dir) {
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(sqlDir).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = readFileSync(path.join(sqlDir, file), 'utf8');
    writeFileSync(path.join(dir, file), `-- migrate:up\n${sql}\n\n-- migrate:down\n`);
  }
}

/** @param {string} name */
export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * One admin connection for the harness's own work (never timed).
 * @param {{ host: string, port: number, superuser: string, password: string }} server
 */
export async function connectAdmin(server, database = 'postgres') {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database });
  await client.connect();
  return client;
}

/**
 * Drops what a run created. WITH (FORCE): a failed run may have left a session behind.
 * The database goes first: the role's grants and default privileges live in it.
 * @param {pg.Client} admin
 * @param {{ databases?: readonly string[], roles?: readonly string[] }} names
 */
export async function dropObjects(admin, { databases = [], roles = [] }) {
  for (const database of databases) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
}

/**
 * Counts the ordinary tables in a database's public schema: proof that a run did its work.
 * @param {{ host: string, port: number, superuser: string, password: string }} server
 * @param {string} database
 */
export async function countTables(server, database) {
  const client = await connectAdmin(server, database);
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`,
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The application role that test-connection checks, made directly in SQL (the same
 * privileges as create-user grants) so that the scenario depends on no other command.
 * Returns the role's password.
 * @param {{ host: string, port: number, superuser: string, password: string }} server
 * @param {pg.Client} admin
 */
export async function createAppRole(server, admin, database, role) {
  const password = Array.from({ length: 32 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
  // The plaintext goes over loopback to a throwaway server whose log records no statements.
  await admin.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD '${password}'`);
  const client = await connectAdmin(server, database);
  try {
    await client.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM PUBLIC;
      GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)};
      GRANT USAGE ON SCHEMA public TO ${quoteIdent(role)};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${quoteIdent(role)};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${quoteIdent(role)}`);
  } finally {
    await client.end();
  }
  return password;
}
