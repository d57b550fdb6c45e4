import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'create-user').
export function registerCreateUser(program: Command): void {
  program.command('create-user').description('(not implemented yet)').action(() => {
    process.stderr.write('create-user: not implemented yet\n');
    process.exitCode = 1;
  });
}
