import { ConfigError } from '../errors.js';

/** Identifier and literal quoting: the only way a name or a value gets into SQL text. */

/** Quotes an identifier the way PostgreSQL's quote_ident does (always, not only when needed). */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new ConfigError('Identifiers cannot contain NUL bytes.');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a string literal. Standard-conforming strings are on since PostgreSQL 9.1,
 * so doubling single quotes is enough; a backslash makes us use the E'' form to stay
 * correct even if a server has them off.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new ConfigError('Literals cannot contain NUL bytes.');
  const doubled = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${doubled.replaceAll('\\', '\\\\')}'` : `'${doubled}'`;
}
