import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateRegistryTree } from '../../bench/generate-registry-tree.js';
import { createDatabase } from '../../src/core/provision/create-database.js';
import { adminEnv, BIN, contextFor, dropDatabaseAndRole, REPO_ROOT, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';
import { createImportRole, importRoleEnv } from '../support/import-role.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'opentofu-registry');

async function rowCounts(db: string): Promise<{ providers: number; platforms: number; modules: number }> {
  return withSuperClient(db, async (c) => ({
    providers: Number((await c.query('SELECT count(*) FROM providers')).rows[0].count),
    platforms: Number((await c.query('SELECT count(*) FROM provider_platforms')).rows[0].count),
    modules: Number((await c.query('SELECT count(*) FROM modules')).rows[0].count),
  }));
}

const ALL_ROWS = 44 + 330 + 12 + 1046 + 38 + 1;

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
      files: 53,
      skipped: [],
      rows: { inserted: ALL_ROWS, updated: 0, unchanged: 0, deleted: 0 },
      providers: { files: 12, versions: 44, merged: 0, inserted: 44, updated: 0, unchanged: 0, deleted: 0 },
      providerPlatforms: { inserted: 330, updated: 0, unchanged: 0, deleted: 0 },
      registryProviders: { inserted: 12, updated: 0, unchanged: 0, deleted: 0 },
      modules: { files: 40, versions: 1082, merged: 36, inserted: 1046, updated: 0, unchanged: 0, deleted: 0 },
      registryModules: { inserted: 38, updated: 0, unchanged: 0, deleted: 0 },
      signingKeys: { files: 1, inserted: 1, updated: 0, unchanged: 0, deleted: 0 },
    });
    expect(first.stderr).toBe('');
    const second = JSON.parse((await runCli(['import', FIXTURES, '--json'], env)).stdout);
    expect(second.rows).toEqual({ inserted: 0, updated: 0, unchanged: ALL_ROWS, deleted: 0 });
    expect(await rowCounts(db)).toEqual({ providers: 44, platforms: 330, modules: 1046 });
  });

  test('human output names the counts; the password never shows', async () => {
    const result = await runCli(['import', FIXTURES, '--name', db], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Imported ${FIXTURES} into ${db} as ${role}`);
    expect(result.stdout).toContain('provider versions: 44 new, 0 updated, 0 unchanged, 0 deleted (12 files, 44 versions)');
    expect(result.stdout).toContain('platforms:         330 new, 0 updated, 0 unchanged, 0 deleted');
    expect(result.stdout).toContain('module versions:   1046 new, 0 updated, 0 unchanged, 0 deleted (40 files, 1082 versions, 36 merged spellings)');
    expect(result.stdout).toContain('signing keys:      1 new, 0 updated, 0 unchanged, 0 deleted (1 files)');
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
    expect(await rowCounts(db)).toEqual({ providers: 0, platforms: 0, modules: 0 });

    const skipped = await runCli(['import', root, '--skip-invalid', '--json'], env);
    expect(skipped.code).toBe(0);
    const document = JSON.parse(skipped.stdout);
    expect(document.skipped).toEqual([{ file: 'providers/z/zubikit/openwebui.json', problem: '"versions" is a string, not an array' }]);
    expect(document.providers.inserted).toBe(43);
    expect(await rowCounts(db)).toEqual({ providers: 43, platforms: 325, modules: 1046 });
  });

  test('usage errors: a missing path argument and a path that is not a registry exit 2', async () => {
    const missing = await runCli(['import', '--json'], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).ok).toBe(false);
    const notRegistry = await runCli(['import', tempDir()], env);
    expect(notRegistry.code).toBe(2);
    expect(notRegistry.stderr).toContain('has neither a providers/ nor a modules/ nor a keys/ folder');
  });

  test('--admin writes as the admin role', async () => {
    const result = await runCli(['import', FIXTURES, '--admin', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).user).toBe(env.TOFU_REGISTRY_DB_ADMIN_USER);
  });

  test.each(['SIGINT', 'SIGKILL'] as const)('killed mid-import (%s): nothing is written', async (signal) => {
    const root = path.join(tempDir('trdb-e2e-big-'), 'registry');
    generateRegistryTree(root, { providers: 300, modules: 6000, seed: 11 });
    const child = spawn(process.execPath, [BIN, 'import', root, '--verbose'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line within 30 s:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        // Rows are going into the tables (a chunk is copied once it is read): stop it there.
        if (/COPY public\."provider_platforms"/.test(stderr) && /Importing: [\d,]+ files, [1-9][\d,]* rows/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill(signal);
    const outcome = await exited;
    if (signal === 'SIGINT') expect(outcome.code).toBe(130);
    else expect(outcome.signal).toBe('SIGKILL');
    expect(stderr).not.toContain('Imported');
    // The server notices the closed connection and rolls back; the staging table was temporary.
    // Wait until the killed run's backend is gone (it rolls back as it exits), however slow the machine.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const backends = await withSuperClient('postgres', async (c) => Number((await c.query('SELECT count(*) FROM pg_stat_activity WHERE datname = $1', [db])).rows[0].count));
      if (backends === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await rowCounts(db)).toEqual({ providers: 0, platforms: 0, modules: 0 });
    const leftovers = await withSuperClient(db, async (c) =>
      Number((await c.query(`SELECT count(*) FROM pg_class WHERE relname LIKE 'tofu_registry_import_%'`)).rows[0].count),
    );
    expect(leftovers).toBe(0);
  }, 120_000);
});
