import { criticalSectionsDone, markInterrupted, runInterruptHooks } from '../core/runtime/critical-section.js';
import { flushOutput, write } from './terminal.js';

let interrupted: NodeJS.Signals | undefined;
let report: ((signal: NodeJS.Signals) => void) | undefined;

/** The signal that interrupted the run, if one did: its result is then no longer printed. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return interrupted;
}

/** The exit status of a run interrupted by `signal`: 130 for SIGINT, 143 for SIGTERM, as shells report them. */
export function interruptExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** What to print when interrupted (--json: the one document stdout must hold, with ok: false). */
export function reportInterruptWith(reporter: (signal: NodeJS.Signals) => void): void {
  report = reporter;
}

/**
 * Interrupt handling. By default an interrupted command exits 130 at once: every
 * database step is transactional and the env file is written atomically, so nothing
 * is left half-done. `dev` takes over the signals to stop its server cleanly first.
 */
export function exitOnInterrupt(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
    // Should the command's own ending reach process.exit first (a statement the interrupt
    // cancelled fails at once), it exits with this status, not 0.
    process.exitCode = interruptExitCode(signal);
    markInterrupted(); // from here on no critical stretch starts; one that runs is waited for
    write(2, `\nInterrupted (${signal}).\n`);
    report?.(signal);
    // An env-file rename and its COMMIT finish first (core/critical-section.ts); they take
    // milliseconds. Then the server is asked to cancel what still runs there (at most 1 s).
    // Output queued on a full pipe gets a moment to drain, no more.
    const drained = Promise.race([flushOutput(), new Promise((resolve) => setTimeout(resolve, 200))]);
    const cancelled = criticalSectionsDone().then(() => runInterruptHooks(1000));
    void Promise.all([cancelled, drained]).then(() => process.exit(interruptExitCode(signal)));
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
