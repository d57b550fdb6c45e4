/**
 * test-connection against servers started for these tests: one with TLS (a certificate
 * from a throwaway CA, issued for "localhost" only) and pg_hba.conf rules that reject,
 * demand TLS or trust particular roles; the run's own server has no TLS.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { connect, disconnect } from '../../src/core/db/connection.js';
import { testConnection, type CheckName, type TestConnectionResult } from '../../src/core/checks/test-connection.js';
import { appRoleGrantsSql, provisionRegistry, type Registry } from '../support/app-role.js';
import { adminEnv, contextFor, superClient, testServer } from '../support/fixtures.js';
import { freePort, startServer, type TestServer } from '../support/pg-server.js';
import { makeCertificates, type TlsFiles } from '../support/tls.js';

const TLS_ONLY_ROLE = 'tc_tls_only_role';
const REJECTED_ROLE = 'tc_rejected_role';
const TRUSTED_GHOST_ROLE = 'tc_trusted_ghost_role';
const TLS_ONLY_PASSWORD = 'tls-only-password-5c1e';

function check(result: TestConnectionResult, name: CheckName) {
  return result.checks.find((c) => c.name === name)!;
}

function failureAt(result: TestConnectionResult): CheckName | undefined {
  return result.checks.find((c) => c.status === 'fail')?.name;
}

describe('testConnection: TLS and pg_hba.conf', () => {
  let certs: TlsFiles;
  let otherCa: TlsFiles;
  let tlsServer: TestServer;
  let onTls: Registry;
  let onPlain: Registry;

  beforeAll(async () => {
    certs = makeCertificates({ altNames: ['DNS:localhost'] });
    otherCa = makeCertificates({ caName: 'some other CA' });
    tlsServer = await startServer({
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
      hbaLines: [
        `hostnossl all ${TLS_ONLY_ROLE} 127.0.0.1/32 reject`,
        `host all ${REJECTED_ROLE} 127.0.0.1/32 reject`,
        `host all ${TRUSTED_GHOST_ROLE} 127.0.0.1/32 trust`,
      ],
    });
    onTls = await provisionRegistry({ server: tlsServer });
    onPlain = await provisionRegistry();
    const admin = await superClient(onTls.database, tlsServer);
    try {
      await admin.query(`CREATE ROLE ${TLS_ONLY_ROLE} LOGIN PASSWORD '${TLS_ONLY_PASSWORD}'`);
      for (const sql of appRoleGrantsSql(onTls.database, TLS_ONLY_ROLE)) await admin.query(sql);
    } finally {
      await admin.end();
    }
  });

  afterAll(async () => {
    await onPlain?.drop();
    await tlsServer?.stop();
  });

  // Every libpq sslmode against a server with TLS and one without; root certificate set
  // for the verifying modes. The certificate names "localhost", so verify-full uses it.
  const matrix: readonly {
    server: 'tls' | 'plain';
    mode: string;
    host?: string;
    rootCert?: boolean;
    expect: { ok: boolean; encrypted?: boolean; verified?: boolean; hostnameVerified?: boolean; code?: string };
  }[] = [
    { server: 'tls', mode: 'disable', expect: { ok: true, encrypted: false } },
    { server: 'tls', mode: 'allow', expect: { ok: true, encrypted: false } },
    { server: 'tls', mode: 'prefer', expect: { ok: true, encrypted: true, verified: false, hostnameVerified: false } },
    { server: 'tls', mode: 'require', expect: { ok: true, encrypted: true, verified: false, hostnameVerified: false } },
    { server: 'tls', mode: 'verify-ca', rootCert: true, expect: { ok: true, encrypted: true, verified: true, hostnameVerified: false } },
    { server: 'tls', mode: 'verify-full', host: 'localhost', rootCert: true, expect: { ok: true, encrypted: true, verified: true, hostnameVerified: true } },
    { server: 'plain', mode: 'disable', expect: { ok: true, encrypted: false } },
    { server: 'plain', mode: 'allow', expect: { ok: true, encrypted: false } },
    { server: 'plain', mode: 'prefer', expect: { ok: true, encrypted: false } },
    { server: 'plain', mode: 'require', expect: { ok: false, code: 'TLS_UNAVAILABLE' } },
    { server: 'plain', mode: 'verify-ca', rootCert: true, expect: { ok: false, code: 'TLS_UNAVAILABLE' } },
    { server: 'plain', mode: 'verify-full', rootCert: true, expect: { ok: false, code: 'TLS_UNAVAILABLE' } },
  ];

  test.each(matrix)('sslmode $mode against the $server server', async ({ server, mode, host, rootCert, expect: expected }) => {
    const registry = server === 'tls' ? onTls : onPlain;
    const result = await testConnection(
      registry.context({
        TOFU_REGISTRY_DB_SSLMODE: mode,
        ...(host ? { TOFU_REGISTRY_DB_HOST: host } : {}),
        ...(rootCert ? { TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile } : {}),
      }),
    );
    const tls = check(result, 'tls');
    expect(result.sslMode).toBe(mode);
    if (expected.ok) {
      expect(result.checks.map((c) => c.status)).not.toContain('fail');
      expect(result.exitCode).toBe(0);
      expect(tls.details).toMatchObject({ sslMode: mode, encrypted: expected.encrypted });
      if (expected.encrypted) {
        expect(tls.details?.protocol).toMatch(/^TLSv1\.[23]$/);
        expect(tls.summary).toContain(`encrypted (${tls.details?.protocol})`);
        expect(tls.details).toMatchObject({ certificateVerified: expected.verified, hostnameVerified: expected.hostnameVerified });
        expect(tls.summary).toContain(expected.verified ? 'certificate verified' : 'certificate not verified');
        expect(check(result, 'authentication').summary).toContain(`over ${tls.details?.protocol}`);
      } else {
        expect(tls.summary).toContain('not encrypted');
      }
    } else {
      expect(failureAt(result)).toBe('tls');
      expect(result.exitCode).toBe(3);
      expect(tls.error?.code).toBe(expected.code);
      expect(tls.summary).toContain(`sslmode ${mode} requires it`);
      expect(tls.error?.hint).toContain('Enable ssl on the server');
    }
  });

  test('sslmode require with TOFU_REGISTRY_DB_SSLROOTCERT verifies the chain (as libpq does)', async () => {
    const result = await testConnection(onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'require', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }));
    expect(result.ok).toBe(true);
    expect(check(result, 'tls').details).toMatchObject({ encrypted: true, certificateVerified: true, hostnameVerified: false });
  });

  test('verify-full without any root certificate: tls fails (exit 3) and shows the certificate it could not check', async () => {
    expect(existsSync(path.join(homedir(), '.postgresql', 'root.crt'))).toBe(false);
    const result = await testConnection(onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_HOST: 'localhost' }));
    expect(failureAt(result)).toBe('tls');
    expect(result.exitCode).toBe(3);
    const tls = check(result, 'tls');
    expect(tls.error?.code).toBe('TLS_ROOT_CERT_MISSING');
    expect(tls.summary).toContain('CN=tofu-registry-db test server');
    expect(tls.summary).toContain('root.crt does not exist');
    expect(tls.error?.hint).toContain('TOFU_REGISTRY_DB_SSLROOTCERT');
    expect(check(result, 'authentication').status).toBe('skip');
  });

  test('verify-full with a CA that did not sign the certificate: tls fails, exit 3, with OpenSSL\'s reason', async () => {
    const result = await testConnection(
      onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_HOST: 'localhost', TOFU_REGISTRY_DB_SSLROOTCERT: otherCa.caFile }),
    );
    expect(failureAt(result)).toBe('tls');
    expect(result.exitCode).toBe(3);
    const tls = check(result, 'tls');
    expect(tls.error?.code).toBe('TLS_VERIFY_FAILED');
    expect(tls.details?.answer).toMatch(/OpenSSL: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    expect(tls.details?.tried).toContain(otherCa.caFile);
  });

  test('verify-full by an address the certificate does not name: tls fails, exit 3; verify-ca passes', async () => {
    const full = await testConnection(onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }));
    expect(failureAt(full)).toBe('tls');
    expect(full.exitCode).toBe(3);
    expect(check(full, 'tls').error?.code).toBe('TLS_VERIFY_FAILED');
    expect(check(full, 'tls').details?.answer).toContain("IP: 127.0.0.1 is not in the cert's list");
    expect(check(full, 'tls').error?.hint).toContain('verify-ca');

    const ca = await testConnection(onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-ca', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }));
    expect(ca.ok).toBe(true);
  });

  test('pg_hba.conf "reject": authentication fails with 28000, exit 4, and the remedy names the pg_hba.conf rule', async () => {
    const result = await testConnection(onTls.context({ TOFU_REGISTRY_DB_USER: REJECTED_ROLE, TOFU_REGISTRY_DB_SSLMODE: 'require' }));
    expect(failureAt(result)).toBe('authentication');
    expect(result.exitCode).toBe(4);
    const auth = check(result, 'authentication');
    expect(auth.error).toMatchObject({ code: 'CONNECTION_REJECTED', sqlstate: '28000' });
    expect(auth.details?.answer).toContain('pg_hba.conf rejects connection');
    expect(auth.error?.hint).toContain('"reject" line in pg_hba.conf');
  });

  test('a role that does not exist, where pg_hba.conf trusts it: 28000, exit 4, hint create-user', async () => {
    const result = await testConnection(onTls.context({ TOFU_REGISTRY_DB_USER: TRUSTED_GHOST_ROLE }));
    expect(failureAt(result)).toBe('authentication');
    expect(result.exitCode).toBe(4);
    const auth = check(result, 'authentication');
    expect(auth.error).toMatchObject({ code: 'ROLE_MISSING', sqlstate: '28000' });
    expect(auth.summary).toContain(`Role "${TRUSTED_GHOST_ROLE}" does not exist`);
    expect(auth.error?.hint).toContain('create-user');
  });

  test('a role pg_hba.conf admits only over TLS: disable fails at authentication (exit 4); allow retries with TLS and passes', async () => {
    const env = { TOFU_REGISTRY_DB_USER: TLS_ONLY_ROLE, TOFU_REGISTRY_DB_PASSWORD: TLS_ONLY_PASSWORD };
    const disabled = await testConnection(onTls.context({ ...env, TOFU_REGISTRY_DB_SSLMODE: 'disable' }));
    expect(failureAt(disabled)).toBe('authentication');
    expect(disabled.exitCode).toBe(4);
    expect(check(disabled, 'authentication').error?.sqlstate).toBe('28000');
    // A hostssl line can never admit a plain login: the remedy is TLS, or a host line.
    expect(check(disabled, 'authentication').error?.hint).toContain('TOFU_REGISTRY_DB_SSLMODE=require');
    expect(check(disabled, 'authentication').error?.hint).toContain(`\`host ${onTls.database} ${TLS_ONLY_ROLE} <client address>/32 scram-sha-256\``);

    const allowed = await testConnection(onTls.context({ ...env, TOFU_REGISTRY_DB_SSLMODE: 'allow' }));
    expect(allowed.ok).toBe(true);
    const tls = check(allowed, 'tls');
    expect(tls.details).toMatchObject({ encrypted: true, certificateVerified: false });
    expect(tls.summary).toMatch(/^encrypted \(TLSv1\.[23]\)/);
  });

  test('--wait: waits for a server that is still starting, then passes', async () => {
    const port = await freePort();
    const env = adminEnv({ TOFU_REGISTRY_DB_PORT: String(port), TOFU_REGISTRY_DB_NAME: 'postgres' }, { ...testServer(), port });
    // The check starts first; the server only a second later, so the wait is certain to happen.
    const pending = testConnection(contextFor(env), { admin: true, waitSeconds: 60 });
    const starting = new Promise((resolve) => setTimeout(resolve, 1000)).then(() => startServer({ port }));
    let server: TestServer | undefined;
    try {
      const result = await pending;
      server = await starting;
      expect(result.waitedMs).toBeGreaterThanOrEqual(900);
      expect(check(result, 'tcp').status).toBe('pass');
      expect(check(result, 'authentication').status).toBe('pass');
      // The maintenance database has no registry tables: the schema check is the first to fail.
      expect(failureAt(result)).toBe('schema');
    } finally {
      server ??= await starting;
      await server.stop();
    }
  });

  test('connect() agrees with the probe: verify-full by IP address still checks the address against the certificate', async () => {
    const byAddress = onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }).settings;
    await expect(connect(byAddress, { role: 'app' })).rejects.toMatchObject({ code: 'TLS_VERIFY_FAILED', errorClass: 'unreachable' });
    const byName = onTls.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile, TOFU_REGISTRY_DB_HOST: 'localhost' }).settings;
    const connection = await connect(byName, { role: 'app' });
    expect(connection.tls).toMatchObject({ encrypted: true, certificateVerified: true, hostnameVerified: true });
    await disconnect(connection);
  });
});

describe('testConnection: a certificate that names another host (not localhost, not the address)', () => {
  let certs: TlsFiles;
  let server: TestServer;
  let registry: Registry;

  beforeAll(async () => {
    certs = makeCertificates({ altNames: ['DNS:db.example.com'] });
    server = await startServer({ tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
    registry = await provisionRegistry({ server });
  });

  afterAll(async () => {
    await server?.stop();
  });

  // Node checks the name on its own unless told not to, against "localhost" for an address:
  // the probe took that mismatch for a chain failure ("not signed by a CA") in every mode.
  test.each(['verify-ca', 'require'])('sslmode %s with the root certificate, by address: the chain is verified, the name is not checked', async (mode) => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_SSLMODE: mode, TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }));
    expect(result.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.error?.message}`)).toEqual([]);
    expect(check(result, 'tls').details).toMatchObject({ encrypted: true, certificateVerified: true, hostnameVerified: false });
  });

  test('sslmode verify-full by address: the name is the finding, not the chain', async () => {
    const result = await testConnection(registry.context({ TOFU_REGISTRY_DB_SSLMODE: 'verify-full', TOFU_REGISTRY_DB_SSLROOTCERT: certs.caFile }));
    expect(failureAt(result)).toBe('tls');
    expect(result.exitCode).toBe(3);
    expect(check(result, 'tls').error?.message).toContain('does not name 127.0.0.1 (it names DNS:db.example.com)');
    expect(check(result, 'tls').error?.hint).toContain('verify-ca');
  });
});
