import { connect, disconnect, type Role } from './connection.js';
import { loggerOf, type CoreContext } from './context.js';
import { InterruptedError, RegistryDbError } from '../errors.js';
import { connectAsAdmin } from './admin-connection.js';
import { settingsForRole } from '../config/settings.js';

/** "Unreachable" failures in which something did answer: not worth waiting for. */
const ANSWERED = new Set(['NOT_POSTGRESQL', 'TLS_UNAVAILABLE', 'TLS_VERIFY_FAILED', 'TLS_HANDSHAKE_FAILED', 'TLS_ROOT_CERT_MISSING']);

/**
 * --wait: retry until the server accepts connections or the time runs out. Only
 * "cannot reach" failures (refused, DNS, timeout, starting up) are retried; a wrong
 * password or a missing database will not fix itself, so those return at once.
 */
export async function waitForServer(context: CoreContext, seconds: number, role: Role = 'admin'): Promise<number> {
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const logger = loggerOf(context);
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      // The admin's connection is kept when the run shares connections (setup uses it next).
      const connection = role === 'admin' ? await connectAsAdmin(context) : await connect(context.settings, { role });
      await disconnect(connection);
      return Date.now() - started;
    } catch (error) {
      // The server answered, and waiting will not change what: another program on the port, or TLS it does not offer or that does not verify.
      if (!retryable(error) || Date.now() >= deadline) {
        if (retryable(error)) {
          throw error.rewrap(`${error.message} (gave up after waiting ${seconds}s, ${attempt} attempts)`);
        }
        // Anything but "unreachable" means the server answered: stop waiting.
        return Date.now() - started;
      }
      const { host, port } = settingsForRole(context.settings, role);
      logger.step(`Waiting for ${host}:${port} (attempt ${attempt})`);
      await pauseBefore(attempt, deadline);
      if (context.signal?.aborted) throw new InterruptedError('--wait');
    }
  }
}

/** A failure that --wait rode out: what happened, and when. */
export interface Retry {
  readonly code: string;
  readonly message: string;
  /** Milliseconds since the command started. */
  readonly afterMs: number;
}

/** Backs off between attempts: 200 ms doubling to 1 s, never past the deadline. */
function pauseBefore(attempt: number, deadline: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** Math.min(attempt, 4), Math.max(0, deadline - Date.now()))));
}

/** Failures a failover, a switchover or a restart cause, which the same step run again gets past. */
function retryable(error: unknown): error is RegistryDbError {
  return error instanceof RegistryDbError && error.errorClass === 'unreachable' && !ANSWERED.has(error.code);
}

/**
 * --wait for a whole command that needs the primary: runs `action`, and while it fails because
 * no primary answers or the connection was lost (a failover, a switchover, a restart), runs it
 * again until it succeeds or `seconds` have passed. Every step of the tool is idempotent (each
 * migration is one transaction, recorded in it), so a step cut off halfway is rolled back by the
 * server and simply done again. What was retried is returned, and logged as a warning.
 */
export async function retryWhileUnreachable<T>(context: CoreContext, seconds: number, action: () => Promise<T>): Promise<{ result: T; retries: readonly Retry[] }> {
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const logger = loggerOf(context);
  const retries: Retry[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { result: await action(), retries };
    } catch (error) {
      if (!retryable(error) || Date.now() >= deadline || context.signal?.aborted) {
        if (retryable(error) && retries.length > 0) throw error.rewrap(`${error.message} (gave up after ${seconds} s of --wait, ${attempt} attempts)`, { data: { retries } });
        throw error;
      }
      retries.push({ code: error.code, message: error.message, afterMs: Date.now() - started });
      logger.warn(`${error.message} Retrying (--wait: ${Math.ceil((deadline - Date.now()) / 1000)} s left).`);
      await pauseBefore(attempt, deadline);
      if (context.signal?.aborted) throw new InterruptedError('--wait');
    }
  }
}
