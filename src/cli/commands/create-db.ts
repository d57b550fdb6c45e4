import type { Command } from 'commander';
import { dirOption, dryRunOption, example, nameOption, waitOption } from '../options.js';
import { runCommand } from '../run-command.js';
import { renderMigrateResult } from './migrate.js';

interface CreateDbOptions {
  readonly name?: string;
  readonly dir?: string;
  readonly dryRun?: boolean;
  readonly migrate?: boolean;
  readonly wait?: number;
}

export function registerCreateDb(program: Command): void {
  const command = program
    .command('create-db')
    .description('create the registry database if it does not exist, then apply migrations (as the admin role)');
  nameOption(command);
  dirOption(command);
  dryRunOption(command);
  waitOption(command);
  command.option('--no-migrate', 'create the database only');
  example(command, 'TOFU_REGISTRY_DB_ADMIN_USER=postgres tofu-registry-db create-db --name opentofu');
  command.action((options: CreateDbOptions, cmd: Command) =>
    runCommand('create-db', cmd, async (run) => {
      const context = run.context({ database: options.name });
      // Core modules load only when the command runs: --help and --version stay fast.
      const [{ createDatabase }, { retryWhileUnreachable }] = await Promise.all([import('../../core/provision/create-database.js'), import('../../core/db/wait-for-server.js')]);
      const once = () => createDatabase(context, { migrate: options.migrate, migrationsDir: options.dir, dryRun: options.dryRun });
      // --wait: until a primary answers, and again after a failover cuts a run off.
      const { result, retries } = options.wait === undefined ? { result: await once(), retries: [] } : await retryWhileUnreachable(context, options.wait, once);
      return {
        json: { ...result, ...(retries.length > 0 ? { retries } : {}) },
        render(output) {
          const p = output.palette;
          if (result.plannedSql !== undefined) {
            output.result(result.plannedSql || '-- nothing to do');
            return;
          }
          output.result(
            result.created
              ? `${p.success('✔')} Created database ${p.strong(result.database)}`
              : `${p.success('✔')} Database ${p.strong(result.database)} already exists`,
          );
          if (result.migrations) renderMigrateResult(output, result.migrations);
        },
      };
    }),
  );
}
