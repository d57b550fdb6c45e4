import type { Connection } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { scanStatements, transactionControlStatements } from '../sql/scan.js';
import type { MigrationStatus } from './bookkeeping.js';
import { concurrentIndexBuild } from '../sql/index-statements.js';
import { lineAndColumn, NO_TRANSACTION_MARKER, type MigrationFile } from './files.js';

/** What went wrong with a migration, told with the file, the line and what the server said. */

/**
 * Pending files that would end their own transaction: refused before anything runs (exit 2).
 * Each migration already runs in a transaction of its own, with the migration lock. A
 * no-transaction file runs each statement on its own: it may not open a transaction either, and
 * each CREATE INDEX CONCURRENTLY in it must name its index (a rerun finds an INVALID one by name).
 */
export function checkTransactionControl(files: readonly MigrationFile[]): void {
  const found = files.flatMap((file) => [
    ...transactionControlStatements(file.sql).map((s) => `${file.fileName}:${s.line} (${s.statement})`),
    ...(file.transaction ? [] : transactionOpenings(file).map((s) => `${file.fileName}:${s.line} (${s.statement})`)),
  ]);
  if (found.length > 0) {
    throw new ConfigError(
      `Migration files must not end the transaction they run in: ${found.join(', ')}. Nothing was applied.`,
      'Each migration already runs in its own transaction, with the migration lock and its bookkeeping row: remove BEGIN/COMMIT/ROLLBACK from the file. (ROLLBACK TO SAVEPOINT is fine.) ' +
        `A file marked "${NO_TRANSACTION_MARKER}" runs each statement on its own: it opens no transaction either.`,
      'MIGRATION_TRANSACTION_CONTROL',
    );
  }
  const unnamed = files.filter((file) => !file.transaction).flatMap((file) => unnamedConcurrentIndexes(file));
  if (unnamed.length > 0) {
    throw new ConfigError(
      `CREATE INDEX CONCURRENTLY without an index name in ${unnamed.join(', ')}. Nothing was applied.`,
      'Name the index (CREATE INDEX CONCURRENTLY name ON table …): if the build fails halfway it leaves an INVALID index, which the next run finds by its name, drops and builds again.',
      'MIGRATION_INDEX_UNNAMED',
    );
  }
}

function transactionOpenings(file: MigrationFile): { line: number; statement: string }[] {
  return scanStatements(file.sql)
    .filter((s) => s.first === 'BEGIN' || (s.first === 'START' && s.second === 'TRANSACTION'))
    .map((s) => ({ line: s.line, statement: s.first === 'BEGIN' ? 'BEGIN' : 'START TRANSACTION' }));
}

function unnamedConcurrentIndexes(file: MigrationFile): string[] {
  return scanStatements(file.sql)
    .filter((s) => {
      const build = concurrentIndexBuild(file.sql.slice(s.start, s.end));
      return build?.kind === 'create' && build.index === undefined;
    })
    .map((s) => `${file.fileName}:${s.line}`);
}

export function changedMigrationError(changed: readonly MigrationStatus[]): RegistryDbError {
  const list = changed.map((m) => m.fileName).join(', ');
  return new RegistryDbError('schema', 'MIGRATION_CHANGED', `Applied migration(s) changed since they ran: ${list}.`, {
    hint: 'Migrations are forward-only: restore the original file and put the change in a new migration.',
    data: { changed: changed.map((m) => m.version) },
  });
}

/** The line of the file's statement that was running when the server failed it without a position. */
function failingStatement(file: MigrationFile, completed: number | undefined): { line: number; column: number; text: string } | undefined {
  if (completed === undefined) return undefined;
  const statement = scanStatements(file.sql)[completed];
  if (!statement) return undefined; // the bookkeeping after the file, not the file itself
  const text = file.sql.split('\n')[statement.line - 1] ?? '';
  return { line: statement.line, column: text.length - text.trimStart().length + 1, text: text.trimEnd() };
}

/** Where a statement of a no-transaction file sat in the file, for errors the server positions in the text it was sent. */
export interface SentStatement {
  /** Its index among the file's statements (the statements before it ran and stay). */
  readonly index: number;
  /** How many statements the file has. */
  readonly total: number;
  /** The server's position minus this is the position in the file (the statement's offset less the tag before it). */
  readonly positionShift: number;
  /** It was a CREATE INDEX or REINDEX … CONCURRENTLY, which may leave an INVALID index. */
  readonly indexBuild?: boolean;
}

/**
 * @param completed how many statements of the message completed before the error: where the
 *   server gives no position (a runtime error), it tells which of the file's statements failed.
 * @param sent for a no-transaction file, the statement that failed.
 */
