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
  /** Its first three words, upper-case ('' for a string or symbol). */
  readonly first: string | undefined;
  readonly second: string | undefined;
  readonly third?: string | undefined;
  /** 1-based line of its first word. */
  readonly line: number;
}

export function transactionControlStatements(sql: string): TransactionControl[] {
  const found: TransactionControl[] = [];
  for (const { first, second, third, line } of scanStatements(sql)) {
    if (first === 'PREPARE' && second === 'TRANSACTION') {
      found.push({ statement: 'PREPARE TRANSACTION', line });
      continue;
    }
    if (first === undefined || !ENDS_TRANSACTION.has(first)) continue;
    // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] stays inside the transaction; COMMIT and
    // ROLLBACK PREPARED refuse to run inside one, and PostgreSQL says so itself.
    const noise = second === 'WORK' || second === 'TRANSACTION';
    if (first === 'ROLLBACK' && (second === 'TO' || (noise && third === 'TO'))) continue;
    if ((first === 'ROLLBACK' || first === 'COMMIT') && second === 'PREPARED') continue;
    found.push({ statement: first, line });
  }
  return found;
}

/** What may start and continue an identifier or a dollar-quote tag (PostgreSQL takes any non-ASCII letter). */
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/**
 * The file's statements, in order: the n-th is the one PostgreSQL was running when it failed
 * after n CommandComplete messages, which locates errors that carry no position (a unique
 * violation, a division by zero). Semicolons inside parentheses (a rule's action list) do
 * not end a statement.
 */
export function scanStatements(sql: string): ScannedStatement[] {
  const statements: ScannedStatement[] = [];
  let words: { text: string; line: number }[] = [];
  let atomic: { line: number } | undefined;
  let parens = 0;
  let line = 1;
  let i = 0;

  const push = (from: { text: string; line: number }[]): void => {
    statements.push({ first: from[0]!.text, second: from[1]?.text, third: from[2]?.text, line: from[0]!.line });
  };
  const endStatement = (): void => {
    const first = words[0]?.text;
    if (atomic) {
      // The body of BEGIN ATOMIC … END is part of its CREATE FUNCTION: one statement.
      if (first === 'END' && words.length === 1) {
        statements.push({ first: 'CREATE', second: undefined, line: atomic.line });
        atomic = undefined;
      }
    } else if (words.some((w, k) => w.text === 'BEGIN' && words[k + 1]?.text === 'ATOMIC')) {
      if (words[words.length - 1]!.text === 'END' && words[words.length - 2]?.text === 'ATOMIC') push(words); // an empty body
      else atomic = { line: words[0]!.line };
    } else if (first !== undefined) {
      push(words);
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
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !IDENT_CHAR.test(sql[i - 2] ?? '');
      i++;
      while (i < sql.length) {
        const d = sql[i]!;
        if (d === '\n') line++;
        if (escapes && d === '\\') {
          if (sql[i + 1] === '\n') line++; // an escaped line break is still a line
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
    } else if (c === '$' && !IDENT_CHAR.test(sql[i - 1] ?? '')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (!tag) {
        i++; // $1, a parameter
        continue;
      }
      i += tag[0].length;
      skipUntil(tag[0]);
      words.push({ text: '', line });
    } else if (c === ';' && parens === 0) {
      endStatement();
      i++;
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < sql.length && IDENT_CHAR.test(sql[i]!)) i++;
      words.push({ text: sql.slice(start, i).toUpperCase(), line });
    } else {
      if (c === '(') parens++;
      else if (c === ')') parens = Math.max(0, parens - 1);
      if (!/\s/.test(c)) words.push({ text: c, line });
      i++;
    }
  }
  endStatement();
  if (atomic) statements.push({ first: 'CREATE', second: undefined, line: atomic.line });
  return statements;
}
