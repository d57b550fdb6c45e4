import { EXIT_CODES, type ErrorClass } from '../errors.js';
import { quoteIdent } from '../sql/quote.js';
import type { StatusProblem, StatusResult } from './status-result.js';
import type { RoleRow } from './status-catalog.js';

/**
 * status's verdict, a pure function of what it read: problems (the installation does not
 * work as it is: exit code of the first) and warnings (it works, but something deserves a look).
 */
type Finding = StatusProblem & { readonly severity: 'problem' | 'warning' };
type Facts = Omit<StatusResult, 'ok' | 'exitCode' | 'problems' | 'warnings'>;

function problem(errorClass: ErrorClass, code: string, message: string, hint: string): Finding {
  return { severity: 'problem', code, message, hint, exitCode: EXIT_CODES[errorClass] };
}

function warning(message: string): Finding {
  return { severity: 'warning', code: 'WARNING', message, hint: '', exitCode: 0 };
}

/** The server, the database and its migrations. */
export function statusProblems(facts: Facts, minimumVersionNum: number): Finding[] {
  const found: Finding[] = [];
  const { server, database, migrations } = facts;
  if (server.standby) {
    found.push(problem('unreachable', 'READ_ONLY_STANDBY', `${server.host}:${server.port} is a read-only standby: the registry needs the primary.`, 'Point TOFU_REGISTRY_DB_HOST at the primary (on a managed cluster, the writer endpoint).'));
  }
  if (server.versionNum < minimumVersionNum) {
    found.push(problem('unreachable', 'SERVER_TOO_OLD', `PostgreSQL ${server.version} is older than 12, which tofu-registry-db needs.`, 'Upgrade the server, or point TOFU_REGISTRY_DB_HOST at a newer one.'));
  }
  if (!database.exists) {
    found.push(problem('schema', 'DATABASE_MISSING', `Database "${database.name}" does not exist.`, 'Run `tofu-registry-db create-db` (or `setup`) as the admin.'));
    return found;
  }
  if (database.connectionLimit !== undefined && database.connectionLimit >= 0 && (database.sessions ?? 0) >= database.connectionLimit) {
    found.push(problem('unreachable', 'DATABASE_CONNECTION_LIMIT', `Database "${database.name}" has CONNECTION LIMIT ${database.connectionLimit}, and ${database.sessions} other session(s) use it: the API cannot connect.`, `As its owner or a superuser: ALTER DATABASE ${quoteIdent(database.name)} CONNECTION LIMIT -1;`));
  }
  if (migrations && migrations.changed.length > 0) {
    found.push(problem('schema', 'MIGRATION_CHANGED', `Applied migration(s) changed since they ran: ${migrations.changed.join(', ')}.`, 'Migrations are forward-only: restore the original file, and put the change in a new migration.'));
  }
  if (migrations && migrations.pending.length > 0) {
    found.push(problem('schema', 'MIGRATIONS_PENDING', `${migrations.pending.length} of ${migrations.total} migration(s) are not applied: ${migrations.pending.join(', ')}.`, `Run \`tofu-registry-db migrate\` as the admin (with the same --dir).`));
  }
  if (migrations && migrations.unknown.length > 0) {
    found.push(warning(`applied migration(s) not in ${migrations.dir}: ${migrations.unknown.join(', ')} (from a newer tofu-registry-db, or another --dir: pass the same --dir here)`));
  }
  return found;
}

/** The application role and the env file that holds its credentials. */
export function roleProblems(facts: Facts, row: RoleRow | undefined): Finding[] {
  const found: Finding[] = [];
  const { role, envFile } = facts;
  const name = quoteIdent(role.name);
  if (!row) {
    found.push(problem('auth', 'ROLE_MISSING', `Role "${role.name}" (the application role) does not exist.`, 'Run `tofu-registry-db create-user` as the admin.'));
  } else {
    if (!row.login) found.push(problem('auth', 'ROLE_CANNOT_LOGIN', `Role "${role.name}" may not log in (NOLOGIN).`, 'Run `tofu-registry-db create-user` as the admin: it sets LOGIN.'));
    if (row.expired) found.push(problem('auth', 'ROLE_EXPIRED', `Role "${role.name}"'s password expired at ${row.valid_until} (VALID UNTIL).`, `As a superuser: ALTER ROLE ${name} VALID UNTIL 'infinity'; or rotate the password before then.`));
    if (row.connection_limit >= 0 && row.sessions >= row.connection_limit) {
      found.push(problem('unreachable', 'ROLE_CONNECTION_LIMIT', `Role "${role.name}" has CONNECTION LIMIT ${row.connection_limit}, and ${row.sessions} session(s) of it are open: the API cannot connect.`, `As a superuser (or a role that may alter it): ALTER ROLE ${name} CONNECTION LIMIT -1;`));
    }
    const privileges = role.privileges;
    if (privileges) {
      const missing = [
        ...(privileges.connect ? [] : [`CONNECT on database ${facts.database.name}`]),
        ...(privileges.schemaUsage ? [] : ['USAGE on schema public']),
        ...privileges.tablesMissing.map((t) => `SELECT, INSERT, UPDATE, DELETE on ${t}`),
        ...privileges.sequencesMissing.map((s) => `USAGE, SELECT on ${s}`),
      ];
      if (missing.length > 0) {
        found.push(problem('auth', 'PRIVILEGE_MISSING', `Role "${role.name}" lacks privileges the API needs: ${missing.join('; ')}.`, 'Run `tofu-registry-db create-user` as the admin: it re-applies the grants.'));
      }
      if (privileges.schemaCreate) found.push(warning(`role "${role.name}" may CREATE in schema public (more than the API needs)`));
    }
    if (row.superuser) found.push(warning(`role "${role.name}" is a superuser${row.bootstrap ? ' (the bootstrap one)' : ''}: the API bypasses every permission check; give it a role of its own with \`tofu-registry-db create-user --user <name>\``));
  }
  if (!envFile.exists) {
    found.push(warning(`env file ${envFile.path} does not exist (create-user writes it)`));
  } else {
    if (!envFile.passwordSet) found.push(warning(`env file ${envFile.path} holds no TOFU_REGISTRY_DB_PASSWORD`));
    if (envFile.points?.user !== undefined && envFile.points.user !== role.name) {
      found.push(warning(`env file ${envFile.path} names role "${envFile.points.user}", not "${role.name}"`));
    }
    if (envFile.overridden.length > 0) found.push(warning(`the environment (or a flag) overrides what ${envFile.path} says for ${envFile.overridden.join(', ')}`));
  }
  return found;
}
