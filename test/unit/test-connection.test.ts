import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { answerOf, type TlsProbe } from '../../src/core/checks/check.js';
import { isSqlState } from '../../src/core/errors.js';
import { isLoopback } from '../../src/core/db/network.js';
import { tlsVerdict, type TlsVerdictInput } from '../../src/core/checks/tls.js';
import { roundTripSteps } from '../../src/core/checks/round-trip.js';
import { judgePrivileges, type PrivilegeFacts } from '../../src/core/checks/schema.js';
import { judgeServer } from '../../src/core/checks/session.js';
import { ConfigError } from '../../src/core/errors.js';
import { toRegistryDbError } from '../../src/core/db/pg-errors.js';
import { CHECK_NAMES, configurationFailure } from '../../src/core/checks/test-connection.js';
import { tempDir } from '../support/fixtures.js';
import { sslOptionsFor } from '../../src/core/db/tls-options.js';

describe('server check: version and standby', () => {
  test.each([
    [110022, false, 'fail', 'SERVER_TOO_OLD'],
    [119999, false, 'fail', 'SERVER_TOO_OLD'],
    [120000, false, 'pass', undefined],
    [150004, false, 'pass', undefined],
    [180001, true, 'fail', 'READ_ONLY_STANDBY'],
    [110022, true, 'fail', 'SERVER_TOO_OLD'],
  ])('server_version_num %i, in recovery %s → %s %s', (versionNum, inRecovery, status, code) => {
    const outcome = judgeServer({ versionNum, version: String(versionNum), inRecovery }, 'db:5432');
    expect(outcome.status).toBe(status);
    expect(outcome.failure?.code).toBe(code);
    if (outcome.failure) expect(outcome.failure.exitCode).toBe(3);
  });

  test('an old server is named with its version and told to upgrade', () => {
    const outcome = judgeServer({ versionNum: 110022, version: '11.22', inRecovery: false }, 'db:5432');
    expect(outcome.summary).toBe('db:5432 runs PostgreSQL 11.22; tofu-registry-db needs 12 or later.');
    expect(outcome.details).toMatchObject({ answer: 'server_version_num = 110022' });
    expect(outcome.failure?.hint).toContain('Upgrade');
  });

  test('a standby: connect to the primary', () => {
    const outcome = judgeServer({ versionNum: 150004, version: '15.4', inRecovery: true }, 'db:5432');
    expect(outcome.failure?.hint).toContain('Connect to the primary');
  });
});

