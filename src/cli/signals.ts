import { criticalSectionsDone } from '../core/critical-section.js';
import { flushOutput, write } from './terminal.js';

/**
 * Interrupt handling. By default an interrupted command exits 130 at once: every
 * database step is transactional and the env file is written atomically, so nothing
 * is left half-done. `dev` takes over the signals to stop its server cleanly first.
 */
export function exitOnInterrupt(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    write(2, `\nInterrupted (${signal}).\n`);
    // An env-file rename and its COMMIT finish first (core/critical-section.ts); they take
    // milliseconds. Output queued on a full pipe gets a moment to drain, no more.
    const drained = Promise.race([flushOutput(), new Promise((resolve) => setTimeout(resolve, 200))]);
    void Promise.all([criticalSectionsDone(), drained]).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** Replaces every SIGINT/SIGTERM listener (ours and any a library added) with `handler`. */
export function takeOverSignals(handler: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, handler);
  }
}
