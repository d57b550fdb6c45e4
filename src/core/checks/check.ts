import type { BatchOutcome } from '../db/batch.js';
import type { Settings } from '../config/settings.js';
import type { Connection, Role } from '../db/connection.js';
import type { CoreContext } from '../db/context.js';
import { isSqlState, type ErrorJson, type RegistryDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MigrationFile } from '../migrations/files.js';

/** The ten checks of test-connection, in the order they run. */
export const CHECK_NAMES = [
  'configuration',
  'dns',
  'tcp',
  'tls',
  'authentication',
  'database',
  'server',
  'schema',
  'privileges',
  'round-trip',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly name: CheckName;
  readonly status: CheckStatus;
  readonly durationMs: number;
  readonly summary: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly warnings?: readonly string[];
  readonly error?: ErrorJson;
}

/** What the server offered when asked for TLS, independent of logging in. */
export interface TlsProbe {
  readonly offered: boolean;
  readonly protocol?: string;
  readonly cipher?: string;
  /** Whether the chain was checked (verify-ca, verify-full, require with a root certificate). */
  readonly verificationWanted: boolean;
  /** Where the trusted CA came from: a file, "system", or undefined when none could be read. */
  readonly caSource?: string;
  /** Set when verification is wanted but no root certificate exists. */
  readonly rootCertMissing?: string;
  readonly chainVerified: boolean;
  /** OpenSSL's reason when the chain did not verify, e.g. DEPTH_ZERO_SELF_SIGNED_CERT. */
  readonly chainError?: string;
  /** Set when verify-full is asked and the certificate does not name the host. */
  readonly hostnameError?: string;
  readonly certificate?: {
    readonly subject: string;
    readonly issuer: string;
    readonly validTo: string;
    readonly selfSigned: boolean;
    readonly subjectAltName?: string;
  };
}

/** What one check found, before the runner adds its name and duration. */
export interface CheckOutcome {
  /** How long the check took, when that is not the time the runner waited for it (a login that started earlier). */
  readonly durationMs?: number;
  readonly status: CheckStatus;
  readonly summary: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly warnings?: readonly string[];
  readonly failure?: RegistryDbError;
}

/** What the checks learn and hand on to the later ones. */
export interface CheckState {
  readonly context: CoreContext;
  /** Narrowed to the one server the checks examine when a host list is configured. */
  settings: Settings;
  readonly role: Role;
  readonly user: string;
  readonly logger: Logger;
  readonly migrationsDir: string;
  files?: readonly MigrationFile[];
  addresses?: readonly string[];
  tlsProbe?: TlsProbe;
  /** A login started while the network checks run (startLogin); the authentication check takes it. */
  pendingLogin?: Promise<Connection>;
  /** How long that login took, from its start to its answer, once it has one. */
  pendingLoginMs?: number;
  /** The connection that logged in (the registry database, or the maintenance one for --admin). */
  login?: Connection;
  /** The connection to the registry database that the later checks use. */
  connection?: Connection;
  /** The server refused the registry database after a successful login (3D000, 42501). */
  databaseFailure?: RegistryDbError;
  /** Read by the database check along with its own facts, for the server check (one round trip less). */
  server?: { readonly versionNum: number; readonly version: string; readonly inRecovery: boolean };
  /** The schema and privileges checks' catalog lookups, read in the database check's message. */
  catalog?: BatchOutcome;
  /** Read by the privileges check, for the round trip: may the role create temporary tables? */
  canUseTemporary?: boolean;
}

export function passed(summary: string, details?: Record<string, unknown>, warnings: readonly string[] = []): CheckOutcome {
  return {
    status: warnings.length > 0 ? 'warn' : 'pass',
    summary,
    ...(details ? { details } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** A check that does not apply here (DNS for an IP address, TLS on a Unix socket). */
export function notApplicable(summary: string, details?: Record<string, unknown>): CheckOutcome {
  return { status: 'skip', summary, ...(details ? { details } : {}) };
}

/**
 * A failed check: `tried` says what was attempted, the failure carries what PostgreSQL or
 * the network answered and the remedy (its hint).
 */
export function failed(failure: RegistryDbError, tried: string, details: Record<string, unknown> = {}): CheckOutcome {
  const answer = details.answer ?? answerOf(failure);
  return {
    status: 'fail',
    summary: failure.message,
    details: { tried, ...(answer ? { answer } : {}), ...details },
    failure,
  };
}

/** What the server or the network said, verbatim, from the error the failure was mapped from. */
export function answerOf(failure: RegistryDbError): string | undefined {
  const cause = failure.cause as { code?: unknown; message?: unknown; detail?: unknown } | undefined;
  if (!cause || typeof cause.message !== 'string' || cause.message === '') return undefined;
  const code = typeof cause.code === 'string' && cause.code !== '' ? cause.code : undefined;
  const label = code === undefined ? '' : isSqlState(code) ? `SQLSTATE ${code}: ` : `${code}: `;
  const detail = typeof cause.detail === 'string' && cause.detail ? ` (DETAIL: ${cause.detail})` : '';
  return `${label}${cause.message}${detail}`;
}
