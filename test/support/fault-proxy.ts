/**
 * A TCP proxy on loopback that injects network faults on demand, between a client (the tool)
 * and a server (PostgreSQL, a pooler): it forwards, cuts connections with a reset, or silently
 * swallows traffic in either direction, the way a partition, a dead NAT entry or a firewall that
 * drops packets does. Runs inside the test process; nothing is mocked on either side.
 *
 * What a userspace proxy cannot reproduce: the proxy's own kernel acknowledges the client's
 * bytes and answers TCP keepalive probes, so a silent partition here is seen only by what the
 * application notices (no answer), never by TCP keepalives. That is also what a pooler or a load
 * balancer in the path does to keepalives.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type Direction = 'to-server' | 'to-client' | 'both';

/** What happens to a connection once the client sent a matching message. */
export type TriggeredFault =
  /** The message reaches the server; nothing flows either way afterwards (the answer is lost, silently). */
  | 'lose-answer'
  /** The message reaches the server, the server's side is closed after it, the client's side is reset (RST). */
  | 'reset-after'
  /** The message never reaches the server, and nothing flows either way afterwards: lost on its way. */
  | 'drop';

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** Forward everything again, on open and new connections. What was swallowed meanwhile is gone. */
  forward(): void;
  /** Drop every byte in `direction` on open and new connections; no FIN, no RST: a silent partition. */
  swallow(direction?: Direction): void;
  /** Cut every open connection with a TCP reset on both sides (new ones are still accepted). */
  reset(): void;
  /**
   * Arms a one-shot fault: the `nth` (1-based) client message containing `pattern` is forwarded,
   * then `fault` applies to that connection. Resolves when it fired. Matching is per chunk read.
   */
  afterClientSends(pattern: string, fault: TriggeredFault, nth?: number): Promise<void>;
  /** Connections opened so far, and those open now. */
  readonly stats: { readonly opened: number; readonly open: number };
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  /** Directions swallowed on this link; the proxy-wide mode applies where this is undefined. */
  own?: Direction | 'none';
}

interface Trigger {
  readonly pattern: Buffer;
  readonly fault: TriggeredFault;
  remaining: number;
  readonly fired: () => void;
}

function drops(mode: Direction | 'none', direction: 'to-server' | 'to-client'): boolean {
  return mode === 'both' || mode === direction;
}

export async function startFaultProxy(target: { readonly host: string; readonly port: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  let mode: Direction | 'none' = 'none';
  let opened = 0;
  const triggers: Trigger[] = [];
  const modeOf = (link: Link): Direction | 'none' => link.own ?? mode;

  const fire = (link: Link, chunk: Buffer): boolean => {
    const trigger = triggers.find((t) => chunk.includes(t.pattern) && --t.remaining === 0);
    if (!trigger) return false;
    triggers.splice(triggers.indexOf(trigger), 1);
    link.own = 'both';
    if (trigger.fault === 'reset-after') {
      link.server.end(chunk); // after the message: the server reads it, then end of stream
      link.client.resetAndDestroy();
    } else if (trigger.fault === 'lose-answer') {
      link.server.write(chunk);
    }
    trigger.fired();
    return true;
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    opened++;
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    const link: Link = { client, server: upstream };
    links.add(link);
    const pending: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (fire(link, chunk) || drops(modeOf(link), 'to-server')) return;
      if (upstream.connecting) pending.push(chunk);
      else upstream.write(chunk);
    });
    upstream.once('connect', () => {
      for (const chunk of pending.splice(0)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!drops(modeOf(link), 'to-client') && !client.destroyed) client.write(chunk);
    });
    // An end or error on one side is passed on only while the link forwards: a partition hides it.
    const passOn = (from: 'client' | 'server'): void => {
      links.delete(link);
      const other = from === 'client' ? upstream : client;
      const hidden = drops(modeOf(link), from === 'client' ? 'to-server' : 'to-client');
      if (!hidden) other.destroy();
    };
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => passOn('client'));
    upstream.on('close', () => passOn('server'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    forward() {
      mode = 'none';
      for (const link of links) link.own = undefined;
    },
    swallow(direction: Direction = 'both') {
      mode = direction;
      for (const link of links) link.own = undefined;
    },
    reset() {
      for (const link of links) {
        link.client.resetAndDestroy();
        link.server.resetAndDestroy();
      }
      links.clear();
    },
    afterClientSends(pattern: string, fault: TriggeredFault, nth = 1) {
      return new Promise<void>((resolve) => triggers.push({ pattern: Buffer.from(pattern), fault, remaining: nth, fired: resolve }));
    },
    get stats() {
      return { opened, open: links.size };
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.server.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
