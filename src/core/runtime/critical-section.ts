/**
 * Stretches that must not be cut by an interrupt: between renaming the env file into
 * place and the COMMIT of the role change, stopping would leave a file holding a password
 * the server rolled back. The CLI's signal handler defers its exit until they end.
 */
let depth = 0;
const waiting: Array<() => void> = [];
let interruptPending = false;

/** Thrown by runCritical once the run is being interrupted: no critical stretch starts then. */
export class InterruptPendingError extends Error {
  constructor() {
    super('Interrupted before a step that must not be cut');
    this.name = 'InterruptPendingError';
  }
}

/**
 * Called by the signal handler first: a stretch already running is waited for, and none may
 * start after it (the handler is about to cancel queries and exit, which would cut it).
 */
export function markInterrupted(): void {
  interruptPending = true;
}

export async function runCritical<T>(work: () => Promise<T>): Promise<T> {
  if (interruptPending) throw new InterruptPendingError();
  depth++;
  try {
    return await work();
  } finally {
    depth--;
    if (depth === 0) for (const resume of waiting.splice(0)) resume();
  }
}

/** Resolves at once outside a critical section, else when the last one ends. */
export function criticalSectionsDone(): Promise<void> {
  return depth === 0 ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve));
}

/**
 * Work to do when the run is interrupted, before it exits: connection.ts cancels the queries
 * still running on the server (a Ctrl-C'd migration would otherwise keep its locks until its
 * statement ends, up to the statement timeout). Registered by the modules that need it, so
 * the signal handler loads nothing.
 */
const interruptHooks = new Set<() => Promise<void>>();

export function onInterrupt(hook: () => Promise<void>): void {
  interruptHooks.add(hook);
}

/** Runs every hook, each bounded by `timeoutMs`; never rejects. */
export async function runInterruptHooks(timeoutMs: number): Promise<void> {
  await Promise.all(
    [...interruptHooks].map((hook) =>
      Promise.race([hook().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]),
    ),
  );
}
