import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'drop').
export function registerDrop(program: Command): void {
  program.command('drop').description('(not implemented yet)').action(() => {
    process.stderr.write('drop: not implemented yet\n');
    process.exitCode = 1;
  });
}
