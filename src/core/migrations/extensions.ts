import { runBatch } from '../db/batch.js';
import type { Connection } from '../db/connection.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { rollbackQuietly, runQuery } from '../db/query.js';
import { RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import { quoteIdent } from '../sql/quote.js';
import { scanStatements } from '../sql/scan.js';
import type { MigrationFile } from './files.js';

/**
 * The extensions that pending migrations create, checked before anything changes. A migration
 * that fails at CREATE EXTENSION leaves the database half-built: on PostgreSQL 12, where
 * pg_trgm is not a trusted extension, a CREATEDB CREATEROLE admin got the database and 001,
 * then exit 4 at 002.
 *
 * The catalog settles most cases: an extension already installed needs nothing (CREATE
 * EXTENSION IF NOT EXISTS checks no privilege then); a superuser may create any; others one
 * whose control file says `superuser = false`, or (PostgreSQL 13+) a trusted one where they
 * hold CREATE on the database. What the catalog cannot tell is what managed services add
 * (rds_superuser, cloudsqlsuperuser and extension allow-lists let a non-superuser create
 * pg_trgm on 12): there the statement itself is tried in a transaction that is rolled back.
 */

/** One top-level CREATE EXTENSION statement of a migration file. */
export interface ExtensionStatement {
  readonly extension: string;
  readonly fileName: string;
  readonly line: number;
}

/** What the server says about an extension. */
export interface ExtensionFacts {
  readonly name: string;
  /** In the database the facts were read in. */
  readonly installed: boolean;
  /** Its files are on the server (pg_available_extensions). */
  readonly available: boolean;
  /** Its control file's `superuser` (true when unknown). */
  readonly superuser: boolean;
  /** Its control file's `trusted` (PostgreSQL 13+; false before). */
  readonly trusted: boolean;
}

export interface AdminExtensionRights {
  readonly superuser: boolean;
  /** CREATE on the database the extensions go into (its owner has it). */
  readonly createOnDatabase: boolean;
}

/** Where the extensions are checked, for the refusal's words. */
export interface ExtensionTarget {
  readonly admin: string;
  readonly database: string;
  /** False: the database is yet to be created, as a copy of template1 (where the check ran). */
  readonly databaseExists: boolean;
  readonly serverVersion: number;
}

/** An identifier as PostgreSQL reads it: unquoted folds to lower case, "quoted" is kept. */
function identifierName(word: string): string {
  return word.startsWith('"') ? word.slice(1, -1).replace(/""/g, '"') : word.toLowerCase();
}

/** The CREATE EXTENSION statements of these files, in order (statements inside function bodies or DO blocks are not seen). */
export function extensionsCreatedBy(files: readonly MigrationFile[]): ExtensionStatement[] {
  const found: ExtensionStatement[] = [];
  for (const file of files) {
    for (const statement of scanStatements(file.sql)) {
      const [create, extension, ...rest] = statement.words;
      if (create !== 'CREATE' || extension !== 'EXTENSION') continue;
      const name = rest[0] === 'IF' && rest[1] === 'NOT' && rest[2] === 'EXISTS' ? rest[3] : rest[0];
      if (name) found.push({ extension: identifierName(name), fileName: file.fileName, line: statement.line });
    }
  }
  return found;
}

/** The distinct extension names, for extensionFactsSql's parameter. */
export function extensionNames(needed: readonly ExtensionStatement[]): string[] {
  return [...new Set(needed.map((n) => n.extension))];
}

/**
 * A JSON array of ExtensionFacts for the names in the text[] parameter `param`, as an expression
 * for a SELECT list (create-db reads it with its own facts: no extra round trip).
 * pg_available_extension_versions has `trusted` from PostgreSQL 13 on only: read through
 * to_jsonb, it is simply absent before, so one statement serves every version.
 */
export function extensionFactsSql(param: string): string {
  return `(SELECT coalesce(json_agg(json_build_object(
            'name', e.name,
            'installed', EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = e.name),
            'available', a.name IS NOT NULL,
            'superuser', coalesce((to_jsonb(v) ->> 'superuser')::boolean, true),
            'trusted', coalesce((to_jsonb(v) ->> 'trusted')::boolean, false)) ORDER BY e.name), '[]')
     FROM unnest(${param}::text[]) AS e(name)
     LEFT JOIN pg_available_extensions a ON a.name = e.name
     LEFT JOIN pg_available_extension_versions v ON v.name = a.name AND v.version = a.default_version)`;
}

export interface ExtensionJudgement {
  /** Missing from the server: no privilege helps. */
  readonly unavailable: readonly ExtensionStatement[];
  /** The catalog says the admin may not create these; a managed service may still allow it (probe). */
  readonly doubtful: readonly ExtensionStatement[];
}

/** Sorts the needed extensions by what the catalog says; the ones that need nothing are left out. */
export function judgeExtensions(needed: readonly ExtensionStatement[], facts: readonly ExtensionFacts[], admin: AdminExtensionRights): ExtensionJudgement {
  const unavailable: ExtensionStatement[] = [];
  const doubtful: ExtensionStatement[] = [];
  const seen = new Set<string>();
  for (const statement of needed) {
    const fact = facts.find((f) => f.name === statement.extension);
    if (!fact || fact.installed || seen.has(fact.name)) continue;
    seen.add(fact.name);
    if (!fact.available) unavailable.push(statement);
    else if (!(admin.superuser || !fact.superuser || (fact.trusted && admin.createOnDatabase))) doubtful.push(statement);
  }
  return { unavailable, doubtful };
}

function located(statements: readonly ExtensionStatement[]): string {
  return statements.map((s) => `${s.extension} (${s.fileName}:${s.line})`).join(', ');
}

export function unavailableError(statements: readonly ExtensionStatement[]): RegistryDbError {
  return new RegistryDbError('schema', 'EXTENSION_UNAVAILABLE', `The migrations need extension(s) ${located(statements)}, which this server does not have. Nothing was changed.`, {
    hint: "Install the server package that provides them (pg_trgm is in PostgreSQL's contrib modules), or have the provider enable them; then run this again.",
  });
}

/** The refusal, naming the one statement that makes the run possible and where to run it. */
export function extensionRefusal(statement: ExtensionStatement, fact: ExtensionFacts | undefined, target: ExtensionTarget, serverMessage: string): RegistryDbError {
  const create = `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(statement.extension)};`;
  const place = target.databaseExists
    ? `in database ${quoteIdent(target.database)}`
    : `in database template1 (the new database "${target.database}" is made as a copy of it)`;
  const what = `Role "${target.admin}" may not create extension ${located([statement])} (SQLSTATE 42501: ${serverMessage})`;
  if (fact?.trusted) {
    return new RegistryDbError('auth', 'EXTENSION_NOT_PERMITTED', `${what}: it is a trusted extension, but the role lacks CREATE on database "${target.database}". Nothing was changed.`, {
      hint: `As the database owner or a superuser: GRANT CREATE ON DATABASE ${quoteIdent(target.database)} TO ${quoteIdent(target.admin)}; or have a superuser run ${create} ${place}. Then run this again.`,
      cause: '42501',
    });
  }
  const why = target.serverVersion < 130000
    ? 'on PostgreSQL 12 only a superuser may create it (a database owner may create trusted extensions from PostgreSQL 13 on)'
    : 'it is not a trusted extension, so only a superuser may create it';
  return new RegistryDbError('auth', 'EXTENSION_NEEDS_SUPERUSER', `${what}: ${why}. Nothing was changed.`, {
    hint: `Have a superuser run ${create} ${place}, then run this again.`,
    cause: '42501',
  });
}

/**
 * Tries the doubtful CREATE EXTENSION statements in a transaction that is rolled back: the
 * server's own answer, managed services' additions included. Throws the refusal, or the
 * server's other answer (the migration would fail the same way), with nothing changed.
 */
export async function probeExtensions(
  connection: Connection,
  logger: Logger,
  doubtful: readonly ExtensionStatement[],
  facts: readonly ExtensionFacts[],
  target: ExtensionTarget,
): Promise<void> {
  if (doubtful.length === 0) return;
  const creates = doubtful.map((d) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(d.extension)}`);
  const outcome = await runBatch(connection, logger, ['BEGIN', ...creates, 'ROLLBACK']);
  if (outcome.ok) return;
  await rollbackQuietly(connection);
  const statement = doubtful[Math.max(0, outcome.failedAt - 1)] ?? doubtful[0]!;
  const error = outcome.error as { code?: string; message?: string };
  if (error.code === '42501') throw extensionRefusal(statement, facts.find((f) => f.name === statement.extension), target, error.message ?? '');
  const failure = toRegistryDbError(outcome.error, { action: `Trying CREATE EXTENSION ${statement.extension} (rolled back) before ${statement.fileName}`, user: connection.user, database: connection.database });
  throw failure.rewrap(`${failure.message} Nothing was changed.`);
}

/**
 * Before pending migrations run in an existing database: refuses (exit 4 or 5, nothing
 * changed) those whose extensions the admin may not create. No query when none creates one.
 */
export async function refuseUncreatableExtensions(connection: Connection, pending: readonly MigrationFile[], logger: Logger): Promise<void> {
  const needed = extensionsCreatedBy(pending);
  if (needed.length === 0) return;
  const sql = `SELECT r.rolsuper AS superuser, has_database_privilege(current_database(), 'CREATE') AS "createOnDatabase",
       current_setting('server_version_num')::int AS "serverVersion", ${extensionFactsSql('$1')} AS extensions
  FROM pg_roles r WHERE r.rolname = current_user`;
  const facts = (await runQuery<AdminExtensionRights & { serverVersion: number; extensions: ExtensionFacts[] }>(connection, logger, sql, [extensionNames(needed)])).rows[0]!;
  const { unavailable, doubtful } = judgeExtensions(needed, facts.extensions, facts);
  if (unavailable.length > 0) throw unavailableError(unavailable);
  const target = { admin: connection.user, database: connection.database, databaseExists: true, serverVersion: facts.serverVersion };
  await probeExtensions(connection, logger, doubtful, facts.extensions, target);
}
