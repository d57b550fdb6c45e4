/**
 * The GitHub Actions example (docs/commands.md, and README.md if it holds one): its
 * `npx tofu-registry-db` steps, run as written with the job's environment, against a server
 * without TLS as the postgres service container is. Only what differs from the container is
 * replaced: its address and port, and the admin password; names are made unique.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { dropDatabaseAndRole, REPO_ROOT, tempDir, testServer, uniqueName } from '../support/fixtures.js';

interface Workflow {
  readonly source: string;
  readonly env: Record<string, string>;
  readonly runs: readonly string[];
}

/** The ```yaml blocks with a services: section, read for what the test needs: the job's env and its run steps. */
function workflows(): Workflow[] {
  const found: Workflow[] = [];
  for (const file of ['docs/commands.md', 'README.md']) {
    const text = existsSync(path.join(REPO_ROOT, file)) ? readFileSync(path.join(REPO_ROOT, file), 'utf8') : '';
    for (const [, block] of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      if (!/^\s+services:\s*$/m.test(block!)) continue;
      const lines = block!.split('\n');
      const start = lines.findIndex((line) => /^ {4}env:\s*$/.test(line)); // the job's, not the service's
      const env: Record<string, string> = {};
      for (const line of lines.slice(start + 1)) {
        if (/^\s*#/.test(line)) continue;
        const entry = /^ {6}([A-Z_][A-Z0-9_]*):\s*(.*?)\s*$/.exec(line);
        if (!entry) break;
        env[entry[1]!] = entry[2]!.replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
      }
      const runs = lines.map((line) => /^\s*- run:\s*(.*?)\s*$/.exec(line)?.[1]).filter((run): run is string => run !== undefined);
      found.push({ source: file, env, runs });
    }
  }
  return found;
}

/** A project that depends on the package: npx finds it there (offline), as after `npm ci`. */
function project(): string {
  const dir = tempDir('trdb-ci-');
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'registry-api', private: true, dependencies: { 'tofu-registry-db': '*' } }));
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'tofu-registry-db'));
  symlinkSync(path.join('..', 'tofu-registry-db', 'bin', 'tofu-registry-db.cjs'), path.join(dir, 'node_modules', '.bin', 'tofu-registry-db'));
  return dir;
}

function run(command: string, env: Record<string, string>, cwd: string) {
  return spawnSync('sh', ['-c', command], { env, cwd, encoding: 'utf8', timeout: 120_000 });
}

describe('the GitHub Actions example', () => {
  const examples = workflows();

  test('there is one, with a postgres service container and the sslmode it needs', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      expect(example.env).toMatchObject({ TOFU_REGISTRY_DB_SSLMODE: 'disable', TOFU_REGISTRY_DB_ADMIN_USER: 'postgres' });
      expect(example.runs.filter((r) => r.startsWith('npx tofu-registry-db'))).toEqual(expect.arrayContaining([expect.stringContaining('setup')]));
    }
  });

  test.each(examples.map((e) => [e.source, e] as const))('%s: its tofu-registry-db steps pass against a server without TLS; without its sslmode, setup fails', async (_source, example) => {
    const server = testServer();
    const database = uniqueName('ci_db');
    const role = uniqueName('ci_role');
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      CI: 'true',
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      ...example.env,
      // The container's address and credentials are the test server's here.
      TOFU_REGISTRY_DB_HOST: server.host,
      TOFU_REGISTRY_DB_PORT: String(server.port),
      TOFU_REGISTRY_DB_ADMIN_USER: server.superuser,
      TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password,
      TOFU_REGISTRY_DB_NAME: database,
      TOFU_REGISTRY_DB_USER: role,
    };
    const steps = example.runs.filter((r) => r.startsWith('npx tofu-registry-db'));
    try {
      const { TOFU_REGISTRY_DB_SSLMODE: _sslMode, ...defaultSslMode } = env;
      const withoutSslMode = run(steps.find((s) => s.includes(' setup'))!, defaultSslMode, project());
      expect(withoutSslMode.status).toBe(3);
      // --wait 30 does not wait for TLS the server said it lacks: it stops at the first answer.
      expect(withoutSslMode.stderr).not.toMatch(/Retrying|gave up after/);
      expect(withoutSslMode.stderr).toContain('does not support TLS');

      const dir = project();
      for (const step of steps) {
        const result = run(step, env, dir);
        expect({ step, status: result.status, stderr: result.stderr }).toEqual({ step, status: 0, stderr: '' });
      }
      expect(parse(readFileSync(path.join(dir, '.env')))).toMatchObject({ TOFU_REGISTRY_DB_USER: role, TOFU_REGISTRY_DB_NAME: database, TOFU_REGISTRY_DB_SSLMODE: 'disable' });
    } finally {
      await dropDatabaseAndRole(database, role);
    }
  }, 240_000);
});
