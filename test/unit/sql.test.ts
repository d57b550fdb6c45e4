import { nameProblem, validateName } from '../../src/core/config/names.js';
import { createDatabaseSql } from '../../src/core/sql/database.js';
import { lineAndColumn, sha256Hex } from '../../src/core/migrations/files.js';
import { redactSecrets, registerSecret, clearSecrets } from '../../src/core/redact.js';
import { quoteIdent, quoteLiteral } from '../../src/core/sql/quote.js';
import { migrationTransactionSql, MIGRATION_LOCK_KEY } from '../../src/core/migrations/bookkeeping.js';

describe('identifier and literal quoting', () => {
  test.each([
    ['opentofu', '"opentofu"'],
    ['Mixed-Case', '"Mixed-Case"'],
    ['with"quote', '"with""quote"'],
    ['a;b', '"a;b"'],
  ])('quoteIdent(%j) = %s', (input, expected) => expect(quoteIdent(input)).toBe(expected));

  test.each([
    ['plain', "'plain'"],
    ["it's", "'it''s'"],
    ['back\\slash', "E'back\\\\slash'"],
    ["both\\'", "E'both\\\\'''"],
  ])('quoteLiteral(%j) = %s', (input, expected) => expect(quoteLiteral(input)).toBe(expected));

  test('NUL bytes are refused', () => {
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
    expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
  });

  test.each([
    ['opentofu', undefined],
    ['_x', undefined],
    ['a-b_9', undefined],
    ['a'.repeat(63), undefined],
    ['a'.repeat(64), 'is 64 characters long (at most 63)'],
    ['', 'is empty'],
    ['9db', 'must start with a letter or "_"'],
    ['-db', 'must start with a letter or "_"'],
    ['db name', 'may contain only letters, digits, "_" and "-"'],
    ['db"x', 'may contain only letters, digits, "_" and "-"'],
    ['dé', 'may contain only letters, digits, "_" and "-"'],
  ])('nameProblem(%j) = %j', (name, problem) => expect(nameProblem(name)).toBe(problem));

  test('validateName names the source', () => {
    expect(() => validateName('x y', '--user')).toThrow('--user "x y" may contain only letters');
  });
});

describe('SQL builders', () => {
  test('createDatabaseSql quotes the name', () => {
    expect(createDatabaseSql('opentofu')).toBe('CREATE DATABASE "opentofu"');
    expect(createDatabaseSql('tofu-db')).toBe('CREATE DATABASE "tofu-db"');
  });

  test('migrationTransactionSql wraps the file in a transaction with the lock and bookkeeping', () => {
    const sql = 'CREATE TABLE t (id int);\n';
    const text = migrationTransactionSql({ version: '7', name: 'add_t', fileName: '007_add_t.sql', path: '/x', sql, checksum: sha256Hex(sql), transaction: true });
    expect(text).toBe(
      [
        `-- 007_add_t.sql (sha256 ${sha256Hex(sql)})`,
        'BEGIN;',
        `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`,
        'CREATE TABLE t (id int);',
        ';',
        `INSERT INTO public.tofu_registry_migrations (version, name, checksum, duration_ms) VALUES ('7', 'add_t', '${sha256Hex(sql)}', (extract(epoch FROM clock_timestamp() - now()) * 1000)::integer);`,
        'COMMIT;',
      ].join('\n'),
    );
  });

  test('migrationTransactionSql: the first migration of a new database creates the bookkeeping table; a last statement without a semicolon gets one', () => {
    const sql = 'CREATE TABLE t (id int) -- no semicolon\n';
    const text = migrationTransactionSql({ version: '1', name: 't', fileName: '001_t.sql', path: '/x', sql, checksum: sha256Hex(sql), transaction: true }, { createBookkeeping: true });
    const lines = text.split('\n');
    expect(lines.slice(2, 4)).toEqual([`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`, 'CREATE TABLE IF NOT EXISTS public.tofu_registry_migrations (']);
    expect(text).toContain("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.tofu_registry_migrations FROM %s");
    expect(text).toContain('CREATE TABLE t (id int) -- no semicolon\n;\nINSERT INTO public.tofu_registry_migrations');
  });

  test('sha256Hex is the SHA-256 of the bytes', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('lineAndColumn maps a 1-based character position to the file', () => {
    const sql = 'CREATE TABLE a (id int);\nSELEC 1;\n';
    expect(lineAndColumn(sql, 26)).toEqual({ line: 2, column: 1, text: 'SELEC 1;' });
    expect(lineAndColumn(sql, 1)).toEqual({ line: 1, column: 1, text: 'CREATE TABLE a (id int);' });
    // Positions count characters, not bytes.
    expect(lineAndColumn("SELECT 'é';\nX", 13)).toEqual({ line: 2, column: 1, text: 'X' });
  });
});

describe('redactSecrets', () => {
  afterEach(() => clearSecrets());
  test('masks registered secrets, URL passwords, SCRAM verifiers and PASSWORD literals', () => {
    registerSecret('s3cr3t-value');
    expect(redactSecrets('auth failed for s3cr3t-value')).toBe('auth failed for [redacted]');
    expect(redactSecrets('postgres://u:pa%40ss@h:5432/db')).toBe('postgres://u:[redacted]@h:5432/db');
    expect(redactSecrets("ALTER ROLE x PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'")).toBe("ALTER ROLE x PASSWORD '[redacted]'");
    expect(redactSecrets('md5' + 'a'.repeat(32))).toBe('md5[redacted]');
  });
});
