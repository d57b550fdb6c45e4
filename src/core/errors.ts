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

export interface ErrorDetails {
  readonly hint?: string;
  /** PostgreSQL SQLSTATE or Node error code (ECONNREFUSED, ENOTFOUND, …). */
  readonly cause?: string;
  /** Extra structured data for --json output (never secrets). */
  readonly data?: Readonly<Record<string, unknown>>;
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

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint ?? null,
      // A SQLSTATE is five characters; what the network layer says (ECONNREFUSED) is an errno.
      ...(this.sqlState ? (/^[0-9A-Z]{5}$/.test(this.sqlState) ? { sqlstate: this.sqlState } : { errno: this.sqlState }) : {}),
      ...(this.data ? { details: this.data } : {}),
    };
  }
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
