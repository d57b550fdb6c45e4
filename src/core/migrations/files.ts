import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { packagePath } from '../runtime/package-root.js';
import { describe } from '../config/names.js';

/** One forward-only migration file: `NNN_description.sql`. */
export interface MigrationFile {
  /** The numeric prefix, as written (ordering is numeric). */
  readonly version: string;
  readonly name: string;
  readonly fileName: string;
  readonly path: string;
  readonly sql: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly checksum: string;
  /**
   * False for a file marked `--! no-transaction`: it runs outside a transaction, one statement at
   * a time (migrations/no-transaction.ts), for what PostgreSQL refuses to run in one.
   */
  readonly transaction: boolean;
}

/** The marker (graphile-migrate's), among the comment lines that open the file. */
export const NO_TRANSACTION_MARKER = '--! no-transaction';

const FILE_PATTERN = /^(\d+)_([A-Za-z0-9_.-]+)\.sql$/;

/** The migrations that ship with the package (`sql/` beside `dist/`). */
export function bundledMigrationsDir(): string {
  return packagePath('sql');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads a migrations folder: every `*.sql` file must be named `NNN_name.sql`, versions unique. */
export async function loadMigrationFiles(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    // Synchronous on purpose: hundreds of small files read faster in a loop than through
    // the thread pool, and nothing else runs meanwhile.
    const info = statSync(dir);
    if (!info.isDirectory()) throw new ConfigError(`The migrations folder ${describe(dir)} is not a folder.`);
    entries = readdirSync(dir);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `Cannot read the migrations folder ${describe(dir)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      'Check --dir: it must be a folder of NNN_name.sql files.',
    );
  }
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const fileName of entries.filter((entry) => entry.endsWith('.sql')).sort()) {
    const match = FILE_PATTERN.exec(fileName);
    if (!match) {
      throw new ConfigError(
        `Migration file ${describe(fileName)} is not named NNN_description.sql.`,
        'Name migrations with a number, an underscore and a description, e.g. 002_add_index.sql.',
      );
    }
    const version = String(BigInt(match[1]!));
    const earlier = seen.get(version);
    if (earlier) {
      throw new ConfigError(`Migrations ${describe(earlier)} and ${describe(fileName)} have the same version ${version}.`);
    }
    seen.set(version, fileName);
    const filePath = path.join(dir, fileName);
    const bytes = readFileSync(filePath);
    const sql = bytes.toString('utf8');
    files.push({ version, name: match[2]!, fileName, path: filePath, sql, checksum: sha256Hex(bytes), transaction: runsInTransaction(fileName, sql) });
  }
  return files.sort((a, b) => (BigInt(a.version) < BigInt(b.version) ? -1 : 1));
}

/**
 * Reads the `--!` headers among the comment lines that open the file. One is known; any other is
 * refused rather than ignored, so that a misspelt marker does not quietly run the file in a
 * transaction (as graphile-migrate does).
 */
export function runsInTransaction(fileName: string, sql: string): boolean {
  let transaction = true;
  for (const line of sql.replace(/^\uFEFF/, '').split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    if (!text.startsWith('--')) break;
    if (!text.startsWith('--!')) continue;
    if (/^--!\s*no-transaction$/.test(text)) {
      transaction = false;
      continue;
    }
    throw new ConfigError(
      `Migration file ${describe(fileName)} has a header this tool does not know: ${describe(text)}.`,
      `The one header is "${NO_TRANSACTION_MARKER}" (the file then runs outside a transaction, one statement at a time); other comments start with "--" and no "!".`,
      'MIGRATION_HEADER_UNKNOWN',
    );
  }
  return transaction;
}

/** Turns PostgreSQL's 1-based character position into a line and column of the file. */
export function lineAndColumn(sql: string, position: number): { line: number; column: number; text: string } {
  const before = Array.from(sql).slice(0, Math.max(0, position - 1)).join('');
  const lines = before.split('\n');
  const line = lines.length;
  const column = lines[lines.length - 1]!.length + 1;
  const text = sql.split('\n')[line - 1] ?? '';
  return { line, column, text };
}
