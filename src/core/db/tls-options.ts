import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Client } from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { Settings } from '../config/settings.js';
import { isSocketHost } from '../config/host.js';
import { ConfigError } from '../errors.js';
import { systemRootsWithDeferredCa } from './extra-ca.js';
import { type SslMode } from '../config/variables.js';

/** What the connection actually negotiated: reported by test-connection and --verbose. */
export interface TlsState {
  readonly sslMode: SslMode;
  readonly encrypted: boolean;
  readonly protocol?: string;
  /** True when the certificate chain was checked against a trusted CA. */
  readonly certificateVerified: boolean;
  readonly hostnameVerified: boolean;
}

export type SslPlan = false | ConnectionOptions;

function defaultRootCert(): string {
  return path.join(homedir(), '.postgresql', 'root.crt');
}

/**
 * libpq's sslmode semantics, which pg does not follow by default (it treats `require`
 * as `verify-full`): `require` encrypts without checking the certificate unless a root
 * certificate is given (then it behaves like `verify-ca`); `verify-ca` checks the chain
 * only; `verify-full` checks the chain and the host name.
 */
export function sslOptionsFor(settings: Pick<Settings, 'host' | 'sslMode' | 'sslRootCert'>, encrypt: boolean): SslPlan {
  if (!encrypt || isSocketHost(settings.host)) return false;
  const mode = settings.sslMode;
  const rootCert = settings.sslRootCert;
  const verifyChain = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && rootCert !== undefined);
  if (!verifyChain) return { rejectUnauthorized: false };

  let trust: Pick<ConnectionOptions, 'ca' | 'secureContext'> = {};
  if (rootCert === 'system') {
    trust = systemRootsWithDeferredCa() ?? {}; // Node's trusted roots (bundled + NODE_EXTRA_CA_CERTS)
  } else {
    const file = rootCert ?? defaultRootCert();
    if (!existsSync(file)) {
      throw new ConfigError(
        `sslmode ${mode} needs a root certificate, and ${file} does not exist.`,
        'Set TOFU_REGISTRY_DB_SSLROOTCERT to the CA certificate that signed the server certificate (or "system"), or use sslmode=require.',
        'TLS_ROOT_CERT_MISSING',
      );
    }
    trust = { ca: readFileSync(file, 'utf8') };
  }
  const options: ConnectionOptions = { rejectUnauthorized: true, ...trust };
  if (mode === 'verify-full') {
    // SNI may not carry an IP address (RFC 6066; Node warns): pg then checks the IP itself.
    const host = settings.host.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) options.servername = host;
  } else {
    // Chain verified, host name deliberately not (verify-ca / require with a root cert).
    options.checkServerIdentity = () => undefined;
  }
  return options;
}

/** The order of attempts libpq makes for each sslmode: `prefer` falls back to plain, `allow` to TLS. */
export function sslAttempts(mode: SslMode): readonly boolean[] {
  switch (mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, true];
    case 'prefer':
      return [true, false];
    default:
      return [true];
  }
}

export function readTlsState(client: Client, sslMode: SslMode, ssl: SslPlan): TlsState {
  // pg exposes the socket as connection.stream; a TLSSocket has getProtocol().
  const stream = (client as unknown as { connection?: { stream?: { encrypted?: boolean; getProtocol?: () => string | null; authorized?: boolean } } })
    .connection?.stream;
  const encrypted = Boolean(stream?.encrypted);
  const options = ssl === false ? undefined : ssl;
  const verified = encrypted && options?.rejectUnauthorized === true && Boolean(stream?.authorized);
  return {
    sslMode,
    encrypted,
    protocol: encrypted ? (stream?.getProtocol?.() ?? undefined) : undefined,
    certificateVerified: verified,
    hostnameVerified: verified && options?.checkServerIdentity === undefined,
  };
}
