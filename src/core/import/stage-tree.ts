import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Connection } from '../db/connection.js';
import { InterruptedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { runQuery } from '../db/query.js';
import { CopyWriter } from './copy-writer.js';
import { stageEntity, type KnownSource, type Problem } from './entity-stager.js';
import { copyIntoStagingSql, createStagingTableSql } from './import-sql.js';
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
  stagedEntities: number;
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
  readonly stagedRows: number;
}

/** How often the progress line is refreshed. */
const PROGRESS_INTERVAL_MS = 250;
/** Longest stretch of synchronous file reading before the event loop gets a turn. */
const YIELD_INTERVAL_MS = 50;

function emptyTally(): KindTally {
  return { files: 0, entries: 0, merged: 0, stagedEntities: 0, rows: 0, platformRows: 0, unchangedEntities: 0, unchangedRows: 0, unchangedPlatformRows: 0 };
}

/**
 * Streams every entity of the tree into the staging tables with COPY, validating as it goes.
 * `onWriter` learns of each COPY in flight, so a failure elsewhere can abort it.
 */
export async function stageTree(connection: Connection, logger: Logger, options: StageOptions, onWriter: (writer: CopyWriter) => void): Promise<StagedTree> {
  const problems: Problem[] = [];
  const tallies: Record<TreeKind, KindTally> = { provider: emptyTally(), module: emptyTally(), keys: emptyTally() };
  const progress = progressReporter(logger, tallies);
  for (const kind of options.kinds) {
    await runQuery(connection, logger, createStagingTableSql(kind));
    logger.debug(copyIntoStagingSql(kind));
    const writer = await CopyWriter.open(connection.client, copyIntoStagingSql(kind));
    onWriter(writer);
    const tally = tallies[kind];
    let lastYield = Date.now();
    for (const entry of walkRegistryTree(options.root, kind)) {
      // Files are walked and read synchronously (several times faster for tens of thousands
      // of small files): let signals, the spinner and the socket have a turn now and then.
      if (Date.now() - lastYield >= YIELD_INTERVAL_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
      if (options.signal?.aborted) throw new InterruptedError('import');
      if ('misplaced' in entry) {
        problems.push({ file: entry.misplaced.relativePath, problem: entry.misplaced.problem });
        continue;
      }
      const staged = stageEntity(entry.entity, options.limits, options.known);
      tally.files += entry.entity.files.length;
      tally.entries += staged.entries;
      tally.merged += staged.merged;
      problems.push(...staged.invalid, ...staged.tooLong);
      if (staged.unchanged) {
        tally.unchangedEntities++;
        tally.unchangedRows += staged.unchanged.versionRows;
        tally.unchangedPlatformRows += staged.unchanged.platformRows;
      } else if (staged.lines !== '' && (problems.length === 0 || options.skipInvalid)) {
        // Once a problem stops the import, rows need not travel any more: only validation goes on.
        if (staged.invalid.length === 0) tally.stagedEntities++;
        tally.rows += staged.rows;
        tally.platformRows += staged.platformRows;
        await writer.write(staged.lines);
      }
      progress(false);
    }
    await writer.finish();
  }
  progress(true);
  // Providers and modules have a row of their own besides their versions; a key namespace has none.
  const stagedRows = (Object.entries(tallies) as [TreeKind, KindTally][]).reduce((sum, [kind, t]) => sum + (kind === 'keys' ? 0 : t.stagedEntities) + t.rows + t.platformRows, 0);
  return { problems, tallies, stagedRows };
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
    logger.step(`Reading: ${files.toLocaleString('en-US')} files, ${rows.toLocaleString('en-US')} rows (${rate.toLocaleString('en-US')} rows/s)`);
  };
}
