import { RegistryDbError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../sql/quote.js';

/**
 * The statement that fixes a refused privilege (SQLSTATE 42501), read from what PostgreSQL
 * said: "permission denied for schema public" becomes GRANT USAGE, CREATE ON SCHEMA public
 * TO the role, said with who may run it. Server messages are matched in English (the
 * server's lc_messages); anything not recognised keeps the general advice.
 */
export interface PermissionSubject {
  /** The role that was refused. */
  readonly user?: string;
  /** The application role's remedy is create-user; the admin's, a statement. */
  readonly role?: 'admin' | 'app';
  readonly database?: string;
}

export interface PermissionProblem {
  readonly message: string;
  readonly detail?: string;
  readonly serverHint?: string;
}

const OBJECT = '"?([^"]+?)"?';
const KINDS: Readonly<Record<string, string>> = {
  table: 'TABLE',
  relation: 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED VIEW',
  sequence: 'SEQUENCE',
  schema: 'SCHEMA',
  database: 'DATABASE',
  function: 'FUNCTION',
  type: 'TYPE',
};

/** `ALTER TABLE "t" OWNER TO "admin";`, or undefined for kinds without a plain ALTER … OWNER. */
function ownerStatement(kind: string, name: string, role: string): string | undefined {
  const keyword = KINDS[kind];
  if (!keyword || keyword === 'FUNCTION' || keyword === 'TYPE') return undefined;
  return `ALTER ${keyword} ${quoteIdent(name)} OWNER TO ${role};`;
}

/**
 * The concrete remedy, or undefined when the message is not one recognised here. The
 * application role's privileges are create-user's business; the admin gets the statement.
 */
export function permissionRemedy(problem: PermissionProblem, subject: PermissionSubject): string | undefined {
  const message = problem.message.trim().replace(/\.$/, '');
  const who = subject.user ? quoteIdent(subject.user) : undefined;
  const roleText = subject.user ? `"${subject.user}"` : 'this role';
  const createUser = `Run \`tofu-registry-db create-user\` as the admin: it re-applies the privileges ${roleText} needs.`;
  let match: RegExpExecArray | null;

  if ((match = new RegExp(`^permission denied to create (database|role)$`).exec(message))) {
    const attribute = match[1] === 'database' ? 'CREATEDB' : 'CREATEROLE';
    return who
      ? `${roleText} lacks ${attribute}. As a superuser, run: ALTER ROLE ${who} ${attribute}; or set TOFU_REGISTRY_DB_ADMIN_USER to a role that has it.`
      : undefined;
  }
  if ((match = /^permission denied to create extension "([^"]+)"$/.exec(message))) {
    // A trusted extension (PostgreSQL 13+: pg_trgm, citext, …) needs only CREATE on the database.
    if (/CREATE privilege on current database/i.test(problem.serverHint ?? '') && who && subject.database) {
      return `Extension "${match[1]}" is trusted: ${roleText} may install it with CREATE on the database. As its owner or a superuser, run: GRANT CREATE ON DATABASE ${quoteIdent(subject.database)} TO ${who};`;
    }
    const where = subject.database ? ` in database ${quoteIdent(subject.database)}` : '';
    return `Only a superuser may install extension "${match[1]}" (it is not marked trusted). Have a superuser run CREATE EXTENSION IF NOT EXISTS ${quoteIdent(match[1]!)};${where}, and write the migration's statement as CREATE EXTENSION IF NOT EXISTS so that it then passes; or run migrate as a superuser.`;
  }
  if (/^must be superuser\b/.test(message)) {
    return `This statement needs a superuser: run the command as one (TOFU_REGISTRY_DB_ADMIN_USER), or have one run the statement.`;
  }
  if (subject.role === 'app') return createUser;
  if (!who) return undefined;

  if ((match = new RegExp(`^permission denied for schema ${OBJECT}$`).exec(message))) {
    return `${roleText} may not create objects in schema ${match[1]}. As the schema's owner or a superuser, run: GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(match[1]!)} TO ${who};`;
  }
  if ((match = new RegExp(`^permission denied for database ${OBJECT}$`).exec(message))) {
    const privilege = /CONNECT/i.test(problem.detail ?? '') ? 'CONNECT' : 'CREATE';
    return `${roleText} lacks ${privilege} on database ${match[1]}. As its owner or a superuser, run: GRANT ${privilege} ON DATABASE ${quoteIdent(match[1]!)} TO ${who};`;
  }
  if ((match = new RegExp(`^permission denied for (table|relation|view|materialized view|sequence) ${OBJECT}$`).exec(message))) {
    // Migrations alter what they created: the admin is meant to own the registry's objects, not hold grants on them.
    const statement = ownerStatement(match[1]!, match[2]!, who)!;
    return `${roleText} does not own ${match[1]} ${match[2]}, which migrations and create-user need. As a superuser or its owner, run: ${statement} (or, for everything its owner has: REASSIGN OWNED BY <owner> TO ${who}; in the registry database).`;
  }
  if ((match = new RegExp(`^must be owner of (table|relation|view|materialized view|sequence|schema|database|function|type|extension|index) ${OBJECT}$`).exec(message))) {
    const statement = ownerStatement(match[1]!, match[2]!, who);
    if (!statement) return `${roleText} must own ${match[1]} ${match[2]}: run the command as its owner, or as a superuser.`;
    return `${roleText} must own ${match[1]} ${match[2]}. As a superuser or its current owner, run: ${statement}`;
  }
  return undefined;
}

/** A role's sessions, for a hint: `SELECT … FROM pg_stat_activity WHERE usename = 'x'`. */
export function sessionsQuery(column: 'usename' | 'datname', name: string): string {
  return `SELECT pid, usename, datname, application_name, state FROM pg_stat_activity WHERE ${column} = ${quoteLiteral(name)}`;
}

/**
 * A refused privilege mapped without knowing whose session it was (a migration's statement,
 * say): its hint told again with the concrete statement for that role.
 */
export function withPermissionRemedy(error: unknown, subject: PermissionSubject): unknown {
  if (!(error instanceof RegistryDbError) || error.code !== 'PERMISSION_DENIED') return error;
  const cause = error.cause as { message?: unknown; detail?: unknown; hint?: unknown } | undefined;
  if (typeof cause?.message !== 'string') return error;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const remedy = permissionRemedy({ message: cause.message, detail: text(cause.detail), serverHint: text(cause.hint) }, subject);
  return remedy ? error.rewrap(error.message, { hint: remedy }) : error;
}
