// The benchmark's PostgreSQL: the tool's own server runner (dist/core/dev/postgres-server.js,
// the one `dev` and the tests use), durability off, on a free loopback port, removed on stop.
import { embeddedBinDir } from '../../dist/core/dev/embedded-server.js';
import { startPostgres } from '../../dist/core/dev/postgres-server.js';

const PASSWORD = 'bench-superuser-password-41c7';

/** @param {{ binDir?: string, conf?: Record<string, string> }} [options] */
export async function startBenchServer(options = {}) {
  const server = await startPostgres({
    binDir: options.binDir ?? embeddedBinDir(),
    superuserPassword: PASSWORD,
    throwaway: true,
    conf: { max_connections: '200', shared_buffers: '32MB', log_min_messages: 'warning', ssl: 'off', ...options.conf },
  });
  return { ...server, password: PASSWORD, stop: () => server.stop() };
}
