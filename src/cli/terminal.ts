import { fstatSync, writeSync } from 'node:fs';
import { builtin } from '../core/import-external.js';

/**
 * Writes to stdout and stderr without building process.stdout / process.stderr. Node
 * builds those streams on first access, and the first one loads the stream machinery
 * (net.Socket for a pipe, SyncWriteStream for a file): 1.5-3 ms of every run, about a
 * tenth of `--version`. A synchronous write of the same bytes is what Node does for files
 * and pipes on Linux anyway. The streams are still used where a terminal is involved
 * (spinners, prompts) and whenever the descriptor will not take a blocking write.
 */
export type Fd = 1 | 2;

/** A closed pipe (`tofu-registry-db --help | head`) ends the run quietly, with the exit code it had. */
function exitOnClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
}

const guarded = new Set<Fd>();
function stream(fd: Fd): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!guarded.has(fd)) {
    guarded.add(fd);
    s.on('error', exitOnClosedPipe);
  }
  return s;
}

/** Descriptors that refused a synchronous write (non-blocking, full): the stream takes over for good. */
const streamed = new Set<Fd>();

export function write(fd: Fd, text: string): void {
  if (streamed.has(fd)) {
    stream(fd).write(text);
    return;
  }
  let rest = Buffer.from(text);
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return exitOnClosedPipe(error as NodeJS.ErrnoException);
    // A non-blocking descriptor (shared with a parent that made it so) that is full: the
    // stream queues the rest and drains it before exit, keeping the order of what follows.
    streamed.add(fd);
    stream(fd).write(rest);
  }
}

/** Waits until a stream that took over has written everything: call before process.exit(). */
export async function flushOutput(): Promise<void> {
  await Promise.all(
    [...streamed].map((fd) => {
      const s = stream(fd);
      return s.writableLength === 0 ? undefined : new Promise<void>((resolve) => s.once('drain', resolve).once('error', () => resolve()));
    }),
  );
}

/**
 * Whether the descriptor is a terminal, without building its stream. node:tty loads
 * node:net with it (~2 ms), so it is asked only about character devices: a pipe or a file,
 * what CI jobs and scripts give us, is known not to be a terminal from fstat alone.
 */
export function isTerminal(fd: 0 | Fd): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false; // closed
  }
  return builtin<typeof import('node:tty')>('node:tty').isatty(fd);
}

/** The terminal's width for commander's help; 80, commander's own default, elsewhere. */
function helpWidth(fd: Fd): number {
  return (isTerminal(fd) ? stream(fd).columns : undefined) || 80;
}

/**
 * A usage error quotes the argument it did not know, and `--password=hunter2` is one that
 * users try: what follows the `=` of an unknown option is not repeated.
 */
export function withoutOptionValues(message: string): string {
  return message.replace(/(unknown option '-{1,2}[^'=\s]*)=[^']*'/g, "$1=…'");
}

/**
 * commander's output settings over the same writes: help, version and usage errors print
 * without building the streams (its defaults ask process.stdout for isTTY and columns).
 */
export const commanderOutput = {
  writeOut: (text: string) => write(1, text),
  writeErr: (text: string) => write(2, text),
  outputError: (text: string, print: (text: string) => void) => print(withoutOptionValues(text)),
  getOutHelpWidth: () => helpWidth(1),
  getErrHelpWidth: () => helpWidth(2),
  getOutHasColors: () => isTerminal(1) && stream(1).hasColors(),
  getErrHasColors: () => isTerminal(2) && stream(2).hasColors(),
};
