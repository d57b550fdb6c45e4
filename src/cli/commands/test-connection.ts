import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'test-connection').
export function registerTestConnection(program: Command): void {
  program.command('test-connection').description('(not implemented yet)').action(() => {
    process.stderr.write('test-connection: not implemented yet\n');
    process.exitCode = 1;
  });
}
