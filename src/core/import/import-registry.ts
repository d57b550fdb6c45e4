import { stat } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import path from 'node:path';
import { connect, disconnect, type Connection } from '../db/connection.js';
import { loggerOf, type CoreContext } from '../db/context.js';
import { ConfigError, InterruptedError, RegistryDbError } from '../errors.js';
import { describe, refuseSystemDatabase } from '../config/names.js';
import { settingsForRole } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { CopyWriter } from './copy-writer.js';
import {
  analyzeStagingSql,
  columnLimitsSql,
  copyIntoStagingSql,
  createStagingTableSql,
  insertIntoEmptySql,
  lockAgainstWritersSql,
  stagingTempBuffersSql,
  TABLES,
  tableIsEmptySql,
  upsertSql,
} from './import-sql.js';
import type { RegistryKind } from './registry-file.js';
import { KIND_FOLDERS, walkRegistryTree } from './registry-tree.js';
import type { ColumnLimits } from './row-mapper.js';
import { stageFile } from './file-stager.js';
import { runQuery } from '../db/query.js';
import { adminPasswordProvider, writeTarget } from '../db/admin-connection.js';
import { assertPrimary } from '../db/primary.js';

export interface ImportOptions {
  /** A checkout of the registry repository: the folder holding `providers/` and `modules/`. */
  readonly path: string;
  /** Import the valid files and list the others, instead of stopping before anything is written. */
  readonly skipInvalid?: boolean;
  /** Connect as the admin role instead of the application role. */
  readonly admin?: boolean;
}

/** A file (or one version of it) left out, and why. */
export interface SkippedFile {
  /** Relative to the imported folder, e.g. `modules/a/Azure/alz/azurerm.json`. */
  readonly file: string;
  readonly problem: string;
}

export interface RowCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
}

export interface KindCounts extends RowCounts {
  /** Metadata files read (skipped ones included). */
  readonly files: number;
  /** Version entries in those files, before spellings and mixed-case duplicates merged. */
  readonly versions: number;
}

export interface ImportResult {
  readonly database: string;
  readonly path: string;
  /** The role the rows were written as. */
  readonly user: string;
  readonly files: number;
  readonly skipped: readonly SkippedFile[];
  readonly rows: RowCounts;
  readonly providers: KindCounts;
  readonly modules: KindCounts;
  readonly durationMs: number;
}

interface StagingTally {
  files: number;
  versions: number;
  rows: number;
}

const KINDS: readonly RegistryKind[] = ['provider', 'module'];
/** How often the progress line is refreshed. */
const PROGRESS_INTERVAL_MS = 250;
/** work_mem for the upsert: the real registry's staged rows sort in memory. */
const UPSERT_WORK_MEM = '64MB';
/**
 * temp_buffers for the staging tables (tens of MB for the real registry): held in the
 * session's memory instead of written out to temporary files and read back by the upsert.
 * Only possible before the session's first use of a temporary table; an upper bound, not an allocation.
 */
const STAGING_TEMP_BUFFERS = '256MB';
/** Longest stretch of synchronous file reading before the event loop gets a turn. */
const YIELD_INTERVAL_MS = 50;
/** How many problems an error message lists; --json carries them all. */
const PROBLEMS_IN_MESSAGE = 10;

/** Which of `providers/` and `modules/` the folder has; neither is a usage error. */
async function kindsPresent(root: string): Promise<RegistryKind[]> {
  const rootStats = await stat(root).catch(() => undefined);
  if (!rootStats?.isDirectory()) {
    throw new ConfigError(`${describe(root)} is not a folder.`, 'Give the path of a checkout of the registry repository (the folder holding providers/ and modules/).', 'IMPORT_PATH_INVALID');
  }
  const present: RegistryKind[] = [];
  for (const kind of KINDS) {
    if ((await stat(path.join(root, KIND_FOLDERS[kind])).catch(() => undefined))?.isDirectory()) present.push(kind);
  }
  if (present.length === 0) {
    throw new ConfigError(
      `${describe(root)} has neither a providers/ nor a modules/ folder.`,
      'Clone the registry (git clone --depth 1 https://github.com/opentofu/registry) and give the path of the checkout.',
      'IMPORT_PATH_INVALID',
    );
  }
  return present;
}

async function readColumnLimits(connection: Connection, logger: Logger): Promise<Record<RegistryKind, ColumnLimits>> {
  const { rows } = await runQuery<{ table_name: string; column_name: keyof ColumnLimits; character_maximum_length: number | null }>(
    connection,
    logger,
    columnLimitsSql(),
  );
  const limits: Record<RegistryKind, Record<string, number | undefined>> = { provider: {}, module: {} };
  for (const row of rows) {
    const kind = row.table_name === TABLES.provider.table ? 'provider' : 'module';
    limits[kind][row.column_name] = row.character_maximum_length ?? undefined;
  }
  return limits;
}

