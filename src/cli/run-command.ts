import type { Command } from 'commander';
import { resolveSettings, type FlagSettings, type Settings } from '../core/config/settings.js';
import type { SslMode } from '../core/config/variables.js';
import type { CoreContext } from '../core/db/context.js';
import { ConfigError, InterruptedError, RegistryDbError, isRegistryDbError } from '../core/errors.js';
import { ChangeJournal } from '../core/runtime/journal.js';
import { toRegistryDbError } from '../core/db/pg-errors.js';
import { importExternal } from '../core/runtime/import-external.js';
import { colorWanted, Output } from './output.js';
import { interruptedBy, reportInterruptWith } from './signals.js';
import { isTerminal } from './terminal.js';

/** Options every command receives (the program's global options). */
export interface GlobalOptions {
  readonly envFile?: string;
  readonly host?: string;
  readonly port?: string;
  readonly sslmode?: SslMode;
  readonly adminUser?: string;
  readonly json?: boolean;
  readonly yes?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly color?: boolean;
}

export interface CommandRun {
  readonly output: Output;
  readonly globals: GlobalOptions;
  /** True when prompts may be shown: a terminal on both ends, no --json, no --yes. */
  readonly interactive: boolean;
  /** Resolves settings (flags > environment > env file > defaults) and builds the core context. */
  context(flags?: Omit<FlagSettings, 'envFile'>): CoreContext;
}

export interface RenderedResult {
  /** Fields merged into the --json document. */
  readonly json: Record<string, unknown>;
  /** Human rendering (stdout). */
  readonly render: (output: Output) => void;
  /** Exit code when the command ran but reports failure (test-connection). Default 0. */
  readonly exitCode?: number;
  readonly ok?: boolean;
  /** With ok false: what --quiet prints instead of the rendering (the failed check's message and hint). */
  readonly failure?: { readonly message: string; readonly hint?: string | null };
}

function isInteractive(globals: GlobalOptions): boolean {
  return !globals.json && !globals.yes && process.env.CI !== 'true' && isTerminal(2) && isTerminal(0);
}

async function promptHidden(question: string): Promise<string | undefined> {
  const { password } = await importExternal<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  return password({ message: question, mask: true }, { output: process.stderr });
}

/**
 * The one top-level place that turns a command's outcome into output and an exit
 * code: results and errors alike, human or --json.
 */
export async function runCommand(
  name: string,
  command: Command,
  body: (run: CommandRun) => Promise<RenderedResult>,
): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const output = new Output({
    json: Boolean(globals.json),
    verbose: Boolean(globals.verbose),
    quiet: Boolean(globals.quiet),
    color: colorWanted(globals.color !== false) && !globals.json,
  });
  await output.init();
  if (globals.quiet && globals.verbose) {
    reportError(output, name, new ConfigError('--quiet and --verbose ask for opposite things.', 'Give one of them.', 'USAGE'));
    process.exitCode = 2;
    return;
  }
  const interactive = isInteractive(globals);
  // One journal per run: the steps record what they change, and a failure reports it.
  const journal = new ChangeJournal();
  const run: CommandRun = {
    output,
    globals,
    interactive,
    context(flags = {}) {
      const settings: Settings = resolveSettings({
        flags: { ...flags, envFile: globals.envFile, host: globals.host, port: globals.port, sslMode: globals.sslmode, adminUser: globals.adminUser },
      });
      if (globals.verbose) {
        output.debug(`env file: ${settings.envFile}${settings.envFileLoaded ? '' : ' (not found)'}`);
        // What was overridden or read past (a PGUSER below TOFU_REGISTRY_DB_ADMIN_USER, Prisma's schema=…).
        for (const note of settings.notes) output.debug(note);
      }
      return {
        settings,
        logger: output.logger(),
        promptPassword: interactive ? promptHidden : undefined,
        journal,
      };
    },
  };
  let printed = false; // the one --json document is either the run's or the interrupt's
  if (output.options.json) {
    reportInterruptWith((signal) => {
      if (printed) return;
      printed = true;
      output.stopSpinner();
      reportError(output, name, new InterruptedError(`${name} (${signal})`), undefined, journal.changes);
    });
  }
  try {
    const result = await body(run);
    if (interruptedBy()) return; // reported by the signal handler
    printed = true;
    output.stopSpinner();
    const ok = result.ok ?? true;
    // A run that reports failure (setup whose closing check failed) says what it changed, as one that threw does.
    const changes = !ok && journal.changes.length > 0 ? journal.changes : undefined;
    if (output.options.json) output.json({ ok, command: name, ...result.json, ...(changes ? { changes } : {}) });
    else if (output.options.quiet && !ok && result.failure) printError(output, result.failure.message, result.failure.hint, changes);
    else result.render(output);
    process.exitCode = result.exitCode ?? 0;
  } catch (error) {
    if (interruptedBy()) return; // what failed was cancelled by the interrupt, reported already
    printed = true;
    output.stopSpinner();
    const failure = isRegistryDbError(error) ? error : toRegistryDbError(error);
    reportError(output, name, failure, error, journal.changes);
    process.exitCode = failure.exitCode;
  }
}

/**
 * A failure, on stderr or as the one --json document. `changes` are what the run changed before
 * it failed (its journal): a run that stops halfway says what it left behind.
 */
export function reportError(output: Output, name: string, failure: RegistryDbError, original?: unknown, changes: readonly string[] = []): void {
  if (output.options.json) {
    const { details, ...error } = failure.toJSON();
    const { results, ...rest } = details ?? {};
    output.json({
      ok: false,
      command: name,
      ...(results ? { migrations: results } : {}),
      ...(changes.length > 0 ? { changes } : {}),
      error: { ...error, ...(Object.keys(rest).length ? { details: rest } : {}) },
    });
    return;
  }
  printError(output, failure.message, failure.hint, changes);
  if (output.options.verbose && failure.errorClass === 'internal' && original instanceof Error && original.stack) {
    output.debug(original.stack);
  }
}

/** An error on stderr, as every command shows one: ✖ what happened, what the run had changed before it, then the hint. */
function printError(output: Output, message: string, hint: string | null | undefined, changes: readonly string[] = []): void {
  const p = output.palette;
  output.error(`${p.error('✖')} ${message}`);
  if (changes.length > 0) {
    output.error(`  ${p.strong('changed before the failure:')}`);
    for (const change of changes) output.error(`    - ${change}`);
  }
  if (hint) output.error(`  ${p.strong('hint:')} ${hint}`);
}
