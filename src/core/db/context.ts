import type { Settings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Connection } from './connection.js';
import type { ChangeJournal } from '../runtime/journal.js';

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
  /** Where the steps record what they changed; reported when a later step fails. */
  readonly journal?: ChangeJournal;
}

/** Records a change in the run's journal, if it keeps one. */
export function recordChange(context: CoreContext, change: string): void {
  context.journal?.record(change);
}

export function loggerOf(context: CoreContext): Logger {
  return context.logger ?? silentLogger;
}
