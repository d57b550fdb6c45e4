import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { parseRegistryFile } from './registry-file.js';
import type { RegistryFileRef } from './registry-tree.js';
import { copyLine, mapFileToRows, widthProblem, type ColumnLimits } from './row-mapper.js';

/**
 * One file from disk to staging-table lines: read, parse, validate, map. Pure apart from
 * the read, so it runs the same on the main thread and in a parse worker.
 */

/** What one file contributes to the staging table. */
export interface StagedFile {
  readonly relativePath: string;
  /** COPY text lines, one per row; empty when the file is invalid. */
  readonly lines: string;
  readonly rows: number;
  /** Version entries in the file. */
  readonly versions: number;
  /** Why the whole file cannot be imported (unreadable, not JSON, wrong shape). */
  readonly invalid?: string;
  /** Versions left out because a value is longer than its column. */
  readonly tooLong: readonly string[];
}

/**
 * @param fileSeq the file's position in the walk: where two files carry the same version
 *   with the same preference, the earlier file wins (within a file, versions are unique).
 */
export function stageFile(file: RegistryFileRef, limits: ColumnLimits, fileSeq: number): StagedFile {
  let text: string;
  try {
    text = readFileSync(file.absolutePath, 'utf8');
  } catch (error) {
    return { relativePath: file.relativePath, lines: '', rows: 0, versions: 0, invalid: `cannot be read: ${(error as Error).message}`, tooLong: [] };
  }
  // JSON is UTF-8; Node's decoder turns bytes that are not into U+FFFD, which would then be
  // stored as part of a version or name. Only a file that has one is decoded again, strictly.
  if (text.includes('\uFFFD') && !isUtf8(readFileSync(file.absolutePath))) {
    return { relativePath: file.relativePath, lines: '', rows: 0, versions: 0, invalid: 'is not valid UTF-8', tooLong: [] };
  }
  const parsed = parseRegistryFile(text, file.kind);
  if (!parsed.ok) return { relativePath: file.relativePath, lines: '', rows: 0, versions: 0, invalid: parsed.problem, tooLong: [] };
  const mapped = mapFileToRows(file, parsed.content);
  const tooLong: string[] = [];
  let lines = '';
  let rows = 0;
  for (const row of mapped.rows) {
    const problem = widthProblem(row, limits);
    if (problem) {
      tooLong.push(problem);
      continue;
    }
    lines += copyLine(row, fileSeq);
    rows++;
  }
  return { relativePath: file.relativePath, lines, rows, versions: mapped.versionCount, tooLong };
}
