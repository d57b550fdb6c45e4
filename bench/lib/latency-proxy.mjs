#!/usr/bin/env node
/**
 * A TCP proxy on loopback that delays every chunk by the same time in each direction: a
 * server "far away" (one round trip = 2 × delay), for measuring what round trips cost a
 * command the way they do against a managed database in another zone or region. Order is
 * kept (timers of equal length fire in the order they were set). Runs as its own process
 * so its timers never share an event loop with the clock of the benchmark.
 *
 *   node bench/lib/latency-proxy.mjs <listen port> <target host> <target port> <one-way delay ms>
 *
 * Prints "listening <port>" once it accepts connections.
 */
import { connect, createServer } from 'node:net';

const [listenPort, targetHost, targetPort, delay] = process.argv.slice(2).map((v, i) => (i === 1 ? v : Number(v)));
if (!Number.isInteger(listenPort) || !targetHost || !Number.isInteger(targetPort) || !(delay >= 0)) {
  process.stderr.write('usage: latency-proxy.mjs <listen port> <target host> <target port> <one-way delay ms>\n');
  process.exit(2);
}

/** Forwards `from` to `to`, each chunk `delay` ms later; an end or error is passed on after the data before it. */
function pipeDelayed(from, to) {
  from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delay));
  from.on('end', () => setTimeout(() => to.end(), delay));
  from.on('error', () => setTimeout(() => to.destroy(), delay));
  from.on('close', () => setTimeout(() => to.destroy(), delay));
}

const server = createServer({ noDelay: true }, (client) => {
  client.setNoDelay(true);
  // The TCP handshake takes a round trip of its own (SYN there, SYN-ACK back), which the
  // loopback connect to this proxy does not: the client's first bytes reach the server
  // three delays after it connected, and the answer is back after four, as over a real link.
  const pending = [];
  client.on('data', (chunk) => pending.push(chunk));
  setTimeout(() => {
    if (client.destroyed) return; // gone before its connection would have been open
    const upstream = connect({ host: targetHost, port: targetPort, noDelay: true });
    client.once('close', () => upstream.connecting && upstream.destroy());
    upstream.once('connect', () => {
      client.removeAllListeners('data');
      for (const chunk of pending) setTimeout(() => upstream.write(chunk), delay);
      pipeDelayed(client, upstream);
      pipeDelayed(upstream, client);
    });
    upstream.once('error', () => client.destroy());
  }, 2 * delay);
  client.on('error', () => undefined);
});
server.listen(listenPort, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
