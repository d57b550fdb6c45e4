import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../support/fixtures.js';

/**
 * The layout the README's "Code layout" describes, checked on every run: src/core/ keeps a
 * handful of files at its top and one folder per domain; imports between the folders point
 * one way (each folder may use only the folders listed before it); no two files import each
 * other, even through others; no file over 350 lines, no function over 80.
 */
const SRC = path.join(REPO_ROOT, 'src');
const CORE = path.join(SRC, 'core');

/** The core's folders, lowest first: a file may import from its own folder and from folders listed before it. */
const LAYERS: readonly (readonly string[])[] = [
  ['.'], // errors.ts, logger.ts, redact.ts
  ['runtime'],
  ['config'],
  ['sql'],
  ['db'],
  ['migrations'],
  ['checks'],
  ['provision', 'import'],
  ['dev'],
];
const TOP_LEVEL_FILES = ['errors.ts', 'index.ts', 'logger.ts', 'redact.ts'];
const MAX_FILE_LINES = 350;
const MAX_FUNCTION_LINES = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
}

const files = sourceFiles(SRC);
const parsed = new Map(files.map((file) => [file, ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)]));

/** Relative imports of a file (static, type-only included, and dynamic import()), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let specifier: string | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifier = node.moduleSpecifier.text;
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0]!)) {
      specifier = (node.arguments[0] as ts.StringLiteral).text;
    }
    if (specifier?.startsWith('.')) found.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
    ts.forEachChild(node, visit);
  };
  visit(parsed.get(file)!);
  return found;
}

/** The core folder a file belongs to ('.' for the files at the top). */
function folderOf(file: string): string {
  const parts = path.relative(CORE, file).split(path.sep);
  return parts.length > 1 ? parts[0]! : '.';
}

function layerOf(file: string): number {
  const folder = folderOf(file);
  const layer = LAYERS.findIndex((folders) => folders.includes(folder));
  if (layer === -1) throw new Error(`${path.relative(REPO_ROOT, file)}: folder "${folder}" is not in the layout's LAYERS`);
  return layer;
}

/** Every core file but the library's entry point, which exports from all of them. */
const coreFiles = files.filter((file) => file.startsWith(CORE + path.sep) && file !== path.join(CORE, 'index.ts'));

describe('layout of src/', () => {
  test('src/core/ holds only the library entry, the error model, the logger and redaction at its top', () => {
    const top = readdirSync(CORE, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
    expect(top).toEqual(TOP_LEVEL_FILES);
  });

  test('imports between the core folders point one way (no folder imports one listed after it, or beside it)', () => {
    const wrong: string[] = [];
    for (const file of coreFiles) {
      for (const target of importsOf(file)) {
        if (!target.startsWith(CORE + path.sep)) {
          wrong.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)} (outside the core)`);
          continue;
        }
        if (folderOf(target) === folderOf(file)) continue; // within a folder: only circles are wrong (below)
        if (layerOf(target) >= layerOf(file)) wrong.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('no circle of imports between files', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file).filter((t) => parsed.has(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const walk = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file)!) walk(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) walk(file, []);
    expect(cycles).toEqual([]);
  });

  test('the core never imports the CLI\'s libraries (commander, chalk, ora, inquirer)', () => {
    const cliOnly = /^(commander|chalk|ora|@inquirer\/)/;
    const wrong = files
      .filter((file) => file.startsWith(CORE + path.sep))
      .filter((file) => parsed.get(file)!.statements.some((s) => ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && cliOnly.test(s.moduleSpecifier.text) && !s.importClause?.isTypeOnly));
    expect(wrong.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  test(`no source file over ${MAX_FILE_LINES} lines`, () => {
    const long = files.map((file) => [path.relative(SRC, file), readFileSync(file, 'utf8').split('\n').length] as const).filter(([, lines]) => lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  test(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    for (const [file, source] of parsed) {
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          const name = (node as { name?: ts.Node }).name?.getText() ?? '(anonymous)';
          if (end - start + 1 > MAX_FUNCTION_LINES) long.push(`${path.relative(SRC, file)}:${start + 1} ${name} (${end - start + 1} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});
