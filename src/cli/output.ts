import type { Logger } from '../core/logger.js';
import { importExternal } from '../core/runtime/import-external.js';
import { redactSecrets } from '../core/redact.js';
import { isTerminal, terminalColumns, write, type Fd } from './terminal.js';

/**
 * All terminal output goes through here: results to stdout, progress and warnings to
 * stderr, everything redacted. Colour and spinners only on a terminal, never with
 * --json, --no-color, NO_COLOR or CI=true. chalk and ora load only when used.
 */
export interface OutputOptions {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
  /** --quiet: errors only (and a password asked for with --show-password); no results, progress or warnings. */
  readonly quiet?: boolean;
}

type Paint = (text: string) => string;
export interface Palette {
  readonly success: Paint;
  readonly error: Paint;
  readonly warning: Paint;
  readonly muted: Paint;
  readonly strong: Paint;
  readonly code: Paint;
}

const plain: Paint = (text) => text;
const PLAIN_PALETTE: Palette = { success: plain, error: plain, warning: plain, muted: plain, strong: plain, code: plain };

interface Spinner {
  text: string;
  start(text?: string): Spinner;
  stop(): Spinner;
  succeed(text?: string): Spinner;
  isSpinning: boolean;
}

export function colorWanted(requested: boolean, env = process.env, fd: Fd = 2): boolean {
  if (!requested) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.CI === 'true' || env.CI === '1') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTerminal(fd) && env.TERM !== 'dumb';
}

export class Output {
  readonly options: OutputOptions;
  palette: Palette = PLAIN_PALETTE;
  private spinner: Spinner | undefined;
  /** One ora for the whole run, however many steps race to create it. */
  private spinnerLoad: Promise<Spinner> | undefined;
  /** Bumped by stopSpinner(): a step still waiting for ora must not restart the spinner. */
  private stops = 0;
  private readonly interactive: boolean;

  constructor(options: OutputOptions) {
    this.options = options;
    // A terminal without a width gets no spinner: ora divides by the width to know how many
    // lines to clear, and at 0 columns it cleared lines forever (850 MB in 10 minutes, seen).
    this.interactive = !options.json && options.color && isTerminal(2) && terminalColumns(2) > 0;
  }

  /** Loads chalk when colour is wanted; call once before rendering. */
  async init(): Promise<void> {
    if (!this.options.color || this.options.json) return;
    const { Chalk } = await importExternal<typeof import('chalk')>('chalk');
    const chalk = new Chalk({ level: 1 });
    this.palette = {
      success: chalk.green,
      error: chalk.red,
      warning: chalk.yellow,
      muted: chalk.gray,
      strong: chalk.bold,
      code: chalk.cyan,
    };
  }

  /** A result line (stdout). Suppressed in --json mode, where only the document is printed, and with --quiet. */
  result(text = ''): void {
    if (this.options.quiet) return;
    this.asked(text);
  }

  /** A result the user asked for by name (--show-password): printed even with --quiet, never in --json mode. */
  asked(text: string): void {
    if (this.options.json) return;
    this.pauseSpinner();
    write(1, redactSecrets(text) + '\n');
  }

  /** The one JSON document of a --json run. */
  json(document: unknown): void {
    write(1, redactSecrets(JSON.stringify(document, null, 2)) + '\n');
  }

  /** Progress and warnings (stderr); not with --quiet. */
  info(text: string): void {
    if (this.options.quiet) return;
    this.error(text);
  }

  /** An error (stderr): the one thing --quiet still prints. */
  error(text: string): void {
    this.pauseSpinner();
    write(2, redactSecrets(text) + '\n');
  }

  warn(text: string): void {
    this.info(`${this.palette.warning('⚠')} ${text}`);
  }

  debug(text: string): void {
    if (this.options.verbose) this.info(this.palette.muted(text.split('\n').map((l) => `  | ${l}`).join('\n')));
  }

  /** Shows a spinner on a terminal; elsewhere (CI, pipes, --json) a plain line or nothing. */
  async step(text: string): Promise<void> {
    if (this.options.json || this.options.quiet) return;
    if (!this.interactive) {
      if (this.options.verbose) this.info(`- ${text}`);
      return;
    }
    const stopsBefore = this.stops;
    this.spinnerLoad ??= importExternal<typeof import('ora')>('ora').then(
      ({ default: ora }) => (this.spinner = ora({ stream: process.stderr, discardStdin: false }) as unknown as Spinner),
    );
    const spinner = await this.spinnerLoad;
    if (this.stops === stopsBefore) spinner.start(redactSecrets(text));
  }

  stopSpinner(): void {
    this.stops++;
    if (this.spinner?.isSpinning) this.spinner.stop();
  }

  private pauseSpinner(): void {
    this.stopSpinner();
  }

  /** A Logger for the core that renders through this output. */
  logger(): Logger {
    return {
      debug: (message) => this.debug(message),
      step: (message) => void this.step(message),
      warn: (message) => this.warn(message),
    };
  }
}
