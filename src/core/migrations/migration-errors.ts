import type { Connection } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { scanStatements, transactionControlStatements } from '../sql/scan.js';
import type { MigrationStatus } from './bookkeeping.js';
import { lineAndColumn, type MigrationFile } from './files.js';

/** What went wrong with a migration, told with the file, the line and what the server said. */

/**
 * Pending files that would end their own transaction: refused before anything runs (exit 2).
 * Each migration already runs in a transaction of its own, with the migration lock.
 */
export function checkTransactionControl(files: readonly MigrationFile[]): void {
  const found = files.flatMap((file) => transactionControlStatements(file.sql).map((s) => `${file.fileName}:${s.line} (${s.statement})`));
  if (found.length === 0) return;
  throw new ConfigError(
    `Migration files must not end the transaction they run in: ${found.join(', ')}. Nothing was applied.`,
    'Each migration already runs in its own transaction, with the migration lock and its bookkeeping row: remove BEGIN/COMMIT/ROLLBACK from the file. (ROLLBACK TO SAVEPOINT is fine.)',
    'MIGRATION_TRANSACTION_CONTROL',
  );
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

/**
 * @param completed how many statements of the message completed before the error: where the
 *   server gives no position (a runtime error), it tells which of the file's statements failed.
 */
export function migrationError(file: MigrationFile, error: unknown, completed?: number): RegistryDbError {
  const pgError = error as { code?: string; message?: string; position?: string; detail?: string; hint?: string };
  const mapped = toRegistryDbError(error, { action: `Migration ${file.fileName} failed` });
  // Lock and statement timeouts, permission problems and lost connections keep their
  // own code and class; any other SQL error is the migration's own fault.
  if (mapped.errorClass !== 'schema' || mapped.code === 'LOCK_TIMEOUT' || mapped.code === 'STATEMENT_TIMEOUT') {
    return mapped;
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
  const position = Number(pgError.position);
  const where = position > 0 && position <= file.sql.length ? lineAndColumn(file.sql, position) : failingStatement(file, completed);
  const location = where ? `${file.fileName}:${where.line}:${where.column}` : file.fileName;
  const excerpt = where ? `\n  ${where.text}\n  ${' '.repeat(Math.max(0, where.column - 1))}^` : '';
  return new RegistryDbError(
    'schema',
    'MIGRATION_FAILED',
    `Migration ${location} failed (SQLSTATE ${pgError.code}): ${pgError.message}${pgError.detail ? ` (${pgError.detail})` : ''}${excerpt}`,
    {
      hint: `Nothing of ${file.fileName} was applied (it ran in a transaction that was rolled back). Fix the file and run migrate again.`,
      cause: pgError.code,
      data: {
        file: file.fileName,
        ...(where ? { line: where.line, column: where.column } : {}),
        ...(pgError.detail ? { detail: pgError.detail } : {}),
        ...(pgError.hint ? { serverHint: pgError.hint } : {}),
      },
    },
  );
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

