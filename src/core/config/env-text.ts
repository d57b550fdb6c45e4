import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/**
 * Editing the text of an env file (pure: no file system): every other line kept as it was,
 * values quoted so dotenv reads back exactly what was written.
 */

export interface EnvFileUpdateOptions {
  /** Comment lines put above keys that are added (not above keys that are changed in place). */
  readonly headerComment?: string;
  /** Also put the comment above the first key changed in place, unless the file already has it. */
  readonly commentChangedKeys?: boolean;
}

export interface EnvTextEdit {
  readonly content: string;
  readonly changedKeys: readonly string[];
  readonly addedKeys: readonly string[];
  readonly removedKeys: readonly string[];
}

const KEY_PATTERN = /^[\w.-]+$/;

/**
 * dotenv's own line pattern (lib/main.js, LINE), with match indices: edits touch exactly
 * the spans that dotenv reads, including values quoted across several lines.
 */
const DOTENV_ASSIGNMENT =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/dgm;

/**
 * Quotes a value so that dotenv's parser returns it unchanged. dotenv has no general
 * escape mechanism (only \n and \r inside double quotes), so the quote character is
 * chosen by what the value contains.
 */
export function quoteEnvValue(value: string): string {
  const trailingBackslash = value.endsWith('\\'); // would read as an escaped closing quote
  if (!/['\r\n]/.test(value) && !trailingBackslash) return `'${value}'`;
  if (!value.includes('"') && !/\\[nr]/.test(value) && !trailingBackslash) {
    return `"${value.replaceAll('\n', '\\n').replaceAll('\r', '\\r')}"`;
  }
  if (!/[`\r]/.test(value) && !trailingBackslash) return `\`${value}\``;
  throw new ConfigError(
    `The value ${describe(value)} cannot be written to an env file so that dotenv reads it back unchanged.`,
    'Avoid values that mix quote characters with line breaks or end in a backslash.',
  );
}

function commentLines(comment: string): string[] {
  return comment.split(/\r?\n/).map((line) => (line.trim() === '' ? '#' : `# ${line}`));
}

/** A value to set, or null to remove the key's assignment (its whole line). */
export type EnvValue = string | null;

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * The pure part: edits the text of an env file. Keys already holding the value are left alone;
 * a key set to null loses its line(s), nothing else.
 */
export function editEnvText(original: string, values: Readonly<Record<string, EnvValue>>, options: EnvFileUpdateOptions = {}): EnvTextEdit {
  for (const key of Object.keys(values)) {
    if (!KEY_PATTERN.test(key)) throw new ConfigError(`${describe(key)} is not a valid env file key.`);
  }
  const current = parseDotenv(original);
  const keys = Object.keys(values);
  const toChange = new Set(keys.filter((key) => values[key] !== null && key in current && current[key] !== values[key]));
  const toRemove = new Set(keys.filter((key) => values[key] === null && key in current));
  const toAdd = keys.filter((key) => values[key] !== null && !(key in current));
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const { edits, allExported } = editsInPlace(original, values, toChange, toRemove, options, eol);
  let content = original;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    content = content.slice(0, edit.start) + edit.text + content.slice(edit.end);
  }
  if (toAdd.length > 0) content = appendKeys(content, toAdd.map((key) => [key, values[key]!] as const), allExported ? 'export ' : '', options, eol);

  // Never write what dotenv would read differently: check the result before it is used.
  const expected: Record<string, string> = { ...current };
  for (const key of keys) {
    if (values[key] === null) delete expected[key];
    else expected[key] = values[key]!;
  }
  const readBack = parseDotenv(content);
  const mismatch = Object.keys({ ...expected, ...readBack }).find((key) => readBack[key] !== expected[key]);
  if (mismatch !== undefined) {
    throw new ConfigError(
      `Cannot update the env file: after the edit, dotenv would read ${mismatch} differently (the file may contain an unterminated quote).`,
      'Fix the quoting in the env file, or point --env-file at another file.',
      'ENV_FILE_UNPARSABLE',
    );
  }
  return { content, changedKeys: [...toChange], addedKeys: toAdd, removedKeys: [...toRemove] };
}

/** The edits to existing assignments: values replaced in place, removed keys' lines cut. */
function editsInPlace(
  original: string,
  values: Readonly<Record<string, EnvValue>>,
  toChange: ReadonlySet<string>,
  toRemove: ReadonlySet<string>,
  options: EnvFileUpdateOptions,
  eol: string,
): { edits: Edit[]; allExported: boolean } {
  const edits: Edit[] = [];
  let assignments = 0;
  let exported = 0;
  let commented = false;
  for (const match of original.matchAll(DOTENV_ASSIGNMENT)) {
    const [keyStart, keyEnd] = match.indices![1]!;
    assignments += 1;
    if (/export\s+$/.test(original.slice(match.index, keyStart))) exported += 1;
    const key = match[1]!;
    const lineStart = original.lastIndexOf('\n', keyStart - 1) + 1;
    if (toRemove.has(key)) {
      const matchEnd = match.index + match[0].length;
      const lineEnd = original.startsWith('\r\n', matchEnd) ? matchEnd + 2 : original.startsWith('\n', matchEnd) ? matchEnd + 1 : matchEnd;
      edits.push({ start: lineStart, end: lineEnd, text: '' });
      continue;
    }
    if (!toChange.has(key)) continue;
    const rawValue = match[2] ?? '';
    const valueStart = keyEnd + /^(?:\s*=|:\s)/.exec(original.slice(keyEnd))![0].length;
    // Replace the value itself; spacing, quotes' surroundings and an inline comment stay.
    const trimmed = rawValue.trim();
    const start = trimmed === '' ? valueStart : valueStart + (rawValue.length - rawValue.trimStart().length);
    const end = trimmed === '' ? valueStart : start + trimmed.length;
    edits.push({ start, end, text: quoteEnvValue(values[key]!) });
    if (options.headerComment && options.commentChangedKeys && !commented) {
      const comment = commentLines(options.headerComment);
      commented = true;
      if (!original.includes(comment[0]!)) edits.push({ start: lineStart, end: lineStart, text: comment.join(eol) + eol });
    }
  }
  return { edits, allExported: assignments > 0 && exported === assignments };
}

/** New keys go at the end, under the header comment, in the file's own style. */
function appendKeys(content: string, entries: readonly (readonly [string, string])[], prefix: string, options: EnvFileUpdateOptions, eol: string): string {
  const lines = [...(options.headerComment ? commentLines(options.headerComment) : []), ...entries.map(([key, value]) => `${prefix}${key}=${quoteEnvValue(value)}`)];
  if (content === '') return lines.join(eol) + eol;
  if (content.endsWith('\n')) {
    const endsWithBlankLine = /\n\s*\n$/.test(content) || /^\s*\n$/.test(content);
    return content + (options.headerComment && !endsWithBlankLine ? eol : '') + lines.join(eol) + eol;
  }
  // The file had no final newline: keep it that way.
  return content + eol + (options.headerComment ? eol : '') + lines.join(eol);
}
