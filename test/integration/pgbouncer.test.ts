import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { startPgbouncer } from '../support/pgbouncer.js';
import { adminEnv, contextFor, dropDatabaseAndRole, tempDir, testServer, uniqueName, withSuperClient } from '../support/fixtures.js';

describe('migrations through PgBouncer in transaction-pooling mode', () => {
  let bouncer: Awaited<ReturnType<typeof startPgbouncer>>;
  beforeAll(async () => {
    bouncer = await startPgbouncer(testServer(), { poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  test('4 concurrent migrate runs through the pooler apply each migration exactly once', async () => {
    const db = uniqueName('bouncer');
    const dir = tempDir();
    for (let i = 1; i <= 6; i++) {
      // pg_sleep widens the window in which runners overlap on pooled server connections.
      writeFileSync(path.join(dir, `00${i}_step${i}.sql`), `CREATE TABLE step${i} (id int); INSERT INTO step${i} VALUES (${i}); SELECT pg_sleep(0.05);\n`);
    }
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })), { migrate: false });
    const viaBouncer = () =>
      contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_HOST: bouncer.host, TOFU_REGISTRY_DB_PORT: String(bouncer.port) }));
    const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(viaBouncer(), { migrationsDir: dir })));
    expect(runs.reduce((sum, run) => sum + run.appliedCount, 0)).toBe(6);
    const state = await withSuperClient(db, async (c) => ({
      versions: (await c.query('SELECT version FROM tofu_registry_migrations ORDER BY version::int')).rows.map((r) => r.version),
      rows: (await c.query('SELECT (SELECT count(*) FROM step1) + (SELECT count(*) FROM step6) AS n')).rows[0].n,
    }));
    expect(state.versions).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(Number(state.rows)).toBe(2);
    // Nothing session-scoped outlives the runs on the pooled server connections: no advisory
    // lock still held, no transaction left open.
    const leaks = await withSuperClient(db, async (c) => ({
      advisoryLocks: Number((await c.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows[0].n),
      openTransactions: Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [db])).rows[0].n),
      pooledSessions: Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db])).rows[0].n),
    }));
    expect(leaks.advisoryLocks).toBe(0);
    expect(leaks.openTransactions).toBe(0);
    expect(leaks.pooledSessions).toBeGreaterThan(0); // the pooler keeps its server connections: the check above saw them
    await dropDatabaseAndRole(db);
  });

  test('create-db and the bundled migrations through the pooler, 4 runs at once', async () => {
    const db = uniqueName('bouncer_cdb');
    const context = () =>
      contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_HOST: bouncer.host, TOFU_REGISTRY_DB_PORT: String(bouncer.port) }));
    const runs = await Promise.all(Array.from({ length: 4 }, () => createDatabase(context())));
    expect(runs.filter((r) => r.created)).toHaveLength(1);
    const applied = runs.reduce((sum, r) => sum + (r.migrations?.appliedCount ?? 0), 0);
    const count = await withSuperClient(db, async (c) => Number((await c.query('SELECT count(*) AS n FROM tofu_registry_migrations')).rows[0].n));
    expect(applied).toBe(count);
    await dropDatabaseAndRole(db);
  });
});
