import { toRegistryDbError } from '../../src/core/db/pg-errors.js';

describe('toRegistryDbError: what an error says in --json and in its hint', () => {
  test('a network error carries its errno, not a "sqlstate" that is none', () => {
    const refused = toRegistryDbError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), { host: '127.0.0.1', port: 1 });
    expect(refused.toJSON()).toMatchObject({ code: 'CONNECTION_REFUSED', errno: 'ECONNREFUSED' });
    expect(refused.toJSON()).not.toHaveProperty('sqlstate');
  });

  test('a PostgreSQL error carries its SQLSTATE', () => {
    const denied = toRegistryDbError(Object.assign(new Error('permission denied for schema public'), { code: '42501' }), { user: 'mgr' });
    expect(denied.toJSON()).toMatchObject({ code: 'PERMISSION_DENIED', sqlstate: '42501' });
    // Not only "run create-user": the admin's own privileges are the likelier cause in migrate.
    expect(denied.hint).toContain('GRANT USAGE, CREATE ON SCHEMA "public" TO "mgr";');
  });

  test('a message that is not recognised keeps the general advice', () => {
    const denied = toRegistryDbError(Object.assign(new Error('permission denied for large object 16384'), { code: '42501' }), { user: 'mgr' });
    expect(denied.hint).toContain('Role "mgr" lacks a privilege');
    expect(denied.hint).toContain('it must own the registry database');
  });

  test('a query on a client whose connection already failed is a lost connection (retried by --wait), not an internal error', () => {
    // pg's words when the socket died between two queries of a session (a primary that crashed mid-migrate).
    const lost = toRegistryDbError(new Error('Client has encountered a connection error and is not queryable'), { host: '127.0.0.1', port: 5432 });
    expect(lost).toMatchObject({ code: 'CONNECTION_RESET', errorClass: 'unreachable', exitCode: 3 });
  });

  test('every SQL error has a hint (null before, for SQLSTATEs without a mapping)', () => {
    const other = toRegistryDbError(Object.assign(new Error('relation "t" already exists'), { code: '42P07' }));
    expect(other).toMatchObject({ code: 'SQL_ERROR', exitCode: 5 });
    expect(other.hint).toContain('--verbose');
    const template = toRegistryDbError(Object.assign(new Error('source database "template1" is being accessed by other users'), { code: '55006' }));
    expect(template).toMatchObject({ code: 'OBJECT_IN_USE', exitCode: 5 });
    expect(template.hint).toContain('another session is connected to it');
  });

  test('a wrong password names every place the admin password comes from', () => {
    const failed = toRegistryDbError(Object.assign(new Error('password authentication failed for user "postgres"'), { code: '28P01' }), { user: 'postgres' });
    expect(failed.hint).toContain('PGPASSWORD');
    expect(failed.hint).toContain('~/.pgpass');
  });

  // Before, any five upper-case letters passed for a SQLSTATE: a closed pipe or a read-only
  // folder was "PostgreSQL refused a statement (SQLSTATE EPIPE)", exit 5.
  test.each([
    ['EPIPE', { syscall: 'write' }, 'SYSTEM_ERROR', 1],
    ['EROFS', { syscall: 'open', path: '/ro/.env' }, 'FILE_ERROR', 2],
    ['EPERM', { syscall: 'rename', path: '/srv/app/.env' }, 'FILE_ERROR', 2],
    ['ENOSPC', { syscall: 'write', path: '/full/.env' }, 'NO_SPACE', 1],
  ] as const)('%s from the operating system is said as such, not as a SQLSTATE', (code, extra, expected, exitCode) => {
    const error = toRegistryDbError(Object.assign(new Error(`${code}: the system said no`), { code, errno: -1, ...extra }));
    expect(error).toMatchObject({ code: expected, exitCode });
    expect(error.message).not.toContain('SQLSTATE');
    expect(error.message).not.toContain('PostgreSQL');
    expect(error.toJSON()).toMatchObject({ errno: code });
    expect(error.toJSON()).not.toHaveProperty('sqlstate');
  });
});

describe('RegistryDbError.rewrap', () => {
  test('a new message, the same class, code, SQLSTATE and original error', () => {
    const original = Object.assign(new Error('permission denied for table modules'), { code: '42501' });
    const mapped = toRegistryDbError(original, { user: 'app' });
    const told = mapped.rewrap('Database "x" was dropped, but role "y" was not: ' + mapped.message, { data: { databaseDropped: true } });
    expect(told).toMatchObject({ code: mapped.code, errorClass: mapped.errorClass, sqlState: '42501', hint: mapped.hint });
    expect(told.cause).toBe(original);
    expect(told.toJSON().details).toEqual({ databaseDropped: true });
    expect(mapped.rewrap('other', { hint: 'do this' }).hint).toBe('do this');
  });
});

