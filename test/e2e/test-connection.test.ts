import { provisionRegistry, type Registry } from '../support/app-role.js';
import { runCli, testServer } from '../support/fixtures.js';

const CHECKS = ['configuration', 'dns', 'tcp', 'tls', 'authentication', 'database', 'server', 'schema', 'privileges', 'round-trip'];

describe('tofu-registry-db test-connection (the built binary)', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await provisionRegistry({ prefix: 'tce' });
  });
  afterAll(async () => {
    await registry.drop();
  });

  test('a working role: a checklist on stdout, one line per check, exit 0', async () => {
    const { code, stdout, stderr } = await runCli(['test-connection'], registry.env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Testing the application role "${registry.user}" → 127.0.0.1:${testServer().port}, database "${registry.database}", sslmode disable`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✔ tcp {13}127\\.0\\.0\\.1:${testServer().port} accepts connections \\(\\d+ ms\\)$`)));
    expect(lines).toContainEqual('- dns             skipped, not needed: 127.0.0.1 is an IP address');
    for (const name of ['configuration', 'authentication', 'database', 'server', 'schema', 'privileges', 'round-trip']) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✔ ${name} +\\S.* \\(\\d+ ms\\)$`)));
    }
    expect(lines[lines.length - 1]).toBe('✔ All checks passed');
    expect(stdout + stderr).not.toContain(registry.password);
    expect(stdout).not.toMatch(/\x1b\[/); // CI=true: no colour
  });

  test('a failure: ✖ with what was tried, the answer and the remedy; later checks skipped; exit 3', async () => {
    const { code, stdout } = await runCli(['test-connection'], { ...registry.env, TOFU_REGISTRY_DB_PORT: '1' });
    expect(code).toBe(3);
    expect(stdout).toMatch(/^✖ tcp {13}Nothing accepts connections at 127\.0\.0\.1:1 \(ECONNREFUSED\) \(\d+ ms\)$/m);
    expect(stdout).toMatch(/^ {4}tried: {2}open a TCP connection to 127\.0\.0\.1:1 \(timeout 10 s\)$/m);
    expect(stdout).toMatch(/^ {4}answer: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:1$/m);
    expect(stdout).toMatch(/^ {4}remedy: Check TOFU_REGISTRY_DB_PORT/m);
    expect(stdout).toContain('- tls             skipped: tcp failed');
    expect(stdout).toContain('- round-trip      skipped: tcp failed');
    expect(stdout.trimEnd().split('\n').pop()).toBe('✖ test-connection failed at tcp (exit 3)');
  });

  test('--json: exactly one document with all ten checks, also on failure, and never the password', async () => {
    const passing = await runCli(['test-connection', '--json'], registry.env);
    expect(passing.code).toBe(0);
    const ok = JSON.parse(passing.stdout);
    expect(ok).toMatchObject({ ok: true, command: 'test-connection', role: 'app', user: registry.user, database: registry.database, exitCode: 0 });
    expect(ok.checks.map((c: { name: string }) => c.name)).toEqual(CHECKS);
    expect(ok.error).toBeUndefined();

    const wrong = 'Another-Wrong-Password-4f2a9c';
    const failing = await runCli(['test-connection', '--json'], { ...registry.env, TOFU_REGISTRY_DB_PASSWORD: wrong });
    expect(failing.code).toBe(4);
    const doc = JSON.parse(failing.stdout);
    expect(doc).toMatchObject({ ok: false, command: 'test-connection', exitCode: 4, error: { code: 'AUTH_FAILED', sqlstate: '28P01' } });
    expect(doc.checks).toHaveLength(10);
    expect(doc.checks.map((c: { status: string }) => c.status)).toEqual(['pass', 'skip', 'pass', 'pass', 'fail', 'skip', 'skip', 'skip', 'skip', 'skip']);
    expect(failing.stdout + failing.stderr).not.toContain(wrong);
    expect(failing.stderr).toBe('');
  });

  test('a setting that does not resolve: configuration fails, nine skipped, exit 2 (human and --json)', async () => {
    const env = { ...registry.env, TOFU_REGISTRY_DB_PORT: 'eighty' };
    const human = await runCli(['test-connection'], env);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/^✖ configuration {3}TOFU_REGISTRY_DB_PORT \(environment\) "eighty" is not a port number/m);
    expect(human.stdout.match(/skipped: configuration failed/g)).toHaveLength(9);

    const json = await runCli(['test-connection', '--json'], env);
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 2, error: { code: 'CONFIG_INVALID' } });
    expect(doc.checks.map((c: { status: string }) => c.status)).toEqual(['fail', ...Array(9).fill('skip')]);
  });

  test('the application password comes only from TOFU_REGISTRY_DB_PASSWORD', async () => {
    const { TOFU_REGISTRY_DB_PASSWORD: _, ...withoutPassword } = registry.env;
    const { code, stdout } = await runCli(['test-connection'], { ...withoutPassword, PGPASSWORD: registry.password });
    expect(code).toBe(2);
    expect(stdout).toMatch(/^✖ configuration {3}No password for role ".*": TOFU_REGISTRY_DB_PASSWORD is not set/m);
    expect(stdout).toContain('remedy: Run `tofu-registry-db create-user`');
  });

  test('--admin checks the admin role; --verbose echoes the SQL on stderr', async () => {
    const { code, stdout, stderr } = await runCli(['test-connection', '--admin', '--verbose'], registry.env);
    expect(code).toBe(0);
    expect(stdout).toContain(`Testing the admin role "${testServer().superuser}"`);
    expect(stderr).toContain('pg_is_in_recovery()');
    expect(stdout + stderr).not.toContain(testServer().password);
  });

  test('--wait takes seconds; anything else is a usage error (exit 2); --help shows an example', async () => {
    const bad = await runCli(['test-connection', '--wait', 'soon'], registry.env);
    expect(bad.code).toBe(2);
    const waited = await runCli(['test-connection', '--wait', '5'], registry.env);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/^\(waited \d+ ms for the server\)$/m);
    const help = await runCli(['test-connection', '--help'], registry.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--admin');
    expect(help.stdout).toContain('--wait <seconds>');
    expect(help.stdout).toContain('$ tofu-registry-db test-connection');
  });
});
