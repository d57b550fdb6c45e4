import type { Command } from 'commander';
import type { CoreContext } from '../../core/db/context.js';
import { ConfigError } from '../../core/errors.js';
import { describeServer } from '../../core/config/host.js';
import type { CheckResult, TestConnectionResult } from '../../core/checks/test-connection.js';
import { example, nameOption, waitOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';

interface TestConnectionOptions {
  readonly admin?: boolean;
  readonly wait?: number;
  readonly name?: string;
  readonly dir?: string;
}

const NAME_WIDTH = 'authentication'.length;

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function renderCheck(output: Output, check: CheckResult): void {
  const p = output.palette;
  const name = check.name.padEnd(NAME_WIDTH);
  const summary = check.summary.replace(/\.$/, ''); // the duration follows
  const duration = p.muted(`(${formatDuration(check.durationMs)})`);
  switch (check.status) {
    case 'pass':
      output.result(`${p.success('✔')} ${name}  ${summary} ${duration}`);
      break;
    case 'warn':
      output.result(`${p.warning('⚠')} ${name}  ${summary} ${duration}`);
      break;
    case 'fail':
      output.result(`${p.error('✖')} ${p.strong(name)}  ${summary} ${duration}`);
      break;
    case 'skip':
      output.result(p.muted(`- ${name}  ${check.summary.startsWith('skipped') ? check.summary : `skipped, ${check.summary}`}`));
      break;
  }
  if (check.name === 'configuration') {
    const sources = (check.details?.sources ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(sources)) output.result(p.muted(`    ${key} ${value}`));
  }
  for (const warning of check.warnings ?? []) output.result(`    ${p.warning('⚠')} ${warning}`);
  if (check.status !== 'fail') return;
  const { tried, answer } = (check.details ?? {}) as { tried?: string; answer?: string };
  if (tried) output.result(`    ${p.muted('tried: ')} ${tried}`);
  if (answer) output.result(`    ${p.muted('answer:')} ${answer}`);
  if (check.error?.hint) output.result(`    ${p.strong('remedy:')} ${check.error.hint}`);
}

export function renderChecklist(output: Output, result: TestConnectionResult): void {
  const p = output.palette;
  if (result.host) {
    const where = describeServer(result.host, result.port);
    const who = result.role === 'admin' ? 'admin role' : 'application role';
    output.result(`Testing the ${who} "${result.user}" → ${where}, database "${result.database}", sslmode ${result.sslMode}`);
  }
  if (result.waitedMs !== undefined) output.result(p.muted(`(waited ${formatDuration(result.waitedMs)} for the server)`));
  for (const host of result.hosts ?? []) {
    output.result(`${host.chosen ? p.success('→') : p.muted('-')} ${describeServer(host.host, host.port)}: ${host.chosen ? 'checked below' : host.outcome}`);
  }
  for (const check of result.checks) renderCheck(output, check);
  const failedCheck = result.checks.find((check) => check.status === 'fail');
  const warnings = result.checks.reduce((sum, check) => sum + (check.warnings?.length ?? 0), 0);
  output.result(
    failedCheck
      ? `${p.error('✖')} test-connection failed at ${p.strong(failedCheck.name)} (exit ${result.exitCode})`
      : `${p.success('✔')} All checks passed${warnings > 0 ? ` with ${warnings} warning(s)` : ''}`,
  );
}

export function registerTestConnection(program: Command): void {
  const command = program
    .command('test-connection')
    .description('check the connection step by step (configuration, DNS, TCP, TLS, login, database, server, schema, privileges, round trip) and explain the first failure');
  command.option('--admin', 'check the admin connection instead of the application role');
  nameOption(command);
  command.option('--dir <path>', 'the migrations the schema check expects applied (default: the bundled sql/; give the --dir that migrate used)');
  waitOption(command);
  example(command, 'tofu-registry-db test-connection', 'tofu-registry-db test-connection --admin --wait 30 --json', 'tofu-registry-db test-connection --name registry_ci --dir ./migrations');
  command.action((options: TestConnectionOptions, cmd: Command) =>
    runCommand('test-connection', cmd, async (run) => {
      // A setting that does not even resolve is still reported as the checklist: check 1 fails.
      let context: CoreContext | ConfigError;
      try {
        context = run.context({ database: options.name });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        context = error;
      }
      const { configurationFailure, testConnection } = await import('../../core/checks/test-connection.js');
      const result = context instanceof ConfigError
        ? configurationFailure(context, { admin: options.admin })
        : await testConnection(context, { admin: options.admin, waitSeconds: options.wait, migrationsDir: options.dir });
      const failedCheck = result.checks.find((check) => check.status === 'fail');
      return {
        json: { ...result, ...(failedCheck?.error ? { error: failedCheck.error } : {}) },
        render: (output) => renderChecklist(output, result),
        exitCode: result.exitCode,
        ok: result.ok,
        ...(failedCheck?.error ? { failure: { message: `${failedCheck.name}: ${failedCheck.error.message}`, hint: failedCheck.error.hint } } : {}),
      };
    }),
  );
}
