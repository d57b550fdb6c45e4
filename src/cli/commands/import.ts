import type { Command } from 'commander';
import type { ImportResult, KindCounts, RowCounts } from '../../core/import/import-registry.js';
import { example, nameOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';

interface ImportCommandOptions {
  readonly name?: string;
  readonly skipInvalid?: boolean;
  readonly admin?: boolean;
}

function counts(c: RowCounts): string {
  return `${c.inserted} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted`;
}

function renderImportResult(output: Output, result: ImportResult): void {
  const p = output.palette;
  for (const skipped of result.skipped) output.warn(`skipped ${skipped.file}: ${skipped.problem}`);
  output.result(`${p.success('✔')} Imported ${p.strong(result.path)} into ${p.strong(result.database)} as ${result.user} ${p.muted(`(${(result.durationMs / 1000).toFixed(1)} s)`)}`);
  const merged = (c: KindCounts) => (c.merged > 0 ? `, ${c.merged} merged spellings` : '');
  output.result(`  provider versions: ${counts(result.providers)} (${result.providers.files} files, ${result.providers.versions} versions${merged(result.providers)})`);
  output.result(`  platforms:         ${counts(result.providerPlatforms)}`);
  output.result(`  providers:         ${counts(result.registryProviders)}`);
  output.result(`  module versions:   ${counts(result.modules)} (${result.modules.files} files, ${result.modules.versions} versions${merged(result.modules)})`);
  output.result(`  modules:           ${counts(result.registryModules)}`);
  output.result(`  signing keys:      ${counts(result.signingKeys)} (${result.signingKeys.files} files)`);
  if (result.skipped.length > 0) output.result(`  skipped:           ${result.skipped.length} (listed above)`);
}

export function registerImport(program: Command): void {
  const command = program
    .command('import')
    .description('load providers, modules and signing keys from a checkout of the OpenTofu registry repository (everything the registry protocols serve; one transaction)')
    .argument('<path>', 'the checkout: the folder holding providers/, modules/ and keys/');
  nameOption(command);
  command.option('--skip-invalid', 'import the valid files and list the invalid ones, instead of stopping before anything is written');
  command.option('--admin', 'write as the admin role instead of the application role');
  example(
    command,
    'git clone --depth 1 https://github.com/opentofu/registry /tmp/registry',
    'tofu-registry-db import /tmp/registry --json',
  );
  command.action((registryPath: string, options: ImportCommandOptions, cmd: Command) =>
    runCommand('import', cmd, async (run) => {
      const context = run.context({ database: options.name });
      const { importRegistry } = await import('../../core/import/import-registry.js');
      const result = await importRegistry(context, { path: registryPath, skipInvalid: options.skipInvalid, admin: options.admin });
      return {
        json: {
          database: result.database,
          path: result.path,
          user: result.user,
          files: result.files,
          skipped: result.skipped,
          rows: result.rows,
          providers: result.providers,
          providerPlatforms: result.providerPlatforms,
          registryProviders: result.registryProviders,
          modules: result.modules,
          registryModules: result.registryModules,
          signingKeys: result.signingKeys,
          durationMs: result.durationMs,
        },
        render: (output) => renderImportResult(output, result),
      };
    }),
  );
}
