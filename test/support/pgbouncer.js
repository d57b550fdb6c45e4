/**
 * A PgBouncer in transaction-pooling mode in front of a test server, on a free loopback
 * port. Started as the postgres OS user when run as root (pgbouncer refuses root).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, sharedTempDir } from './pg-server.js';

export function pgbouncerBinary() {
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer; .ci/run does this)');
  return found;
}

/**
 * @param {{ host: string, port: number, superuser: string, password: string }} server
 * @param {{ poolSize?: number, users?: Array<[string, string]> }} [options]
 */
export async function startPgbouncer(server, options = {}) {
  const binary = pgbouncerBinary();
  const dir = sharedTempDir('trdb-bouncer-');
  const port = await freePort();
  const users = [[server.superuser, server.password], ...(options.users ?? [])];
  writeFileSync(path.join(dir, 'userlist.txt'), users.map(([u, p]) => `"${u}" "${p}"`).join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.host} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 2}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      'admin_users = postgres',
    ].join('\n') + '\n',
  );
  const ids = process.getuid?.() === 0 ? idsOfPostgres() : undefined;
  if (ids) for (const f of ['userlist.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), ids.uid, ids.gid);
  const child = spawn(binary, [path.join(dir, 'pgbouncer.ini')], { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  // Wait until it accepts TCP connections.
  const net = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${log}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    async stop() {
      if (child.exitCode === null) {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGINT');
        });
      }
    },
  };
}

function idsOfPostgres() {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}
