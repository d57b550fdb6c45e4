import { Option, type Command } from 'commander';
import { parseWaitSeconds } from '../core/config/settings.js';
import { revealSecret } from '../core/redact.js';
import { DEFAULTS } from '../core/config/variables.js';

/** Reusable option sets, attached by function so every command spells them the same way. */
export function nameOption(command: Command): Command {
  return command.option('--name <db>', `the registry database (default: TOFU_REGISTRY_DB_NAME, else "${DEFAULTS.database}")`);
}

export function userOption(command: Command): Command {
  return command.option('--user <role>', `the application role (default: TOFU_REGISTRY_DB_USER, else "${DEFAULTS.user}")`);
}

/** create-user and setup: what happens to the role's password. */
export function passwordOptions(command: Command): Command {
  return command
    .option('--rotate-password', 'give an existing role a new password and write it back (asks on a terminal; --yes elsewhere)')
    .option('--show-password', 'also print the password')
    .option('--no-write-env', 'leave the env file alone (the password then appears in --json output only)');
}

/**
 * Whether a new password is printed: with --show-password, or in --json output when the
 * env file is not written (else nobody would learn it). Printing needs it unmasked.
 */
export function passwordToPrint(password: string | undefined, options: { showPassword?: boolean; writeEnv: boolean }, json: boolean): string | undefined {
  if (password === undefined || !(options.showPassword || (json && !options.writeEnv))) return undefined;
  revealSecret(password);
  return password;
}

export function dirOption(command: Command): Command {
  return command.option('--dir <path>', 'migrations folder (default: the bundled sql/)');
}

export function dryRunOption(command: Command): Command {
  return command.option('--dry-run', 'print the SQL that would run (passwords redacted) and change nothing');
}

export function waitOption(command: Command): Command {
  return command.addOption(
    new Option('--wait <seconds>', 'retry until the server accepts connections, at most this long').argParser(parseWaitSeconds),
  );
}

/** Adds an example to a command's --help. */
export function example(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
