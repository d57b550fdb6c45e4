import { extensionRefusal, extensionsCreatedBy, judgeExtensions, unavailableError, type ExtensionFacts } from '../../src/core/migrations/extensions.js';
import type { MigrationFile } from '../../src/core/migrations/files.js';
import { bundledMigrationsDir, loadMigrationFiles } from '../../src/core/migrations/files.js';

function file(fileName: string, sql: string): MigrationFile {
  return { version: fileName.split('_')[0]!, name: fileName, fileName, path: fileName, sql, checksum: '', transaction: true };
}

describe('extensionsCreatedBy: the CREATE EXTENSION statements of pending migrations', () => {
  test('names as PostgreSQL reads them, with file and line; not inside strings, comments or bodies', () => {
    const sql = [
      '-- CREATE EXTENSION in_a_comment;',
      'CREATE EXTENSION IF NOT EXISTS pg_trgm;',
      "SELECT 'CREATE EXTENSION in_a_string';",
      'create extension "Quoted""Name" WITH SCHEMA public;',
      'CREATE EXTENSION Citext',
      '  CASCADE;',
      "DO $$ BEGIN EXECUTE 'CREATE EXTENSION hidden'; END $$;",
      'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";',
    ].join('\n');
    expect(extensionsCreatedBy([file('004_x.sql', sql)])).toEqual([
      { extension: 'pg_trgm', fileName: '004_x.sql', line: 2 },
      { extension: 'Quoted"Name', fileName: '004_x.sql', line: 4 },
      { extension: 'citext', fileName: '004_x.sql', line: 5 },
      { extension: 'uuid-ossp', fileName: '004_x.sql', line: 8 },
    ]);
  });

  test('the bundled migrations: pg_trgm in 002, nothing else', async () => {
    const files = await loadMigrationFiles(bundledMigrationsDir());
    expect(extensionsCreatedBy(files).map((e) => `${e.extension}@${e.fileName}`)).toEqual(['pg_trgm@002_search_indexes.sql']);
  });
});

describe('judgeExtensions: what the catalog settles', () => {
  const trgm = { extension: 'pg_trgm', fileName: '002_search_indexes.sql', line: 5 };
  const facts = (over: Partial<ExtensionFacts>): ExtensionFacts[] => [{ name: 'pg_trgm', installed: false, available: true, superuser: true, trusted: false, ...over }];
  const managed = { superuser: false, createOnDatabase: true };

  test.each<[string, ExtensionFacts[], { superuser: boolean; createOnDatabase: boolean }, string]>([
    ['PostgreSQL 12, a managed admin: doubtful (a service may allow it)', facts({}), managed, 'doubtful'],
    ['PostgreSQL 13+, trusted, the owner', facts({ trusted: true }), managed, 'fine'],
    ['PostgreSQL 13+, trusted, without CREATE on the database', facts({ trusted: true }), { superuser: false, createOnDatabase: false }, 'doubtful'],
    ['a superuser', facts({}), { superuser: true, createOnDatabase: false }, 'fine'],
    ['already installed (CREATE EXTENSION IF NOT EXISTS checks nothing then)', facts({ installed: true }), managed, 'fine'],
    ['superuser = false in its control file', facts({ superuser: false }), managed, 'fine'],
    ['not on the server at all', facts({ available: false }), { superuser: true, createOnDatabase: true }, 'unavailable'],
  ])('%s', (_what, given, admin, expected) => {
    const judged = judgeExtensions([trgm, { ...trgm, line: 9 }], given, admin);
    const verdict = judged.unavailable.length ? 'unavailable' : judged.doubtful.length ? 'doubtful' : 'fine';
    expect(verdict).toBe(expected);
    expect(judged.unavailable.length + judged.doubtful.length).toBeLessThanOrEqual(1); // each extension once
  });
});

describe('the refusals name the statement a superuser runs, and where', () => {
  const trgm = { extension: 'pg_trgm', fileName: '002_search_indexes.sql', line: 5 };
  const fact: ExtensionFacts = { name: 'pg_trgm', installed: false, available: true, superuser: true, trusted: false };

  test('PostgreSQL 12, a database still to be created: template1', () => {
    const error = extensionRefusal(trgm, fact, { admin: 'boss', database: 'opentofu', databaseExists: false, serverVersion: 122200 }, 'permission denied to create extension "pg_trgm"');
    expect(error).toMatchObject({ code: 'EXTENSION_NEEDS_SUPERUSER', exitCode: 4 });
    expect(error.message).toContain('002_search_indexes.sql:5');
    expect(error.message).toContain('PostgreSQL 12');
    expect(error.message).toContain('Nothing was changed');
    expect(error.hint).toContain('CREATE EXTENSION IF NOT EXISTS "pg_trgm"; in database template1');
  });

  test('an existing database: that database', () => {
    const error = extensionRefusal(trgm, fact, { admin: 'boss', database: 'opentofu', databaseExists: true, serverVersion: 170000 }, 'denied');
    expect(error.message).toContain('not a trusted extension');
    expect(error.hint).toContain('CREATE EXTENSION IF NOT EXISTS "pg_trgm"; in database "opentofu"');
  });

  test('trusted, but no CREATE on the database: the GRANT', () => {
    const error = extensionRefusal(trgm, { ...fact, trusted: true }, { admin: 'boss', database: 'opentofu', databaseExists: true, serverVersion: 160000 }, 'denied');
    expect(error).toMatchObject({ code: 'EXTENSION_NOT_PERMITTED', exitCode: 4 });
    expect(error.hint).toContain('GRANT CREATE ON DATABASE "opentofu" TO "boss"');
  });

  test('missing from the server: exit 5, naming the file', () => {
    const error = unavailableError([trgm]);
    expect(error).toMatchObject({ code: 'EXTENSION_UNAVAILABLE', exitCode: 5 });
    expect(error.message).toContain('pg_trgm (002_search_indexes.sql:5)');
  });
});