export function migrationError(file: MigrationFile, error: unknown, completed?: number, sent?: SentStatement): RegistryDbError {
  const pgError = error as { code?: string; message?: string; position?: string; detail?: string; hint?: string };
  const mapped = toRegistryDbError(error, { action: `Migration ${file.fileName} failed` });
  // Lock and statement timeouts, permission problems and lost connections keep their
  // own code and class; any other SQL error is the migration's own fault.
  if (mapped.errorClass !== 'schema' || mapped.code === 'LOCK_TIMEOUT' || mapped.code === 'STATEMENT_TIMEOUT') {
    return sent ? mapped.rewrap(mapped.message, { hint: `${partlyRan(file, sent)} ${mapped.hint ?? ''}`.trim() }) : mapped;
  }
  if (pgError.code === '25000' && pgError.message?.startsWith('tofu-registry-db: the migration ended')) {
    return new RegistryDbError(
      'schema',
      'MIGRATION_ENDS_TRANSACTION',
      `Migration ${file.fileName} ended the transaction it runs in (a COMMIT, ROLLBACK or END in the file): it was not recorded as applied, and what it did before that statement may have been committed.`,
      {
        hint: `Remove the transaction control from ${file.fileName} (each migration runs in its own transaction), check the database for what its first part created, then run migrate again.`,
        cause: pgError.code,
        data: { file: file.fileName },
      },
    );
  }
  const position = Number(pgError.position) + (sent ? sent.positionShift : 0);
  const where = Number(pgError.position) > 0 && position > 0 && position <= file.sql.length ? lineAndColumn(file.sql, position) : failingStatement(file, sent ? sent.index : completed);
  const location = where ? `${file.fileName}:${where.line}:${where.column}` : file.fileName;
  const excerpt = where ? `\n  ${where.text}\n  ${' '.repeat(Math.max(0, where.column - 1))}^` : '';
  return new RegistryDbError(
    'schema',
    'MIGRATION_FAILED',
    `Migration ${location} failed (SQLSTATE ${pgError.code}): ${pgError.message}${pgError.detail ? ` (${pgError.detail})` : ''}${excerpt}`,
    {
      hint: sent
        ? `${partlyRan(file, sent)}${sent.indexBuild ? ' The index build it started stays behind, INVALID (unused by queries, still updated by writes): the next migrate drops it and builds it again.' : ''} ` +
          'Fix the file, keeping each statement safe to run again (IF NOT EXISTS), and run migrate again: the file runs again from its first statement.'
        : pgError.code === '25001'
          ? `${file.fileName} holds a statement that cannot run in a transaction block: put it in a file of its own that starts with the line "${NO_TRANSACTION_MARKER}". Nothing of it was applied.`
          : `Nothing of ${file.fileName} was applied (it ran in a transaction that was rolled back). Fix the file and run migrate again.`,
      cause: pgError.code,
      data: {
        file: file.fileName,
        ...(where ? { line: where.line, column: where.column } : {}),
        ...(pgError.detail ? { detail: pgError.detail } : {}),
        ...(pgError.hint ? { serverHint: pgError.hint } : {}),
        ...(sent ? { statementsRun: sent.index } : {}),
      },
    },
  );
}

/** What a no-transaction file left behind when its statement `sent.index` failed. */
function partlyRan(file: MigrationFile, sent: SentStatement): string {
  const before = sent.index === 0 ? `None of the statements of ${file.fileName} ran before it` : `The first ${sent.index} of the ${sent.total} statements of ${file.fileName} ran and stay (it runs outside a transaction)`;
  return `${before}; it is not recorded as applied.`;
}

/** Who holds table locks in this database right now: named in a lock-timeout error. */
export async function describeLockHolders(connection: Connection): Promise<string | undefined> {
  const sql = `SELECT DISTINCT l.pid, a.usename, a.state, l.relation::regclass::text AS relation, l.mode
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.relation::regclass::text NOT LIKE 'pg\\_%'
 ORDER BY l.pid LIMIT 5`;
  try {
    const { rows } = await connection.client.query<{ pid: number; usename: string | null; state: string | null; relation: string; mode: string }>(sql);
    if (rows.length === 0) return undefined;
    // A role that is not a superuser sees other roles' sessions without their state (null).
    return rows.map((r) => `pid ${r.pid} (${r.usename ?? 'another role'}${r.state ? `, ${r.state}` : ''}) holding ${r.mode} on ${r.relation}`).join('; ');
  } catch {
    return undefined;
  }
}

