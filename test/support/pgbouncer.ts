/**
 * A PgBouncer in transaction-pooling mode in front of a test server, on a free loopback
 * port. Started as the postgres OS user when run as root (pgbouncer refuses root).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'node:net';
import { serverIds } from '../../src/core/dev/os-user.js';
import { freePort, sharedTempDir } from './pg-server.js';

export interface Pgbouncer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function pgbouncerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer; .ci/run does this)');
  return found;
}

export async function startPgbouncer(
  server: { host: string; port: number; superuser: string; password: string },
  options: { poolSize?: number; users?: Array<[string, string]>; serverLoginRetrySeconds?: number } = {},
): Promise<Pgbouncer> {
  const binary = pgbouncerBinary();
  const dir = sharedTempDir('trdb-bouncer-');
  const port = await freePort();
  const users: Array<[string, string]> = [[server.superuser, server.password], ...(options.users ?? [])];
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
      ...(options.serverLoginRetrySeconds !== undefined ? [`server_login_retry = ${options.serverLoginRetrySeconds}`] : []),
    ].join('\n') + '\n',
  );
  const ids = serverIds();
  if (ids) for (const f of ['userlist.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), ids.uid, ids.gid);
  const child = spawn(binary, [path.join(dir, 'pgbouncer.ini')], { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d));
  // Wait until it accepts TCP connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
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
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGINT');
        });
      }
    },
  };
}
