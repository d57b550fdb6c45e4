import type { Command } from 'commander';
import type { MigrateResult } from '../../core/migrations/engine.js';
import { dirOption, dryRunOption, example, nameOption, waitOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';
import { registerMigrateNew } from './migrate-new.js';

interface MigrateOptions {
  readonly name?: string;
  readonly dir?: string;
  readonly dryRun?: boolean;
  readonly wait?: number;
}

export function renderMigrateResult(output: Output, result: MigrateResult): void {
  const p = output.palette;
  if (result.dryRun) {
    output.result(result.plannedSql || `-- ${result.database}: no pending migrations`);
    return;
  }
  for (const migration of result.results) {
    if (migration.outcome === 'applied') {
      const how = migration.transaction ? '' : ', outside a transaction';
      output.result(`${p.success('✔')} Applied ${migration.fileName} ${p.muted(`(${Math.round(migration.durationMs)} ms${how})`)}`);
    }
  }
  output.result(
    result.appliedCount === 0
      ? `${p.success('✔')} Schema of ${p.strong(result.database)} is up to date (${result.upToDateCount} migrations applied)`
      : `${p.success('✔')} Applied ${result.appliedCount} migration(s) to ${p.strong(result.database)}`,
  );
}

export function registerMigrate(program: Command): void {
  const command = program.command('migrate').description('apply pending migrations from sql/ (or --dir), as the admin role');
  nameOption(command);
  dirOption(command);
  dryRunOption(command);
  waitOption(command);
  example(command, 'tofu-registry-db migrate', 'tofu-registry-db migrate status --json', 'tofu-registry-db migrate --dry-run --dir ./sql', 'tofu-registry-db migrate new add_downloads_index --dir ./sql');
  command.action((options: MigrateOptions, cmd: Command) =>
    runCommand('migrate', cmd, async (run) => {
      const context = run.context({ database: options.name });
      const [{ migrate }, { retryWhileUnreachable }] = await Promise.all([import('../../core/migrations/migrate.js'), import('../../core/db/wait-for-server.js')]);
      const run_ = () => migrate(context, { migrationsDir: options.dir, dryRun: options.dryRun });
      // --wait: until a primary answers, and again after a failover cuts a run off.
      const { result, retries } = options.wait === undefined ? { result: await run_(), retries: [] } : await retryWhileUnreachable(context, options.wait, run_);
      return {
        json: {
          database: result.database,
          dryRun: result.dryRun,
          applied: result.appliedCount,
          upToDate: result.upToDateCount,
          migrations: result.results,
          ...(retries.length > 0 ? { retries } : {}),
          ...(result.dryRun ? { sql: result.plannedSql } : {}),
        },
        render: (output) => renderMigrateResult(output, result),
      };
    }),
  );

  const status = command.command('status').description('list applied, pending and changed migrations');
  nameOption(status);
  dirOption(status);
  example(status, 'tofu-registry-db migrate status');
  status.action((options: MigrateOptions, cmd: Command) =>
    runCommand('migrate status', cmd, async (run) => {
      const { getMigrationStatus } = await import('../../core/migrations/migrate.js');
      // commander hands an option that `migrate` itself also has to `migrate`, wherever it
      // stands (`migrate status --name x` included): read it from there as well.
      const parent = (cmd.parent?.opts() ?? {}) as MigrateOptions;
      const result = await getMigrationStatus(run.context({ database: options.name ?? parent.name }), { migrationsDir: options.dir ?? parent.dir });
      return {
        json: { ...result },
        // A changed applied migration is a schema problem (exit 5) even when only listing.
        exitCode: result.changedCount > 0 ? 5 : 0,
        ok: result.changedCount === 0,
        failure: { message: `${result.changedCount} applied migration(s) changed since they ran: ${result.migrations.filter((m) => m.state === 'changed').map((m) => m.fileName).join(', ')}.`, hint: 'Migrations are forward-only: restore the original file and put the change in a new migration.' },
        render(output) {
          const p = output.palette;
          const marks = { applied: p.success('applied'), pending: p.warning('pending'), changed: p.error('CHANGED'), missing: p.error('missing file') };
          for (const m of result.migrations) {
            const marker = m.transaction === false ? p.muted('  (no transaction)') : '';
            const lease = m.lease
              ? p.warning(m.lease.live ? `  being applied by another runner (lease until ${m.lease.until})` : `  interrupted (lease expired ${m.lease.until}): the next migrate runs it again`)
              : '';
            output.result(`${marks[m.state].padEnd(8)}  ${m.fileName}${marker}${m.appliedAt ? p.muted(`  ${m.appliedAt}`) : ''}${lease}`);
          }
          output.result(`${result.migrations.length} migrations: ${result.pendingCount} pending, ${result.changedCount} changed`);
        },
      };
    }),
  );
  registerMigrateNew(command);
}
