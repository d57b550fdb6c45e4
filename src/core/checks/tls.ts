import { isIP, type Socket } from 'node:net';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import type { Settings } from '../config/settings.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { builtin } from '../runtime/import-external.js';
import { failed, notApplicable, passed, type CheckOutcome, type CheckState, type TlsProbe } from './check.js';
import { endpoint, errorContext, isLoopback, openSocket, withTimeout } from '../db/network.js';
import { isSocketHost, networkHost } from '../config/host.js';
import { sslOptionsFor, type TlsState } from '../db/tls-options.js';
import { type SslMode } from '../config/variables.js';
import { errorResponseIn, type ListenerFacts } from '../db/listener.js';

// PostgreSQL's SSLRequest: length 8, then the magic code 1234.5679.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The first chunk the server sends back: PostgreSQL answers an SSLRequest with one byte, S or N. */
function firstAnswer(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    socket.once('data', (data: Buffer) => resolve(data));
    socket.once('error', reject);
    socket.once('end', () => reject(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' })));
  });
}

function describeName(name: Record<string, string | string[]> | undefined): string {
  if (!name) return '?';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}

function describeCertificate(peer: PeerCertificate): NonNullable<TlsProbe['certificate']> {
  const subject = describeName(peer.subject as unknown as Record<string, string>);
  const issuer = describeName(peer.issuer as unknown as Record<string, string>);
  return {
    subject,
    issuer,
    validTo: peer.valid_to,
    selfSigned: subject === issuer,
    ...(peer.subjectaltname ? { subjectAltName: peer.subjectaltname } : {}),
  };
}

/**
 * Asks the server for TLS the way libpq does and completes a handshake without logging
 * in, so a TLS problem shows as one, apart from authentication. The chain and host name
 * are checked by hand (rejectUnauthorized off) to report every finding at once. Leaving
 * after the handshake is silent in the server log (checked at log_min_messages=debug1):
 * PostgreSQL treats EOF after the SSL exchange as a client that changed its mind.
 */
async function probeTls(settings: Settings): Promise<TlsProbe> {
  let verificationWanted = false;
  let trust: Pick<ConnectionOptions, 'ca' | 'secureContext'> = {};
  let caSource: string | undefined;
  let rootCertMissing: string | undefined;
  let verifyHostname = false;
  try {
    const plan = sslOptionsFor(settings, true);
    if (plan !== false && plan.rejectUnauthorized) {
      verificationWanted = true;
      trust = plan.secureContext ? { secureContext: plan.secureContext } : { ca: plan.ca };
      caSource = settings.sslRootCert ?? '~/.postgresql/root.crt';
      verifyHostname = plan.checkServerIdentity === undefined;
    }
  } catch (error) {
    if (!(error instanceof ConfigError) || error.code !== 'TLS_ROOT_CERT_MISSING') throw error;
    verificationWanted = true;
    rootCertMissing = error.message;
    verifyHostname = settings.sslMode === 'verify-full';
  }

  const socket = await openSocket(settings);
  let secure: TLSSocket | undefined;
  try {
    socket.write(SSL_REQUEST);
    const answer = await sslAnswer(socket, settings);
    if (answer !== 'S') return { offered: false, verificationWanted, chainVerified: false, caSource, rootCertMissing };
    const host = networkHost(settings.host);
    const tls = builtin<typeof import('node:tls')>('node:tls');
    // checkServerIdentity off: Node would otherwise check the name (against "localhost" when
    // no servername is given, as for an IP address) and report a mismatch as the chain's
    // authorizationError, failing verify-ca for a certificate that names another host.
    // The name is checked below, and only where the sslmode asks for it.
    secure = tls.connect({
      socket,
      ...trust,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(isIP(host) ? {} : { servername: host }),
    });
    const handshake = new Promise<void>((resolve, reject) => {
      secure!.once('secureConnect', resolve);
      secure!.once('error', reject);
    });
    await withTimeout(handshake, settings.connectTimeoutMs, 'TLS handshake');
    const peer: PeerCertificate = secure.getPeerCertificate();
    const hostnameProblem = verifyHostname && peer ? tls.checkServerIdentity(host, peer) : undefined;
    const chainVerified = verificationWanted && rootCertMissing === undefined && secure.authorized;
    const chainError = secure.authorizationError ? String(secure.authorizationError) : undefined;
    return {
      offered: true,
      protocol: secure.getProtocol() ?? undefined,
      cipher: secure.getCipher()?.name,
      verificationWanted,
      caSource,
      rootCertMissing,
      chainVerified,
      ...(verificationWanted && !chainVerified && chainError ? { chainError } : {}),
      ...(hostnameProblem ? { hostnameError: hostnameProblem.message } : {}),
      certificate: peer?.subject ? describeCertificate(peer) : undefined,
    };
  } finally {
    await closeGracefully(secure ?? socket);
    socket.destroy();
  }
}