describe('tls check: libpq sslmode verdicts', () => {
  const offered: TlsProbe = { offered: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verificationWanted: false, chainVerified: false };
  const verified: TlsProbe = { ...offered, verificationWanted: true, caSource: '/ca.pem', chainVerified: true };
  const notOffered: TlsProbe = { offered: false, verificationWanted: false, chainVerified: false };
  const base = { host: 'db.example.com', port: 5432, loopback: false };
  const verdict = (input: Partial<TlsVerdictInput> & Pick<TlsVerdictInput, 'sslMode'>) => tlsVerdict({ ...base, ...input });

  test.each([
    ['disable', 'any server', 'pass', 'not encrypted (sslmode disable)'],
    ['allow', 'a server without TLS', 'pass', 'not encrypted: the server does not offer TLS (sslmode allow falls back to a plain connection)'],
    ['prefer', 'a server without TLS', 'pass', 'not encrypted: the server does not offer TLS (sslmode prefer falls back to a plain connection)'],
    ['require', 'a server without TLS', 'fail', 'db.example.com:5432 does not offer TLS, and sslmode require requires it.'],
    ['verify-ca', 'a server without TLS', 'fail', 'db.example.com:5432 does not offer TLS, and sslmode verify-ca requires it.'],
    ['verify-full', 'a server without TLS', 'fail', 'db.example.com:5432 does not offer TLS, and sslmode verify-full requires it.'],
    ['prefer', 'a server with TLS', 'pass', 'encrypted (TLSv1.3); certificate not verified (sslmode prefer: encryption only)'],
    ['require', 'a server with TLS', 'pass', 'encrypted (TLSv1.3); certificate not verified (sslmode require: encryption only)'],
    ['verify-ca', 'a certificate from the given CA', 'pass', 'encrypted (TLSv1.3); certificate verified against /ca.pem, host name not checked'],
    ['verify-full', 'a certificate from the given CA', 'pass', 'encrypted (TLSv1.3); certificate verified against /ca.pem, host name verified'],
    ['allow', 'a server with TLS', 'pass', 'the server offers TLSv1.3; sslmode allow tries a plain connection first'],
  ] as const)('sslmode %s against %s → %s', (sslMode, server, status, summary) => {
    const probes: Record<string, TlsProbe | undefined> = {
      'any server': undefined,
      'a server without TLS': notOffered,
      'a server with TLS': offered,
      'a certificate from the given CA': verified,
    };
    const outcome = verdict({ sslMode, probe: probes[server], loopback: true });
    expect(outcome.status).toBe(status);
    expect(outcome.summary).toBe(summary);
    if (status === 'fail') expect(outcome.failure?.exitCode).toBe(3);
  });

  test('an unencrypted connection that leaves the machine is a warning; on loopback it is not', () => {
    const remote = verdict({ sslMode: 'prefer', probe: notOffered });
    expect(remote.status).toBe('warn');
    expect(remote.warnings?.[0]).toContain('db.example.com is not encrypted');
    expect(verdict({ sslMode: 'disable' }).status).toBe('warn');
    expect(verdict({ sslMode: 'disable', loopback: true }).status).toBe('pass');
    expect(verdict({ sslMode: 'require', probe: offered }).status).toBe('pass');
  });

  test('verification failures: no root certificate, an untrusted chain, a host name the certificate does not name', () => {
    const certificate = { subject: 'CN=db', issuer: 'CN=db', validTo: 'never', selfSigned: true };
    const missing = verdict({ sslMode: 'verify-full', probe: { ...offered, verificationWanted: true, rootCertMissing: 'sslmode verify-full needs a root certificate, and /root/.postgresql/root.crt does not exist.', certificate } });
    expect(missing.failure?.code).toBe('TLS_ROOT_CERT_MISSING');
    expect(missing.summary).toBe('The server certificate (CN=db; issued by itself) cannot be verified: sslmode verify-full needs a root certificate, and /root/.postgresql/root.crt does not exist.');

    const untrusted = verdict({ sslMode: 'verify-ca', probe: { ...verified, chainVerified: false, chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT', certificate } });
    expect(untrusted.failure?.code).toBe('TLS_VERIFY_FAILED');
    expect(untrusted.failure?.sqlState).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(untrusted.details?.answer).toBe('OpenSSL: DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(untrusted.summary).toBe('The server certificate (CN=db; issued by itself) is not signed by a CA in /ca.pem (DEPTH_ZERO_SELF_SIGNED_CERT).');

    const wrongName = verdict({ sslMode: 'verify-full', probe: { ...verified, certificate: { ...certificate, subjectAltName: 'DNS:other.example.com' }, hostnameError: "Hostname/IP does not match certificate's altnames" } });
    expect(wrongName.failure?.code).toBe('TLS_VERIFY_FAILED');
    expect(wrongName.summary).toBe('The server certificate (CN=db; issued by itself) does not name db.example.com (it names DNS:other.example.com).');
    expect(wrongName.failure?.hint).toContain('verify-ca');
    // verify-ca does not look at the name.
    expect(verdict({ sslMode: 'verify-ca', probe: { ...verified, hostnameError: 'mismatch' } }).status).toBe('pass');
  });

  test('after login, what the connection negotiated is what is reported (sslmode allow)', () => {
    const negotiatedPlain = { sslMode: 'allow' as const, encrypted: false, certificateVerified: false, hostnameVerified: false };
    const plain = verdict({ sslMode: 'allow', probe: offered, negotiated: negotiatedPlain });
    expect(plain.summary).toBe('not encrypted: sslmode allow logged in over a plain connection (the server offers TLSv1.3)');
    expect(plain.status).toBe('warn');
    const encrypted = verdict({ sslMode: 'allow', probe: offered, loopback: true, negotiated: { ...negotiatedPlain, encrypted: true, protocol: 'TLSv1.2' } });
    expect(encrypted.summary).toBe('encrypted (TLSv1.2); certificate not verified (sslmode allow: encryption only)');
    expect(encrypted.details).toMatchObject({ encrypted: true, protocol: 'TLSv1.2', certificateVerified: false });
  });

  test('Unix sockets: TLS does not apply', () => {
    expect(tlsVerdict({ sslMode: 'verify-full', host: '/var/run/postgresql', port: 5432, loopback: true })).toMatchObject({ status: 'skip' });
  });
});

describe('isLoopback', () => {
  test.each([
    ['localhost', [], true],
    ['127.0.0.1', [], true],
    ['127.8.9.1', [], true],
    ['::1', [], true],
    ['[::1]', [], true],
    ['/var/run/postgresql', [], true],
    ['db.internal', ['127.0.0.1'], true],
    ['db.internal', ['127.0.0.1', '10.0.0.5'], false],
    ['db.example.com', [], false],
    ['10.0.0.5', [], false],
  ] as const)('%s (resolving to %j) → %s', (host, addresses, expected) => {
    expect(isLoopback(host, addresses)).toBe(expected);
  });
});

describe('privileges check', () => {
  const table = (name: string, grants: Partial<Record<'select' | 'insert' | 'update' | 'delete' | 'owned', boolean>> = {}) => ({
    name, owned: false, select: true, insert: true, update: true, delete: true, ...grants,
  });
  const sequence = (name: string, grants: Partial<Record<'usage' | 'select' | 'owned', boolean>> = {}) => ({ name, owned: false, usage: true, select: true, ...grants });
  const facts: PrivilegeFacts = {
    role: 'app',
    user: 'opentofu_user',
    superuser: false,
    createdb: false,
    createrole: false,
    schemaUsage: true,
    schemaCreate: false,
    databaseCreate: false,
    tables: [table('cache'), table('modules'), table('providers')],
    sequences: [sequence('cache_id_seq'), sequence('modules_id_seq'), sequence('providers_id_seq')],
  };

  test('exactly what the API needs: pass, no warnings', () => {
    const outcome = judgePrivileges(facts, 'opentofu');
    expect(outcome.status).toBe('pass');
    expect(outcome.summary).toBe('"opentofu_user" can read and write all 3 tables, 3 sequences, and has nothing more');
  });

  test('a missing grant names the privilege and the table; exit 4, remedy create-user', () => {
    const outcome = judgePrivileges(
      { ...facts, tables: [table('cache'), table('modules', { insert: false, delete: false }), table('providers')], sequences: [sequence('cache_id_seq', { usage: false })] },
      'opentofu',
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.summary).toBe('Role "opentofu_user" lacks privileges the registry API needs: INSERT, DELETE on table modules; USAGE on sequence cache_id_seq.');
    expect(outcome.failure?.exitCode).toBe(4);
    expect(outcome.failure?.hint).toBe('Run `tofu-registry-db create-user` as the admin: it re-applies the grants "opentofu_user" needs.');
  });

  test('the registry protocol functions: counted when all are callable; one that is not is named, with the GRANT that fixes it', () => {
    const functions = ['registry_provider_versions(text, text)', 'registry_module_versions(text, text, text)'].map((name) => ({ name, execute: true }));
    expect(judgePrivileges({ ...facts, functions }, 'opentofu').summary).toBe(
      '"opentofu_user" can read and write all 3 tables, 3 sequences, call all 2 registry functions, and has nothing more',
    );
    const outcome = judgePrivileges({ ...facts, functions: [functions[0]!, { ...functions[1]!, execute: false }] }, 'opentofu');
    expect(outcome.status).toBe('fail');
    expect(outcome.summary).toBe('Role "opentofu_user" lacks privileges the registry API needs: EXECUTE on function registry_module_versions(text, text, text).');
    expect(outcome.failure?.hint).toBe('As the admin: GRANT EXECUTE ON FUNCTION registry_module_versions(text, text, text) TO "opentofu_user".');
    const both = judgePrivileges({ ...facts, tables: [table('cache', { select: false })], functions: [{ ...functions[0]!, execute: false }] }, 'opentofu');
    expect(both.failure?.hint).toBe(
      'Run `tofu-registry-db create-user` as the admin: it re-applies the grants "opentofu_user" needs. As the admin: GRANT EXECUTE ON FUNCTION registry_provider_versions(text, text) TO "opentofu_user".',
    );
  });

  test('no USAGE on schema public fails before the table grants are looked at', () => {
    const outcome = judgePrivileges({ ...facts, schemaUsage: false }, 'opentofu');
    expect(outcome.summary).toBe('Role "opentofu_user" lacks USAGE on schema public of "opentofu": it cannot reach the tables.');
  });

  test('more than it needs: one warning each, still a pass', () => {
    const outcome = judgePrivileges(
      { ...facts, createdb: true, createrole: true, schemaCreate: true, databaseCreate: true, tables: [table('cache', { owned: true }), table('modules')] },
      'opentofu',
    );
    expect(outcome.status).toBe('warn');
    expect(outcome.failure).toBeUndefined();
    expect(outcome.warnings).toEqual([
      '"opentofu_user" has CREATEDB (fix: ALTER ROLE "opentofu_user" NOCREATEDB)',
      '"opentofu_user" has CREATEROLE (fix: ALTER ROLE "opentofu_user" NOCREATEROLE)',
      '"opentofu_user" owns cache, so it may ALTER or DROP them (fix: ALTER TABLE … OWNER TO the admin role)',
      '"opentofu_user" may CREATE in schema public, as every role may before PostgreSQL 15 (fix: REVOKE CREATE ON SCHEMA public FROM PUBLIC, "opentofu_user")',
      '"opentofu_user" may CREATE schemas in the database (fix: REVOKE CREATE ON DATABASE "opentofu" FROM PUBLIC, "opentofu_user")',
    ]);
  });

  test('BYPASSRLS, REPLICATION, membership in other roles and writes on the bookkeeping: warned too (they passed as "nothing more")', () => {
    const outcome = judgePrivileges({ ...facts, bypassrls: true, replication: true, memberOf: ['pg_read_all_data'], writableToolTables: ['tofu_registry_migrations'] }, 'opentofu');
    expect(outcome.status).toBe('warn');
    expect(outcome.warnings).toEqual([
      '"opentofu_user" has REPLICATION (fix: ALTER ROLE "opentofu_user" NOREPLICATION)',
      '"opentofu_user" has BYPASSRLS: row-level security does not apply to it (fix, as a superuser: ALTER ROLE "opentofu_user" NOBYPASSRLS)',
      '"opentofu_user" is a member of pg_read_all_data and has their privileges too (fix: REVOKE pg_read_all_data FROM "opentofu_user")',
      '"opentofu_user" may change tofu_registry_migrations, which only migrate writes (fix: REVOKE INSERT, UPDATE, DELETE ON tofu_registry_migrations FROM "opentofu_user")',
    ]);
  });

  test('a superuser: a single warning that says so', () => {
    const outcome = judgePrivileges({ ...facts, superuser: true, schemaCreate: true, databaseCreate: true, tables: [table('cache', { owned: true })] }, 'opentofu');
    expect(outcome.warnings).toEqual([
      '"opentofu_user" is a superuser: it bypasses every permission check (fix: give the API a role of its own: `tofu-registry-db create-user --user <name>` creates one with only what it needs, then set TOFU_REGISTRY_DB_USER to it; or, if nothing else needs it to be one, ALTER ROLE "opentofu_user" NOSUPERUSER as another superuser)',
    ]);
  });

  // PostgreSQL refuses to demote the bootstrap superuser, and demoting the admin breaks create-db and migrate.
  test.each([
    ['the bootstrap superuser', { bootstrap: true }, 'the bootstrap superuser (the role initdb created)'],
    ['the admin role', { isAdmin: true }, 'the admin role (TOFU_REGISTRY_DB_ADMIN_USER)'],
  ])('a superuser that is %s: a dedicated role, never NOSUPERUSER', (_what, extra, said) => {
    const outcome = judgePrivileges({ ...facts, user: 'postgres', superuser: true, ...extra }, 'opentofu');
    expect(outcome.warnings).toHaveLength(1);
    expect(outcome.warnings![0]).toContain(said);
    expect(outcome.warnings![0]).toContain('`tofu-registry-db create-user --user <name>`');
    expect(outcome.warnings![0]).not.toContain('NOSUPERUSER');
  });

  test('the admin is checked for what the other commands need, not for excess', () => {
    const admin = { ...facts, role: 'admin' as const, user: 'admin', createdb: true, schemaCreate: true, tables: facts.tables.map((t) => ({ ...t, owned: true })) };
    const outcome = judgePrivileges(admin, 'opentofu');
    expect(outcome.warnings).toEqual(['"admin" lacks CREATEROLE: create-user will fail']);
    expect(judgePrivileges({ ...admin, superuser: true, createrole: false }, 'opentofu').status).toBe('pass');
  });
});

describe('round trip statements', () => {
  test('every value is bound, never pasted into the SQL, and each table gets insert, read, update, delete', () => {
    const marker = 'b3c0e6f4-7d1e-4a8c-9f51-2a4e0c5d9e11';
    const steps = roundTripSteps(marker);
    for (const step of steps) expect(step.sql).not.toContain(marker);
    expect(steps.filter((s) => s.values?.some((v) => String(v).includes(marker)))).toHaveLength(steps.length - 3);
    expect(steps.map((s) => s.label)).toEqual([
      'create a temporary table', 'insert into the temporary table', 'read back from the temporary table', 'update the temporary table', 'delete from the temporary table',
      'insert into modules', 'read back from modules', 'update modules', 'delete from modules',
      'insert into providers', 'read back from providers', 'update providers', 'delete from providers',
      'insert into cache', 'read back from cache', 'update cache', 'delete from cache',
    ]);
    expect(steps[0]!.sql).toBe('CREATE TEMPORARY TABLE tofu_registry_db_round_trip (id integer NOT NULL, value text NOT NULL) ON COMMIT DROP');
    expect(steps[5]!.sql).toBe(
      "INSERT INTO public.modules (namespace, name, provider, version, description) VALUES ($1, $2, 'test', $3, 'test-connection round trip; rolled back')",
    );
  });
});

describe('configurationFailure', () => {
  test('a ConfigError becomes check 1 failing and nine skipped, exit 2', () => {
    const result = configurationFailure(new ConfigError('TOFU_REGISTRY_DB_PORT (environment) "x" is not a port number (1-65535).'), { admin: true });
    expect(result).toMatchObject({ ok: false, role: 'admin', exitCode: 2 });
    expect(result.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(result.checks.map((c) => c.status)).toEqual(['fail', ...Array(9).fill('skip')]);
    expect(result.checks[0]!.error).toEqual({ code: 'CONFIG_INVALID', message: 'TOFU_REGISTRY_DB_PORT (environment) "x" is not a port number (1-65535).', hint: null });
    expect(result.checks[1]!.summary).toBe('skipped: configuration failed');
  });
});

describe('isSqlState', () => {
  test.each([
    ['28P01', true], ['3D000', true], ['42501', true], ['XX000', true], ['HV000', true],
    ['ECONNREFUSED', false], ['EPIPE', false], ['ENOTFOUND', false], ['DEPTH_ZERO_SELF_SIGNED_CERT', false], [undefined, false],
  ] as const)('%s → %s', (code, expected) => {
    expect(isSqlState(code)).toBe(expected);
  });
});

describe('answerOf', () => {
  test('shows the server\'s own words with the SQLSTATE, or the network error code', () => {
    const pgError = Object.assign(new Error('permission denied for database "opentofu"'), { code: '42501', detail: 'User does not have CONNECT privilege.' });
    expect(answerOf(toRegistryDbError(pgError))).toBe('SQLSTATE 42501: permission denied for database "opentofu" (DETAIL: User does not have CONNECT privilege.)');
    const netError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(answerOf(toRegistryDbError(netError, { host: '127.0.0.1', port: 1 }))).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    expect(answerOf(new ConfigError('no cause'))).toBeUndefined();
  });
});

describe('sslOptionsFor: verify-full by IP address', () => {
  test('sends no IP address as SNI (RFC 6066), and still checks the host name', () => {
    const ca = path.join(tempDir(), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    for (const host of ['127.0.0.1', '::1', '[::1]']) {
      const options = sslOptionsFor({ host, sslMode: 'verify-full', sslRootCert: ca }, true);
      expect(options).toMatchObject({ rejectUnauthorized: true });
      expect(options && 'servername' in options).toBe(false);
      expect(options && options.checkServerIdentity).toBeUndefined();
    }
    expect(sslOptionsFor({ host: 'db.example.com', sslMode: 'verify-full', sslRootCert: ca }, true)).toMatchObject({ servername: 'db.example.com' });
  });
});
