import { connect, disconnect, type Role } from './connection.js';
import { loggerOf, type CoreContext } from './context.js';
import { InterruptedError, RegistryDbError } from '../errors.js';
import { connectAsAdmin } from './admin-connection.js';

/**
 * --wait: retry until the server accepts connections or the time runs out. Only
 * "cannot reach" failures (refused, DNS, timeout, starting up) are retried; a wrong
 * password or a missing database will not fix itself, so those return at once.
 */
/** "Unreachable" failures in which something did answer: not worth waiting for. */
const ANSWERED = new Set(['NOT_POSTGRESQL', 'TLS_UNAVAILABLE', 'TLS_VERIFY_FAILED']);

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
      const retryable = error instanceof RegistryDbError && error.errorClass === 'unreachable' && !ANSWERED.has(error.code);
      if (!retryable || Date.now() >= deadline) {
        if (retryable) {
          throw error.rewrap(`${error.message} (gave up after waiting ${seconds}s, ${attempt} attempts)`);
        }
        // Anything but "unreachable" means the server answered: stop waiting.
        return Date.now() - started;
      }
      logger.step(`Waiting for ${context.settings.host}:${context.settings.port} (attempt ${attempt})`);
      const pause = Math.min(1000, 100 * 2 ** Math.min(attempt, 4), Math.max(0, deadline - Date.now()));
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (context.signal?.aborted) throw new InterruptedError('--wait');
    }
  }
}
