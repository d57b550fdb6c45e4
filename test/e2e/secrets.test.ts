import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { startServer, type TestServer } from '../support/pg-server.js';
import { adminEnv, runCli, tempDir, uniqueName, type ServerInfo } from '../support/fixtures.js';

/**
 * Secrets stay secret: with log_statement = 'all' the application password never reaches
 * the server's log (it is sent only as a SCRAM verifier), and neither password appears in
 * stdout, stderr, --verbose or --json output, on success or on failure.
 */
let server: TestServer;
let info: ServerInfo;
beforeAll(async () => {
  server = await startServer({ conf: { log_statement: 'all', log_min_messages: 'info', log_connections: 'on' } });
  info = { ...server };
});
afterAll(async () => {
  await server?.stop();
});

test('create-user with log_statement=all: the plaintext never reaches the server log or the output', async () => {
  const db = uniqueName('secret_db');
  const role = uniqueName('secret_role');
  const envFile = path.join(tempDir(), '.env');
  const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role }, info);
  const outputs: string[] = [];
  const run = async (...args: string[]) => {
    const result = await runCli(['--env-file', envFile, ...args], env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  expect((await run('--verbose', 'create-db')).code).toBe(0);
  expect((await run('--verbose', 'create-user')).code).toBe(0);
  const firstPassword = parse(readFileSync(envFile)).TOFU_REGISTRY_DB_PASSWORD!;
  expect((await run('--json', 'create-user')).code).toBe(0);
  expect((await run('--verbose', '--yes', 'create-user', '--rotate-password')).code).toBe(0);
  expect((await run('--verbose', 'create-user', '--dry-run', '--rotate-password')).code).toBe(0);
  const password = parse(readFileSync(envFile)).TOFU_REGISTRY_DB_PASSWORD!;
  expect(password).toMatch(/^[A-Za-z0-9]{32,}$/);
  // Failures too: a wrong admin password, echoed nowhere.
  const wrong = await runCli(['--env-file', envFile, '--verbose', 'migrate'], { ...env, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'wrong-admin-secret-42' });
  expect(wrong.code).toBe(4);
  outputs.push(wrong.stdout, wrong.stderr);
  const wrongJson = await runCli(['--env-file', envFile, '--json', 'migrate'], { ...env, TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'wrong-admin-secret-42' });
  expect(wrongJson.code).toBe(4);
  outputs.push(wrongJson.stdout, wrongJson.stderr);

  const everything = outputs.join('\n');
  expect(password).not.toBe(firstPassword);
  expect(everything).not.toContain(password);
  expect(everything).not.toContain(firstPassword);
  expect(everything).not.toContain(server.password);
  expect(everything).not.toContain('wrong-admin-secret-42');
  expect(everything).toContain('CREATE ROLE'); // --verbose did echo the SQL, redacted

  const log = readFileSync(server.logFile, 'utf8');
  expect(log).toContain('statement:'); // the server did log statements
  expect(log).toMatch(/ALTER ROLE|CREATE ROLE/);
  expect(log).not.toContain(password);
  expect(log).not.toContain(firstPassword);
  expect(log).toContain('SCRAM-SHA-256$4096:');
});
