import { scanStatements, transactionControlStatements } from '../../src/core/sql/scan.js';

describe('transactionControlStatements: what would end the migration\'s own transaction', () => {
  test.each<[string, string, string[]]>([
    ['COMMIT between statements', 'CREATE TABLE k1 (id int);\nCOMMIT;\nCREATE TABLE k2 (id int);', ['COMMIT@2']],
    ['ROLLBACK, lower case, no final semicolon', 'create table r (id int);\n  rollback', ['ROLLBACK@2']],
    ['END and ABORT', 'SELECT 1; END; SELECT 2;\nABORT;', ['END@1', 'ABORT@2']],
    ['COMMIT WORK / COMMIT AND CHAIN', 'COMMIT WORK;\nCOMMIT AND CHAIN;', ['COMMIT@1', 'COMMIT@2']],
    ['PREPARE TRANSACTION', "PREPARE TRANSACTION 'x';", ['PREPARE TRANSACTION@1']],
    ['after a comment that holds a semicolon', '-- first; then\nCOMMIT;', ['COMMIT@2']],
    ['a file that ends inside a comment', 'SELECT 1; -- COMMIT', []],
    ['ROLLBACK TO SAVEPOINT stays inside', 'SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a;', []],
    ['COMMIT PREPARED is refused by PostgreSQL itself', "COMMIT PREPARED 'x'; ROLLBACK PREPARED 'y';", []],
    ['inside strings, identifiers and comments', `SELECT 'a; COMMIT'; SELECT "x;commit" FROM t; /* ; COMMIT; /* nested; */ END; */ SELECT E'\\'; COMMIT';`, []],
    ['doubled quotes', "INSERT INTO t VALUES ('it''s; COMMIT');", []],
    ['a plpgsql body in dollar quotes', 'CREATE PROCEDURE p() LANGUAGE plpgsql AS $body$ BEGIN INSERT INTO t VALUES (1); COMMIT; END $body$;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;', []],
    ['a SQL-standard function body', 'CREATE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\nCOMMIT;', ['COMMIT@6']],
    ['a word that starts like a keyword', 'SELECT 1 AS committed; ENDPOINT; COMMITTED;', []],
    ['$1 parameters and money are not dollar quotes', 'PREPARE q AS SELECT $1; COMMIT;', ['COMMIT@1']],
    ['ROLLBACK WORK TO and ROLLBACK TRANSACTION TO stay inside', 'SAVEPOINT a;\nROLLBACK WORK TO SAVEPOINT a;\nROLLBACK TRANSACTION TO a;\nROLLBACK WORK;', ['ROLLBACK@4']],
    ['a dollar-quote tag with non-ASCII letters', 'DO $é$ BEGIN\nEND; COMMIT; $é$;', []],
    ['a dollar-quote tag longer than 63 characters', `DO $${'t'.repeat(70)}$ BEGIN END; COMMIT; $${'t'.repeat(70)}$;`, []],
    ['an identifier with a dollar sign is not a tag', 'SELECT a$b$ FROM t; COMMIT;', ['COMMIT@1']],
  ])('%s', (_what, sql, expected) => {
    expect(transactionControlStatements(sql).map((s) => `${s.statement}@${s.line}`)).toEqual(expected);
  });

  test('the bundled migrations have none', async () => {
    const { loadMigrationFiles, bundledMigrationsDir } = await import('../../src/core/migrations/files.js');
    for (const file of await loadMigrationFiles(bundledMigrationsDir())) expect(transactionControlStatements(file.sql)).toEqual([]);
  });
});

describe('scanStatements: the statements PostgreSQL counts, with their lines', () => {
  test('empty statements and comments are not counted; a BEGIN ATOMIC body is one statement with its CREATE', () => {
    const sql = [
      '-- header',
      'CREATE TABLE a (id int);;',
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql",
      'BEGIN ATOMIC',
      '  SELECT 1;',
      'END;',
      'CREATE FUNCTION h() RETURNS void LANGUAGE sql BEGIN ATOMIC END;',
      '/* ; */ INSERT INTO a',
      '  VALUES (1);',
    ].join('\n');
    expect(scanStatements(sql).map((s) => `${s.first}@${s.line}`)).toEqual(['CREATE@2', 'CREATE@3', 'CREATE@7', 'INSERT@8']);
  });

  test('semicolons inside parentheses (a rule\'s actions) do not end a statement; an escaped line break in E\'\' is a line', () => {
    const sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO a VALUES (2));\nSELECT E'a\\\nb';\nSELECT 1;\nSELECT 1/0;";
    expect(scanStatements(sql).map((s) => `${s.first}@${s.line}`)).toEqual(['CREATE@1', 'SELECT@2', 'SELECT@4', 'SELECT@5']);
  });
});
