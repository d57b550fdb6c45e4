import type { Client } from 'pg';

/**
 * What the program on the other end of a connection did before the connection failed: whether
 * the connection opened, and the first bytes it answered. PostgreSQL always answers its
 * protocol's first message; anything else there (an HTTP server, a proxy with nothing behind
 * it) gets named as what it is, the way psql does ("received invalid response to SSL
 * negotiation: H"), instead of being taken for a server without TLS or a firewall.
 */
export interface ListenerFacts {
  /** The TCP connection (or the Unix socket) opened. */
  connected: boolean;
  /** What was sent first: the SSLRequest (TLS wanted) or the StartupMessage. */
  readonly sent: 'SSLRequest' | 'StartupMessage';
  /** The first bytes that came back, if any. */
  answer?: Buffer;
  /** How long the client waited for the whole connection, in ms. */
  readonly timeoutMs?: number;
}

/** The first bytes PostgreSQL can send: 'S'/'N' to an SSLRequest ('E' from a server that fails at once); R, E, v or N after a StartupMessage. */
const POSTGRES_FIRST_BYTES: Readonly<Record<ListenerFacts['sent'], string>> = { SSLRequest: 'SNE', StartupMessage: 'REvN' };

/** Whether the answer is one PostgreSQL (or a pooler speaking its protocol) could have sent. */
export function isPostgresAnswer(facts: Pick<ListenerFacts, 'sent' | 'answer'>): boolean {
  if (!facts.answer || facts.answer.length === 0) return true;
  return POSTGRES_FIRST_BYTES[facts.sent].includes(String.fromCharCode(facts.answer[0]!));
}

/** The answer's first line, printable, at most 60 characters: `HTTP/1.1 400 Bad Request`. */
export function answerText(answer: Buffer): string {
  const line = answer.subarray(0, 200).toString('latin1').split(/\r?\n/)[0]!;
  const printable = line.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length > 60 ? `${printable.slice(0, 60)}…` : printable;
}

/** What kind of program the answer suggests, when its first bytes say so. */
export function answerKind(answer: Buffer): string | undefined {
  const start = answer.subarray(0, 8).toString('latin1');
  if (start.startsWith('HTTP/')) return 'an HTTP server';
  if (start.startsWith('SSH-')) return 'an SSH server';
  if (/^[+-](OK|ERR)/.test(start)) return 'a Redis server';
  if (/^220[ -]/.test(start)) return 'an SMTP or FTP server';
  if (answer[0] === 0x16 || answer[0] === 0x15) return 'a TLS server (it expects a TLS handshake, not PostgreSQL\'s protocol)';
  return undefined;
}

/**
 * Watches a pg client's socket while it connects: whether it opened and the first chunk that
 * came back. Attached before connect() (the socket exists from the client's construction);
 * both listeners remove themselves after their first event.
 */
export function watchListener(client: Client, sent: ListenerFacts['sent'], timeoutMs?: number): ListenerFacts {
  const facts: ListenerFacts = { connected: false, sent, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  const stream = (client as unknown as { connection?: { stream?: NodeJS.EventEmitter } }).connection?.stream;
  if (!stream || typeof stream.once !== 'function') return facts;
  stream.once('connect', () => (facts.connected = true));
  stream.once('data', (chunk: Buffer) => (facts.answer = Buffer.from(chunk.subarray(0, 256))));
  return facts;
}

/**
 * PostgreSQL's ErrorResponse ('E', a length, then fields of a type byte and a string each) as
 * pg reports an error: the message, and the SQLSTATE as `code`. A server can send one instead
 * of S or N to an SSLRequest, when it refuses at once.
 */
export function errorResponseIn(answer: Buffer): Error {
  const fields = new Map<string, string>();
  let at = 5;
  while (at < answer.length && answer[at] !== 0) {
    const end = answer.indexOf(0, at + 1);
    if (end === -1) break;
    fields.set(String.fromCharCode(answer[at]!), answer.subarray(at + 1, end).toString('utf8'));
    at = end + 1;
  }
  return Object.assign(new Error(fields.get('M') ?? 'the server refused the SSL request'), { code: fields.get('C') });
}
