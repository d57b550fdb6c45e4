/**
 * Finds the statements of a migration file that would end the transaction it runs in
 * (COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION). Each migration runs in its own
 * transaction with the migration lock: a COMMIT inside the file would commit half of it,
 * release the lock and leave the rest, and the bookkeeping row, to a transaction of their own.
 *
 * A lexer, not a parser: it skips comments (`--`, nested `/* *\/`), string literals ('…',
 * E'…' with backslash escapes), quoted identifiers and dollar-quoted bodies ($$…$$,
 * $tag$…$tag$), splits at the semicolons left, and looks at each statement's first words.
 * The body of a SQL-standard function (`BEGIN ATOMIC … END`) holds semicolons of its own:
 * its statements are skipped up to its END.
 */
export interface TransactionControl {
  /** The statement's first words, upper-case: "COMMIT", "ROLLBACK", "PREPARE TRANSACTION"… */
  readonly statement: string;
  /** 1-based line of the statement's first word. */
  readonly line: number;
}

const ENDS_TRANSACTION = new Set(['COMMIT', 'END', 'ROLLBACK', 'ABORT']);

/** One statement of a file, as PostgreSQL counts them (empty ones are not). */
export interface ScannedStatement {
  /** Its first two words, upper-case ('' for a string or symbol). */
  readonly first: string | undefined;
  readonly second: string | undefined;
  /** 1-based line of its first word. */
  readonly line: number;
}

export function transactionControlStatements(sql: string): TransactionControl[] {
  const found: TransactionControl[] = [];
  for (const { first, second, line } of scanStatements(sql)) {
    if (first !== undefined && ENDS_TRANSACTION.has(first) && !(first === 'ROLLBACK' && (second === 'TO' || second === 'PREPARED'))) {
      // ROLLBACK TO SAVEPOINT stays inside the transaction; COMMIT/ROLLBACK PREPARED refuse to
      // run inside one, and PostgreSQL says so itself.
      if (!(first === 'COMMIT' && second === 'PREPARED')) found.push({ statement: first, line });
    } else if (first === 'PREPARE' && second === 'TRANSACTION') {
      found.push({ statement: 'PREPARE TRANSACTION', line });
    }
  }
  return found;
}

/**
 * The file's statements, in order: the n-th is the one PostgreSQL was running when it failed
 * after n CommandComplete messages, which locates errors that carry no position (a unique
 * violation, a division by zero).
 */
export function scanStatements(sql: string): ScannedStatement[] {
  const statements: ScannedStatement[] = [];
  let words: { text: string; line: number }[] = [];
  let atomic: { line: number } | undefined;
  let line = 1;
  let i = 0;

  const endStatement = (): void => {
    const first = words[0]?.text;
    if (atomic) {
      // The body of BEGIN ATOMIC … END is part of its CREATE FUNCTION: one statement.
      if (first === 'END' && words.length === 1) {
        statements.push({ first: 'CREATE', second: undefined, line: atomic.line });
        atomic = undefined;
      }
    } else if (words.some((w, k) => w.text === 'BEGIN' && words[k + 1]?.text === 'ATOMIC')) {
      if (words[words.length - 1]!.text === 'END' && words[words.length - 2]?.text === 'ATOMIC') {
        statements.push({ first, second: words[1]?.text, line: words[0]!.line }); // BEGIN ATOMIC END: an empty body
      } else {
        atomic = { line: words[0]!.line };
      }
    } else if (first !== undefined) {
      statements.push({ first, second: words[1]?.text, line: words[0]!.line });
    }
    words = [];
  };

  const skipUntil = (closing: string): void => {
    const end = sql.indexOf(closing, i);
    const stop = end === -1 ? sql.length : end + closing.length;
    for (let k = i; k < stop; k++) if (sql[k] === '\n') line++;
    i = stop;
  };

  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end; // the newline itself is counted above
    } else if (c === '/' && next === '*') {
      let depth = 0;
      while (i < sql.length) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else {
          if (sql[i] === '\n') line++;
          i++;
        }
      }
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
      i++;
      while (i < sql.length) {
        const d = sql[i]!;
        if (d === '\n') line++;
        if (escapes && d === '\\') {
          i += 2;
          continue;
        }
        i++;
        if (d === c) {
          if (sql[i] === c) i++; // a doubled quote stays inside
          else break;
        }
      }
      words.push({ text: '', line });
    } else if (c === '$' && /[A-Za-z_$]/.test(next ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 65));
      if (!tag) {
        i++;
        continue;
      }
      i += tag[0].length;
      skipUntil(tag[0]);
      words.push({ text: '', line });
    } else if (c === ';') {
      endStatement();
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      words.push({ text: sql.slice(start, i).toUpperCase(), line });
    } else {
      if (!/\s/.test(c)) words.push({ text: c, line });
      i++;
    }
  }
  endStatement();
  if (atomic) statements.push({ first: 'CREATE', second: undefined, line: atomic.line });
  return statements;
}
