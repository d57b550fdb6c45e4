#!/usr/bin/env node
/**
 * What the server-side network timeouts cost each migration (issue #21): one statement more in
 * the message that opens each migration's transaction (db/network-timeouts.ts). Transactions
 * shaped like that opening, with and without it, on one connection to a server started here,
 * in alternating blocks; prints the medians per transaction and their difference.
 *
 *   npm run build && node bench/network-timeouts.mjs [blocks=20] [per block=200]
 */
import pg from 'pg';
import { transactionNetworkTimeoutsSql } from '../dist/core/db/network-timeouts.js';
import { median } from './lib/measure.mjs';
import { startBenchServer } from './lib/server.mjs';

const blocks = Number(process.argv[2] ?? 20);
const perBlock = Number(process.argv[3] ?? 200);
const server = await startBenchServer();
const client = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.password, database: 'postgres' });
await client.connect();
const transaction = (extra) => ['BEGIN', 'SET LOCAL statement_timeout = 600000', ...extra, 'SELECT pg_try_advisory_xact_lock(1)', 'COMMIT'].join(';\n');
const variants = { without: transaction([]), with: transaction([transactionNetworkTimeoutsSql(30_000)]) };
const times = { without: [], with: [] };
try {
  for (let block = 0; block <= blocks; block++) {
    const order = block % 2 ? ['with', 'without'] : ['without', 'with'];
    for (const name of order) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < perBlock; i++) await client.query(variants[name]);
      if (block > 0) times[name].push(Number(process.hrtime.bigint() - started) / 1e3 / perBlock); // block 0 warms up
    }
  }
} finally {
  await client.end();
  await server.stop();
}
const [a, b] = [median(times.without), median(times.with)];
process.stdout.write(`per transaction (median of ${blocks} blocks of ${perBlock}): without ${a.toFixed(0)} µs, with the network timeouts ${b.toFixed(0)} µs, +${(b - a).toFixed(0)} µs (${(b / a).toFixed(2)}×)\n`);
