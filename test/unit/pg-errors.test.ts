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
    expect(denied.hint).toContain('Role "mgr" lacks a privilege');
    expect(denied.hint).toContain('it must own the registry database');
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
