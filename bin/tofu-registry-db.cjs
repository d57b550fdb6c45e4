#!/usr/bin/env -S node --
// The `--` matters: Node 20 treats a `--env-file` anywhere on its command line, even after
// the script name, as its own option and exits 9 when the file is missing. After `--`,
// every argument is the script's, so `tofu-registry-db --env-file x` reaches our parser.
// The CLI ships as one CommonJS bundle (see scripts/bundle-cli.mjs) for a fast start.
'use strict';
require('../dist/cli.cjs')
  .main()
  .catch((error) => {
    process.stderr.write(`tofu-registry-db: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  });