/**
 * S or N, PostgreSQL's two answers to an SSLRequest. Anything else (an HTTP server's "HTTP/1.1
 * 400", no answer at all) means something other than PostgreSQL listens there, which
 * toRegistryDbError says as such: not as a server without TLS, nor as a firewall.
 */
async function sslAnswer(socket: Socket, settings: Settings): Promise<'S' | 'N'> {
  const listener: ListenerFacts = { connected: true, sent: 'SSLRequest', timeoutMs: settings.connectTimeoutMs };
  try {
    listener.answer = await withTimeout(firstAnswer(socket), settings.connectTimeoutMs, 'waiting for the answer to SSLRequest');
  } catch (error) {
    throw toRegistryDbError(error, { ...errorContext(settings), listener });
  }
  const first = String.fromCharCode(listener.answer[0]!);
  if (listener.answer.length === 1 && (first === 'S' || first === 'N')) return first;
  // An ErrorResponse instead (a server that refuses at once): its own SQLSTATE and words.
  if (first === 'E') throw toRegistryDbError(errorResponseIn(listener.answer), errorContext(settings));
  throw toRegistryDbError(new Error(`received invalid response to SSL negotiation: ${first}`), { ...errorContext(settings), listener });
}

/**
 * Ends the connection the polite way (TLS close_notify, then FIN) so the server sees a
 * client that completed the handshake and left before sending a startup packet, which
 * it does not log as an error; a reset in the middle of its handshake would be logged.
 */
function closeGracefully(stream: Socket | TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, 1000);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.end();
  });
}

export interface TlsVerdictInput {
  readonly sslMode: SslMode;
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
  readonly probe?: TlsProbe;
  /** What the logged-in connection actually negotiated, once known. */
  readonly negotiated?: TlsState;
}

function tlsFailure(code: string, message: string, hint: string, cause?: string): RegistryDbError {
  return new RegistryDbError('unreachable', code, message, { hint, cause });
}

function certificateText(probe: TlsProbe): string {
  const cert = probe.certificate;
  if (!cert) return 'The server certificate';
  return `The server certificate (${cert.subject}; issued by ${cert.selfSigned ? 'itself' : cert.issuer})`;
}

/**
 * The TLS verdict for each libpq sslmode, from the probe and, after login, from what
 * the connection really negotiated (with `allow`, only the login tells: it tries a
 * plain connection first). A pure function, so every mode is unit-tested.
 */
