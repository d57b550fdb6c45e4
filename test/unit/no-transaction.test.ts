import { clientKeepAlive, resetSessionTimeoutsSql, serverTimeoutSettings, sessionNetworkTimeoutsSql, transactionNetworkTimeoutsSql } from '../../src/core/db/network-timeouts.js';
import { ConfigError } from '../../src/core/errors.js';
import { runsInTransaction } from '../../src/core/migrations/files.js';
import { leftoverInvalidIndexesSql } from '../../src/core/migrations/invalid-indexes.js';
import { leaseTimings, statementTag } from '../../src/core/migrations/lease.js';
import { concurrentIndexBuild } from '../../src/core/sql/index-statements.js';
import { scanStatements } from '../../src/core/sql/scan.js';

describe('the --! no-transaction marker', () => {
  test.each([
    ['--! no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n', false],
    ['-- builds an index\n\n--!no-transaction\nVACUUM t;\n', false],
    ['\uFEFF--! no-transaction\r\nVACUUM t;\r\n', false],
    ['CREATE TABLE t (a int);\n--! no-transaction\n', true], // after the first statement: a comment
    ['/* --! no-transaction */\nVACUUM t;\n', true],
    ['-- no-transaction\nCREATE TABLE t (a int);\n', true],
    ['', true],
  ])('%j runs in a transaction: %p', (sql, expected) => {
    expect(runsInTransaction('001_x.sql', sql)).toBe(expected);
  });

  test.each(['--! no-transactions', '--! transaction:false', '--!'])('an unknown header %j is refused (a typo must not run the file in a transaction)', (header) => {
    expect(() => runsInTransaction('001_x.sql', `${header}\nVACUUM t;\n`)).toThrow(ConfigError);
    expect(() => runsInTransaction('001_x.sql', `${header}\nVACUUM t;\n`)).toThrow('has a header this tool does not know');
  });
});

describe('scanStatements gives each statement\'s text', () => {
  test('from its first word to its semicolon, comments between statements left out', () => {
    const sql = "-- head\nCREATE INDEX CONCURRENTLY i ON t (a);\n/* c */ VACUUM t;\nSELECT ';' -- tail\n";
    expect(scanStatements(sql).map((s) => sql.slice(s.start, s.end))).toEqual(['CREATE INDEX CONCURRENTLY i ON t (a)', 'VACUUM t', "SELECT ';' -- tail\n"]);
  });

  test('a BEGIN ATOMIC body stays one statement', () => {
    const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nVACUUM t;';
    expect(scanStatements(sql).map((s) => sql.slice(s.start, s.end))).toEqual(['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END', 'VACUUM t']);
  });
});

describe('concurrentIndexBuild reads the index and table a concurrent build works on', () => {
  test.each([
    ['CREATE INDEX CONCURRENTLY items_v_idx ON items (v)', { kind: 'create', index: 'items_v_idx', table: { name: 'items' } }],
    ['create unique index concurrently if not exists "Items_Key" on only reg."Items" using btree (v)', { kind: 'create', index: 'Items_Key', table: { schema: 'reg', name: 'Items' } }],
    ['CREATE INDEX /* why */ CONCURRENTLY Idx ON public.t (a)', { kind: 'create', index: 'idx', table: { schema: 'public', name: 't' } }],
    ['CREATE INDEX CONCURRENTLY ON t (a)', { kind: 'create', index: undefined, table: { name: 't' } }],
    ['REINDEX INDEX CONCURRENTLY items_v_idx', { kind: 'reindex', target: 'index', name: { name: 'items_v_idx' } }],
    ['REINDEX (VERBOSE) TABLE CONCURRENTLY public.items', { kind: 'reindex', target: 'table', name: { schema: 'public', name: 'items' } }],
    ['CREATE INDEX items_v_idx ON items (v)', undefined],
    ['REINDEX TABLE items', undefined],
    ['VACUUM items', undefined],
  ])('%s', (statement, expected) => {
    expect(concurrentIndexBuild(statement)).toEqual(expected);
  });

  test('the INVALID index a CREATE INDEX CONCURRENTLY left is looked up by name on its table', () => {
    expect(leftoverInvalidIndexesSql({ kind: 'create', index: "it's", table: { schema: 'reg', name: 'Items' } })).toBe(
      `SELECT format('%I.%I', n.nspname, c.relname) AS index FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT i.indisvalid AND i.indrelid = to_regclass('"reg"."Items"') AND c.relname = 'it''s'`,
    );
  });

  test('REINDEX leftovers are the _ccnew/_ccold copies', () => {
    expect(leftoverInvalidIndexesSql({ kind: 'reindex', target: 'index', name: { name: 'items_v_idx' } })).toContain(
      "AND left(c.relname, length('items_v_idx')) = 'items_v_idx' AND substr(c.relname, length('items_v_idx') + 1) ~ '^_cc(new|old)[0-9]*$'",
    );
  });
});

describe('network timeouts', () => {
  test('client keepalives probe after half the network timeout', () => {
    expect(clientKeepAlive(30_000)).toEqual({ keepAlive: true, keepAliveInitialDelayMillis: 15_000 });
    expect(clientKeepAlive(500)).toEqual({ keepAlive: true, keepAliveInitialDelayMillis: 1000 });
  });

  test('the server notices a silent client within about the network timeout', () => {
    expect(serverTimeoutSettings(30_000)).toEqual({
      idle_in_transaction_session_timeout: '30000',
      tcp_keepalives_idle: '15',
      tcp_keepalives_interval: '3',
      tcp_keepalives_count: '5',
      client_connection_check_interval: '3000',
    });
  });

  test('one statement sets them for the transaction; client_connection_check_interval only where the server has it', () => {
    expect(transactionNetworkTimeoutsSql(10_000)).toBe(
      `SELECT set_config('idle_in_transaction_session_timeout', '10000', true),
       set_config('tcp_keepalives_idle', '5', true),
       set_config('tcp_keepalives_interval', '1', true),
       set_config('tcp_keepalives_count', '5', true),
       CASE WHEN current_setting('client_connection_check_interval', true) IS NOT NULL THEN set_config('client_connection_check_interval', '1000', true) END`,
    );
  });

  test('for a session of its own: the statement and lock timeouts too, and a reset that skips unknown settings', () => {
    const sql = sessionNetworkTimeoutsSql({ networkTimeoutMs: 10_000, statementTimeoutMs: 600_000, lockTimeoutMs: 10_000 });
    expect(sql.split(';\n').slice(0, 2)).toEqual(['SET statement_timeout = 600000', 'SET lock_timeout = 10000']);
    expect(sql).toContain("set_config('idle_in_transaction_session_timeout', '10000', false)");
    expect(resetSessionTimeoutsSql()).toBe(
      "SELECT set_config(name, reset_val, false) FROM pg_settings WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'client_connection_check_interval')",
    );
  });

  test('a lease lasts twice the network timeout and is renewed four times as often', () => {
    expect(leaseTimings(30_000)).toEqual({ durationMs: 60_000, renewEveryMs: 15_000 });
    expect(statementTag('abc')).toBe('/* tofu-registry-db lease abc */ ');
  });
});
