import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { adminEnv, dropDatabaseAndRole, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

describe('tofu-registry-db setup (built binary)', () => {
  test('a CI log shows one line per step; a second run keeps everything; --json is one document', async () => {
    const db = uniqueName('e2e_setup');
    const role = uniqueName('e2e_setup_role');
    const envFile = path.join(tempDir(), 'ci.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    const first = await runCli(['--env-file', envFile, 'setup'], env);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^✔ database    ${db} created; \\d+ migration\\(s\\) applied, 0 already up to date$`));
    expect(lines[1]).toBe(`✔ role        ${role} created; grants applied; credentials written to ${envFile}`);
    expect(lines[2]).toMatch(/^✔ connection  9 of 10 checks passed \(1 not needed\) \(\d+ ms\)$/);
    expect(lines[3]).toMatch(new RegExp(`^Ready: ${role}@127\\.0\\.0\\.1:\\d+/${db} \\(sslmode disable\\)$`));
    const password = parse(readFileSync(envFile)).TOFU_REGISTRY_DB_PASSWORD!;
    expect(first.stdout).not.toContain(password);

    const second = await runCli(['--env-file', envFile, '--json', 'setup'], env);
    expect(second.code).toBe(0);
    const doc = JSON.parse(second.stdout);
    expect(doc).toMatchObject({ ok: true, command: 'setup', database: { created: false }, user: { created: false, passwordChanged: false }, connection: { ok: true } });
    expect(doc.user.password).toBeUndefined();
    expect(parse(readFileSync(envFile)).TOFU_REGISTRY_DB_PASSWORD).toBe(password);
    await dropDatabaseAndRole(db, role);
  });

  test('a failing check prints the checklist with its remedy and exits with its class (4: a changed password)', async () => {
    const db = uniqueName('e2e_setup_fail');
    const role = uniqueName('e2e_setup_fail_role');
    const envFile = path.join(tempDir(), 'ci.env');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db, TOFU_REGISTRY_DB_USER: role });
    expect((await runCli(['--env-file', envFile, 'setup'], env)).code).toBe(0);
    // The password changed behind setup's back: it keeps the role's password (idempotent),
    // so the application role's login fails, and the checklist says why.
    await withSuperClient('postgres', (c) => c.query(`ALTER ROLE "${role}" PASSWORD 'changed-behind-our-back'`));
    const result = await runCli(['--env-file', envFile, 'setup'], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toContain('✖ connection');
    expect(result.stdout).toMatch(/✖ authentication/);
    expect(result.stdout).toContain('remedy:');
    expect(result.stdout + result.stderr).not.toContain('changed-behind-our-back');
    await dropDatabaseAndRole(db, role);
  });
});
