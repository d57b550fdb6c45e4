import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { dryRunOption, example, nameOption, userOption } from '../options.js';
import { importExternal } from '../../core/runtime/import-external.js';
import { runCommand, type CommandRun } from '../run-command.js';

interface DropOptions {
  readonly name?: string;
  readonly user?: string;
  readonly dryRun?: boolean;
}

/** The env file's keys drop changes: removed ones, and a URI that loses its user-info. */
function envKeys(envFile: { removedKeys: readonly string[]; changedKeys: readonly string[] }): string {
  return [...envFile.removedKeys.map((key) => `${key} removed`), ...envFile.changedKeys.map((key) => `${key} without user and password`)].join(', ');
}

/** On a terminal the operator types the database name; elsewhere --yes is required. */
async function confirmDrop(run: CommandRun, database: string, role: string): Promise<void> {
  if (run.globals.yes) return;
  if (!run.interactive) {
    throw new ConfigError(
      `drop is destructive and needs --yes when not run on a terminal (database "${database}", role "${role}").`,
      'Add --yes (or -y) to confirm, or --dry-run to see what would be dropped.',
      'CONFIRMATION_REQUIRED',
    );
  }
  const { input } = await importExternal<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  const answer = await input({ message: `This drops database "${database}" and role "${role}". Type the database name to confirm:` }, { output: process.stderr });
  if (answer.trim() !== database) {
    throw new ConfigError('The name did not match: nothing was dropped.', undefined, 'CONFIRMATION_DECLINED');
  }
}

export function registerDrop(program: Command): void {
  const command = program.command('drop').description('drop the registry database and the application role (destructive)');
  nameOption(command);
  userOption(command);
  dryRunOption(command);
  example(command, 'tofu-registry-db drop --name opentofu_ci_1234 --user opentofu_ci_1234 --yes');
  command.action((options: DropOptions, cmd: Command) =>
    runCommand('drop', cmd, async (run) => {
      const context = run.context({ database: options.name, user: options.user });
      const { database, user } = context.settings;
      if (!options.dryRun) await confirmDrop(run, database, user);
      const { dropDatabaseAndRole } = await import('../../core/provision/drop.js');
      const result = await dropDatabaseAndRole(context, { dryRun: options.dryRun });
      return {
        json: { ...result },
        render(output) {
          const p = output.palette;
          if (result.plannedSql !== undefined) {
            output.result(result.plannedSql);
            if (result.envFile) output.result(`-- env file ${result.envFile.path}: would take role ${user}'s login out of ${envKeys(result.envFile)}`);
            return;
          }
          output.result(result.databaseDropped ? `${p.success('✔')} Dropped database ${p.strong(database)}` : `${p.muted('-')} Database ${database} did not exist`);
          if (result.roleDropped) output.result(`${p.success('✔')} Dropped role ${p.strong(user)}`);
          else if (result.roleKept) output.result(`${p.warning('⚠')} Kept role ${p.strong(user)}: ${result.roleKept}`);
          else output.result(`${p.muted('-')} Role ${user} did not exist`);
          if (result.envFile) output.result(`${p.success('✔')} Took role ${user}'s login out of ${result.envFile.path}: ${envKeys(result.envFile)}`);
        },
      };
    }),
  );
}
