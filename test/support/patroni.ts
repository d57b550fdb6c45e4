/**
 * A real HA cluster for tests: one etcd and three Patroni nodes of Debian's PostgreSQL 15, all
 * on loopback with free ports, in temporary folders, started and removed by the test itself.
 * Patroni runs as the postgres OS user when the tests run as root (it refuses root, as
 * PostgreSQL does). Needs Debian's patroni, etcd-server and postgresql-15 (.ci/run installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serverIds } from '../../src/core/dev/os-user.js';
import { freePort, sharedTempDir, SYSTEM_PG15_BIN } from './pg-server.js';

export const HA_SUPERUSER_PASSWORD = 'ha-superuser-password-5d1e';

export interface HaNode {
  readonly name: string;
  readonly port: number;
  readonly restPort: number;
  process: ChildProcess;
}

export interface HaCluster {
  readonly nodes: readonly HaNode[];
  /** The nodes as a libpq host list: "127.0.0.1,127.0.0.1,127.0.0.1" and "p1,p2,p3". */
  readonly hosts: string;
  readonly ports: string;
  leader(): Promise<HaNode | undefined>;
  /** Waits until a leader and every other running node replicating answer Patroni's health checks. */
  waitHealthy(timeoutMs?: number): Promise<HaNode>;
  /** A planned switchover to another node, through Patroni's REST API. */
  switchover(): Promise<{ from: HaNode; to: HaNode }>;
  /** The leader's Patroni and PostgreSQL killed with SIGKILL (a crash); the node is started again after. */
  crashLeader(): Promise<HaNode>;
  restart(node: HaNode): void;
  stop(): Promise<void>;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function haAvailable(): boolean {
  return ['patroni', 'etcd'].every((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0) && existsSync(path.join(SYSTEM_PG15_BIN, 'postgres'));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`HA cluster: ${what} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function restStatus(node: HaNode, pathname: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${node.restPort}${pathname}`, { signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return response.status;
}

function nodeConfig(dir: string, scope: string, node: HaNode, etcdPort: number): string {
  return `scope: ${scope}
name: ${node.name}
restapi:
  listen: 127.0.0.1:${node.restPort}
  connect_address: 127.0.0.1:${node.restPort}
etcd3:
  hosts: 127.0.0.1:${etcdPort}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 104857600
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
        wal_log_hints: "on"
        fsync: "off"
        max_connections: 100
  initdb:
    - encoding: UTF8
    - locale: C
  pg_hba:
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:${node.port}
  connect_address: 127.0.0.1:${node.port}
  data_dir: ${path.join(dir, node.name)}
  bin_dir: ${SYSTEM_PG15_BIN}
  pgpass: ${path.join(dir, `${node.name}.pgpass`)}
  authentication:
    superuser:
      username: postgres
      password: ${HA_SUPERUSER_PASSWORD}
    replication:
      username: replicator
      password: replicator-password-1
    rewind:
      username: postgres
      password: ${HA_SUPERUSER_PASSWORD}
  parameters:
    unix_socket_directories: '${dir}'
tags:
  nofailover: false
  noloadbalance: false
`;
}

export async function startHaCluster(size = 3): Promise<HaCluster> {
  const dir = sharedTempDir('trdb-ha-');
  const ids = serverIds();
  const etcdPort = await freePort();
  const etcdPeer = await freePort();
  const etcdData = path.join(dir, 'etcd');
  mkdirSync(etcdData);
  const etcd = spawn('etcd', [
    '--name', 'trdb', '--data-dir', etcdData,
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `trdb=http://127.0.0.1:${etcdPeer}`,
  ], { stdio: 'ignore' });
  await until('etcd answering', 20_000, async () => ((await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok ? true : undefined));
  const scope = `trdb-${process.pid}-${Date.now()}`;
  const nodes: HaNode[] = [];
  for (let i = 1; i <= size; i++) nodes.push({ name: `node${i}`, port: await freePort(), restPort: await freePort(), process: undefined as unknown as ChildProcess });
  const start = (node: HaNode): void => {
    const config = path.join(dir, `${node.name}.yml`);
    writeFileSync(config, nodeConfig(dir, scope, node, etcdPort));
    if (ids) chownSync(config, ids.uid, ids.gid);
    // A process group of its own: a crash kills Patroni and its PostgreSQL together.
    node.process = spawn('patroni', [config], { ...(ids ?? {}), detached: true, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
  };
  start(nodes[0]!);
  await until('the first node leading', 60_000, async () => ((await restStatus(nodes[0]!, '/primary')) === 200 ? true : undefined));
  for (const node of nodes.slice(1)) start(node);

  const cluster: HaCluster = {
    nodes,
    hosts: nodes.map(() => '127.0.0.1').join(','),
    ports: nodes.map((n) => n.port).join(','),
    async leader() {
      for (const node of nodes) if ((await restStatus(node, '/primary').catch(() => 0)) === 200) return node;
      return undefined;
    },
    async waitHealthy(timeoutMs = 90_000) {
      return until('a leader with streaming replicas', timeoutMs, async () => {
        const leader = await cluster.leader();
        if (!leader) return undefined;
        for (const node of nodes) {
          if (node !== leader && node.process.exitCode === null && node.process.signalCode === null && (await restStatus(node, '/replica').catch(() => 0)) !== 200) return undefined;
        }
        return leader;
      });
    },
    async switchover() {
      const from = await until('a leader', 60_000, () => cluster.leader());
      const to = nodes.find((n) => n !== from)!;
      const response = await fetch(`http://127.0.0.1:${from.restPort}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leader: from.name, candidate: to.name }),
      });
      if (!response.ok) throw new Error(`switchover refused: ${response.status} ${await response.text()}`);
      await until('the candidate leading', 60_000, async () => ((await restStatus(to, '/primary')) === 200 ? true : undefined));
      return { from, to };
    },
    async crashLeader() {
      const leader = await until('a leader', 60_000, () => cluster.leader());
      // Patroni starts PostgreSQL in a session of its own: both are killed, as a crash of the machine would.
      const postmaster = Number(readFileSync(path.join(dir, leader.name, 'postmaster.pid'), 'utf8').split('\n')[0]);
      killQuietly(-leader.process.pid!);
      killQuietly(postmaster); // its backends exit when they see the postmaster gone
      return leader;
    },
    restart(node) {
      start(node);
    },
    async stop() {
      for (const node of nodes) {
        const pidFile = path.join(dir, node.name, 'postmaster.pid');
        const postmaster = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
        killQuietly(-node.process.pid!);
        if (postmaster > 0) killQuietly(postmaster);
      }
      etcd.kill('SIGKILL');
      // The backends of a killed postmaster take a moment to notice and exit.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
  return cluster;
}
