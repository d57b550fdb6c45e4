/**
 * NODE_EXTRA_CA_CERTS: the bin's first lines (sh) start Node without it (Node 20 parses the file at
 * start-up, ~55 ms) and the tool still trusts it where Node would have: for
 * sslrootcert=system, and in child processes. These tests execute the bin itself, shebang
 * included, as a user's shell does.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { provisionRegistry, type Registry } from '../support/app-role.js';
import { BIN, REPO_ROOT, tempDir, type CliResult } from '../support/fixtures.js';
import { startServer, type TestServer } from '../support/pg-server.js';
import { makeCertificates, type TlsFiles } from '../support/tls.js';

/** Runs the bin as an executable (through its #! line), not as `node bin/...`. */
function execBin(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('NODE_EXTRA_CA_CERTS, deferred by the launcher', () => {
  let certs: TlsFiles;
  let tlsServer: TestServer;
  let registry: Registry;

  beforeAll(async () => {
    certs = makeCertificates(); // names localhost and 127.0.0.1
    tlsServer = await startServer({ tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
    registry = await provisionRegistry({ server: tlsServer });
  }, 60_000);

  afterAll(async () => {
    await registry?.drop();
    await tlsServer?.stop();
  });

  const verifyingEnv = (extra: Record<string, string>) => ({
    ...registry.env,
    TOFU_REGISTRY_DB_SSLMODE: 'verify-full',
    TOFU_REGISTRY_DB_SSLROOTCERT: 'system',
    ...extra,
  });
  const envFileArgs = () => ['--env-file', path.join(tempDir(), '.env')];

  test('sslrootcert=system trusts the CA named by NODE_EXTRA_CA_CERTS, as Node would; without it the chain fails', async () => {
    const trusted = await execBin([...envFileArgs(), 'test-connection', '--json'], verifyingEnv({ NODE_EXTRA_CA_CERTS: certs.caFile }));
    expect(trusted.stderr).toBe('');
    const report = JSON.parse(trusted.stdout) as { ok: boolean; checks: { name: string; status: string; details?: Record<string, unknown> }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'tls')).toMatchObject({ status: 'pass', details: expect.objectContaining({ certificateVerified: true, hostnameVerified: true }) });
    expect(trusted.code).toBe(0);

    const untrusted = await execBin([...envFileArgs(), 'test-connection', '--json'], verifyingEnv({}));
    expect(untrusted.code).toBe(3);
    expect((JSON.parse(untrusted.stdout) as { checks: { name: string; status: string }[] }).checks.find((c) => c.name === 'tls')?.status).toBe('fail');
  });

  test('the file is read only when a connection needs it: a missing one warns then, not at start-up', async () => {
    const missing = path.join(tempDir(), 'no-such-ca.pem');
    const version = await execBin(['--version'], { PATH: process.env.PATH!, HOME: process.env.HOME!, NODE_EXTRA_CA_CERTS: missing });
    expect(version.code).toBe(0);
    expect(version.stderr).toBe(''); // plain `node` would print "Warning: Ignoring extra certs from ..." here
    const connecting = await execBin([...envFileArgs(), 'test-connection'], verifyingEnv({ NODE_EXTRA_CA_CERTS: missing }));
    expect(connecting.stderr).toContain(`Ignoring extra certs from \`${missing}\`, load failed`);
    expect(connecting.code).toBe(3); // then only Node's bundled roots are trusted: the chain fails
  });

  test('child processes get NODE_EXTRA_CA_CERTS back, and never the launcher\'s private variable', async () => {
    const probe = "console.log('EXTRA=' + process.env.NODE_EXTRA_CA_CERTS + ' PRIVATE=' + process.env._TOFU_REGISTRY_DB_DEFERRED_CA)";
    const result = await execBin(
      ['--env-file', path.join(tempDir(), '.env'), 'dev', '--', process.execPath, '-e', probe],
      { PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true', NODE_EXTRA_CA_CERTS: certs.caFile },
      90_000,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`EXTRA=${certs.caFile} PRIVATE=undefined`);
  }, 120_000);

  test('the #! line is /bin/sh (no env -S, which BusyBox lacks); line 2 is both sh and JavaScript', () => {
    const [first, second] = readFileSync(BIN, 'utf8').split('\n');
    expect(first).toBe('#!/bin/sh');
    expect(second).toBe(`':' //; export _TOFU_REGISTRY_DB_DEFERRED_CA="\${NODE_EXTRA_CA_CERTS-}"; unset NODE_EXTRA_CA_CERTS; exec node -- "$0" "$@"`);
  });

  test('the #! line is what a user runs: it keeps the `--` that protects --env-file from Node 20', async () => {
    const result = await execBin(['--env-file', path.join(REPO_ROOT, 'no-such.env'), '--version'], { PATH: process.env.PATH!, HOME: process.env.HOME! });
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });
});
