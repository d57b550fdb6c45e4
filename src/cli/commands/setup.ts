import type { Command } from 'commander';
import type { SetupResult } from '../../core/provision/setup.js';
import { confirmReplacement, confirmRotation } from '../confirm.js';
import { dirOption, dryRunOption, example, nameOption, passwordOptions, passwordToPrint, userOption, waitOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';
import { renderChecklist } from './test-connection.js';

interface SetupCommandOptions {
  readonly name?: string;
  readonly user?: string;
  readonly dir?: string;
  readonly rotatePassword?: boolean;
  readonly showPassword?: boolean;
  readonly writeEnv: boolean;
  readonly dryRun?: boolean;
  readonly wait?: number;
}

/** One line per step, aligned, so a CI log shows the outcome at a glance. */
function renderSetup(output: Output, result: SetupResult, showPassword: boolean): void {
  const p = output.palette;
  if (result.plannedSql !== undefined) return output.result(result.plannedSql);
  const { database, user, connection } = result;
  if (!database || !user) return;
  const migrations = database.migrations;
  const applied = migrations ? `${migrations.appliedCount} migration(s) applied, ${migrations.upToDateCount} already up to date` : '';
  output.result(`${p.success('✔')} database    ${p.strong(database.database)} ${database.created ? 'created' : 'exists'}; ${applied}`);
  const env = user.envFile;
  const roleState = user.created ? 'created' : user.passwordChanged ? 'password rotated' : 'exists, password kept';
  const written = { written: 'credentials written to', unchanged: 'connection settings written to', absent: 'connection settings written to' } as const;
  const after = { written: '', unchanged: ' (password kept)', absent: ' (no password: the role keeps its own)' } as const;
  const envState = env ? (env.written ? `${written[env.password]} ${env.path}${after[env.password]}` : `${env.path} up to date`) : 'env file left alone';
  output.result(`${p.success('✔')} role        ${p.strong(user.role)} ${roleState}; grants applied; ${envState}`);
  for (const warning of [...user.warnings, ...(env?.warnings ?? [])]) output.warn(warning);
  if (connection && !connection.ok) {
    output.result(`${p.error('✖')} connection  the application role's checks failed:`);
    renderChecklist(output, connection);
    return;
  }
  const checks = connection?.checks ?? [];
  const total = checks.reduce((sum, c) => sum + c.durationMs, 0);
  const count = (status: string) => checks.filter((c) => c.status === status).length;
  const passed = count('pass') + count('warn');
  const notes = [count('warn') ? `${count('warn')} with warnings` : '', count('skip') ? `${count('skip')} not needed` : ''].filter(Boolean).join(', ');
  output.result(`${p.success('✔')} connection  ${passed} of ${checks.length} checks passed${notes ? ` (${notes})` : ''} ${p.muted(`(${Math.round(total)} ms)`)}`);
  if (showPassword && user.password !== undefined) output.asked(`Password: ${user.password}`);
  output.result(`Ready: ${user.role}@${connection?.host}:${connection?.port}/${database.database} (sslmode ${connection?.sslMode})`);
}

export function registerSetup(program: Command): void {
  const command = program
    .command('setup')
    .description('create-db, migrate, create-user and test-connection in one idempotent run (what a CI job calls)');
  nameOption(command);
  userOption(command);
  dirOption(command);
  passwordOptions(command);
  dryRunOption(command);
  waitOption(command);
  example(command, 'tofu-registry-db setup --wait 30 --json', 'tofu-registry-db setup --name opentofu_ci_$CI_JOB_ID --user opentofu_ci_$CI_JOB_ID --env-file ci.env');
  command.action((options: SetupCommandOptions, cmd: Command) =>
    runCommand('setup', cmd, async (run) => {
      const context = run.context({ database: options.name, user: options.user });
      const json = Boolean(run.globals.json);
      if (options.rotatePassword && !options.dryRun) {
        await confirmRotation(context.settings.user, run.interactive, Boolean(run.globals.yes));
      }
      const replaceCredentials = options.writeEnv && !options.dryRun && (await confirmReplacement(context.settings, run.interactive, Boolean(run.globals.yes)));
      const { setup } = await import('../../core/provision/setup.js');
      const result = await setup(context, {
        migrationsDir: options.dir,
        rotatePassword: options.rotatePassword,
        writeEnv: options.writeEnv,
        dryRun: options.dryRun,
        replaceCredentials,
        waitSeconds: options.wait,
        passwordKept: json || Boolean(options.showPassword),
      });
      // Failed before its checks ran: reported as any command's error (a failed migration's results included).
      if (!result.ok && !result.connection) throw result.error;
      const { password, plannedSql, ...user } = result.user ?? {};
      const printed = passwordToPrint(password, options, json);
      return {
        json: {
          database: result.database,
          user: result.user ? { ...user, ...(printed ? { password: printed } : {}) } : null,
          connection: result.connection,
          ...(result.retries ? { retries: result.retries } : {}),
          ...(result.plannedSql !== undefined ? { sql: result.plannedSql } : {}),
          ...(result.connection && !result.connection.ok ? { error: result.connection.checks.find((c) => c.status === 'fail')?.error } : {}),
        },
        render: (output) => renderSetup(output, result, Boolean(options.showPassword)),
        exitCode: result.exitCode,
        ok: result.ok,
        ...(!result.ok ? { failure: result.error } : {}),
      };
    }),
  );
}
