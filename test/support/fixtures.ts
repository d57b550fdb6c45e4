/**
 * Helpers every integration and end-to-end test uses: unique names so tests never
 * share a database or role, settings pointing at the test server, a superuser client
 * to inspect state, and a runner for the built binary.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import type { CoreContext } from '../../src/core/db/context.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'tofu-registry-db.cjs');

export interface ServerInfo {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly password: string;
  readonly socketDir: string;
  readonly majorVersion: number;
  readonly binDir: string;
}

export function testServer(): ServerInfo {
  const env = process.env;
  if (!env.TOFU_TEST_PG_PORT) throw new Error('the test server was not started (globalSetup)');
  return {
    host: env.TOFU_TEST_PG_HOST!,
    port: Number(env.TOFU_TEST_PG_PORT),
    superuser: env.TOFU_TEST_PG_USER!,
    password: env.TOFU_TEST_PG_PASSWORD!,
    socketDir: env.TOFU_TEST_PG_SOCKET!,
    majorVersion: Number(env.TOFU_TEST_PG_MAJOR),
    binDir: env.TOFU_TEST_PG_BIN!,
  };
}

let counter = 0;
/** A name no other test uses: prefix, worker pid, counter, random suffix. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 7)}`;
}

export function tempDir(prefix = 'trdb-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Environment for the CLI: the test server as admin, TLS off, a private env file. */
export function adminEnv(overrides: Record<string, string | undefined> = {}, server: ServerInfo = testServer()): Record<string, string> {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI: 'true',
    TOFU_REGISTRY_DB_HOST: server.host,
    TOFU_REGISTRY_DB_PORT: String(server.port),
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_ADMIN_USER: server.superuser,
    TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export function settingsFor(env: Record<string, string | undefined>, flags: { database?: string; user?: string } = {}): Settings {
  return resolveSettings({ env, flags: { ...flags, envFile: path.join(tempDir(), '.env') } });
}

export function contextFor(env: Record<string, string | undefined>, flags: { database?: string; user?: string } = {}): CoreContext {
  return { settings: settingsFor(env, flags) };
}

/** A superuser client on the test server, for arranging and inspecting state. */
export async function superClient(database = 'postgres', server: ServerInfo = testServer()): Promise<pg.Client> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database, ssl: false });
  await client.connect();
  return client;
}

export async function withSuperClient<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await superClient(database);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function databaseExists(name: string): Promise<boolean> {
  return withSuperClient('postgres', async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

export async function roleExists(name: string): Promise<boolean> {
  return withSuperClient('postgres', async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1);
}

/** Databases and roles on the server: compare before and after to prove nothing changed. */
export async function serverInventory(): Promise<{ databases: string[]; roles: string[] }> {
  return withSuperClient('postgres', async (c) => ({
    databases: (await c.query('SELECT datname FROM pg_database ORDER BY 1')).rows.map((r) => r.datname as string),
    roles: (await c.query('SELECT rolname FROM pg_roles ORDER BY 1')).rows.map((r) => r.rolname as string),
  }));
}

/**
 * Drops a database whatever sessions it still has: DROP DATABASE … WITH (FORCE) from PostgreSQL
 * 13 on; before that, the sessions are ended first (what FORCE does itself).
 */
export async function forceDropDatabase(client: pg.Client, database: string): Promise<void> {
  const { rows } = await client.query(`SELECT current_setting('server_version_num')::int >= 130000 AS force`);
  if (rows[0].force) {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    return;
  }
  for (let attempt = 0; ; attempt++) {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    try {
      await client.query(`DROP DATABASE IF EXISTS "${database}"`);
      return;
    } catch (error) {
      // 55006: a session was still on its way out (or a new one came): end it and try again.
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Only on servers of this major version or newer (a feature the older ones lack). */
export function sinceMajor(major: number): jest.It {
  return testServer().majorVersion >= major ? test : test.skip;
}

export async function dropDatabaseAndRole(database?: string, role?: string): Promise<void> {
  await withSuperClient('postgres', async (c) => {
    if (database) await forceDropDatabase(c, database);
    if (role) await c.query(`DROP ROLE IF EXISTS "${role}"`);
  });
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built binary with exactly the given environment (nothing inherited but PATH/HOME). */
export function runCli(args: readonly string[], env: Record<string, string>, options: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--', BIN, ...args], { env, cwd: options.cwd ?? tempDir(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
