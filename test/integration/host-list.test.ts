import { existsSync } from 'node:fs';
import path from 'node:path';
import { retryWhileUnreachable } from '../../src/core/db/wait-for-server.js';
import { migrate } from '../../src/core/migrations/migrate.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { testConnection } from '../../src/core/checks/test-connection.js';
import { setup } from '../../src/core/provision/setup.js';
import { getStatus } from '../../src/core/checks/status.js';
import { contextFor, uniqueName } from '../support/fixtures.js';
import { runAsPostgres, SUPERUSER_PASSWORD, SYSTEM_PG15_BIN, freePort } from '../support/pg-server.js';
import { startPrimaryAndStandby } from '../support/standby.js';

/**
 * Issue #20 (and #21 item 3): a host list given to the tool the way libpq takes one. A
 * pg_basebackup standby first in the list, a dead host, and the primary: commands that write find
 * the primary; test-connection says what became of each host; when the primary is gone and the
 * standby is promoted by hand, `--wait` waits for it to become writable and the same settings work.
 */
const describePg15 = existsSync(path.join(SYSTEM_PG15_BIN, 'pg_basebackup')) ? describe : describe.skip;

describePg15('a host list: a standby, a dead host and the primary', () => {
  test('writes find the primary; test-connection names every host; a standby promoted by hand is waited for', async () => {
    const { primary, standby, stop } = await startPrimaryAndStandby();
    const deadPort = await freePort();
    try {
      const database = uniqueName('hl_db');
      const env = {
        TOFU_REGISTRY_DB_HOST: '127.0.0.1,127.0.0.1,127.0.0.1',
        TOFU_REGISTRY_DB_PORT: `${standby.port},${deadPort},${primary.port}`,
        TOFU_REGISTRY_DB_SSLMODE: 'disable',
        TOFU_REGISTRY_DB_NAME: database,
        TOFU_REGISTRY_DB_ADMIN_USER: 'postgres',
        TOFU_REGISTRY_DB_ADMIN_PASSWORD: SUPERUSER_PASSWORD,
        TOFU_REGISTRY_DB_CONNECT_TIMEOUT: '2',
      };
      const context = contextFor(env);
      const created = await createDatabase(context);
      expect(created.created).toBe(true);

      // The admin's checks, with the default target (any) upgraded to the primary for --admin.
      const report = await testConnection(contextFor(env), { admin: true });
      expect(report.hosts?.map((h) => [h.port, h.chosen])).toEqual([
        [standby.port, false],
        [deadPort, false],
        [primary.port, true],
      ]);
      expect(report.hosts?.[0]!.outcome).toMatch(/standby/);
      expect(report.hosts?.[1]!.outcome).toMatch(/Nothing accepts connections|refused/i);

      // setup's closing check logs in as the env file it wrote does (read-write): not on the standby first in the list.
      const role = uniqueName('hl_app');
      const provisioned = await setup(contextFor(env, { user: role }));
      if (!provisioned.ok) throw provisioned.error;
      expect(provisioned.exitCode).toBe(0);
      expect(provisioned.connection?.port).toBe(primary.port);

      // status names the server it read: the primary, not the first host of the list (a standby) nor the dead one.
      const status = await getStatus(contextFor(env));
      expect([status.server.port, status.server.standby]).toEqual([primary.port, false]);

      // The primary goes; the standby is promoted by hand a moment later. --wait rides it out.
      await primary.stop();
      setTimeout(() => runAsPostgres(path.join(SYSTEM_PG15_BIN, 'pg_ctl'), ['promote', '-D', standby.dataDir, '-w']), 2000);
      const { result, retries } = await retryWhileUnreachable(context, 60, () => migrate(contextFor(env)));
      expect(result.database).toBe(database);
      expect(retries.length).toBeGreaterThan(0);
      expect(retries[0]!.code).toMatch(/NO_PRIMARY|READ_ONLY_STANDBY|CONNECTION/);
    } finally {
      await stop();
    }
  }, 120_000);
});
