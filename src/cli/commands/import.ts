import type { Command } from 'commander';

// Placeholder: replaced by the real command (see the issue for 'import').
export function registerImport(program: Command): void {
  program.command('import').description('(not implemented yet)').action(() => {
    process.stderr.write('import: not implemented yet\n');
    process.exitCode = 1;
  });
}
