import { ConfigError } from '../errors.js';
import { quoteIdent, quoteLiteral } from './quote.js';

/**
 * Dynamic SQL for the application role: small pure functions, every name quoted as an
 * identifier, the password only ever as a SCRAM verifier literal. Each builder has an
 * exact-string unit test (test/unit/role-sql.test.ts).
 */

/** Everything the spec allows the application role, and the "NO" forms of what it must not have. */
const APP_ROLE_ATTRIBUTES = ['LOGIN', 'NOSUPERUSER', 'NOCREATEDB', 'NOCREATEROLE', 'NOREPLICATION'] as const;
/** What an existing role may need put right: the spec's attributes, and two a new role never has. */
export type AppRoleAttribute = (typeof APP_ROLE_ATTRIBUTES)[number] | 'NOBYPASSRLS' | "VALID UNTIL 'infinity'";


function assertVerifier(verifier: string): void {
  // Only a verifier may be sent: a plaintext here would reach the server's logs.
  if (!verifier.startsWith('SCRAM-SHA-256$')) throw new ConfigError('Refusing to send a password that is not a SCRAM-SHA-256 verifier.');
}

export function createRoleSql(role: string, verifier: string): string {
  assertVerifier(verifier);
  return `CREATE ROLE ${quoteIdent(role)} WITH ${APP_ROLE_ATTRIBUTES.join(' ')} PASSWORD ${quoteLiteral(verifier)}`;
}

/** Only the attributes that differ: non-superusers may not even restate NOSUPERUSER or NOREPLICATION. */
export function alterRoleSql(role: string, change: { readonly attributes?: readonly AppRoleAttribute[]; readonly verifier?: string }): string {
  const parts: string[] = [...(change.attributes ?? [])];
  if (change.verifier !== undefined) {
    assertVerifier(change.verifier);
    parts.push(`PASSWORD ${quoteLiteral(change.verifier)}`);
  }
  if (parts.length === 0) throw new Error('alterRoleSql: nothing to change');
  return `ALTER ROLE ${quoteIdent(role)} WITH ${parts.join(' ')}`;
}

export function dropRoleSql(role: string): string {
  return `DROP ROLE IF EXISTS ${quoteIdent(role)}`;
}
