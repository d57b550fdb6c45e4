import { existsSync } from 'node:fs';
import path from 'node:path';
import { closeClient, connect } from '../../src/core/db/connection.js';
import { reportedParameter } from '../../src/core/db/parameters.js';
import { startPostgres, type PostgresServer } from '../../src/core/dev/postgres-server.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { contextFor, uniqueName } from '../support/fixtures.js';
import { startPgbouncer, type Pgbouncer } from '../support/pgbouncer.js';
import { EMBEDDED_BIN, runAsPostgres, sharedTempDir, SUPERUSER_PASSWORD, SYSTEM_PG15_BIN } from '../support/pg-server.js';
import { retryWhileUnreachable } from '../../src/core/db/wait-for-server.js';
import pg from 'pg';

/**
 * Issue #21, item 4: what PgBouncer hides. (a) A bouncer that outlived a switchover replays the
 * in_hot_standby=off of the primary it first met, for a server that is now a standby: a no-op
 * migrate through it exited 0 on the standby. (b) A bouncer that cannot log in to its server
 * answers 08P01, which used to read as "a firewall or security group".
 */
const describePg15 = existsSync(path.join(SYSTEM_PG15_BIN, 'pg_basebackup')) ? describe : describe.skip;

const admin = (server: { host: string; port: number }, database: string) =>
  contextFor({
    TOFU_REGISTRY_DB_HOST: server.host,
    TOFU_REGISTRY_DB_PORT: String(server.port),
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_NAME: database,
    TOFU_REGISTRY_DB_ADMIN_USER: 'postgres',
    TOFU_REGISTRY_DB_ADMIN_PASSWORD: SUPERUSER_PASSWORD,
  });

describePg15('PgBouncer in front of a server that became a standby', () => {
  let primary: PostgresServer | undefined;
  let standby: PostgresServer | undefined;
  let bouncer: Pgbouncer | undefined;
  afterAll(async () => {
    await bouncer?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  test('(a) the bouncer replays in_hot_standby=off; a no-op migrate through it refuses the standby (exit 3)', async () => {
    const database = uniqueName('pgb_stale');
    primary = await startPostgres({ binDir: SYSTEM_PG15_BIN, superuserPassword: SUPERUSER_PASSWORD, throwaway: true, hbaLines: ['host replication all 127.0.0.1/32 trust'], conf: { wal_level: 'replica', max_wal_senders: '4', ssl: 'off' } });
    bouncer = await startPgbouncer({ host: primary.host, port: primary.port, superuser: 'postgres', password: SUPERUSER_PASSWORD }, { poolSize: 1 });
    await createDatabase(admin(primary, database));
    // The bouncer meets the primary: it remembers in_hot_standby=off.
    expect((await migrate(admin(bouncer, database))).appliedCount).toBe(0);

    // A standby of the primary, then the "switchover": the primary goes, the standby takes its address.
    const standbyData = path.join(sharedTempDir('trdb-stale-'), 'data');
    const backup = runAsPostgres(path.join(SYSTEM_PG15_BIN, 'pg_basebackup'), ['-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', standbyData, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']);
    expect(backup.output).toBe('');
    const port = primary.port;
    await primary.stop();
    primary = undefined;
    standby = await startPostgres({ binDir: SYSTEM_PG15_BIN, dataDir: standbyData, keepData: false, port, superuserPassword: SUPERUSER_PASSWORD, throwaway: true, conf: { ssl: 'off' } });

    // What the bouncer reports is stale: the server behind it is in recovery.
    const connection = await connect(admin(bouncer, database).settings, { role: 'admin', database, target: 'any' });
    const reported = reportedParameter(connection.client, 'in_hot_standby');
    const inRecovery = (await connection.client.query('SELECT pg_is_in_recovery() AS r')).rows[0].r;
    await closeClient(connection.client);
    expect({ reported, inRecovery }).toEqual({ reported: 'off', inRecovery: true });

    await expect(migrate(admin(bouncer, database))).rejects.toMatchObject({ code: 'READ_ONLY_STANDBY', exitCode: 3 });
  }, 120_000);
});

describe('PgBouncer that cannot log in to its server', () => {
  test('(b) its answer is named, with the remedy; --wait rides it out', async () => {
    const database = uniqueName('pgb_login');
    const server = await startPostgres({ binDir: EMBEDDED_BIN, superuserPassword: SUPERUSER_PASSWORD, throwaway: true, conf: { ssl: 'off' } });
    const bouncer = await startPgbouncer({ host: server.host, port: server.port, superuser: 'postgres', password: SUPERUSER_PASSWORD }, { poolSize: 1, serverLoginRetrySeconds: 1 });
    const setPassword = async (password: string, current: string) => {
      const c = new pg.Client({ host: server.host, port: server.port, user: 'postgres', password: current, database: 'postgres' });
      await c.connect();
      await c.query(`ALTER ROLE postgres PASSWORD '${password}'`);
      await c.end();
    };
    let restored: Promise<unknown> = Promise.resolve();
    try {
      // The server's password changes: the bouncer's own login to it now fails.
      await setPassword('changed-on-the-server-1', SUPERUSER_PASSWORD);
      const context = admin(bouncer, database);
      const quick = { ...context, settings: { ...context.settings, connectTimeoutMs: 2000 } };
      const error = await createDatabase(quick).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'POOLER_SERVER_UNAVAILABLE', exitCode: 3 });
      expect((error as { hint: string }).hint).toMatch(/PgBouncer/);
      expect((error as { hint: string }).hint).not.toMatch(/firewall/);
      // Put right while --wait retries: the run then completes.
      restored = new Promise((resolve) => setTimeout(resolve, 3000)).then(() => setPassword(SUPERUSER_PASSWORD, 'changed-on-the-server-1'));
      const { result, retries } = await retryWhileUnreachable(quick, 30, () => createDatabase(quick));
      await restored;
      expect(result.created).toBe(true);
      expect(retries.length).toBeGreaterThan(0);
    } finally {
      await restored.catch(() => undefined);
      await bouncer.stop();
      await server.stop();
    }
  }, 90_000);
});
