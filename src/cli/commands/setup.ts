import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'setup').
export function registerSetup(program: Command): void {
  program.command('setup').description('(not implemented yet)').action(() => {
    process.stderr.write('setup: not implemented yet\n');
    process.exitCode = 1;
  });
}
