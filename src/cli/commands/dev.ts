import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'dev').
export function registerDev(program: Command): void {
  program.command('dev').description('(not implemented yet)').action(() => {
    process.stderr.write('dev: not implemented yet\n');
    process.exitCode = 1;
  });
}
