import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { adminEnv, dropDatabaseAndRole, REPO_ROOT, runCli, tempDir, uniqueName } from '../support/fixtures.js';

/** The launcher's own module (plain CommonJS next to the bin). */
const launcher = createRequire(import.meta.url)(path.join(REPO_ROOT, 'bin', 'compile-cache.cjs')) as {
  COMMANDS: string[];
  commandOf: (args: string[]) => string;
};

const uid = process.getuid?.() ?? 0;

/** The build identity the bundler wrote on the bundle's last line. */
const buildId = (): string => /tofu-registry-db-build=([0-9a-f]{20})\n$/.exec(readFileSync(path.join(REPO_ROOT, 'dist', 'cli.cjs'), 'utf8'))![1]!;

/** The CLI with a private temporary directory, where the code cache lives. */
function setting(overrides: Record<string, string> = {}): { tmp: string; cacheDir: string; env: Record<string, string> } {
  const tmp = tempDir('trdb-cc-');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CI: 'true', TMPDIR: tmp, ...overrides };
  return { tmp, cacheDir: path.join(tmp, `tofu-registry-db-compile-cache-${uid}`), env };
}

const cacheFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8')).sort() : []);

describe('V8 code cache of the CLI bundle (bin/compile-cache.cjs)', () => {
  test('the first run writes one cache file per command (0600 in a 0700 folder); the next run loads it, same output', async () => {
    const { cacheDir, env } = setting();
    const first = await runCli(['--version'], env);
    expect(first.code).toBe(0);
    const files = cacheFiles(cacheDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toBe(`${buildId()}-${process.version}-${process.arch}--version.v8`);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const file = path.join(cacheDir, files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const { ino } = statSync(file);

    const second = await runCli(['--version'], env);
    expect(second).toEqual(first);
    // Accepted by V8, so not written again: the same file (a rewrite renames a new one in).
    expect(statSync(file).ino).toBe(ino);

    const help = await runCli(['create-db', '--help'], env);
    expect(help.code).toBe(0);
    expect(cacheFiles(cacheDir)).toEqual([files[0], files[0]!.replace('--version.v8', '--create-db-help.v8')].sort());
  });

  test('a corrupt cache file is rejected by V8 and replaced; the run is unaffected', async () => {
    const { cacheDir, env } = setting();
    const reference = await runCli(['--help'], env);
    const [file] = cacheFiles(cacheDir);
    writeFileSync(path.join(cacheDir, file!), Buffer.alloc(5000, 7));
    const { ino } = statSync(path.join(cacheDir, file!));
    expect(await runCli(['--help'], env)).toEqual(reference);
    expect(statSync(path.join(cacheDir, file!)).ino).not.toBe(ino);
    expect(statSync(path.join(cacheDir, file!)).size).toBeGreaterThan(10_000);
  });

  test('ESM-only dependencies load through the launcher from cached code (chalk, on a coloured run)', async () => {
    const { cacheDir, env } = setting({ ...adminEnv(), CI: '', FORCE_COLOR: '1' });
    const database = uniqueName('cc_color');
    const args = ['--env-file', path.join(tempDir(), '.env'), 'create-db', '--name', database];
    const cold = await runCli(args, env);
    expect(cold.code).toBe(0);
    expect(cacheFiles(cacheDir)).toEqual([expect.stringMatching(/-create-db\.v8$/)]);
    const warm = await runCli(args, env);
    expect(warm.code).toBe(0);
    expect(warm.stdout + warm.stderr).toContain('\u001b['); // chalk was imported and coloured the output
    expect(warm.stderr).not.toMatch(/import|callback|ExperimentalWarning/i);
    expect(warm.stdout).toContain('already exists');
    await dropDatabaseAndRole(database);
  });

  test('a failed run writes no cache (it would lack the code of the normal path); help has its own file', async () => {
    const { cacheDir, env } = setting({ TOFU_REGISTRY_DB_HOST: '127.0.0.1', TOFU_REGISTRY_DB_PORT: '1', TOFU_REGISTRY_DB_SSLMODE: 'disable', TOFU_REGISTRY_DB_ADMIN_PASSWORD: 'x' });
    const failed = await runCli(['--env-file', path.join(tempDir(), '.env'), 'migrate', '--name', 'registry'], env);
    expect(failed.code).toBe(3);
    expect(cacheFiles(cacheDir)).toEqual([]);
    expect((await runCli(['migrate', '--help'], env)).code).toBe(0);
    expect(cacheFiles(cacheDir)).toEqual([expect.stringMatching(/-migrate-help\.v8$/)]);
  });

  test('files of other builds: the three most recent are kept (builds used in turn), older ones removed', async () => {
    const { cacheDir, env } = setting();
    mkdirSync(cacheDir, { mode: 0o700 });
    const now = Date.now() / 1000;
    const others = ['a', 'b', 'c', 'd', 'e'].map((letter, age) => {
      const name = `${letter.repeat(20)}-v20.0.0-x64--create-db.v8`;
      writeFileSync(path.join(cacheDir, name), 'other build', { mode: 0o600 });
      utimesSync(path.join(cacheDir, name), now - age * 3600, now - age * 3600); // a newest, e oldest
      return name;
    });
    writeFileSync(path.join(cacheDir, 'unrelated.txt'), 'kept');
    expect((await runCli(['--version'], env)).code).toBe(0);
    const ours = `${buildId()}-${process.version}-${process.arch}--version.v8`;
    expect(cacheFiles(cacheDir)).toEqual([ours, ...others.slice(0, 3)].sort());
    expect(existsSync(path.join(cacheDir, 'unrelated.txt'))).toBe(true);
  });

  test('not used in a folder others can write to, through a symlink, with NODE_DISABLE_COMPILE_CACHE or with source maps', async () => {
    const shared = setting();
    mkdirSync(shared.cacheDir);
    chmodSync(shared.cacheDir, 0o777);
    expect((await runCli(['--version'], shared.env)).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(cacheFiles(shared.cacheDir)).toEqual([]);

    const linked = setting();
    const elsewhere = tempDir('trdb-cc-target-');
    chmodSync(elsewhere, 0o700);
    symlinkSync(elsewhere, linked.cacheDir);
    expect((await runCli(['--version'], linked.env)).code).toBe(0);
    expect(lstatSync(linked.cacheDir).isSymbolicLink()).toBe(true);
    expect(cacheFiles(elsewhere)).toEqual([]);

    const disabled = setting({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect((await runCli(['--version'], disabled.env)).code).toBe(0);
    expect(existsSync(disabled.cacheDir)).toBe(false);

    // vm.Script code gets no source maps on Node 20: with them on, the bundle loads as usual.
    const mapped = setting({ NODE_OPTIONS: '--enable-source-maps' });
    expect((await runCli(['--version'], mapped.env)).code).toBe(0);
    expect(existsSync(mapped.cacheDir)).toBe(false);
  });

  test('the launcher knows every command of the CLI, and finds the command word as the CLI does', async () => {
    const help = await runCli(['--help'], setting().env);
    const listed = [...help.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect([...launcher.COMMANDS].sort()).toEqual(listed.sort());
    expect(launcher.commandOf(['--env-file', 'setup', 'create-db', '--json'])).toBe('create-db');
    expect(launcher.commandOf(['migrate', '--json', 'status'])).toBe('migrate-status');
    expect(launcher.commandOf(['--version'])).toBe('version');
    expect(launcher.commandOf(['-v'])).toBe('version');
    expect(launcher.commandOf(['migrate', 'new', 'add_index'])).toBe('migrate-new');
    expect(launcher.commandOf([])).toBe('main');
    expect(launcher.commandOf(['--help'])).toBe('main-help');
    expect(launcher.commandOf(['setup', '-h'])).toBe('setup-help');
    expect(launcher.commandOf(['help', 'drop'])).toBe('drop-help');
    expect(launcher.commandOf(['../../etc/passwd'])).toBe('other');
    expect(launcher.commandOf(['dev', '--', 'setup', '--help'])).toBe('dev');
  });
});
