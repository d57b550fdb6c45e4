import { stat } from 'node:fs/promises';
import path from 'node:path';
import { connect, disconnect, type Connection } from '../db/connection.js';
import { loggerOf, type CoreContext } from '../db/context.js';
import { ConfigError, RegistryDbError } from '../errors.js';
import { describe, refuseSystemDatabase } from '../config/names.js';
import { settingsForRole } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import type { CopyWriter } from './copy-writer.js';
import { columnLimitsSql, importLockSql, knownSourcesSql, markImportSql, stagingTempBuffersSql } from './import-sql.js';
import { KIND_FOLDERS, type TreeKind } from './registry-tree.js';
import type { ColumnLimits } from './row-mapper.js';
import type { KnownSource, Problem } from './entity-stager.js';
import { runQuery } from '../db/query.js';
import { adminPasswordProvider, writeTarget } from '../db/admin-connection.js';
import { assertPrimary } from '../db/primary.js';
import { streamTree } from './stream-tree.js';
import { importResult, type ImportResult } from './import-result.js';

export type { ImportResult, KindCounts, KeyCounts } from './import-result.js';
export type { TableCounts as RowCounts } from './import-write.js';

export interface ImportOptions {
  /** A checkout of the registry repository: the folder holding `providers/`, `modules/` and `keys/`. */
  readonly path: string;
  /** Import the valid files and list the others, instead of stopping before anything is written. */
  readonly skipInvalid?: boolean;
  /** Connect as the admin role instead of the application role. */
  readonly admin?: boolean;
}

/** A file (or one version of it) left out, and why. */
export type SkippedFile = Problem;

const KINDS: readonly TreeKind[] = ['provider', 'module', 'keys'];
/** work_mem for the writes: the real registry's staged rows sort and hash in memory. */
const WRITE_WORK_MEM = '64MB';
/**
 * temp_buffers for the staging tables (a chunk, or all the keys): held in the session's memory
 * instead of written out to temporary files and read back by the writes. Only possible before
 * the session's first use of a temporary table; an upper bound, not an allocation.
 */
const STAGING_TEMP_BUFFERS = '256MB';
/** How many problems an error message lists; --json carries them all. */
const PROBLEMS_IN_MESSAGE = 10;

/** Which of `providers/`, `modules/` and `keys/` the folder has; none is a usage error. */
async function kindsPresent(root: string): Promise<TreeKind[]> {
  const rootStats = await stat(root).catch(() => undefined);
  if (!rootStats?.isDirectory()) {
    throw new ConfigError(`${describe(root)} is not a folder.`, 'Give the path of a checkout of the registry repository (the folder holding providers/ and modules/).', 'IMPORT_PATH_INVALID');
  }
  const present: TreeKind[] = [];
  for (const kind of KINDS) {
    if ((await stat(path.join(root, KIND_FOLDERS[kind])).catch(() => undefined))?.isDirectory()) present.push(kind);
  }
  if (present.length === 0) {
    throw new ConfigError(
      `${describe(root)} has neither a providers/ nor a modules/ nor a keys/ folder.`,
      'Clone the registry (git clone --depth 1 https://github.com/opentofu/registry) and give the path of the checkout.',
      'IMPORT_PATH_INVALID',
    );
  }
  return present;
}

/** The narrowest declared length of each kind of value, over the tables it goes into. */
async function readColumnLimits(connection: Connection, logger: Logger): Promise<ColumnLimits> {
  const { rows } = await runQuery<{ table_name: string; column_name: string; character_maximum_length: number }>(connection, logger, columnLimitsSql());
  const field: Record<string, keyof ColumnLimits> = {
    namespace: 'namespace', name: 'name', system: 'system', provider: 'system', version: 'version', tag: 'tag', os: 'os', arch: 'arch', file_name: 'fileName',
  };
  const limits: Partial<Record<keyof ColumnLimits, number>> = {};
  for (const row of rows) {
    // signing_keys.provider holds a provider's name, modules.provider a target system.
    const key = row.table_name === 'signing_keys' && row.column_name === 'provider' ? 'name' : field[row.column_name];
    if (key !== undefined) limits[key] = Math.min(limits[key] ?? Infinity, row.character_maximum_length);
  }
  return limits;
}

async function readKnownSources(connection: Connection, logger: Logger): Promise<Map<string, KnownSource>> {
  const { rows } = await runQuery<{ kind: string; key: string; sha256: string; entries: number; merged: number; version_rows: number; platform_rows: number }>(connection, logger, knownSourcesSql());
  return new Map(rows.map((r) => [`${r.kind}:${r.key}`, { sha256: r.sha256, entries: r.entries, merged: r.merged, versionRows: r.version_rows, platformRows: r.platform_rows }]));
}

function invalidFilesError(problems: readonly Problem[]): RegistryDbError {
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
 * Waits for an import already writing to this database to commit: as long as a statement
 * may take (an import of the whole registry takes a minute), not just the lock timeout,
 * which then applies to everything else.
 */
async function takeImportLock(connection: Connection, logger: Logger, lockTimeoutMs: number, waitMs: number): Promise<void> {
  await runQuery(connection, logger, `SET LOCAL lock_timeout = ${waitMs}`);
  await runQuery(connection, logger, importLockSql());
  await runQuery(connection, logger, `SET LOCAL lock_timeout = ${lockTimeoutMs}`);
}

/**
 * `import <path>`: every provider, module and signing key of the tree becomes rows of the
 * registry's tables. Files are read one entity at a time and their rows streamed with COPY, a
 * chunk at a time while the next is read (straight into empty tables, else through staging
 * tables and only what differs); a provider or module whose files hash to what the last import
 * recorded is recognised without being parsed or rewritten. All in one transaction, committed
 * only once every file has been validated: a failed, refused or interrupted import leaves the
 * tables as they were.
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
    await run(markImportSql());
    await run(stagingTempBuffersSql(STAGING_TEMP_BUFFERS));
    // Imports of one database one after the other, each reading what the one before committed.
    await takeImportLock(connection, logger, settings.lockTimeoutMs, settings.statementTimeoutMs);
    // Each statement is bounded, a chunk's COPY too: its rows are read before it starts.
    await run(`SET LOCAL statement_timeout = ${settings.statementTimeoutMs}`);
    // Room to sort and hash the staged rows in memory rather than in temporary files:
    // transaction-local, and a bound per operation, not an allocation.
    await run(`SET LOCAL work_mem = '${WRITE_WORK_MEM}'`);
    const known = await readKnownSources(connection, logger);

    const staged = await streamTree(connection, logger, { root, kinds, limits, known, skipInvalid: Boolean(options.skipInvalid), signal: context.signal }, (writer) => (copy = writer));
    copy = undefined;
    const problems = [...staged.problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    if (problems.length > 0 && !options.skipInvalid) throw invalidFilesError(problems);
    await run('COMMIT');
    return importResult({ database: connection.database, path: root, user: connection.user, problems, tallies: staged.tallies, written: staged.written, durationMs: Date.now() - started });
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
