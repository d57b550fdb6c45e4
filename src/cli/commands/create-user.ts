import type { Command } from 'commander';
import type { CreateUserResult } from '../../core/provision/create-user/create-user.js';
import { confirmReplacement, confirmRotation } from '../confirm.js';
import { dryRunOption, example, nameOption, passwordOptions, passwordToPrint, userOption } from '../options.js';
import type { Output } from '../output.js';
import { runCommand } from '../run-command.js';

interface CreateUserCommandOptions {
  readonly name?: string;
  readonly user?: string;
  readonly rotatePassword?: boolean;
  readonly showPassword?: boolean;
  readonly writeEnv: boolean;
  readonly dryRun?: boolean;
}

function renderCreateUser(output: Output, result: CreateUserResult, showPassword: boolean): void {
  const p = output.palette;
  const ok = p.success('✔');
  const env = result.envFile;
  if (result.plannedSql !== undefined) {
    output.result(result.plannedSql);
    if (env) {
      const keys = [...env.addedKeys, ...env.changedKeys];
      output.result(`-- env file ${env.path}: ${keys.length ? `would ${env.created ? 'be created with' : 'set'} ${keys.join(', ')}` : 'up to date'}`);
    }
  } else {
    output.result(
      result.created
        ? `${ok} Created role ${p.strong(result.role)}`
        : result.passwordChanged
          ? `${ok} Rotated the password of role ${p.strong(result.role)}`
          : `${ok} Role ${p.strong(result.role)} already exists; its password is unchanged`,
    );
    output.result(`${ok} Privileges of ${p.strong(result.role)} on ${p.strong(result.database)}:`);
    for (const grant of result.grants) output.result(`    ${grant}`);
    if (env) {
      const keys = [...env.addedKeys, ...env.changedKeys];
      output.result(
        env.written
          ? `${ok} ${env.created ? 'Created' : 'Updated'} ${env.path}: ${keys.join(', ')}`
          : `${ok} ${env.path} is up to date`,
      );
    } else {
      output.result(`${p.muted('-')} Env file left alone (--no-write-env)`);
    }
    if (showPassword && result.password !== undefined) output.asked(`Password: ${result.password}`);
  }
  for (const warning of [...result.warnings, ...(env?.warnings ?? [])]) output.warn(warning);
}

export function registerCreateUser(program: Command): void {
  const command = program
    .command('create-user')
    .description('create the least-privilege application role and write its credentials into the env file (as the admin role)');
  nameOption(command);
  userOption(command);
  passwordOptions(command);
  dryRunOption(command);
  example(command, 'tofu-registry-db create-user --user opentofu_user --env-file ./.env', 'tofu-registry-db create-user --rotate-password --yes');
  command.action((options: CreateUserCommandOptions, cmd: Command) =>
    runCommand('create-user', cmd, async (run) => {
      const context = run.context({ database: options.name, user: options.user });
      const json = Boolean(run.globals.json);
      const showPassword = Boolean(options.showPassword);
      if (options.rotatePassword && !options.dryRun) {
        await confirmRotation(context.settings.user, run.interactive, Boolean(run.globals.yes));
      }
      const replaceCredentials = options.writeEnv && !options.dryRun && (await confirmReplacement(context.settings, run.interactive, Boolean(run.globals.yes)));
      const { createUser } = await import('../../core/provision/create-user/create-user.js');
      const result = await createUser(context, {
        rotatePassword: options.rotatePassword,
        writeEnv: options.writeEnv,
        dryRun: options.dryRun,
        replaceCredentials,
        passwordKept: json || showPassword,
      });
      const printed = passwordToPrint(result.password, options, json);
      const { password: _password, plannedSql, ...rest } = result;
      return {
        json: { ...rest, ...(printed ? { password: printed } : {}), ...(plannedSql !== undefined ? { sql: plannedSql } : {}) },
        render: (output) => renderCreateUser(output, result, showPassword),
      };
    }),
  );
}