function invalidFilesError(problems: readonly SkippedFile[]): RegistryDbError {
  const listed = problems.slice(0, PROBLEMS_IN_MESSAGE).map((p) => `\n  ${p.file}: ${p.problem}`).join('');
  const more = problems.length > PROBLEMS_IN_MESSAGE ? `\n  … and ${problems.length - PROBLEMS_IN_MESSAGE} more` : '';
  return new RegistryDbError(
    'usage',
    'IMPORT_INVALID_FILES',
    `${problems.length} problem(s) in the registry files, so nothing was written:${listed}${more}`,
    { hint: 'Fix or remove the files, or run again with --skip-invalid to import the rest.', data: { problems } },
  );
}

/**
 * `import <path>`: every version in the tree becomes one row of `providers` or `modules`.
 * Files are read one at a time and streamed with COPY into temporary staging tables;
 * only when every file has been validated does one upsert per table move the rows, all
 * in one transaction, so a failed or interrupted import writes nothing.
 */
export async function importRegistry(context: CoreContext, options: ImportOptions): Promise<ImportResult> {
  refuseSystemDatabase(context.settings.database, context.settings.origins.database);
  const started = Date.now();
  const logger = loggerOf(context);
  const root = path.resolve(options.path);
  const kinds = await kindsPresent(root);
  const role = options.admin ? 'admin' : 'app';
  // The admin's own server settings (TOFU_REGISTRY_DB_ADMIN_URL) where it has them.
  const settings = settingsForRole(context.settings, role);
  const connection = await connect(settings, {
    role,
    database: settings.database,
    passwordProvider: options.admin ? adminPasswordProvider(context, settings.database) : undefined,
    target: writeTarget(settings),
  });
  const run = (sql: string) => runQuery(connection, logger, sql);
  let copy: CopyWriter | undefined;
  try {
    await assertPrimary(connection, logger);
    const limits = await readColumnLimits(connection, logger);
    await run('BEGIN');
    // No statement_timeout while staging: the COPY lasts as long as reading the tree does.
    await run(`SET LOCAL lock_timeout = ${settings.lockTimeoutMs}`);
    await run(stagingTempBuffersSql(STAGING_TEMP_BUFFERS));

    const staging = await stageTree(connection, logger, { root, kinds, limits, skipInvalid: Boolean(options.skipInvalid), signal: context.signal }, (writer) => (copy = writer));
    const { problems, tallies } = staging;
    copy = undefined;
    if (problems.length > 0 && !options.skipInvalid) throw invalidFilesError(problems);

    logger.step(`Writing ${tallies.provider.rows + tallies.module.rows} staged rows into providers and modules`);
    await run(`SET LOCAL statement_timeout = ${settings.statementTimeoutMs}`);
    // Room to sort and hold the staged rows in memory rather than in temporary files;
    // transaction-local, and a bound per sort, not an allocation.
    await run(`SET LOCAL work_mem = '${UPSERT_WORK_MEM}'`);
    const counts: Record<RegistryKind, RowCounts> = { provider: { inserted: 0, updated: 0, unchanged: 0 }, module: { inserted: 0, updated: 0, unchanged: 0 } };
    for (const kind of kinds) {
      await run(analyzeStagingSql(kind));
      counts[kind] = await writeStagedRows(connection, logger, kind);
    }
    await run('COMMIT');

    const kindCounts = (kind: RegistryKind): KindCounts => ({ files: tallies[kind].files, versions: tallies[kind].versions, ...counts[kind] });
    const providers = kindCounts('provider');
    const modules = kindCounts('module');
    return {
      database: connection.database,
      path: root,
      user: connection.user,
      files: providers.files + modules.files,
      skipped: problems,
      rows: {
        inserted: providers.inserted + modules.inserted,
        updated: providers.updated + modules.updated,
        unchanged: providers.unchanged + modules.unchanged,
      },
      providers,
      modules,
      durationMs: Date.now() - started,
    };
  } catch (error) {
    copy?.abort(error instanceof Error ? error : new Error(String(error)));
    await connection.client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof RegistryDbError) throw error;
    if ((error as NodeJS.ErrnoException).syscall !== undefined && (error as NodeJS.ErrnoException).path !== undefined) {
      const fsError = error as NodeJS.ErrnoException;
      throw new ConfigError(`Cannot read ${describe(fsError.path!)}: ${fsError.message}.`, undefined, 'IMPORT_PATH_INVALID');
    }
    throw toRegistryDbError(error, { host: connection.endpoint.host, port: connection.endpoint.port, user: connection.user, database: connection.database, action: 'import' });
  } finally {
    await disconnect(connection);
  }
}

