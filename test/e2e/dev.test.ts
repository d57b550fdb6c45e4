import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'dotenv';
import pg from 'pg';
import { BIN, REPO_ROOT, runCli, tempDir } from '../support/fixtures.js';

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const baseEnv = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });

describe('dev: an embedded PostgreSQL, provisioned', () => {
  test('dev -- <command> passes the environment and the exit status, then stops the server', async () => {
    const envFile = path.join(tempDir(), '.env');
    const probe =
      "const e=process.env; const pg=require('pg'); const c=new pg.Client({host:e.TOFU_REGISTRY_DB_HOST,port:+e.TOFU_REGISTRY_DB_PORT,user:e.TOFU_REGISTRY_DB_USER,password:e.TOFU_REGISTRY_DB_PASSWORD,database:e.TOFU_REGISTRY_DB_NAME});" +
      "c.connect().then(()=>c.query('select count(*) from modules')).then(r=>{console.log('PORT='+e.TOFU_REGISTRY_DB_PORT+' rows='+r.rows[0].count);return c.end()}).then(()=>process.exit(7))";
    const result = await runCli(['--env-file', envFile, 'dev', '--name', 'devdb', '--user', 'devuser', '--', process.execPath, '-e', probe], baseEnv(), {
      cwd: REPO_ROOT,
      timeoutMs: 90_000,
    });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(7);
    const port = Number(/PORT=(\d+) rows=0/.exec(result.stdout)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await portOpen(port)).toBe(false);
    const written = parse(readFileSync(envFile));
    expect(written).toMatchObject({ TOFU_REGISTRY_DB_HOST: '127.0.0.1', TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: 'disable', TOFU_REGISTRY_DB_NAME: 'devdb', TOFU_REGISTRY_DB_USER: 'devuser' });
    expect(readFileSync(envFile, 'utf8')).toContain('loopback only');
    expect(result.stdout + result.stderr).not.toContain(written.TOFU_REGISTRY_DB_PASSWORD!);
  }, 120_000);

  test('npm start (the quick start) serves a working database until SIGINT, then stops it and removes its data', async () => {
    const envFile = path.join(tempDir(), '.env');
    // Its own process group, so that SIGINT to the group is what Ctrl-C on a terminal does.
    const child = spawn('npm', ['start', '--silent', '--', '--env-file', envFile], { cwd: REPO_ROOT, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code}/${signal}`)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev did not become ready:\n${stdout}\n${stderr}`)), 90_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const env = parse(readFileSync(envFile));
    const dataDir = /data in (\S+)/.exec(stdout)?.[1];
    expect(dataDir && existsSync(dataDir)).toBe(true);
    const client = new pg.Client({ host: env.TOFU_REGISTRY_DB_HOST, port: Number(env.TOFU_REGISTRY_DB_PORT), user: env.TOFU_REGISTRY_DB_USER, password: env.TOFU_REGISTRY_DB_PASSWORD, database: env.TOFU_REGISTRY_DB_NAME });
    await client.connect();
    expect((await client.query('SELECT count(*)::int AS n FROM providers')).rows[0].n).toBe(0);
    await client.end();
    process.kill(-child.pid!, 'SIGINT');
    // npm itself re-raises the SIGINT after its script ends; `dev` stopped the server cleanly.
    expect(['0/null', 'null/SIGINT']).toContain(await exited);
    expect(stderr).toContain('Stopping PostgreSQL');
    expect(await portOpen(Number(env.TOFU_REGISTRY_DB_PORT))).toBe(false);
    expect(existsSync(dataDir!)).toBe(false);
  }, 180_000);

  test('--data-dir keeps the data and the password across runs; bad --port exits 2', async () => {
    const parent = tempDir();
    chmodSync(parent, 0o755); // as root the server runs as "postgres", which must reach the folder
    const dataDir = path.join(parent, 'pgdata');
    const envFile = path.join(tempDir(), '.env');
    const insert = `node -e "const e=process.env;const c=new (require('pg').Client)({host:e.TOFU_REGISTRY_DB_HOST,port:+e.TOFU_REGISTRY_DB_PORT,user:e.TOFU_REGISTRY_DB_USER,password:e.TOFU_REGISTRY_DB_PASSWORD,database:e.TOFU_REGISTRY_DB_NAME});c.connect().then(()=>c.query(process.argv[1])).then(r=>{console.log('N='+(r.rows[0]||{}).n);return c.end()})"`;
    const first = await runCli(['--env-file', envFile, 'dev', '--data-dir', dataDir, '--', 'sh', '-c', `${insert} "INSERT INTO cache (cache_key, cache_value, expires_at) VALUES ('k','v',now()) RETURNING 1 AS n"`], baseEnv(), { cwd: REPO_ROOT, timeoutMs: 90_000 });
    expect(first.code).toBe(0);
    const second = await runCli(['--env-file', envFile, 'dev', '--data-dir', dataDir, '--', 'sh', '-c', `${insert} "SELECT count(*)::int AS n FROM cache"`], baseEnv(), { cwd: REPO_ROOT, timeoutMs: 90_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('N=1');
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    const bad = await runCli(['--env-file', envFile, 'dev', '--port', '99999'], baseEnv(), { cwd: REPO_ROOT });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port');
    if (process.getuid?.() === 0) {
      const hidden = await runCli(['--env-file', envFile, 'dev', '--data-dir', path.join(tempDir(), 'x', 'pgdata')], baseEnv(), { cwd: REPO_ROOT });
      expect(hidden.code).toBe(2);
      expect(hidden.stderr).toContain('cannot enter');
    }
  }, 180_000);
});

describe('dev -- <command>: what the command gets (review #15, #16)', () => {
  test('the caller\'s production URIs and PG* variables never reach the command: pg with PG* alone, DATABASE_URL and the tool itself all reach the dev server', async () => {
    const envFile = path.join(tempDir(), '.env');
    const outside = {
      ...baseEnv(),
      TOFU_REGISTRY_DB_URL: 'postgres://produser:prodpw99@db.prod.example.com:6543/proddb?target_session_attrs=standby',
      DATABASE_URL: 'postgres://produser:prodpw99@db.prod.example.com:6543/proddb',
      PGHOST: 'db.prod.example.com',
      PGTARGETSESSIONATTRS: 'standby',
      PGOPTIONS: '-c search_path=prod',
    };
    // pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE when given nothing, as psql does.
    const probe =
      "const pg=require('pg');const ask=(c)=>c.connect().then(()=>c.query('select current_user u, current_database() d, inet_server_port() p')).then(r=>{console.log(JSON.stringify(r.rows[0]));return c.end()});" +
      'ask(new pg.Client()).then(()=>ask(new pg.Client({connectionString:process.env.DATABASE_URL}))).then(()=>ask(new pg.Client({connectionString:process.env.TOFU_REGISTRY_DB_URL})))';
    const script = `${JSON.stringify(process.execPath)} -e ${JSON.stringify(probe)} && ${JSON.stringify(process.execPath)} -- ${JSON.stringify(BIN)} test-connection`;
    const result = await runCli(['--env-file', envFile, 'dev', '--name', 'devdb', '--user', 'devuser', '--', 'sh', '-c', script], outside, { cwd: REPO_ROOT, timeoutMs: 90_000 });
    expect(result.code).toBe(0);
    const port = Number(parse(readFileSync(envFile)).TOFU_REGISTRY_DB_PORT);
    const answers = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(answers).toEqual([0, 1, 2].map(() => ({ u: 'devuser', d: 'devdb', p: port })));
    expect(result.stdout).toContain('✔ All checks passed');
    expect(result.stdout).not.toContain('⚠');
  }, 120_000);

  test('--json: stdout is exactly the one JSON document; the command\'s stdout goes to stderr', async () => {
    const envFile = path.join(tempDir(), '.env');
    const result = await runCli(['--json', '--env-file', envFile, 'dev', '--', 'echo', 'hello-from-child'], baseEnv(), { cwd: REPO_ROOT, timeoutMs: 90_000 });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, command: 'dev', commandExitCode: 0 });
    expect(result.stderr).toContain('hello-from-child');
  }, 120_000);
});

