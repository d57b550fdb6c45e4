import { connect, disconnect, type Role } from './connection.js';
import { loggerOf, type CoreContext } from './context.js';
import { InterruptedError, RegistryDbError } from '../errors.js';
import { connectAsAdmin } from './admin-connection.js';

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
      // Another program on the port will not turn into PostgreSQL by waiting.
      const retryable = error instanceof RegistryDbError && error.errorClass === 'unreachable' && error.code !== 'NOT_POSTGRESQL';
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
