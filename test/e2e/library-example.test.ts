/**
 * The library as a consumer gets it: the example of docs/library.md, in a fresh project that
 * depends on the package (its files and its dependencies, nothing of this repository's dev
 * tooling), compiled with strict and skipLibCheck false, then run against the test server.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, databaseExists, dropDatabaseAndRole, REPO_ROOT, roleExists, tempDir, uniqueName } from '../support/fixtures.js';

const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function example(): string {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'library.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/library.md has no ```ts block');
  return block;
}

/** A project whose node_modules holds the package (copied: its own files only) and its dependencies, plus @types/node of its own. */
function consumerProject(): string {
  const dir = tempDir('trdb-consumer-');
  const modules = path.join(dir, 'node_modules');
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  mkdirSync(path.join(modules, 'tofu-registry-db'), { recursive: true });
  for (const part of ['package.json', 'dist', 'sql']) cpSync(path.join(REPO_ROOT, part), path.join(modules, 'tofu-registry-db', part), { recursive: true });
  // What npm installs for a consumer: the package's dependencies (linked: their own dependencies resolve from there).
  for (const name of [...Object.keys(pkg.dependencies), '@types/node']) {
    mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules', name), path.join(modules, name));
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' }, files: ['example.ts'] }),
  );
  writeFileSync(path.join(dir, 'example.ts'), example());
  return dir;
}

function compile(dir: string) {
  return spawnSync(process.execPath, [TSC, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
}

describe('docs/library.md: the typed example, as a consumer compiles and runs it', () => {
  test('compiles (strict, skipLibCheck false, no @types/pg added by hand) and provisions a working database', async () => {
    const dir = consumerProject();
    const compiled = compile(dir);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);

    const database = uniqueName('libex_db');
    const role = uniqueName('libex_role');
    try {
      const run = spawnSync(process.execPath, [path.join(dir, 'out', 'example.js')], {
        cwd: dir,
        env: adminEnv({ TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_USER: role }),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`database ${database}: created`);
      expect(run.stdout).toContain(`role ${role}: created`);
      expect(run.stdout).toMatch(/^pass round-trip: /m);
      expect(await databaseExists(database)).toBe(true);
      expect(await roleExists(role)).toBe(true);
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 180_000);

  test('the check can fail: without @types/pg among the package\'s dependencies the consumer does not compile', () => {
    const dir = consumerProject();
    rmSync(path.join(dir, 'node_modules', '@types', 'pg'));
    const compiled = compile(dir);
    expect(compiled.status).not.toBe(0);
    expect(compiled.stdout).toMatch(/Could not find a declaration file for module 'pg'|Cannot find module 'pg'/);
  }, 120_000);
});
