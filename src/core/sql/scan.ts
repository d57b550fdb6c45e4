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
  /** All its words: keywords and names upper-case, a quoted identifier as written ("…"), '' for a string. */
  readonly words: readonly string[];
  /** 1-based line of its first word. */
  readonly line: number;
  /** Where its text starts (its first word) and ends (before its semicolon), as string indexes. */
  readonly start: number;
  readonly end: number;
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

/** A position in the file being scanned: the index and the line it is on. */
interface Cursor {
  readonly sql: string;
  i: number;
  line: number;
}

/** Moves to `stop`, counting the line breaks passed over. */
function advanceTo(cursor: Cursor, stop: number): void {
  for (let k = cursor.i; k < stop; k++) if (cursor.sql[k] === '\n') cursor.line++;
  cursor.i = stop;
}

/** A block comment, which PostgreSQL lets nest. */
function skipBlockComment(cursor: Cursor): void {
  const { sql } = cursor;
  let depth = 0;
  while (cursor.i < sql.length) {
    if (sql[cursor.i] === '/' && sql[cursor.i + 1] === '*') {
      depth++;
      cursor.i += 2;
    } else if (sql[cursor.i] === '*' && sql[cursor.i + 1] === '/') {
      depth--;
      cursor.i += 2;
      if (depth === 0) return;
    } else {
      advanceTo(cursor, cursor.i + 1);
    }
  }
}

/** A string ('…', E'…' with backslash escapes) or a quoted identifier ("…"); doubled quotes stay inside. */
function skipQuoted(cursor: Cursor): void {
  const { sql } = cursor;
  const quote = sql[cursor.i]!;
  const escapes = quote === "'" && /[eE]/.test(sql[cursor.i - 1] ?? '') && !IDENT_CHAR.test(sql[cursor.i - 2] ?? '');
  cursor.i++;
  while (cursor.i < sql.length) {
    const d = sql[cursor.i]!;
    if (escapes && d === '\\') {
      advanceTo(cursor, cursor.i + 2); // an escaped line break is still a line
      continue;
    }
    advanceTo(cursor, cursor.i + 1);
    if (d === quote) {
      if (sql[cursor.i] === quote) cursor.i++;
      else return;
    }
  }
}

/** A dollar-quoted string ($$…$$, $tag$…$tag$). False when the $ starts no tag ($1, a parameter). */
function skipDollarQuoted(cursor: Cursor): boolean {
  DOLLAR_TAG.lastIndex = cursor.i;
  const tag = DOLLAR_TAG.exec(cursor.sql);
  if (!tag) {
    cursor.i++;
    return false;
  }
  cursor.i += tag[0].length;
  const end = cursor.sql.indexOf(tag[0], cursor.i);
  advanceTo(cursor, end === -1 ? cursor.sql.length : end + tag[0].length);
  return true;
}

interface Word {
  readonly text: string;
  readonly line: number;
  readonly index: number;
}

/** Collects statements from their words; BEGIN ATOMIC … END bodies stay one statement. */
class StatementCollector {
  readonly statements: ScannedStatement[] = [];
  words: Word[] = [];
  private atomic: { line: number; start: number } | undefined;

  private push(from: readonly Word[], end: number): void {
    this.statements.push({ first: from[0]!.text, second: from[1]?.text, third: from[2]?.text, words: from.map((w) => w.text), line: from[0]!.line, start: from[0]!.index, end });
  }

  /** `end`: the index of the semicolon that ends the statement, or the end of the text. */
  endStatement(end: number): void {
    const { words } = this;
    const first = words[0]?.text;
    if (this.atomic) {
      // The body of BEGIN ATOMIC … END is part of its CREATE FUNCTION: one statement.
      if (first === 'END' && words.length === 1) {
        this.statements.push({ first: 'CREATE', second: undefined, words: ['CREATE'], line: this.atomic.line, start: this.atomic.start, end });
        this.atomic = undefined;
      }
    } else if (words.some((w, k) => w.text === 'BEGIN' && words[k + 1]?.text === 'ATOMIC')) {
      if (words[words.length - 1]!.text === 'END' && words[words.length - 2]?.text === 'ATOMIC') this.push(words, end); // an empty body
      else this.atomic = { line: words[0]!.line, start: words[0]!.index };
    } else if (first !== undefined) {
      this.push(words, end);
    }
    this.words = [];
  }

  finish(end: number): ScannedStatement[] {
    this.endStatement(end);
    if (this.atomic) this.statements.push({ first: 'CREATE', second: undefined, words: ['CREATE'], line: this.atomic.line, start: this.atomic.start, end });
    return this.statements;
  }
}

/**
 * The file's statements, in order: the n-th is the one PostgreSQL was running when it failed
 * after n CommandComplete messages, which locates errors that carry no position (a unique
 * violation, a division by zero). Semicolons inside parentheses (a rule's action list) do
 * not end a statement.
 */
export function scanStatements(sql: string): ScannedStatement[] {
  const collector = new StatementCollector();
  const cursor: Cursor = { sql, i: 0, line: 1 };
  let parens = 0;
  while (cursor.i < sql.length) {
    const c = sql[cursor.i]!;
    const next = sql[cursor.i + 1];
    const line = cursor.line;
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', cursor.i);
      cursor.i = end === -1 ? sql.length : end; // the newline is counted by the next turn
    } else if (c === '/' && next === '*') {
      skipBlockComment(cursor);
    } else if (c === "'" || c === '"') {
      const index = cursor.i;
      skipQuoted(cursor);
      collector.words.push({ text: c === '"' ? sql.slice(index, cursor.i) : '', line, index });
    } else if (c === '$' && !IDENT_CHAR.test(sql[cursor.i - 1] ?? '')) {
      const index = cursor.i;
      if (skipDollarQuoted(cursor)) collector.words.push({ text: '', line, index });
    } else if (c === ';' && parens === 0) {
      collector.endStatement(cursor.i);
      cursor.i++;
    } else if (IDENT_START.test(c)) {
      const start = cursor.i;
      while (cursor.i < sql.length && IDENT_CHAR.test(sql[cursor.i]!)) cursor.i++;
      collector.words.push({ text: sql.slice(start, cursor.i).toUpperCase(), line, index: start });
    } else {
      if (c === '(') parens++;
      else if (c === ')') parens = Math.max(0, parens - 1);
      if (!/\s/.test(c)) collector.words.push({ text: c, line, index: cursor.i });
      advanceTo(cursor, cursor.i + 1);
    }
  }
  return collector.finish(sql.length);
}
