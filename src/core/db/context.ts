import type { Settings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Connection } from './connection.js';

/** What every core operation receives besides its own options. */
export interface CoreContext {
  readonly settings: Settings;
  readonly logger?: Logger;
  /** Asked for the admin password when the server wants one and none is configured. */
  readonly promptPassword?: (question: string) => Promise<string | undefined>;
  readonly signal?: AbortSignal;
  /**
   * Admin connections kept open across steps (one per database), so a multi-step run such
   * as setup logs in once per database. Whoever creates the map closes them (closeShared).
   */
  readonly sharedConnections?: Map<string, Promise<Connection>>;
}

export function loggerOf(context: CoreContext): Logger {
  return context.logger ?? silentLogger;
}
