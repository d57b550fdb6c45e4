import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Connection } from '../db/connection.js';
import { InterruptedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CopyWriter } from './copy-writer.js';
import { BufferPool, Chunk } from './chunk.js';
import { stageEntity, type KnownSource, type Problem, type StagedEntity } from './entity-stager.js';
import { KindWriter, type WrittenCounts } from './import-write.js';
import { walkRegistryTree, type TreeKind } from './registry-tree.js';
import type { ColumnLimits } from './row-mapper.js';

/** What the walk of one kind's folder found. */
export interface KindTally {
  /** Files read (left-out ones included). */
  files: number;
  /** Version entries (keys: key files) in the files read or recognised, before spellings merged. */
  entries: number;
  /** Entries that were another spelling of one already counted. */
  merged: number;
  /** Providers or modules (keys: namespaces) staged, and rows staged for them. */
  rows: number;
  platformRows: number;
  /** Providers or modules recognised as unchanged, and the rows they hold. */
  unchangedEntities: number;
  unchangedRows: number;
  unchangedPlatformRows: number;
}

export interface StageOptions {
  readonly root: string;
  readonly kinds: readonly TreeKind[];
  readonly limits: ColumnLimits;
  readonly known: ReadonlyMap<string, KnownSource>;
  readonly skipInvalid: boolean;
  readonly signal?: AbortSignal;
}

export interface StagedTree {
  readonly problems: readonly Problem[];
  readonly tallies: Readonly<Record<TreeKind, KindTally>>;
  /** Counts per table written (before the rows of unchanged providers and modules are added). */
  readonly written: WrittenCounts;
}

/** How often the progress line is refreshed. */
const PROGRESS_INTERVAL_MS = 250;
/** Longest stretch of synchronous file reading before the event loop gets a turn. */
const YIELD_INTERVAL_MS = 50;

function emptyTally(): KindTally {
  return { files: 0, entries: 0, merged: 0, rows: 0, platformRows: 0, unchangedEntities: 0, unchangedRows: 0, unchangedPlatformRows: 0 };
}

/** Adds what one entity contributed to its kind's tally and to the problems. */
function tallyEntity(tally: KindTally, problems: Problem[], files: number, staged: StagedEntity): void {
  tally.files += files;
  tally.entries += staged.entries;
  tally.merged += staged.merged;
  problems.push(...staged.invalid, ...staged.tooLong);
  if (staged.unchanged) {
    tally.unchangedEntities++;
    tally.unchangedRows += staged.unchanged.versionRows;
    tally.unchangedPlatformRows += staged.unchanged.platformRows;
  }
}

/**
 * Reads one kind's folder entity by entity and writes it a chunk at a time: while the server
 * copies and writes one chunk, the next one is read and parsed. Once a problem stops the
 * import (no --skip-invalid), nothing more is sent: only validation goes on, and the
 * transaction is rolled back.
 */
async function stageKind(connection: Connection, logger: Logger, kind: TreeKind, context: KindContext): Promise<WrittenCounts> {
  const { options, problems, tally, progress, onWriter } = context;
  const writer = new KindWriter(connection, logger, kind, onWriter);
  await writer.prepare();
  const chunk = new Chunk(new BufferPool());
  let inFlight: Promise<void> | undefined;
  let lastYield = Date.now();
  for (const entry of walkRegistryTree(options.root, kind)) {
    // Files are walked and read synchronously (several times faster for tens of thousands of
    // small files): let signals, the spinner and the socket have a turn now and then, after
    // every entity while a chunk is on its way.
    if (inFlight !== undefined || Date.now() - lastYield >= YIELD_INTERVAL_MS) {
      await yieldToEventLoop();
      lastYield = Date.now();
    }
    if (options.signal?.aborted) throw new InterruptedError('import');
    if ('misplaced' in entry) {
      problems.push({ file: entry.misplaced.relativePath, problem: entry.misplaced.problem });
      continue;
    }
    const staged = stageEntity(entry.entity, options.limits, options.known);
    tallyEntity(tally, problems, entry.entity.files.length, staged);
    if (staged.lines !== undefined && (problems.length === 0 || options.skipInvalid)) {
      tally.rows += staged.rows;
      tally.platformRows += staged.platformRows;
      chunk.add(staged.lines);
    }
    progress(false);
    const due = writer.due(chunk);
    if (due.length > 0) {
      await inFlight;
      const taken = chunk.take(due);
      inFlight = writer.write(taken, false).finally(() => taken.release());
      // Awaited before the next write or at the end; meanwhile a failure must not count as unhandled.
      inFlight.catch(() => undefined);
    }
  }
  await inFlight;
  if (problems.length === 0 || options.skipInvalid) await writer.write(chunk, true);
  chunk.release();
  return writer.written();
}

interface KindContext {
  readonly options: StageOptions;
  readonly problems: Problem[];
  readonly tally: KindTally;
  readonly progress: (force: boolean) => void;
  readonly onWriter: (writer: CopyWriter) => void;
}

/**
 * Streams every entity of the tree through the staging tables into the registry's tables,
 * validating as it goes. `onWriter` learns of each COPY in flight, so a failure elsewhere can abort it.
 */
export async function streamTree(connection: Connection, logger: Logger, options: StageOptions, onWriter: (writer: CopyWriter) => void): Promise<StagedTree> {
  const problems: Problem[] = [];
  const tallies: Record<TreeKind, KindTally> = { provider: emptyTally(), module: emptyTally(), keys: emptyTally() };
  const progress = progressReporter(logger, tallies);
  let written: WrittenCounts = {};
  for (const kind of options.kinds) {
    written = { ...written, ...(await stageKind(connection, logger, kind, { options, problems, tally: tallies[kind], progress, onWriter })) };
  }
  progress(true);
  return { problems, tallies, written };
}

/** Refreshes the progress line (files, rows, rate) at most every PROGRESS_INTERVAL_MS. */
function progressReporter(logger: Logger, tallies: Record<TreeKind, KindTally>): (force: boolean) => void {
  const started = Date.now();
  let last = 0;
  return (force) => {
    const now = Date.now();
    if (!force && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    const all = Object.values(tallies);
    const files = all.reduce((sum, t) => sum + t.files, 0);
    const rows = all.reduce((sum, t) => sum + t.rows + t.platformRows + t.unchangedRows + t.unchangedPlatformRows, 0);
    const rate = Math.round(rows / Math.max(0.001, (now - started) / 1000));
    logger.step(`Importing: ${files.toLocaleString('en-US')} files, ${rows.toLocaleString('en-US')} rows (${rate.toLocaleString('en-US')} rows/s)`);
  };
}
