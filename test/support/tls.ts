/**
 * Certificates for TLS tests, made with openssl: a throwaway CA and a server certificate
 * it signed, readable by the postgres OS user (PostgreSQL insists the key is private).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serverIds } from '../../src/core/dev/os-user.js';
import { sharedTempDir } from './pg-server.js';

export interface TlsFiles {
  readonly dir: string;
  /** The CA certificate: what TOFU_REGISTRY_DB_SSLROOTCERT points at. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: readonly string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

/**
 * A CA and a server certificate signed by it for `altNames` (default: localhost and
 * 127.0.0.1, so verify-full passes against the test servers).
 */
export function makeCertificates(options: { altNames?: readonly string[]; caName?: string } = {}): TlsFiles {
  const dir = sharedTempDir('trdb-tls-');
  const altNames = options.altNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3', '-subj', `/CN=${options.caName ?? 'tofu-registry-db test CA'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=tofu-registry-db test server'], dir);
  writeFileSync(path.join(dir, 'server.ext'), [
    `subjectAltName=${altNames.join(',')}`,
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n') + '\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '3', '-extfile', 'server.ext'], dir);
  const keyFile = path.join(dir, 'server.key');
  const ids = serverIds();
  if (ids) chownSync(keyFile, ids.uid, ids.gid);
  chmodSync(keyFile, 0o600);
  return { dir, caFile: path.join(dir, 'ca.crt'), certFile: path.join(dir, 'server.crt'), keyFile };
}
