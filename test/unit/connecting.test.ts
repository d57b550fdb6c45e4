import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConnectionUri, parseConnectionString } from '../../src/core/config/conninfo.js';
import { parseEndpoints } from '../../src/core/config/host.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { tempDir } from '../support/fixtures.js';

/** Issue #20: connection strings, libpq's variables, flags, host lists, one precedence order. */
const params = (text: string) => parseConnectionString(text, 'X').params;

describe('connection strings, as libpq reads them', () => {
  test.each([
    ['postgresql://', {}],
    ['postgres://db.example.com', { host: 'db.example.com' }],
    ['postgresql://u:s%40cret@db:6432/reg?sslmode=verify-full', { user: 'u', password: 's@cret', host: 'db', port: '6432', dbname: 'reg', sslmode: 'verify-full' }],
    ['postgresql://db1:5432,db2:5433/reg?target_session_attrs=read-write', { host: 'db1,db2', port: '5432,5433', dbname: 'reg', target_session_attrs: 'read-write' }],
    ['postgresql://db1,db2:5433/reg', { host: 'db1,db2', port: ',5433', dbname: 'reg' }],
    ['postgresql://[::1]:5433/reg', { host: '::1', port: '5433', dbname: 'reg' }],
    ['postgresql://%2Fvar%2Frun%2Fpostgresql/reg', { host: '/var/run/postgresql', dbname: 'reg' }],
    ['postgresql:///reg?host=/run/postgresql&port=5433', { host: '/run/postgresql', port: '5433', dbname: 'reg' }],
    ['postgresql://db/reg?ssl=true&application_name=api&connect_timeout=5', { host: 'db', dbname: 'reg', sslmode: 'require', application_name: 'api', connect_timeout: '5' }],
    ['postgresql://other@db/reg?host=db2', { user: 'other', host: 'db2', dbname: 'reg' }],
    ["host=db1,db2 port=5432 dbname='my reg' password='it\\'s' user = app", { host: 'db1,db2', port: '5432', dbname: 'my reg', password: "it's", user: 'app' }],
    ['host=/tmp dbname=reg sslmode=disable', { host: '/tmp', dbname: 'reg', sslmode: 'disable' }],
  ])('%s', (text, expected) => {
    expect(params(text)).toEqual(expected);
  });

  test('what other tools put in DATABASE_URL is read past, named; what cannot be honoured is refused', () => {
    expect(parseConnectionString('postgresql://db/reg?schema=public&connection_limit=5', 'DATABASE_URL').ignored).toEqual(['schema', 'connection_limit']);
    expect(() => params('postgresql://db/reg?sslcert=/c.pem')).toThrow(/does not support: client certificates/);
    expect(() => params('postgresql://db/reg?frobnicate=1')).toThrow(/unknown connection parameter "frobnicate"/);
    expect(() => params("host=db dbname='open")).toThrow(/not closed/);
  });

  test('a message about a URI never repeats it: its password stays out', () => {
    expect(() => parseConnectionString('postgresql://u:topsecret@db/reg?bogus=1', 'TOFU_REGISTRY_DB_URL (environment)')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('topsecret') }));
  });

  test('buildConnectionUri reads back to the same parts', () => {
    const uri = buildConnectionUri({ hosts: [{ host: 'db1', port: 5432 }, { host: '::1', port: 5433 }], database: 'reg', user: 'app', password: 'p@ss/w:rd', params: { sslmode: 'require', target_session_attrs: 'read-write' } });
    expect(params(uri)).toEqual({ host: 'db1,::1', port: '5432,5433', dbname: 'reg', user: 'app', password: 'p@ss/w:rd', sslmode: 'require', target_session_attrs: 'read-write' });
  });
});

