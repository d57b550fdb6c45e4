import { fstatSync, statSync, writeSync } from 'node:fs';
import { builtin } from '../core/runtime/import-external.js';

/**
 * Writes to stdout and stderr without building process.stdout / process.stderr. Node
 * builds those streams on first access, and the first one loads the stream machinery
 * (net.Socket for a pipe, SyncWriteStream for a file): a measurable share of every run (bench/README.md, Start-up), about a
 * tenth of `--version`. A synchronous write of the same bytes is what Node does for files
 * and pipes on Linux anyway. The streams are still used where a terminal is involved
 * (spinners, prompts) and whenever the descriptor will not take a blocking write.
 */
export type Fd = 1 | 2;

/**
 * Descriptors whose reader is gone (`tofu-registry-db … | head`) or that failed otherwise:
 * what is still written to them is dropped, quietly, and the run goes on to its own end and
 * exit code. A failure other than a closed pipe (EIO, ENOSPC on a redirected file) means the
 * result never arrived: outputFailed() tells the caller, which then exits 1.
 */
const closed = new Set<Fd>();
let failure: NodeJS.ErrnoException | undefined;

function closeOutput(fd: Fd, error: NodeJS.ErrnoException): void {
  closed.add(fd);
  if (error.code !== 'EPIPE') failure ??= error;
}

/** Whether output was lost to an error other than a closed pipe. */
export function outputFailed(): boolean {
  return failure !== undefined;
}

const guarded = new Set<Fd>();
function stream(fd: Fd): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!guarded.has(fd)) {
    guarded.add(fd);
    s.on('error', (error: NodeJS.ErrnoException) => closeOutput(fd, error));
  }
  return s;
}

/**
 * Descriptors that refused a synchronous write (non-blocking, and full): their stream takes
 * over for good; the promise kept for each resolves once the last chunk handed to it is written.
 */
const streamed = new Map<Fd, Promise<void>>();

function viaStream(fd: Fd, data: string | Buffer): void {
  const s = stream(fd);
  streamed.set(fd, new Promise((resolve) => s.write(data, () => resolve())));
}

export function write(fd: Fd, text: string): void {
  if (closed.has(fd)) return;
  if (streamed.has(fd)) return viaStream(fd, text);
  let rest = Buffer.from(text);
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN') return closeOutput(fd, error as NodeJS.ErrnoException);
    // A non-blocking descriptor (shared with a parent that made it so) that is full: the
    // stream queues the rest, in order with what follows, and flushOutput() waits for it.
    viaStream(fd, rest);
  }
}

/** Waits until a stream that took over has written everything: call before process.exit(). */
export async function flushOutput(): Promise<void> {
  await Promise.all(streamed.values());
}

/**
 * Whether the descriptor is a terminal, without building its stream. node:tty loads
 * node:net and the stream machinery with it (measured in bench/README.md, History), so it is
 * asked only about character devices other than /dev/null: a pipe, a file or /dev/null,
 * what CI jobs, cron and scripts give us, is known not to be a terminal from fstat alone.
 */
export function isTerminal(fd: 0 | Fd): boolean {
  let device: number;
  try {
    const stat = fstatSync(fd);
    if (!stat.isCharacterDevice()) return false;
    device = stat.rdev;
  } catch {
    return false; // closed
  }
  if (device === nullDevice()) return false;
  return builtin<typeof import('node:tty')>('node:tty').isatty(fd);
}

let nullRdev: number | null | undefined;
/** The device number of /dev/null (null where there is none, as on Windows). */
function nullDevice(): number | null {
  if (nullRdev === undefined) {
    try {
      const stat = statSync('/dev/null');
      nullRdev = stat.isCharacterDevice() ? stat.rdev : null;
    } catch {
      nullRdev = null;
    }
  }
  return nullRdev;
}

/** The terminal's width, 0 when it reports none (a pty left at 0x0, as `script` and some CI runners give). */
export function terminalColumns(fd: Fd): number {
  return (isTerminal(fd) ? stream(fd).columns : 0) || 0;
}

/** The terminal's width for commander's help; 80, commander's own default, elsewhere. */
function helpWidth(fd: Fd): number {
  return terminalColumns(fd) || 80;
}

/**
 * A usage error quotes the argument it did not know, and `--password=hunter2` is one that
 * users try: what follows the `=` of an unknown option is not repeated.
 */
export function withoutOptionValues(message: string): string {
  // Up to the last quote of the line (a value may hold quotes), and a short option's cluster
  // (`-pS3cret`) cut after its letter.
  return message
    .replace(/(unknown option '--[^'=\s]*)=[^\n]*'/g, "$1=…'")
    .replace(/(unknown option '-[^-'\s])[^\n]+'/g, "$1…'");
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