interface StageOptions {
  readonly root: string;
  readonly kinds: readonly RegistryKind[];
  readonly limits: Awaited<ReturnType<typeof readColumnLimits>>;
  readonly skipInvalid: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Streams every file of the tree into the staging tables with COPY, validating as it goes.
 * `onWriter` learns of each COPY in flight, so a failure elsewhere can abort it.
 */
async function stageTree(
  connection: Connection,
  logger: Logger,
  options: StageOptions,
  onWriter: (writer: CopyWriter) => void,
): Promise<{ problems: SkippedFile[]; tallies: Record<RegistryKind, StagingTally> }> {
  const { root, kinds, limits } = options;
  const run = (sql: string) => runQuery(connection, logger, sql);
  const problems: SkippedFile[] = [];
  const tallies: Record<RegistryKind, StagingTally> = { provider: { files: 0, versions: 0, rows: 0 }, module: { files: 0, versions: 0, rows: 0 } };
  const progress = progressReporter(logger, tallies);
  let fileSeq = 0;
  for (const kind of kinds) {
    await run(createStagingTableSql(kind));
    logger.debug(copyIntoStagingSql(kind));
    const writer = await CopyWriter.open(connection.client, copyIntoStagingSql(kind));
    onWriter(writer);
    const tally = tallies[kind];
    let lastYield = Date.now();
    for (const entry of walkRegistryTree(root, kind)) {
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
      tally.files++;
      const staged = stageFile(entry.file, limits[kind], ++fileSeq);
      tally.versions += staged.versions;
      if (staged.invalid !== undefined) problems.push({ file: staged.relativePath, problem: staged.invalid });
      for (const problem of staged.tooLong) problems.push({ file: staged.relativePath, problem });
      // Once a problem stops the import, rows need not travel any more: only validation goes on.
      if (problems.length === 0 || options.skipInvalid) {
        tally.rows += staged.rows;
        await writer.write(staged.lines);
      }
      progress(false);
    }
    await writer.finish();
  }
  progress(true);
  return { problems, tallies };
}

async function tableIsEmpty(connection: Connection, logger: Logger, kind: RegistryKind): Promise<boolean> {
  return (await runQuery<{ empty: boolean }>(connection, logger, tableIsEmptySql(kind))).rows[0]!.empty;
}

/**
 * Moves one kind's staged rows into its table and counts them exactly. The first import
 * into an empty table is a plain INSERT: the upsert's conflict checks cost about a third
 * more. Emptiness is confirmed under a lock that keeps other writers out until commit
 * (readers go on), so a concurrent import either waits and then upserts against these rows,
 * or has committed first and this one upserts.
 */
async function writeStagedRows(connection: Connection, logger: Logger, kind: RegistryKind): Promise<RowCounts> {
  if (await tableIsEmpty(connection, logger, kind)) {
    await runQuery(connection, logger, lockAgainstWritersSql(kind));
    if (await tableIsEmpty(connection, logger, kind)) {
      const { rowCount } = await runQuery(connection, logger, insertIntoEmptySql(kind));
      return { inserted: rowCount ?? 0, updated: 0, unchanged: 0 };
    }
  }
  const { rows } = await runQuery<{ staged: string; inserted: string; updated: string }>(connection, logger, upsertSql(kind));
  const staged = Number(rows[0]!.staged);
  const inserted = Number(rows[0]!.inserted);
  const updated = Number(rows[0]!.updated);
  return { inserted, updated, unchanged: staged - inserted - updated };
}

/** Refreshes the progress line (files, rows, rate) at most every PROGRESS_INTERVAL_MS. */
function progressReporter(logger: Logger, tallies: Record<RegistryKind, StagingTally>): (force: boolean) => void {
  const started = Date.now();
  let last = 0;
  return (force) => {
    const now = Date.now();
    if (!force && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    const files = tallies.provider.files + tallies.module.files;
    const rows = tallies.provider.rows + tallies.module.rows;
    const rate = Math.round(rows / Math.max(0.001, (now - started) / 1000));
    logger.step(`Reading: ${files.toLocaleString('en-US')} files, ${rows.toLocaleString('en-US')} rows (${rate.toLocaleString('en-US')} rows/s)`);
  };
}
