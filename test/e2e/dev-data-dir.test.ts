import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, runCli, tempDir } from '../support/fixtures.js';

/**
 * dev --data-dir with a folder it cannot use: said as what is wrong with the folder (exit 2,
 * nothing started, the folder untouched), never "Is the port free?" (issue #18).
 */
describe('dev --data-dir: what is wrong with the folder', () => {
  const baseEnv = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' });

  /** A folder laid out as given: file name → content. */
  function folder(files: Record<string, string>): string {
    const parent = tempDir();
    chmodSync(parent, 0o755); // as root the server runs as "postgres", which must reach the folder
    const dir = path.join(parent, 'pgdata');
    mkdirSync(dir);
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return dir;
  }

  test.each([
    ['not empty and no cluster', { 'notes.txt': 'mine\n', 'photo.jpg': 'x' }, 'DATA_DIR_NOT_EMPTY', 'is not empty (notes.txt, photo.jpg) and holds no PostgreSQL cluster'],
    ['a cluster tofu-registry-db did not make', { PG_VERSION: '18\n' }, 'DATA_DIR_FOREIGN', 'holds a PostgreSQL cluster that tofu-registry-db did not create'],
    ['a cluster of another major version', { PG_VERSION: '11\n', 'tofu-registry-db-admin-password': 'x\n' }, 'DATA_DIR_VERSION', 'holds a PostgreSQL 11 cluster, and these binaries are PostgreSQL'],
  ])('%s: exit 2 with the reason, the folder untouched', async (_what, files, code, said) => {
    const dir = folder(files);
    const envFile = path.join(tempDir(), '.env');
    const human = await runCli(['--env-file', envFile, 'dev', '--data-dir', dir], baseEnv(), { cwd: REPO_ROOT, timeoutMs: 60_000 });
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`${dir} ${said}`);
    expect(human.stderr).not.toMatch(/port free/i);
    const json = await runCli(['--env-file', envFile, '--json', 'dev', '--data-dir', dir], baseEnv(), { cwd: REPO_ROOT, timeoutMs: 60_000 });
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, command: 'dev', error: { code } });
    expect(readdirSync(dir).sort()).toEqual(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) expect(readFileSync(path.join(dir, name), 'utf8')).toBe(content);
  });
});
