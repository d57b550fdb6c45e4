import { Command, CommanderError, Option } from 'commander';
import { isRegistryDbError, RegistryDbError } from '../core/errors.js';
import { SSL_MODES } from '../core/config/variables.js';
import { packageVersion } from '../core/runtime/package-root.js';
import { toRegistryDbError } from '../core/db/pg-errors.js';
import { registerCreateDb } from './commands/create-db.js';
import { registerCreateUser } from './commands/create-user.js';
import { registerDev } from './commands/dev.js';
import { registerDrop } from './commands/drop.js';
import { registerImport } from './commands/import.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSetup } from './commands/setup.js';
import { registerStatus } from './commands/status.js';
import { registerTestConnection } from './commands/test-connection.js';
import { colorWanted, Output } from './output.js';
import { environmentHelp } from './environment-help.js';
import { reportError } from './run-command.js';
import { exitOnInterrupt, interruptedBy } from './signals.js';
import { criticalSectionsDone } from '../core/runtime/critical-section.js';
import { commanderOutput, flushOutput, outputFailed, withoutOptionValues } from './terminal.js';

/** The program: only wiring. Each command lives in its own file under commands/. */
export function buildProgram(): Command {
  const version = packageVersion();
  const program = new Command('tofu-registry-db')
    .description('Provision and maintain the PostgreSQL database behind an OpenTofu registry API.')
    .version(version, '-v, --version', 'print the version')
    .option('--env-file <path>', 'env file to read and write back to', './.env')
    .option('--host <hosts>', 'server host, list of hosts (db1,db2) or Unix-socket folder (over TOFU_REGISTRY_DB_HOST, URIs and PGHOST)')
    .option('--port <ports>', 'server port, or one per host (over TOFU_REGISTRY_DB_PORT, URIs and PGPORT)')
    .addOption(new Option('--sslmode <mode>', 'libpq sslmode (over TOFU_REGISTRY_DB_SSLMODE, URIs and PGSSLMODE)').choices([...SSL_MODES]))
    .option('--admin-user <role>', 'the admin role (over TOFU_REGISTRY_DB_ADMIN_USER, the admin URI and PGUSER)')
    .option('--json', 'print exactly one JSON document on stdout, also on failure')
    .option('-y, --yes', 'answer yes to confirmations; never prompt')
    .option('-q, --quiet', 'print errors only (and what --show-password asks for); the exit code tells the rest')
    .option('--verbose', 'show each step and the SQL sent (secrets redacted)')
    .addOption(new Option('--no-color', 'no colour (also: NO_COLOR, CI=true, not a terminal)'))
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false)
    .configureOutput(commanderOutput)
    .exitOverride();
  program.addHelpText('after', `${environmentHelp()}\nExample:\n  $ tofu-registry-db setup --env-file .env\n`);
  registerCreateDb(program);
  registerCreateUser(program);
  registerTestConnection(program);
  registerMigrate(program);
  registerStatus(program);
  registerSetup(program);
  registerDrop(program);
  registerDev(program);
  registerImport(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Our own arguments: a `--json` after `dev --` belongs to the child command. */
function ownArgs(argv: readonly string[]): readonly string[] {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

function wantsJson(argv: readonly string[]): boolean {
  return ownArgs(argv).includes('--json');
}

/** The program's options that take a value: the word after them is not the command. */
const OPTIONS_WITH_VALUES = new Set(['--env-file', '--host', '--port', '--sslmode', '--admin-user']);

/** The command's name for an error report: the first word that is not an option or its value. */
function commandName(argv: readonly string[]): string {
  const args = ownArgs(argv);
  for (let i = 0; i < args.length; i++) {
    if (OPTIONS_WITH_VALUES.has(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i]!;
  }
  return '';
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  exitOnInterrupt();

  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    await flushOutput();
    // Interrupted: the signal handler set the exit status; a rename and its COMMIT still
    // under way finish first.
    if (interruptedBy()) await criticalSectionsDone();
    // Exit explicitly with the code the command decided: a library's exit hook (the
    // embedded server's) must not replace it, and no idle handle may keep us alive. A
    // result that could not be written (EIO, a full disk; not a closed pipe) is a failure.
    process.exit(outputFailed() && !process.exitCode ? 1 : (process.exitCode ?? 0));
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      if (wantsJson(argv)) {
        const output = new Output({ json: true, verbose: false, color: false });
        const usage = new RegistryDbError('usage', 'USAGE', withoutOptionValues(error.message.replace(/^error: /, '')), { hint: 'Run with --help for usage.' });
        output.json({ ok: false, command: null, error: usage.toJSON() });
      }
      process.exitCode = 2;
      return;
    }
    const failure = isRegistryDbError(error) ? error : toRegistryDbError(error);
    const own = ownArgs(argv);
    const output = new Output({ json: wantsJson(argv), verbose: own.includes('--verbose'), color: colorWanted(!own.includes('--no-color')) && !wantsJson(argv) });
    await output.init();
    reportError(output, commandName(argv), failure, error);
    process.exitCode = failure.exitCode;
  }
}
