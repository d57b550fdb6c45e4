import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateRegistryTree } from '../../bench/generate-registry-tree.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { adminEnv, BIN, contextFor, dropDatabaseAndRole, REPO_ROOT, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';
import { createImportRole, importRoleEnv } from '../support/import-role.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

async function rowCounts(db: string): Promise<{ providers: number; modules: number }> {
  return withSuperClient(db, async (c) => ({
    providers: Number((await c.query('SELECT count(*) FROM providers')).rows[0].count),
    modules: Number((await c.query('SELECT count(*) FROM modules')).rows[0].count),
  }));
}

describe('tofu-registry-db import (the built binary)', () => {
  let db: string;
  let role: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    db = uniqueName('e2e_imp');
    role = uniqueName('e2e_imp_app');
    await createDatabase(contextFor(adminEnv({ TOFU_REGISTRY_DB_NAME: db })));
    env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, ...importRoleEnv(await createImportRole(db, role)) });
  });
  afterEach(async () => {
    await dropDatabaseAndRole(db, role);
  });

  test('--json: one document with the counts; a second run reports everything unchanged', async () => {
    const first = await runCli(['import', FIXTURES, '--json'], env);
    expect(first.code).toBe(0);
    const document = JSON.parse(first.stdout);
    expect(document).toMatchObject({
      ok: true,
      command: 'import',
      database: db,
      user: role,
      files: 52,
      skipped: [],
      rows: { inserted: 1090, updated: 0, unchanged: 0 },
      providers: { files: 12, versions: 44, inserted: 44, updated: 0, unchanged: 0 },
      modules: { files: 40, versions: 1082, inserted: 1046, updated: 0, unchanged: 0 },
    });
    expect(first.stderr).toBe('');
    const second = JSON.parse((await runCli(['import', FIXTURES, '--json'], env)).stdout);
    expect(second.rows).toEqual({ inserted: 0, updated: 0, unchanged: 1090 });
    expect(await rowCounts(db)).toEqual({ providers: 44, modules: 1046 });
  });

  test('human output names the counts; the password never shows', async () => {
    const result = await runCli(['import', FIXTURES, '--name', db], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Imported ${FIXTURES} into ${db} as ${role}`);
    expect(result.stdout).toContain('providers: 44 new, 0 updated, 0 unchanged (12 files, 44 versions)');
    expect(result.stdout).toContain('modules:   1046 new, 0 updated, 0 unchanged (40 files, 1082 versions)');
    expect(result.stdout + result.stderr).not.toContain(env.TOFU_REGISTRY_DB_PASSWORD);
  });

  test('an invalid file: exit 2, the file named, nothing written; --skip-invalid imports the rest', async () => {
    const root = tempDir('trdb-e2e-');
    cpSync(FIXTURES, root, { recursive: true });
    writeFileSync(path.join(root, 'providers/z/zubikit/openwebui.json'), '{"versions": "1.0.0"}');

    const refused = await runCli(['import', root], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('providers/z/zubikit/openwebui.json: "versions" is a string, not an array');
    expect(refused.stderr).toContain('--skip-invalid');
    const refusedJson = await runCli(['import', root, '--json'], env);
    expect(refusedJson.code).toBe(2);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      ok: false,
      command: 'import',
      error: { code: 'IMPORT_INVALID_FILES', details: { problems: [{ file: 'providers/z/zubikit/openwebui.json', problem: '"versions" is a string, not an array' }] } },
    });
    expect(await rowCounts(db)).toEqual({ providers: 0, modules: 0 });

    const skipped = await runCli(['import', root, '--skip-invalid', '--json'], env);
    expect(skipped.code).toBe(0);
    const document = JSON.parse(skipped.stdout);
    expect(document.skipped).toEqual([{ file: 'providers/z/zubikit/openwebui.json', problem: '"versions" is a string, not an array' }]);
    expect(document.providers.inserted).toBe(43);
    expect(await rowCounts(db)).toEqual({ providers: 43, modules: 1046 });
  });

  test('usage errors: a missing path argument and a path that is not a registry exit 2', async () => {
    const missing = await runCli(['import', '--json'], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).ok).toBe(false);
    const notRegistry = await runCli(['import', tempDir()], env);
    expect(notRegistry.code).toBe(2);
    expect(notRegistry.stderr).toContain('has neither a providers/ nor a modules/ folder');
  });

  test('--admin writes as the admin role', async () => {
    const result = await runCli(['import', FIXTURES, '--admin', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).user).toBe(env.TOFU_REGISTRY_DB_ADMIN_USER);
  });

  test.each(['SIGINT', 'SIGKILL'] as const)('killed mid-import (%s): nothing is written', async (signal) => {
    const root = path.join(tempDir('trdb-e2e-big-'), 'registry');
    generateRegistryTree(root, { providers: 200, modules: 6000, targetsPerVersion: 1, seed: 11 });
    const child = spawn(process.execPath, [BIN, 'import', root, '--verbose'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line within 30 s:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        // Rows are streaming into the staging table: stop it there.
        if (/Reading: [\d,]+ files, [1-9][\d,]* rows/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill(signal);
    const outcome = await exited;
    if (signal === 'SIGINT') expect(outcome.code).toBe(130);
    else expect(outcome.signal).toBe('SIGKILL');
    expect(stderr).not.toContain('Writing');
    // The server notices the closed connection and rolls back; the staging table was temporary.
    // Wait until the killed run's backend is gone (it rolls back as it exits), however slow the machine.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const backends = await withSuperClient('postgres', async (c) => Number((await c.query('SELECT count(*) FROM pg_stat_activity WHERE datname = $1', [db])).rows[0].count));
      if (backends === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await rowCounts(db)).toEqual({ providers: 0, modules: 0 });
    const leftovers = await withSuperClient(db, async (c) =>
      Number((await c.query(`SELECT count(*) FROM pg_class WHERE relname LIKE 'tofu_registry_import_%'`)).rows[0].count),
    );
    expect(leftovers).toBe(0);
  }, 120_000);
});
