import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The one place that finds the package's own files (package.json, the bundled sql/): by
 * walking up from this module to the folder whose package.json names this package, so the
 * sources (src/core/runtime/), the compiled library (dist/core/runtime/) and the CLI bundle
 * (dist/cli.cjs, which reports dist/cli/index.js as its location) all find the same root,
 * whatever depth a file moves to.
 */
const PACKAGE_NAME = 'tofu-registry-db';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) {
      root = dir;
      return dir;
    }
    if (dir === path.dirname(dir)) throw new Error(`tofu-registry-db: no package.json of ${PACKAGE_NAME} above ${start}`);
  }
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** A file or folder that ships with the package, e.g. packagePath('sql'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}
