import { devChildEnvironment } from '../../src/core/dev/child-environment.js';
import { parseConnectionString } from '../../src/core/config/conninfo.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import path from 'node:path';
import { tempDir } from '../support/fixtures.js';

/** Review #15: `dev -- <command>` hands the command the dev server, and nothing of the caller's servers. */
const dev = { host: '127.0.0.1', port: 45678, database: 'devdb', user: 'dev_app', password: 'p@ss/w?rd#1' };
const production = {
  PATH: '/usr/bin',
  HOME: '/home/me',
  PGDATA: '/var/lib/postgresql/data',
  PGAPPNAME: 'my-api',
  TOFU_REGISTRY_DB_URL: 'postgres://produser:prodpw99@db.prod.example.com:6543/proddb?target_session_attrs=standby',
  DATABASE_URL: 'postgres://produser:prodpw99@db.prod.example.com:6543/proddb',
  TOFU_REGISTRY_DB_ADMIN_URL: 'postgres://admin:adminpw@db.prod.example.com/postgres',
  TOFU_REGISTRY_DB_ADMIN_USER: 'admin',
  TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'adminpw',
  TOFU_REGISTRY_DB_TARGET_SESSION_ATTRS: 'standby',
  TOFU_REGISTRY_DB_SSLROOTCERT: '/etc/prod-ca.pem',
  TOFU_REGISTRY_DB_LOCK_TIMEOUT: '5',
  PGSERVICE: 'prod',
  PGSERVICEFILE: '/etc/pg_service.conf',
  PGTARGETSESSIONATTRS: 'standby',
  PGHOSTADDR: '10.0.0.9',
  PGOPTIONS: '-c search_path=prod',
  PGSSLROOTCERT: '/etc/prod-ca.pem',
  PGPASSFILE: '/home/me/.pgpass.prod',
};

test('every connection variable describes the dev server, or is gone; the rest of the environment stays', () => {
  const env = devChildEnvironment(production, dev);
  const uri = 'postgresql://dev_app:p%40ss%2Fw%3Frd%231@127.0.0.1:45678/devdb?sslmode=disable';
  expect(env).toEqual({
    PATH: '/usr/bin',
    HOME: '/home/me',
    PGDATA: '/var/lib/postgresql/data',
    PGAPPNAME: 'my-api',
    TOFU_REGISTRY_DB_LOCK_TIMEOUT: '5',
    TOFU_REGISTRY_DB_TYPE: 'postgres',
    TOFU_REGISTRY_DB_HOST: '127.0.0.1',
    TOFU_REGISTRY_DB_PORT: '45678',
    TOFU_REGISTRY_DB_NAME: 'devdb',
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_USER: 'dev_app',
    TOFU_REGISTRY_DB_PASSWORD: dev.password,
    TOFU_REGISTRY_DB_URL: uri,
    DATABASE_URL: uri,
    PGHOST: '127.0.0.1',
    PGPORT: '45678',
    PGDATABASE: 'devdb',
    PGUSER: 'dev_app',
    PGPASSWORD: dev.password,
    PGSSLMODE: 'disable',
  });
  // The URI reads back to the dev server, the password included.
  expect(parseConnectionString(uri, 'DATABASE_URL').params).toMatchObject({ user: 'dev_app', password: dev.password, dbname: 'devdb', sslmode: 'disable' });
});

test('the tool itself, run in that environment, reads the dev server as the application role, with no note about two URIs', () => {
  const env = devChildEnvironment(production, dev);
  const settings = resolveSettings({ env, flags: { envFile: path.join(tempDir(), 'missing.env') } });
  expect(settings).toMatchObject({ host: '127.0.0.1', port: 45678, database: 'devdb', user: 'dev_app', password: dev.password, sslMode: 'disable', targetSessionAttrs: 'any' });
  expect(settings.notes.join('\n')).not.toContain('DATABASE_URL');
});

test('a DATABASE_URL that differs from TOFU_REGISTRY_DB_URL is still named as not used', () => {
  const env = { TOFU_REGISTRY_DB_URL: 'postgres://a@127.0.0.1:5432/one', DATABASE_URL: 'postgres://a@127.0.0.1:5432/two' };
  const settings = resolveSettings({ env, flags: { envFile: path.join(tempDir(), 'missing.env') } });
  expect(settings.database).toBe('one');
  expect(settings.notes).toContain('DATABASE_URL is not used: TOFU_REGISTRY_DB_URL is set');
});
