#!/usr/bin/env -S node --
// The `--` matters: Node 20 treats a `--env-file` anywhere on its command line, even after
// the script name, as its own option and exits 9 when the file is missing. After `--`,
// every argument is the script's, so `tofu-registry-db --env-file x` reaches our parser.
import { main } from '../dist/cli/index.js';

await main();
