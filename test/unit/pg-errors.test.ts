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
});
