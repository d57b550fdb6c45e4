import { Option, type Command } from 'commander';
import { resolveSettings, VARIABLES } from '../../core/config/settings.js';
import { parsePort } from '../../core/config/host.js';
import type { EmbeddedServer } from '../../core/dev/embedded-server.js';
import { example, nameOption, userOption } from '../options.js';
import { runCommand } from '../run-command.js';
import { takeOverSignals } from '../signals.js';
import { write } from '../terminal.js';
import { builtin } from '../../core/runtime/import-external.js';

interface DevOptions {
  readonly name?: string;
  readonly user?: string;
  readonly dataDir?: string;
  readonly port?: number;
}

const DEV_COMMENT = 'Written by `tofu-registry-db dev`: an embedded PostgreSQL on loopback only, so sslmode is disable.';

/** Runs the child with the database's environment; resolves with its exit status (128+n for a signal). */
function runChild(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const { spawn } = builtin<typeof import('node:child_process')>('node:child_process');
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
    // A terminal's Ctrl-C reaches the child itself; a SIGTERM sent to us is passed on.
    takeOverSignals((signal) => child.kill(signal));
    child.on('error', (error) => {
      write(2, `dev: cannot run ${argv[0]}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15)));
  });
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => takeOverSignals(resolve));
}

export function registerDev(program: Command): void {
  const command = program
    .command('dev')
    .description('start an embedded PostgreSQL, provision it (setup), write the env file; serve until Ctrl-C, or run a command against it')
    .argument('[command...]', 'after --: run this command with the database environment, then stop')
  nameOption(command);
  userOption(command);
  command.option('--data-dir <path>', 'keep the server data here (default: a temporary folder removed on exit)');
  command.addOption(new Option('--port <n>', 'listen on this port (default: a free one)').argParser((text) => parsePort(text, '--port')));
  example(command, 'tofu-registry-db dev', 'tofu-registry-db dev -- npm run test:api');
  command.action((argv: string[], options: DevOptions, cmd: Command) =>
    runCommand('dev', cmd, async (run) => {
      // Validate flags and the env file before starting anything.
      const base = run.context({ database: options.name, user: options.user });
      const logger = run.output.logger();
      const [{ startEmbeddedServer }, { updateEnvFile }, { setup }] = await Promise.all([
        import('../../core/dev/embedded-server.js'),
        import('../../core/config/env-file-update.js'),
        import('../../core/provision/setup.js'),
      ]);
      let server: EmbeddedServer | undefined;
      try {
        server = await startEmbeddedServer({ dataDir: options.dataDir, port: options.port, logger });
        const devEnv: Record<string, string> = {
          [VARIABLES.type]: 'postgres',
          [VARIABLES.host]: server.host,
          [VARIABLES.port]: String(server.port),
          [VARIABLES.database]: base.settings.database,
          [VARIABLES.sslMode]: 'disable',
        };
        const settings = resolveSettings({
          env: { ...process.env, ...devEnv, [VARIABLES.adminUser]: server.adminUser, [VARIABLES.adminPassword]: server.adminPassword, [VARIABLES.adminDatabase]: 'postgres' },
          flags: { database: options.name, user: options.user, envFile: base.settings.envFile },
        });
        // The dev connection values first (with the comment saying why TLS is off), then
        // setup adds the role and its password.
        await updateEnvFile(settings.envFile, devEnv, { headerComment: DEV_COMMENT, commentChangedKeys: true });
        // A kept --data-dir whose env file is gone: the local role gets a new password.
        const result = await setup({ ...base, settings }, { rotateIfUnknown: true });
        if (!result.ok) return { json: { ...result }, exitCode: result.exitCode, ok: false, render: () => run.output.info('dev: the provisioned database failed its checks') };
        const password = result.user?.password ?? settings.password ?? '';
        const childEnv = { ...process.env, ...devEnv, [VARIABLES.user]: settings.user, [VARIABLES.password]: password };
        const summary = { host: server.host, port: server.port, database: settings.database, user: settings.user, envFile: settings.envFile, dataDir: server.dataDir };
        if (argv.length > 0) {
          const status = await runChild(argv, childEnv);
          return { json: { ...summary, commandExitCode: status }, exitCode: status, ok: status === 0, render: () => undefined };
        }
        run.output.stopSpinner();
        run.output.result(`✔ PostgreSQL ready on ${server.host}:${server.port} — database ${settings.database}, role ${settings.user}`);
        run.output.result(`  credentials written to ${settings.envFile}; data in ${server.dataDir}${server.persistent ? '' : ' (removed on exit)'}`);
        run.output.result('  press Ctrl-C to stop');
        const signal = await waitForStopSignal();
        run.output.info(`Stopping PostgreSQL (${signal})…`);
        return { json: { ...summary, stoppedBy: signal }, render: (output) => output.result('✔ stopped') };
      } finally {
        await server?.stop();
      }
    }),
  );
}
