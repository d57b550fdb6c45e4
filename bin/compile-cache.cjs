'use strict';
/**
 * Loads the CLI bundle (dist/cli.cjs) with a V8 code cache, so a run does not compile the
 * same half megabyte of JavaScript again: `--version` drops from ~1.35x to ~1.0x the time of
 * `node -e 0`, and the commands that talk to PostgreSQL gain too (figures: bench/README.md, History).
 *
 * - Node 22.1+ has this built in (module.enableCompileCache): it is used instead.
 * - Node 20 and 21: the bundle is compiled through vm.Script with the cached data; V8 checks
 *   that the data fits (its version, flags and the source) and falls back to compiling when
 *   it does not. The cache is written when a successful run exits, after the command ran, so it
 *   holds the functions the command used, not only the top level: one file per command
 *   (and per `--help`, `--version`, `migrate status`, `migrate new`).
 * - Where: <tmpdir>/tofu-registry-db-compile-cache-<uid>/<id>--<command>.v8, created 0700 and
 *   used only when it is a real directory that this user owns and nobody else can write
 *   (as Node's own compile cache does in the temporary directory). <id> is the build's
 *   identity (a hash of the bundle that scripts/bundle-cli.mjs writes on its last line; no
 *   hashing here: loading node:crypto alone would cost start-up time), the Node version and the
 *   architecture, so a rebuilt or upgraded tool never loads stale code. When a file is
 *   written, the files of other ids are removed except the three most recent (two installed
 *   versions used in turn keep their caches). A bundle without the line is not cached.
 * - NODE_DISABLE_COMPILE_CACHE=1 turns it off (the variable Node itself honours), and so does
 *   --enable-source-maps (vm.Script code gets no source maps on Node 20).
 * - Any failure here (unwritable directory, corrupt file) only costs the speed-up: the bundle
 *   is then compiled as usual.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

/** The commands of src/cli/index.ts (a test keeps them in step); anything else shares one file. */
const COMMANDS = ['create-db', 'create-user', 'test-connection', 'migrate', 'setup', 'drop', 'dev', 'import', 'status'];

/**
 * Which cache file a run uses: its command (found the way src/cli/index.ts finds it, skipping
 * options and --env-file's value), `migrate status` apart from `migrate`, and help apart from
 * the command itself, since each compiles different functions.
 */
function commandOf(args) {
  let command;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    if (arg === '--help' || arg === '-h' || arg === 'help') help = true;
    else if (arg === '--version' || arg === '-v') return 'version';
    else if (arg === '--env-file' || arg === '--host' || arg === '--port' || arg === '--sslmode' || arg === '--admin-user') i++;
    else if (arg.startsWith('-')) continue;
    else if (command === undefined) command = COMMANDS.includes(arg) ? arg : 'other';
    else if (command === 'migrate' && arg === 'status') command = 'migrate-status';
    else if (command === 'migrate' && arg === 'new') command = 'migrate-new';
  }
  if (help) return `${command ?? 'main'}-help`;
  return command ?? 'main';
}

function cacheDirectory() {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const dir = path.join(os.tmpdir(), `tofu-registry-db-compile-cache-${uid ?? os.userInfo().username}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (error.code !== 'EEXIST') return undefined;
  }
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) return undefined;
  return dir;
}

/** Other builds whose files are kept: two installed versions used in turn must not evict each other. */
const KEEP_OTHER_BUILDS = 3;

function writeCache(dir, file, id, script) {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temporary, file);
    // Keep this build and the most recently written others; remove the rest.
    const newest = new Map();
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.v8') || !name.includes('--')) continue;
      const other = name.slice(0, name.indexOf('--'));
      if (other === id) continue;
      const { mtimeMs } = fs.statSync(path.join(dir, name));
      newest.set(other, Math.max(newest.get(other) ?? 0, mtimeMs));
    }
    const evicted = [...newest].sort((a, b) => b[1] - a[1]).slice(KEEP_OTHER_BUILDS).map(([other]) => other);
    for (const name of fs.readdirSync(dir)) {
      if (evicted.some((other) => name.startsWith(`${other}--`))) fs.rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * Returns the bundle's exports, or undefined when the cache cannot be used (the caller then
 * require()s the bundle). Errors thrown by the bundle's own top level propagate.
 */
function loadWithCompileCache(bundle, args) {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  // Code compiled through vm.Script does not get source maps on Node 20: with
  // --enable-source-maps (for a readable stack trace), the bundle loads the usual way.
  if (process.sourceMapsEnabled) return undefined;
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache();
    return undefined;
  }
  let started = false;
  try {
    const dir = cacheDirectory();
    if (!dir) return undefined;
    const source = fs.readFileSync(bundle, 'utf8');
    const build = /\/\/# tofu-registry-db-build=([0-9a-f]{20})\n$/.exec(source.slice(-64));
    if (!build) return undefined;
    const id = `${build[1]}-${process.version}-${process.arch}`;
    const file = path.join(dir, `${id}--${commandOf(args)}.v8`);
    let cachedData;
    try {
      cachedData = fs.readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
    // Written after a successful run only: a first run that fails (server down, a typo)
    // would otherwise fix a cache without the code the command's normal path needs.
    if (cachedData === undefined || script.cachedDataRejected) {
      process.once('exit', (code) => {
        if (code === 0) writeCache(dir, file, id, script);
      });
    }
    const module = new Module(bundle, null);
    module.filename = bundle;
    module.paths = Module._nodeModulePaths(path.dirname(bundle));
    const wrapper = script.runInThisContext({ displayErrors: true });
    started = true;
    wrapper.call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
    module.loaded = true;
    return module.exports;
  } catch (error) {
    // Failed before the bundle ran: compile it the usual way. Failed inside it: a real error.
    if (started) throw error;
    return undefined;
  }
}

module.exports = { loadWithCompileCache, COMMANDS, commandOf };
