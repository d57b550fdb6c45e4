import { quoteIdent } from './quote.js';

/**
 * Reads the head of a `CREATE INDEX CONCURRENTLY` or `REINDEX … CONCURRENTLY` statement: which
 * index and table it builds. Either may fail halfway and leave an INVALID index behind (the
 * new index, or REINDEX's `<name>_ccnew` copy), which a rerun has to find and drop first.
 */

/** A possibly schema-qualified name, as PostgreSQL folds it (unquoted names lower-cased). */
export interface QualifiedName {
  readonly schema?: string;
  readonly name: string;
}

export type ConcurrentIndexBuild =
  | { readonly kind: 'create'; readonly index: string | undefined; readonly table: QualifiedName }
  | { readonly kind: 'reindex'; readonly target: 'index' | 'table'; readonly name: QualifiedName };

interface Token {
  readonly text: string;
  /** An identifier as PostgreSQL folds it; undefined for punctuation. */
  readonly ident?: string;
  /** Upper-case text of an unquoted word, for keywords. */
  readonly keyword?: string;
}

/** Words, quoted identifiers and punctuation of a statement's head; comments and strings skipped. */
function tokens(sql: string, limit = 40): Token[] {
  const found: Token[] = [];
  let i = 0;
  while (i < sql.length && found.length < limit) {
    const rest = sql.slice(i);
    const space = /^(\s+|--[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const quoted = /^"((?:[^"]|"")*)"/.exec(rest);
    if (quoted) {
      found.push({ text: quoted[0], ident: quoted[1]!.replaceAll('""', '"') });
      i += quoted[0].length;
      continue;
    }
    const word = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(rest);
    if (word) {
      found.push({ text: word[0], ident: word[0].toLowerCase(), keyword: word[0].toUpperCase() });
      i += word[0].length;
      continue;
    }
    found.push({ text: rest[0]! });
    i += 1;
  }
  return found;
}

/** A name at `at` (one identifier, or two joined by a dot), and where the tokens after it start. */
function qualifiedName(list: readonly Token[], at: number): { name: QualifiedName; next: number } | undefined {
  const first = list[at]?.ident;
  if (first === undefined) return undefined;
  if (list[at + 1]?.text === '.' && list[at + 2]?.ident !== undefined) return { name: { schema: first, name: list[at + 2]!.ident! }, next: at + 3 };
  return { name: { name: first }, next: at + 1 };
}

/** The index build a statement starts, when it is one that runs CONCURRENTLY. */
export function concurrentIndexBuild(statement: string): ConcurrentIndexBuild | undefined {
  const list = tokens(statement);
  const keyword = (k: number): string | undefined => list[k]?.keyword;
  let k = 0;
  if (keyword(k) === 'CREATE') {
    k++;
    if (keyword(k) === 'UNIQUE') k++;
    if (keyword(k++) !== 'INDEX' || keyword(k++) !== 'CONCURRENTLY') return undefined;
    if (keyword(k) === 'IF' && keyword(k + 1) === 'NOT' && keyword(k + 2) === 'EXISTS') k += 3;
    let index: string | undefined;
    if (keyword(k) !== 'ON') index = list[k++]?.ident;
    if (keyword(k++) !== 'ON') return undefined;
    if (keyword(k) === 'ONLY') k++;
    const table = qualifiedName(list, k);
    return table ? { kind: 'create', index, table: table.name } : undefined;
  }
  if (keyword(k) === 'REINDEX') {
    k++;
    if (list[k]?.text === '(') while (k < list.length && list[k]!.text !== ')') k++;
    if (list[k]?.text === ')') k++;
    const target = keyword(k++);
    if ((target !== 'INDEX' && target !== 'TABLE') || keyword(k++) !== 'CONCURRENTLY') return undefined;
    const name = qualifiedName(list, k);
    return name ? { kind: 'reindex', target: target === 'INDEX' ? 'index' : 'table', name: name.name } : undefined;
  }
  return undefined;
}

/** The name as SQL text, quoted: for to_regclass() and DROP INDEX. */
export function qualifiedNameSql(name: QualifiedName): string {
  return name.schema === undefined ? quoteIdent(name.name) : `${quoteIdent(name.schema)}.${quoteIdent(name.name)}`;
}
