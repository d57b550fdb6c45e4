import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import { builtin } from '../runtime/import-external.js';

/**
 * The NODE_EXTRA_CA_CERTS file, when the launcher (bin/tofu-registry-db.cjs) started Node
 * without it to spare the start-up its parsing: Node's default trusted roots then lack
 * those certificates, and a connection that verifies against the system roots adds them.
 */
function deferredExtraCaFile(): string | undefined {
  return (globalThis as { [key: symbol]: unknown })[Symbol.for('tofu-registry-db.deferredExtraCaCerts')] as string | undefined;
}

/** What to trust for sslrootcert=system: a TLS context to pass, or a list of CA certificates. */
export type SystemRoots = { readonly secureContext: SecureContext } | { readonly ca: string[] } | undefined;

let systemRoots: SystemRoots | null = null;

/**
 * The roots to trust for sslrootcert=system: undefined (Node's default store, with
 * NODE_EXTRA_CA_CERTS and --use-openssl-ca honoured) unless the launcher deferred that file.
 * Then Node's default store plus the file, which is what Node itself would have trusted: one
 * TLS context per process, made the way Node makes its own (a copy of the default store with
 * the file added), shared by every connection of the run. Should that internal method
 * ever be missing, the bundled roots plus the file (slower: parsed for every connection). An unreadable file
 * is ignored with the warning Node prints in that case.
 */
export function systemRootsWithDeferredCa(): SystemRoots {
  if (systemRoots !== null) return systemRoots;
  systemRoots = undefined;
  const file = deferredExtraCaFile();
  if (file === undefined) return systemRoots;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
    return systemRoots;
  }
  const tls = builtin<typeof import('node:tls')>('node:tls');
  const secureContext = tls.createSecureContext();
  const native = (secureContext as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    native.addCACert(pem);
    systemRoots = { secureContext };
  } else {
    systemRoots = { ca: [...tls.rootCertificates, pem] };
  }
  return systemRoots;
}