describe('host lists', () => {
  const defaults = { host: 'localhost', port: 5432 };
  test.each([
    ['db1,db2', undefined, [['db1', 5432], ['db2', 5432]]],
    ['db1,db2', '6432', [['db1', 6432], ['db2', 6432]]],
    ['db1,db2', '5432,5433', [['db1', 5432], ['db2', 5433]]],
    ['db1,db2', ',5433', [['db1', 5432], ['db2', 5433]]],
    ['db1,,/run/postgresql', undefined, [['db1', 5432], ['localhost', 5432], ['/run/postgresql', 5432]]],
  ])('%s with ports %s', (hosts, ports, expected) => {
    expect(parseEndpoints(hosts, 'H', ports, 'P', defaults).map((e) => [e.host, e.port])).toEqual(expected);
  });

  test('ports that do not match the hosts are a configuration error naming both', () => {
    expect(() => parseEndpoints('a,b,c', 'TOFU_REGISTRY_DB_HOST (environment)', '1,2', 'TOFU_REGISTRY_DB_PORT (environment)', defaults)).toThrow(
      /TOFU_REGISTRY_DB_PORT \(environment\) gives 2 ports for the 3 hosts of TOFU_REGISTRY_DB_HOST/,
    );
  });
});

describe('one precedence order, and every value knows where it came from', () => {
  const file = (text: string) => {
    const f = path.join(tempDir(), '.env');
    writeFileSync(f, text);
    return f;
  };
  const resolve = (env: Record<string, string>, envFile: string, flags = {}) => resolveSettings({ env, flags: { ...flags, envFile } });

  test('PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE… are read, below everything else', () => {
    const s = resolve({ PGHOST: 'pg-host', PGPORT: '6543', PGDATABASE: 'maint', PGUSER: 'alice', PGPASSWORD: 'pw-alice-1', PGSSLMODE: 'verify-ca', PGCONNECT_TIMEOUT: '3', PGTARGETSESSIONATTRS: 'primary', PGAPPNAME: 'ops' }, file(''));
    expect(s).toMatchObject({ host: 'pg-host', port: 6543, sslMode: 'verify-ca', connectTimeoutMs: 3000, targetSessionAttrs: 'primary', applicationName: 'ops' });
    expect(s.admin).toMatchObject({ user: 'alice', password: 'pw-alice-1', database: 'maint' });
    expect(s.origins).toMatchObject({ host: 'PGHOST (environment)', port: 'PGPORT (environment)', adminUser: 'PGUSER (environment)' });
  });

  test('a value copied into the env file beats PGUSER, and says so, with its line', () => {
    const s = resolve({ PGUSER: 'alice' }, file('# copied from .env.example\nTOFU_REGISTRY_DB_ADMIN_USER=postgres\n'));
    expect(s.admin.user).toBe('postgres');
    expect(s.origins.adminUser).toBe('TOFU_REGISTRY_DB_ADMIN_USER (.env, line 2)');
    expect(s.notes).toContain('PGUSER (environment) (alice) is overridden by TOFU_REGISTRY_DB_ADMIN_USER (.env, line 2)');
  });

  test('flags > variables > URI > env file > URI in the env file > PG*', () => {
    const envFile = file('TOFU_REGISTRY_DB_URL=postgresql://file-url-host:1111/file_db\nTOFU_REGISTRY_DB_PORT=2222\n');
    const env = { TOFU_REGISTRY_DB_URL: 'postgresql://env-url-host/env_db', PGHOST: 'pg-host', PGPORT: '3333' };
    const s = resolve(env, envFile);
    expect([s.host, s.port, s.database]).toEqual(['env-url-host', 2222, 'env_db']);
    expect(s.origins).toMatchObject({ host: "TOFU_REGISTRY_DB_URL's host (environment)", port: 'TOFU_REGISTRY_DB_PORT (.env, line 2)', database: "TOFU_REGISTRY_DB_URL's dbname (environment)" });
    const flagged = resolve(env, envFile, { host: 'flag-host', port: 4444 });
    expect([flagged.host, flagged.port, flagged.origins.host]).toEqual(['flag-host', 4444, '--host']);
  });

  test('DATABASE_URL serves when TOFU_REGISTRY_DB_URL is set nowhere; its password goes with its user only', () => {
    const s = resolve({ DATABASE_URL: 'postgresql://api:api-pw-123@db1:5432,db2:5433/registry?sslmode=require&target_session_attrs=read-write' }, file(''));
    expect(s.hosts).toEqual([{ host: 'db1', port: 5432 }, { host: 'db2', port: 5433 }]);
    expect(s).toMatchObject({ user: 'api', password: 'api-pw-123', database: 'registry', sslMode: 'require', targetSessionAttrs: 'read-write' });
    const other = resolve({ DATABASE_URL: 'postgresql://api:api-pw-123@db1/registry' }, file(''), { user: 'someone_else' });
    expect(other.password).toBeUndefined();
  });

  test('an admin URI sets the admin', () => {
    const s = resolve({ TOFU_REGISTRY_DB_ADMIN_URL: 'postgresql://root:root-pw-123@db/postgres?sslmode=disable' }, file(''));
    expect(s.admin).toMatchObject({ user: 'root', password: 'root-pw-123', database: 'postgres' });
  });

  test('a service file (PGSERVICE) is read, above PG* variables', () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, '.pg_service.conf'), '# ops\n[prod]\nhost=svc-db\nport=7777\nuser=svc_admin\n\n[other]\nhost=nope\n');
    const s = resolve({ HOME: home, PGSERVICE: 'prod', PGHOST: 'pg-host' }, file(''));
    expect([s.host, s.port, s.admin.user]).toEqual(['svc-db', 7777, 'svc_admin']);
    expect(s.origins.host).toMatch(/^service "prod"'s host \(.*\.pg_service\.conf\)$/);
    expect(() => resolve({ HOME: home, PGSERVICE: 'missing' }, file(''))).toThrow(/names the service "missing"/);
  });

  test("a URI's values name the parameter, and in the env file its line (review 5, item 20)", () => {
    const s = resolve({}, file('# app\nA=1\nDATABASE_URL=postgres://api@db:6432/reg?sslmode=disable\n'));
    expect(s.origins).toMatchObject({ host: "DATABASE_URL's host (.env, line 3)", port: "DATABASE_URL's port (.env, line 3)", sslMode: "DATABASE_URL's sslmode (.env, line 3)" });
    expect(() => resolve({ DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/x?sslmode=disble' }, file(''))).toThrow(/^DATABASE_URL's sslmode \(environment\) is "disble": expected one of/);
    expect(() => resolve({}, file('\nTOFU_REGISTRY_DB_URL=postgres://u@db/x?target_session_attrs=writable\n'))).toThrow(/^TOFU_REGISTRY_DB_URL's target_session_attrs \(\.env, line 2\) is "writable"/);
  });

  test('--host against a list of ports: the hint says to add --port (libpq: one port for all, or one per host) (review 5, item 21)', () => {
    const envFile = file('TOFU_REGISTRY_DB_HOST=127.0.0.1,127.0.0.1,127.0.0.1\nTOFU_REGISTRY_DB_PORT=39501,39502,39503\n');
    let failure: Error & { hint?: string } = new Error('none');
    try {
      resolve({}, envFile, { host: 'localhost' });
    } catch (error) {
      failure = error as Error & { hint?: string };
    }
    expect(failure.message).toBe('TOFU_REGISTRY_DB_PORT (.env, line 2) gives 3 ports for the 1 host of --host.');
    expect(failure.hint).toMatch(/add --port with the port/);
    expect(() => resolve({}, file('TOFU_REGISTRY_DB_HOST=a,b,c\n'), { port: '1,2' })).toThrow(expect.objectContaining({ hint: expect.stringMatching(/Give --port one port .* or 3 \(one per host\), or add --host/) }));
  });

  test('--port that makes a host list name one server several times: said in a note (review 5, item 21)', () => {
    const envFile = file('TOFU_REGISTRY_DB_HOST=127.0.0.1,127.0.0.1,127.0.0.1\nTOFU_REGISTRY_DB_PORT=39501,39502,39503\n');
    const s = resolve({}, envFile, { port: 39501 });
    expect(s.hosts).toHaveLength(3);
    expect(s.notes).toContain('the host list names 127.0.0.1:39501 more than once (hosts from TOFU_REGISTRY_DB_HOST (.env, line 1), ports from --port): each entry is tried, the same server each time');
  });

  test('library callers set what a flag sets, typed', () => {
    const s = resolveSettings({ env: {}, flags: { host: 'db1,db2', port: 5433, sslMode: 'verify-full', adminUser: 'ops', envFile: file('') } });
    expect(s.hosts).toEqual([{ host: 'db1', port: 5433 }, { host: 'db2', port: 5433 }]);
    expect([s.sslMode, s.admin.user, s.origins.sslMode]).toEqual(['verify-full', 'ops', '--sslmode']);
  });
});