describe('SQLSTATE 53300: which of the three connection limits', () => {
  const limit = (message: string) => toRegistryDbError(Object.assign(new Error(message), { code: '53300' }), { host: 'db.example.com', port: 5432, user: 'app' });

  test('the role\'s CONNECTION LIMIT: ALTER ROLE, not max_connections', () => {
    const error = limit('too many connections for role "opentofu_user"');
    expect(error).toMatchObject({ code: 'ROLE_CONNECTION_LIMIT', exitCode: 3 });
    expect(error.message).toBe('Role "opentofu_user" has used up its own connection limit on db.example.com:5432 (SQLSTATE 53300: too many connections for role "opentofu_user").');
    expect(error.hint).toContain('ALTER ROLE "opentofu_user" CONNECTION LIMIT -1;');
    expect(error.hint).toContain("WHERE usename = 'opentofu_user'");
    expect(error.hint).not.toMatch(/raise max_connections/);
  });

  test('the database\'s CONNECTION LIMIT: ALTER DATABASE', () => {
    const error = limit('too many connections for database "opentofu"');
    expect(error).toMatchObject({ code: 'DATABASE_CONNECTION_LIMIT', exitCode: 3 });
    expect(error.hint).toContain('ALTER DATABASE "opentofu" CONNECTION LIMIT -1;');
    expect(error.hint).toContain("WHERE datname = 'opentofu'");
  });

  test.each([
    ['sorry, too many clients already', 'all of max_connections are in use'],
    ['remaining connection slots are reserved for roles with the SUPERUSER attribute', 'reserved for superusers'],
    ['remaining connection slots are reserved for non-replication superuser connections', 'reserved for superusers'],
  ])('the server\'s max_connections: %s', (message, said) => {
    const error = limit(message);
    expect(error).toMatchObject({ code: 'TOO_MANY_CONNECTIONS', exitCode: 3 });
    expect(error.message).toContain(said);
    expect(error.hint).toContain('raise max_connections');
    expect(error.hint).not.toContain('ALTER ROLE');
  });
});

describe('what answered on the port (listener facts)', () => {
  const context = { host: '127.0.0.1', port: 8080, sslMode: 'require' };

  test('an HTTP server answering the SSL request: named, with its answer and psql\'s words', () => {
    const answer = Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    const error = toRegistryDbError(new Error('There was an error establishing an SSL connection'), { ...context, listener: { connected: true, sent: 'SSLRequest', answer } });
    expect(error).toMatchObject({ code: 'NOT_POSTGRESQL', exitCode: 3 });
    expect(error.message).toBe(
      'Something other than PostgreSQL answers at 127.0.0.1:8080 (an HTTP server): it answered PostgreSQL\'s SSL request with "HTTP/1.1 400 Bad Request" (psql: "received invalid response to SSL negotiation: H").',
    );
    expect(error.hint).not.toMatch(/enable ssl/i);
  });

  test('after a startup message (sslmode disable), and binary answers shown escaped', () => {
    const error = toRegistryDbError(new Error('Connection terminated unexpectedly'), { ...context, listener: { connected: true, sent: 'StartupMessage', answer: Buffer.from([0x01, 0x02, 0x41]) } });
    expect(error.code).toBe('NOT_POSTGRESQL');
    expect(error.message).toContain('"\\x01\\x02A"');
    expect(error.message).toContain('expected authentication request from server, but received');
  });

  test('PostgreSQL\'s own first bytes are not mistaken for another program', () => {
    const refused = Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' });
    expect(toRegistryDbError(refused, { ...context, listener: { connected: true, sent: 'StartupMessage', answer: Buffer.from('R\0\0\0\x08') } }).code).toBe('AUTH_FAILED');
    const noTls = new Error('The server does not support SSL connections');
    expect(toRegistryDbError(noTls, { ...context, listener: { connected: true, sent: 'SSLRequest', answer: Buffer.from('N') } }).code).toBe('TLS_UNAVAILABLE');
  });

  test('a connection that opened and got no answer is not blamed on a firewall', () => {
    const error = toRegistryDbError(new Error('timeout expired'), { ...context, listener: { connected: true, sent: 'SSLRequest', timeoutMs: 2000 } });
    expect(error).toMatchObject({ code: 'SERVER_SILENT', exitCode: 3 });
    expect(error.message).toBe('The connection to 127.0.0.1:8080 opened, and nothing answered PostgreSQL\'s SSL request within 2 s.');
    expect(error.hint).not.toMatch(/firewall or security group may/);
    // The check can fail: without the connection, a timeout is still the network's.
    expect(toRegistryDbError(new Error('timeout expired'), { ...context, listener: { connected: false, sent: 'SSLRequest' } }).code).toBe('CONNECTION_TIMEOUT');
  });
});
