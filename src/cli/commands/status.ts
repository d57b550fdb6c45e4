import type { Command } from 'commander';
import type { StatusResult } from '../../core/checks/status.js';
import { describeServer } from '../../core/config/host.js';
import { dirOption, example, nameOption, userOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';

interface StatusOptions {
  readonly name?: string;
  readonly user?: string;
  readonly dir?: string;
}

const LABEL_WIDTH = 'Migrations'.length;

function size(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`;
}

function limit(value: number | undefined): string {
  return value === undefined || value < 0 ? 'no connection limit' : `CONNECTION LIMIT ${value}`;
}

function databaseLine(status: StatusResult): string {
  const db = status.database;
  if (!db.exists) return `${db.name}: does not exist`;
  const rows = Object.entries(db.rows ?? {}).map(([table, n]) => `${table} ≈${n}`).join(', ');
  return `${db.name}: owner ${db.owner}, ${db.encoding}, ${size(db.sizeBytes ?? 0)}, ${limit(db.connectionLimit)}, ${db.sessions} other session(s); rows ${rows || 'none (no registry tables)'}`;
}

function migrationsLine(status: StatusResult): string | undefined {
  const m = status.migrations;
  if (!m) return undefined;
  return `${m.applied} of ${m.total} applied, ${m.pending.length} pending, ${m.changed.length} changed${m.unknown.length ? `, ${m.unknown.length} not in the folder` : ''} (${m.dir})`;
}

function roleLine(status: StatusResult): string {
  const role = status.role;
  if (!role.exists) return `${role.name}: does not exist`;
  const attributes = [role.login ? 'LOGIN' : 'NOLOGIN', ...(role.superuser ? ['SUPERUSER'] : []), limit(role.connectionLimit), `${role.sessions} session(s)`];
  if (role.validUntil) attributes.push(`password valid until ${role.validUntil}`);
  const p = role.privileges;
  const privileges = p
    ? `; ${p.connect ? 'CONNECT' : 'no CONNECT'}, ${p.schemaUsage ? 'USAGE on public' : 'no USAGE on public'}, read/write on ${p.tables - p.tablesMissing.length} of ${p.tables} tables and ${p.sequences - p.sequencesMissing.length} of ${p.sequences} sequences`
    : '';
  return `${role.name}: ${attributes.join(', ')}${privileges}`;
}

function envFileLine(status: StatusResult): string {
  const env = status.envFile;
  if (!env.exists) return `${env.path}: not found`;
  const to = env.points ?? {};
  const where = `${to.user ?? '?'}@${to.host ?? '?'}:${to.port ?? '?'}/${to.database ?? '?'}`;
  return `${env.path}: ${where}, sslmode ${to.sslMode ?? '(default)'}, ${env.passwordSet ? 'password set' : 'no password'}`;
}

export function renderStatus(output: Output, status: StatusResult): void {
  const p = output.palette;
  const line = (label: string, text: string | undefined) => {
    if (text !== undefined) output.result(`${p.strong(label.padEnd(LABEL_WIDTH))}  ${text}`);
  };
  const server = status.server;
  line('Server', `PostgreSQL ${server.version} at ${describeServer(server.host, server.port)}, ${server.standby ? 'standby (read-only)' : 'primary'}; read as "${server.admin}"`);
  line('Settings', Object.entries(status.settings).map(([key, value]) => `${key} ${value}`).join('; '));
  for (const passed of status.hostsPassedOver ?? []) line('Passed over', `${describeServer(passed.host, passed.port)}: ${passed.outcome}`);
  line('Database', databaseLine(status));
  line('Migrations', migrationsLine(status));
  line('App role', roleLine(status));
  line('Env file', envFileLine(status));
  for (const problem of status.problems) {
    output.result(`${p.error('✖')} ${problem.message}`);
    output.result(`    ${p.strong('remedy:')} ${problem.hint}`);
  }
  for (const warning of status.warnings) output.result(`${p.warning('⚠')} ${warning}`);
  output.result(
    status.ok
      ? `${p.success('✔')} Healthy${status.warnings.length ? ` (${status.warnings.length} warning(s))` : ''}`
      : `${p.error('✖')} ${status.problems.length} problem(s) (exit ${status.exitCode})`,
  );
}

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .description('is this installation healthy? server, database, migrations, application role and env file on one screen (as the admin, one connection)');
  nameOption(command);
  userOption(command);
  dirOption(command);
  example(command, 'tofu-registry-db status', 'tofu-registry-db status --json --env-file /etc/opentofu-registry/.env');
  command.action((options: StatusOptions, cmd: Command) =>
    runCommand('status', cmd, async (run) => {
      const context = run.context({ database: options.name, user: options.user });
      const { getStatus } = await import('../../core/checks/status.js');
      const status = await getStatus(context, { migrationsDir: options.dir });
      const first = status.problems[0];
      return {
        json: { ...status },
        render: (output) => renderStatus(output, status),
        exitCode: status.exitCode,
        ok: status.ok,
        ...(first ? { failure: { message: first.message, hint: first.hint } } : {}),
      };
    }),
  );
}
