import type { QueryResult } from 'pg';
import { readEnvFile } from '../config/env-file.js';
import type { Settings } from '../config/settings.js';
import { VARIABLES } from '../config/variables.js';
import { connectAsAdmin } from '../db/admin-connection.js';
import { describeSettingSources } from '../config/describe-settings.js';
import { runBatch } from '../db/batch.js';
import { disconnect, type Connection } from '../db/connection.js';
import { loggerOf, type CoreContext } from '../db/context.js';
import { RegistryDbError } from '../errors.js';
import { compareMigrations, readAppliedMigrations } from '../migrations/bookkeeping.js';
import { bundledMigrationsDir, loadMigrationFiles } from '../migrations/files.js';
import { MINIMUM_SERVER_VERSION_NUM } from './session.js';
import { statusCatalogSql, type RoleRow, type ServerRow, type TableRow } from './status-catalog.js';
import { roleProblems, statusProblems } from './status-problems.js';
import type { StatusResult } from './status-result.js';

export type { StatusProblem, StatusResult } from './status-result.js';

/**
 * `status`: "is this installation healthy?" on one screen and in one JSON document, from one
 * admin connection to the registry database: the server, the database, the migrations, the
 * application role and its privileges, and the env file with what it points at. It reads
 * only; test-connection is the one that logs in as the application role.
 */
export interface StatusOptions {
  /** The migrations to compare with (default: the bundled sql/). */
  readonly migrationsDir?: string;
}

const ENV_FILE_KEYS: Readonly<Record<string, string>> = {
  host: VARIABLES.host,
  port: VARIABLES.port,
  database: VARIABLES.database,
  user: VARIABLES.user,
  sslMode: VARIABLES.sslMode,
};

function describeEnvFile(settings: Settings): StatusResult['envFile'] {
  const values = readEnvFile(settings.envFile);
  if (values === undefined) return { path: settings.envFile, exists: false, overridden: [] };
  const effective: Readonly<Record<string, string>> = { host: settings.host, port: String(settings.port), database: settings.database, user: settings.user, sslMode: settings.sslMode };
  const points = Object.fromEntries(Object.entries(ENV_FILE_KEYS).filter(([, variable]) => values[variable] !== undefined).map(([key, variable]) => [key, values[variable]!]));
  const overridden = Object.entries(ENV_FILE_KEYS).filter(([key, variable]) => values[variable] !== undefined && values[variable] !== effective[key]).map(([, variable]) => variable);
  return { path: settings.envFile, exists: true, points, passwordSet: Boolean(values[VARIABLES.password]), overridden };
}

function describeRole(name: string, row: RoleRow | undefined, databaseExists: boolean): StatusResult['role'] {
  if (!row) return { name, exists: false };
  return {
    name,
    exists: true,
    login: row.login,
    superuser: row.superuser,
    connectionLimit: row.connection_limit,
    sessions: row.sessions,
    validUntil: row.valid_until,
    // Privileges are the registry database's: asked in the maintenance database, they would mean nothing.
    ...(databaseExists
      ? {
          privileges: {
            connect: row.connect,
            schemaUsage: row.schema_usage === true,
            schemaCreate: row.schema_create === true,
            tables: row.table_count,
            sequences: row.sequence_count,
            tablesMissing: row.tables_missing,
            sequencesMissing: row.sequences_missing,
          },
        }
      : {}),
  };
}

/** The registry database's connection, or undefined when it does not exist (then the maintenance database's). */
async function openRegistryDatabase(context: CoreContext): Promise<{ connection: Connection; exists: boolean }> {
  try {
    return { connection: await connectAsAdmin(context, context.settings.database), exists: true };
  } catch (error) {
    if (!(error instanceof RegistryDbError) || error.sqlState !== '3D000') throw error;
    return { connection: await connectAsAdmin(context), exists: false };
  }
}

export async function getStatus(context: CoreContext, options: StatusOptions = {}): Promise<StatusResult> {
  const { settings } = context;
  const logger = loggerOf(context);
  const migrationsDir = options.migrationsDir ?? bundledMigrationsDir();
  const files = await loadMigrationFiles(migrationsDir);
  const { connection, exists } = await openRegistryDatabase(context);
  try {
    const batch = await runBatch(connection, logger, statusCatalogSql(settings.user));
    if (!batch.ok) throw batch.error;
    const [serverResult, tablesResult, roleResult] = batch.results as [QueryResult<ServerRow>, QueryResult<TableRow>, QueryResult<RoleRow>];
    const facts = serverResult.rows[0]!;
    const applied = exists && facts.bookkept ? await readAppliedMigrations(connection, logger, { exists: true }) : [];
    const statuses = compareMigrations(files, applied);
    const named = (state: string) => statuses.filter((s) => s.state === state).map((s) => s.fileName);
    const rows = Object.fromEntries(tablesResult.rows.map((row) => [row.name, Number(row.rows_estimate)]));
    const result: Omit<StatusResult, 'ok' | 'exitCode' | 'problems' | 'warnings'> = {
      server: { host: connection.endpoint.host, port: connection.endpoint.port, version: facts.version, versionNum: facts.version_num, standby: facts.in_recovery, admin: facts.admin },
      settings: describeSettingSources(settings, 'admin'),
      ...(connection.attempts.length > 0 ? { hostsPassedOver: connection.attempts.map((a) => ({ ...a.endpoint, outcome: a.outcome })) } : {}),
      database: exists
        ? { name: settings.database, exists, owner: facts.owner, encoding: facts.encoding, connectionLimit: facts.connection_limit, sessions: facts.sessions, sizeBytes: Number(facts.size_bytes), rows }
        : { name: settings.database, exists },
      ...(exists
        ? { migrations: { dir: migrationsDir, total: files.length, applied: named('applied').length, pending: named('pending'), changed: named('changed'), unknown: named('missing') } }
        : {}),
      role: describeRole(settings.user, roleResult.rows[0], exists),
      envFile: describeEnvFile(settings),
    };
    const found = [...statusProblems(result, MINIMUM_SERVER_VERSION_NUM), ...roleProblems(result, roleResult.rows[0])];
    const problems = found.filter((p) => p.severity === 'problem').map(({ severity: _severity, ...problem }) => problem);
    const warnings = found.filter((p) => p.severity === 'warning').map((p) => p.message);
    const first = problems[0];
    return { ok: first === undefined, exitCode: first?.exitCode ?? 0, ...result, problems, warnings };
  } finally {
    await disconnect(connection);
  }
}

