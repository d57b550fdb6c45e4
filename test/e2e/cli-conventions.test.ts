/**
 * What users of psql, dbmate and node-pg-migrate reach for (issue #18), through the built
 * binary: -v, --quiet, the environment in --help, migrate new, test-connection --name/--dir,
 * and the diagnoses of a wrong port as a user sees them.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { DEFAULTS, PG_VARIABLES, VARIABLES } from '../../src/core/config/variables.js';
import { provisionRegistry, type Registry } from '../support/app-role.js';
import { adminEnv, REPO_ROOT, runCli, tempDir, uniqueName } from '../support/fixtures.js';

const plainEnv = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });
const envFileArgs = () => ['--env-file', path.join(tempDir(), '.env')];
const version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version as string;

describe('-v and the environment in --help', () => {
  test('-v prints the version, as --version does', async () => {
    const short = await runCli(['-v'], plainEnv());
    expect(short).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  test('the main --help lists every variable the tool reads, with its default (from VARIABLES and DEFAULTS)', async () => {
    const { code, stdout } = await runCli(['--help'], plainEnv());
    expect(code).toBe(0);
    const section = stdout.split('Environment variables')[1] ?? '';
    const defaults = DEFAULTS as Readonly<Record<string, unknown>>;
    for (const [key, variable] of Object.entries(VARIABLES)) {
      const line = section.split('\n').find((l) => l.trim().startsWith(`${variable} `));
      expect(line).toBeDefined();
      const expected = defaults[key] ?? defaults[`${key}Seconds`];
      if (expected !== undefined) expect(line).toContain(String(expected));
      const libpq = (PG_VARIABLES as Readonly<Record<string, string>>)[key];
      if (libpq !== undefined) expect(line).toContain(libpq);
    }
    expect(section).toMatch(/TOFU_REGISTRY_DB_ADMIN_USER +PGUSER, else postgres/);
    expect(section).toMatch(/TOFU_REGISTRY_DB_SSLMODE +PGSSLMODE, else require/);
    expect(section).toMatch(/TOFU_REGISTRY_DB_LOCK_TIMEOUT +10 \(seconds\)/);
  });
});

describe('--quiet: errors only', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'quiet' });
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('a passing run prints nothing; a failing one only its error, on stderr, with the exit code', async () => {
    const passing = await runCli([...envFileArgs(), '--quiet', 'test-connection'], registry.env);
    expect(passing).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const loud = await runCli([...envFileArgs(), 'test-connection'], registry.env);
    expect(loud.stdout).toContain('All checks passed'); // the check can fail: without --quiet there is output

    const failing = await runCli([...envFileArgs(), '-q', 'test-connection'], { ...registry.env, TOFU_REGISTRY_DB_PORT: '1' });
    expect(failing.code).toBe(3);
    expect(failing.stdout).toBe('');
    expect(failing.stderr).toMatch(/^✖ tcp: Nothing accepts connections at 127\.0\.0\.1:1 \(ECONNREFUSED\)\.\n {2}hint: Check TOFU_REGISTRY_DB_PORT/);
  });

  test('warnings are not printed; what --show-password asks for is; --quiet with --verbose is a usage error', async () => {
    // A role with CONNECTION LIMIT 0: create-user warns about it (on stderr) unless --quiet.
    const role = uniqueName('quiet_q');
    await registry.asSuperuser((c) => c.query(`CREATE ROLE "${role}" LOGIN CONNECTION LIMIT 0`));
    try {
      const args = ['create-user', '--user', role, '--rotate-password', '--yes', '--no-write-env', '--show-password'];
      const loud = await runCli([...envFileArgs(), ...args], registry.env);
      expect(loud.stderr).toContain('CONNECTION LIMIT 0');
      const quiet = await runCli([...envFileArgs(), '--quiet', ...args], registry.env);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).toMatch(/^Password: [A-Za-z0-9]{32,}\n$/);
      expect(quiet.stderr).toBe('');
    } finally {
      await registry.asSuperuser((c) => c.query(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`));
    }

    const both = await runCli([...envFileArgs(), '--quiet', '--verbose', 'test-connection'], registry.env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--quiet and --verbose');
  });
});

describe('migrate new <name>', () => {
  test('writes the next numbered empty file, prints its path; migrate applies it', async () => {
    const dir = path.join(tempDir(), 'migrations');
    mkdirSync(dir);
    writeFileSync(path.join(dir, '001_create_things.sql'), 'CREATE TABLE things (id int);\n');
    const first = await runCli(['migrate', 'new', 'more_things', '--dir', dir], plainEnv());
    expect(first).toMatchObject({ code: 0, stdout: `${path.join(dir, '002_more_things.sql')}\n`, stderr: '' });
    writeFileSync(path.join(dir, '0009_padded.sql'), 'SELECT 1;\n');
    const json = await runCli(['--json', 'migrate', 'new', 'add-index.v2', '--dir', dir], plainEnv());
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, command: 'migrate new', path: path.join(dir, '0010_add-index.v2.sql'), fileName: '0010_add-index.v2.sql', version: '0010', name: 'add-index.v2', copied: [] });
    expect(readFileSync(path.join(dir, '0010_add-index.v2.sql'), 'utf8')).toMatch(/^-- 0010_add-index\.v2\.sql\n(-- .*\n)+$/);

    // An empty migration (comments only) applies, and is recorded.
    const { dropDatabaseAndRole } = await import('../support/fixtures.js');
    const db = uniqueName('mignew');
    try {
      const applied = await runCli([...envFileArgs(), 'create-db', '--name', db, '--dir', dir], adminEnv());
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('Applied 4 migration(s)');
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test('a name that cannot be a file name, or a folder whose files are not migrations: exit 2, nothing written', async () => {
    const dir = tempDir();
    for (const name of ['add index', '../escape', 'x'.repeat(101), 'semi;colon']) {
      const bad = await runCli(['migrate', 'new', name, '--dir', dir], plainEnv());
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('is not usable in a file name');
    }
    writeFileSync(path.join(dir, 'notes.sql'), '');
    const foreign = await runCli(['migrate', 'new', 'ok', '--dir', dir], plainEnv());
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('is not named NNN_description.sql');
    expect(readdirSync(dir)).toEqual(['notes.sql']);
  });

  test('an installed package: its bundled sql/ is refused (an upgrade would remove the file)', async () => {
    const installed = path.join(tempDir(), 'node_modules', 'tofu-registry-db');
    mkdirSync(installed, { recursive: true });
    for (const part of ['package.json', 'bin', 'dist', 'sql']) cpSync(path.join(REPO_ROOT, part), path.join(installed, part), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(installed, 'node_modules'));
    const bin = path.join(installed, 'bin', 'tofu-registry-db.cjs');
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, ['--', bin, 'migrate', 'new', 'mine'], { env: plainEnv(), encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('belong to the installed package');
    expect(result.stderr).toContain('--dir');
    expect(readdirSync(path.join(installed, 'sql')).filter((f) => f.includes('mine'))).toEqual([]);
  });
});

describe('test-connection --name and --dir', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'tcdir' });
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('a project with its own migrations gets a clean check with the same --dir it migrated with', async () => {
    const dir = tempDir();
    cpSync(path.join(REPO_ROOT, 'sql'), dir, { recursive: true });
    writeFileSync(path.join(dir, '900_project_table.sql'), 'CREATE TABLE project_notes (id serial PRIMARY KEY, note text);\n');
    expect((await runCli([...envFileArgs(), 'migrate', '--dir', dir], registry.env)).code).toBe(0);
    await registry.asSuperuser((c) => c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON project_notes TO "${registry.user}"; GRANT USAGE, SELECT ON SEQUENCE project_notes_id_seq TO "${registry.user}"`));

    const without = await runCli([...envFileArgs(), 'test-connection'], registry.env);
    expect(without.stdout).toContain('pass the same --dir here');
    const { TOFU_REGISTRY_DB_NAME: _name, ...noName } = registry.env;
    const withDir = await runCli([...envFileArgs(), 'test-connection', '--name', registry.database, '--dir', dir], noName);
    expect(withDir.code).toBe(0);
    expect(withDir.stdout).toMatch(/✔ schema +tables modules, providers, cache, provider_platforms, registry_providers, registry_modules, signing_keys, registry_import_sources exist; all \d+ migrations applied/);
    expect(withDir.stdout).not.toContain('⚠');
    expect(withDir.stdout.trimEnd().split('\n').pop()).toBe('✔ All checks passed');

    const missing = await runCli([...envFileArgs(), 'test-connection', '--dir', path.join(dir, 'nope')], registry.env);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toMatch(/✖ configuration +Cannot read the migrations folder/);
  });
});

describe('a wrong port, as a user sees it', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('test-connection and migrate name the HTTP server and what it answered; no "enable ssl"', async () => {
    const env = adminEnv({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: 'require', TOFU_REGISTRY_DB_PASSWORD: 'unused-password-1' });
    const checked = await runCli([...envFileArgs(), 'test-connection'], env);
    expect(checked.code).toBe(3);
    expect(checked.stdout).toMatch(new RegExp(`✖ tls +Something other than PostgreSQL answers at 127\\.0\\.0\\.1:${port} \\(an HTTP server\\): it answered PostgreSQL's SSL request with "HTTP/1\\.1 400 Bad Request"`));
    expect(checked.stdout).not.toMatch(/enable ssl/i);
    const migrated = await runCli([...envFileArgs(), 'migrate'], { ...env, TOFU_REGISTRY_DB_SSLMODE: 'disable' });
    expect(migrated.code).toBe(3);
    expect(migrated.stderr).toContain('startup message with "HTTP/1.1 400 Bad Request"');
  });
});

describe('an SSH server on the port (a program that talks first), as a user sees it', () => {
  const banner = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n';
  let server: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    // Like sshd: the banner as soon as the connection opens, then it waits for the client's.
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.write(banner);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const sshEnv = (sslMode: string | undefined) =>
    adminEnv({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_SSLMODE: sslMode, TOFU_REGISTRY_DB_PASSWORD: 'unused-password-1' });
  const named = `Something other than PostgreSQL answers at 127.0.0.1:PORT (an SSH server): it answered PostgreSQL's SSL request with "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"`;

  test.each([undefined, 'prefer', 'require'])('sslmode %s: create-db --json says NOT_POSTGRESQL, exit 3, naming the SSH server', async (sslMode) => {
    const { code, stdout } = await runCli([...envFileArgs(), 'create-db', '--json'], sshEnv(sslMode));
    expect(code).toBe(3);
    const document = JSON.parse(stdout);
    expect(document.error.code).toBe('NOT_POSTGRESQL');
    expect(document.error.message).toBe(`${named.replace('PORT', String(port))} (psql: "received invalid response to SSL negotiation: S").`);
  });

  test('test-connection fails at tls with exit 3, status --verbose without a stack trace', async () => {
    const started = Date.now();
    const checked = await runCli([...envFileArgs(), 'test-connection'], sshEnv('require'));
    expect(checked.code).toBe(3);
    expect(checked.stdout).toContain(`✖ tls             ${named.replace('PORT', String(port))}`);
    // The listener is dropped at once, not closed politely after a second's wait.
    expect(Date.now() - started).toBeLessThan(5_000);
    const status = await runCli([...envFileArgs(), 'status', '--verbose'], sshEnv('prefer'));
    expect(status.code).toBe(3);
    expect(status.stderr).toContain(named.replace('PORT', String(port)));
    expect(status.stderr).not.toMatch(/^\s*\|?\s*at /m);
  });
});
