/**
 * A project's own migrations folder on a database that has the bundled migrations (review #18),
 * through the built binary: `migrate new` in a new folder does not collide with them, and a
 * folder whose migrations are not the database's is diagnosed as such, not as edited files.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, dropDatabaseAndRole, REPO_ROOT, runCli, tempDir, uniqueName, withSuperClient } from '../support/fixtures.js';

const envFileArgs = () => ['--env-file', path.join(tempDir(), '.env')];
const bundled = readdirSync(path.join(REPO_ROOT, 'sql')).filter((f) => f.endsWith('.sql')).sort();
const lastBundled = bundled[bundled.length - 1]!;
const next = String(Number(/^\d+/.exec(lastBundled)![0]) + 1).padStart(3, '0');

async function appliedVersions(database: string): Promise<string[]> {
  return withSuperClient(database, async (c) => (await c.query<{ version: string }>('SELECT version FROM tofu_registry_migrations ORDER BY version::numeric')).rows.map((r) => r.version));
}

describe('migrate --dir with a folder of ones own (review #18)', () => {
  let database: string;
  let setupEnvFile: string[];
  beforeAll(async () => {
    database = uniqueName('migdir');
    setupEnvFile = envFileArgs();
    const created = await runCli([...setupEnvFile, 'setup', '--name', database, '--user', database], adminEnv());
    expect(created.code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await dropDatabaseAndRole(database, database);
  });

  test('migrate new in a new folder copies the bundled migrations in and numbers after them; migrate --dir applies only the new one', async () => {
    const dir = path.join(tempDir(), 'mig');
    const made = await runCli(['migrate', 'new', 'add_things', '--dir', dir], adminEnv());
    expect(made.code).toBe(0);
    expect(made.stdout).toBe(`${path.join(dir, `${next}_add_things.sql`)}\n`);
    expect(made.stderr).toContain(`Copied the bundled migrations ${bundled.join(', ')} into ${dir}`);
    for (const file of bundled) expect(readFileSync(path.join(dir, file))).toEqual(readFileSync(path.join(REPO_ROOT, 'sql', file)));
    writeFileSync(path.join(dir, `${next}_add_things.sql`), 'CREATE TABLE things (id int);\n');

    const migrated = await runCli([...envFileArgs(), 'migrate', '--name', database, '--dir', dir], adminEnv());
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(`Applied ${next}_add_things.sql`);
    expect(migrated.stdout).toContain('Applied 1 migration(s)');

    // --json says what was copied; a folder that has migrations gets none.
    const again = await runCli(['--json', 'migrate', 'new', 'more', '--dir', dir], adminEnv());
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, copied: [], version: String(Number(next) + 1).padStart(3, '0') });
    const fresh = await runCli(['--json', 'migrate', 'new', 'first', '--dir', path.join(tempDir(), 'other')], adminEnv());
    expect(JSON.parse(fresh.stdout)).toMatchObject({ ok: true, copied: bundled, fileName: `${next}_first.sql` });
  }, 60_000);

  test('a folder whose migrations are numbered from 001 on a database with the bundled ones: named as another folder, exit 5, nothing applied', async () => {
    const dir = path.join(tempDir(), 'own');
    mkdirSync(dir);
    writeFileSync(path.join(dir, '001_create_things.sql'), 'CREATE TABLE things (id int);\n');
    writeFileSync(path.join(dir, '002_more_things.sql'), 'CREATE TABLE more_things (id int);\n');
    const before = await appliedVersions(database);

    const migrated = await runCli([...envFileArgs(), 'migrate', '--name', database, '--dir', dir], adminEnv());
    expect(migrated.code).toBe(5);
    expect(migrated.stderr).toContain(`The database's migrations came from another folder than ${dir}: 001_initial_schema was applied where ${dir} holds 001_create_things.sql; 002_search_indexes was applied where ${dir} holds 002_more_things.sql.`);
    expect(migrated.stderr).toContain("Those are tofu-registry-db's own migrations");
    expect(migrated.stderr).toContain('must hold them too');
    expect(migrated.stderr).not.toContain('restore the original file');
    expect(await appliedVersions(database)).toEqual(before);

    const json = await runCli([...envFileArgs(), '--json', 'migrate', '--name', database, '--dir', dir], adminEnv());
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'MIGRATIONS_FROM_ANOTHER_FOLDER' } });

    const listed = await runCli([...envFileArgs(), 'migrate', 'status', '--name', database, '--dir', dir], adminEnv());
    expect(listed.code).toBe(5);
    expect(listed.stdout).toContain('001_create_things.sql  (the database applied 001_initial_schema)');
    expect(listed.stdout).toMatch(/missing file\s+003_widen_version/);
    expect(listed.stderr).toContain("The database's migrations came from another folder");

    const status = await runCli([...envFileArgs(), '--json', 'status', '--name', database, '--dir', dir], adminEnv());
    expect(status.code).toBe(5);
    expect(JSON.parse(status.stdout).problems).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'MIGRATIONS_FROM_ANOTHER_FOLDER' })]));

    // The application role's check reads the same bookkeeping and says the same.
    const checked = await runCli([...setupEnvFile, 'test-connection', '--name', database, '--dir', dir], adminEnv());
    expect(checked.code).toBe(5);
    expect(checked.stdout + checked.stderr).toContain("The database's migrations came from another folder");
  }, 60_000);

  test('an edited file of the same name is still an edited file: restore it', async () => {
    const dir = path.join(tempDir(), 'edited');
    mkdirSync(dir);
    for (const file of bundled) writeFileSync(path.join(dir, file), readFileSync(path.join(REPO_ROOT, 'sql', file)));
    writeFileSync(path.join(dir, lastBundled), `${readFileSync(path.join(dir, lastBundled), 'utf8')}\n-- edited\n`);
    const migrated = await runCli([...envFileArgs(), 'migrate', '--name', database, '--dir', dir], adminEnv());
    expect(migrated.code).toBe(5);
    expect(migrated.stderr).toContain(`Applied migration(s) changed since they ran: ${lastBundled}`);
    expect(migrated.stderr).toContain('restore the original file');
  }, 60_000);
});
