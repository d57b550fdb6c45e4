import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

/**
 * The fault-injecting proxy the network-fault tests rely on, against a plain TCP server that
 * records what it received and answers "ok:<what it got>" to every chunk.
 */
describe('fault proxy', () => {
  let server: Server;
  let received: string[];
  let serverSockets: Socket[];
  let proxy: FaultProxy;

  beforeEach(async () => {
    received = [];
    serverSockets = [];
    server = createServer((socket) => {
      serverSockets.push(socket);
      socket.on('data', (d) => {
        received.push(String(d));
        socket.write(`ok:${d}`);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  });

  afterEach(async () => {
    await proxy.close();
    for (const s of serverSockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function client(): Promise<{ socket: Socket; answers: string[]; closed: Promise<string> }> {
    const socket = connect(proxy.port, proxy.host);
    const answers: string[] = [];
    socket.on('data', (d) => answers.push(String(d)));
    const closed = new Promise<string>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      socket.on('close', () => resolve('close'));
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, answers, closed };
  }

  const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

  test('forwards both ways', async () => {
    const c = await client();
    c.socket.write('one');
    await settle();
    expect(received).toEqual(['one']);
    expect(c.answers).toEqual(['ok:one']);
    c.socket.destroy();
  });

  test('swallows each direction on demand, silently, and forwards again', async () => {
    const c = await client();
    proxy.swallow('to-client');
    c.socket.write('a');
    await settle();
    expect(received).toEqual(['a']); // the server got it, its answer vanished
    expect(c.answers).toEqual([]);
    proxy.swallow('to-server');
    c.socket.write('b');
    await settle();
    expect(received).toEqual(['a']);
    proxy.forward();
    c.socket.write('c');
    await settle();
    expect(received).toEqual(['a', 'c']);
    expect(c.answers).toEqual(['ok:c']);
    expect(c.socket.destroyed).toBe(false); // no FIN, no RST on the way
    c.socket.destroy();
  });

  test('a swallowed connection hides the client going away from the server', async () => {
    const c = await client();
    c.socket.write('x');
    await settle();
    proxy.swallow('both');
    c.socket.destroy();
    await settle();
    expect(serverSockets[0]!.destroyed).toBe(false);
    expect(proxy.stats.opened).toBe(1);
  });

  test('reset() cuts open connections with an RST', async () => {
    const c = await client();
    proxy.reset();
    expect(await c.closed).toBe('ECONNRESET');
  });

  test('afterClientSends: lose-answer forwards the message, then nothing flows; reset-after resets the client', async () => {
    const c = await client();
    const fired = proxy.afterClientSends('COMMIT', 'lose-answer', 2);
    c.socket.write('COMMIT 1');
    await settle();
    c.socket.write('COMMIT 2');
    await fired;
    await settle();
    expect(received).toEqual(['COMMIT 1', 'COMMIT 2']);
    expect(c.answers).toEqual(['ok:COMMIT 1']);

    const d = await client();
    const reset = proxy.afterClientSends('END', 'reset-after');
    d.socket.write('END');
    await reset;
    expect(await d.closed).toBe('ECONNRESET');
    await settle();
    expect(received).toContain('END');
    c.socket.destroy();
  });

  test('afterClientSends: drop loses the message itself', async () => {
    const c = await client();
    const fired = proxy.afterClientSends('LOST', 'drop');
    c.socket.write('LOST');
    await fired;
    await settle();
    expect(received).toEqual([]);
    c.socket.destroy();
  });
});
