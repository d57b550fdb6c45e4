import { readFileSync } from 'node:fs';
import { builtin } from './import-external.js';

/**
 * The NODE_EXTRA_CA_CERTS file, when the launcher (bin/tofu-registry-db.cjs) started Node
 * without it to spare the start-up its parsing: Node's default trusted roots then lack
 * those certificates, and a connection that verifies against the system roots adds them.
 */
export function deferredExtraCaFile(): string | undefined {
  return (globalThis as { [key: symbol]: unknown })[Symbol.for('tofu-registry-db.deferredExtraCaCerts')] as string | undefined;
}

let extraCa: string[] | undefined | null = null;

/**
 * The roots to trust for sslrootcert=system: undefined (Node's own, NODE_EXTRA_CA_CERTS
 * included) unless the launcher deferred that file; then Node's bundled roots plus the file,
 * which is what Node itself would have trusted. An unreadable file is ignored with the
 * warning Node prints in that case.
 */
export function systemRootsCa(): string[] | undefined {
  if (extraCa !== null) return extraCa;
  const file = deferredExtraCaFile();
  extraCa = undefined;
  if (file === undefined) return extraCa;
  try {
    const pem = readFileSync(file, 'utf8');
    extraCa = [...builtin<typeof import('node:tls')>('node:tls').rootCertificates, pem];
  } catch (error) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
  }
  return extraCa;
}
