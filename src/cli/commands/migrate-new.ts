import type { Command } from 'commander';
import { dirOption, example } from '../options.js';
import { runCommand } from '../run-command.js';

interface MigrateNewOptions {
  readonly dir?: string;
}

/** `migrate new <name>`: writes the next numbered, empty migration and prints its path (only the path: `$EDITOR "$(…)"`). */
export function registerMigrateNew(migrate: Command): void {
  const command = migrate
    .command('new')
    .description('write the next numbered, empty migration file (NNN_<name>.sql) in the migrations folder and print its path')
    .argument('<name>', 'what the migration does, in letters, digits, "_", "-" and "." (e.g. add_downloads_index)');
  dirOption(command);
  example(command, 'tofu-registry-db migrate new add_downloads_index --dir ./migrations', '$EDITOR "$(tofu-registry-db migrate new add_downloads_index --dir ./migrations)"');
  command.action((name: string, options: MigrateNewOptions, cmd: Command) =>
    runCommand('migrate new', cmd, async () => {
      const { createMigrationFile } = await import('../../core/migrations/new-migration.js');
      // commander hands an option that `migrate` itself also has to `migrate`, wherever it stands.
      const parent = (cmd.parent?.opts() ?? {}) as MigrateNewOptions;
      const result = await createMigrationFile(name, { migrationsDir: options.dir ?? parent.dir });
      return { json: { ...result }, render: (output) => output.result(result.path) };
    }),
  );
}
