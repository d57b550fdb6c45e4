/**
 * One error hierarchy for the whole tool. Every failure that reaches the CLI is a
 * RegistryDbError with a stable `code`, the process exit code the spec assigns to
 * its class, and a hint that tells the operator what to do next.
 */

export type ErrorClass = 'usage' | 'unreachable' | 'auth' | 'schema' | 'interrupted' | 'internal';

export const EXIT_CODES: Readonly<Record<ErrorClass, number>> = {
  usage: 2,
  unreachable: 3,
  auth: 4,
  schema: 5,
  interrupted: 130,
  internal: 1,
};

/**
 * A PostgreSQL SQLSTATE: five digits or upper-case letters. Node's error codes (EPIPE, EPERM,
 * EROFS, ECONNREFUSED) can look the same, but no SQLSTATE class starts with E
 * (PostgreSQL's errcodes.txt), so a leading E means the operating system spoke, not the server.
 */
export function isSqlState(code: unknown): code is string {
  return typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code);
}

export interface ErrorDetails {
  readonly hint?: string;
  /** PostgreSQL SQLSTATE or Node error code (ECONNREFUSED, ENOTFOUND, …). */
  readonly cause?: string;
  /** Extra structured data for --json output (never secrets). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** The one JSON shape of an error: --json output, a failed check, a usage error. */
export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
  readonly sqlstate?: string;
  readonly errno?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export class RegistryDbError extends Error {
  readonly code: string;
  readonly errorClass: ErrorClass;
  readonly hint?: string;
  readonly sqlState?: string;
  readonly data?: Readonly<Record<string, unknown>>;

  constructor(errorClass: ErrorClass, code: string, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'RegistryDbError';
    this.errorClass = errorClass;
    this.code = code;
    this.hint = details.hint;
    this.sqlState = details.cause;
    this.data = details.data;
  }

  get exitCode(): number {
    return EXIT_CODES[this.errorClass];
  }

  /**
   * The same failure (class, code, SQLSTATE, the original error as `cause`) told another
   * way: a new message, and a new hint or more data where given.
   */
  rewrap(message: string, changes: { readonly hint?: string; readonly data?: Readonly<Record<string, unknown>> } = {}): RegistryDbError {
    const result = new RegistryDbError(this.errorClass, this.code, message, {
      hint: 'hint' in changes ? changes.hint : this.hint,
      cause: this.sqlState,
      data: changes.data ? { ...this.data, ...changes.data } : this.data,
    });
    if (this.cause !== undefined) keepCause(result, this.cause);
    return result;
  }

  toJSON(): ErrorJson {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint ?? null,
      ...(this.sqlState ? (isSqlState(this.sqlState) ? { sqlstate: this.sqlState } : { errno: this.sqlState }) : {}),
      ...(this.data ? { details: this.data } : {}),
    };
  }
}

/**
 * Keeps what the server or the network said verbatim, as `cause` (non-enumerable, so never in
 * toJSON): test-connection shows it beside the remedy.
 */
export function keepCause(error: RegistryDbError, cause: unknown): void {
  if (typeof cause === 'object' && cause !== null) Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true });
}

export class ConfigError extends RegistryDbError {
  constructor(message: string, hint?: string, code = 'CONFIG_INVALID') {
    super('usage', code, message, { hint });
    this.name = 'ConfigError';
  }
}

export class InterruptedError extends RegistryDbError {
  constructor(what = 'operation') {
    super('interrupted', 'INTERRUPTED', `Interrupted during ${what}.`, {
      hint: 'Run the command again: every step is idempotent.',
    });
  }
}

export function isRegistryDbError(error: unknown): error is RegistryDbError {
  return error instanceof RegistryDbError;
}