export function tlsVerdict(input: TlsVerdictInput): CheckOutcome {
  const { sslMode, probe, negotiated } = input;
  const where = `${input.host}:${input.port}`;
  const unencryptedWarning = input.loopback
    ? []
    : [`the connection to ${input.host} is not encrypted: passwords and data cross the network in clear text (set TOFU_REGISTRY_DB_SSLMODE=require or verify-full)`];
  const plain = (summary: string, details: Record<string, unknown>) => passed(summary, { sslMode, encrypted: false, ...details }, unencryptedWarning);

  if (isSocketHost(input.host)) {
    return notApplicable('not used: Unix-socket connections are never encrypted (as in libpq)', { sslMode, encrypted: false });
  }
  if (sslMode === 'disable') return plain('not encrypted (sslmode disable)', {});
  if (!probe) throw new Error(`tlsVerdict: sslmode ${sslMode} needs a probe`);

  if (!probe.offered) {
    if (sslMode === 'allow' || sslMode === 'prefer') {
      return plain(`not encrypted: the server does not offer TLS (sslmode ${sslMode} falls back to a plain connection)`, { serverOffersTls: false });
    }
    const failure = tlsFailure(
      'TLS_UNAVAILABLE',
      `${where} does not offer TLS, and sslmode ${sslMode} requires it.`,
      'Enable ssl on the server (ssl = on, with a certificate), or set TOFU_REGISTRY_DB_SSLMODE=prefer (or disable on a trusted network).',
    );
    return failed(failure, `send SSLRequest to ${where} (sslmode ${sslMode})`, { answer: 'N: the server does not support SSL connections' });
  }

  const offered = {
    serverOffersTls: true,
    protocol: probe.protocol,
    cipher: probe.cipher,
    ...(probe.certificate ? { certificate: probe.certificate } : {}),
  };
  const tried = `TLS handshake with ${where} (sslmode ${sslMode}${probe.caSource ? `, root certificate ${probe.caSource}` : ''})`;
  const unverified = probe.verificationWanted ? verificationFailure(input, probe, tried, offered) : undefined;
  if (unverified) return unverified;

  const verified = probe.verificationWanted;
  const hostnameVerified = verified && sslMode === 'verify-full';
  const trust = verified
    ? `certificate verified against ${probe.caSource}${hostnameVerified ? ', host name verified' : ', host name not checked'}`
    : `certificate not verified (sslmode ${sslMode}: encryption only)`;
  if (negotiated && !negotiated.encrypted) {
    return plain(`not encrypted: sslmode ${sslMode} logged in over a plain connection (the server offers ${probe.protocol ?? 'TLS'})`, offered);
  }
  if (!negotiated && sslMode === 'allow') {
    return passed(`the server offers ${probe.protocol ?? 'TLS'}; sslmode allow tries a plain connection first`, { sslMode, ...offered });
  }
  const protocol = negotiated?.protocol ?? probe.protocol ?? 'TLS';
  return passed(`encrypted (${protocol}); ${trust}`, {
    sslMode,
    encrypted: true,
    ...offered,
    protocol,
    certificateVerified: negotiated?.certificateVerified ?? verified,
    hostnameVerified: negotiated?.hostnameVerified ?? hostnameVerified,
  });
}

/** verify-ca, verify-full (and require with a root certificate): why the certificate did not pass, if it did not. */
function verificationFailure(input: TlsVerdictInput, probe: TlsProbe, tried: string, offered: Record<string, unknown>): CheckOutcome | undefined {
  if (probe.rootCertMissing !== undefined) {
    const failure = tlsFailure(
      'TLS_ROOT_CERT_MISSING',
      `${certificateText(probe)} cannot be verified: ${probe.rootCertMissing}`,
      'Set TOFU_REGISTRY_DB_SSLROOTCERT to the CA certificate that signed the server certificate (or "system" for public CAs), or use sslmode=require (encrypted, not verified).',
    );
    return failed(failure, tried, { answer: 'no root certificate to check the server certificate against', ...offered });
  }
  if (!probe.chainVerified) {
    const failure = tlsFailure(
      'TLS_VERIFY_FAILED',
      `${certificateText(probe)} is not signed by a CA in ${probe.caSource} (${probe.chainError ?? 'not trusted'}).`,
      'Set TOFU_REGISTRY_DB_SSLROOTCERT to the CA certificate that signed the server certificate (or "system" for public CAs), or use sslmode=require (encrypted, not verified).',
      probe.chainError,
    );
    return failed(failure, tried, { answer: `OpenSSL: ${probe.chainError ?? 'certificate not trusted'}`, ...offered });
  }
  if (input.sslMode === 'verify-full' && probe.hostnameError) {
    const names = probe.certificate?.subjectAltName ? ` (it names ${probe.certificate.subjectAltName})` : '';
    const failure = tlsFailure(
      'TLS_VERIFY_FAILED',
      `${certificateText(probe)} does not name ${input.host}${names}.`,
      'Connect by a name the certificate was issued for (set TOFU_REGISTRY_DB_HOST to it), or use sslmode=verify-ca (chain checked, host name not).',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    return failed(failure, tried, { answer: probe.hostnameError, ...offered });
  }
  return undefined;
}

export async function checkTls(state: CheckState): Promise<CheckOutcome> {
  const { settings } = state;
  const input = {
    sslMode: settings.sslMode,
    host: settings.host,
    port: settings.port,
    loopback: isLoopback(settings.host, state.addresses),
  };
  if (isSocketHost(settings.host) || settings.sslMode === 'disable') return tlsVerdict(input);
  try {
    state.tlsProbe = await probeTls(settings);
  } catch (error) {
    const failure = toRegistryDbError(error, errorContext(settings));
    return failed(failure, `send SSLRequest to ${endpoint(settings)} and complete a TLS handshake (sslmode ${settings.sslMode})`);
  }
  return tlsVerdict({ ...input, probe: state.tlsProbe });
}
