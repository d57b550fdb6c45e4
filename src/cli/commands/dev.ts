import { Option, type Command } from 'commander';
import { parsePort } from '../../core/config/host.js';
import { example, nameOption, userOption } from '../options.js';
import { runCommand } from '../run-command.js';
import { takeOverSignals } from '../signals.js';
import { write } from '../terminal.js';
import { builtin } from '../../core/runtime/import-external.js';
import { VARIABLES } from '../../core/config/variables.js';

interface DevOptions {
  readonly name?: string;
  readonly user?: string;
  readonly dataDir?: string;
  readonly port?: number;
}

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
      const { startDevDatabase } = await import('../../core/dev/dev-database.js');
      const serve = argv.length === 0;
      // The program's --port (the server to connect to) takes `dev --port` too: for dev it is the port to listen on.
      const globalPort = run.globals.port;
      const port = options.port ?? (globalPort === undefined ? undefined : parsePort(globalPort, '--port'));
      const dev = await startDevDatabase(base, { dataDir: options.dataDir, port, serve, database: options.name, user: options.user });
      const { server, settings } = dev;
      try {
        if (!dev.setup.ok) throw dev.setup.error; // setup returns its failures; reported here as any command's
        const summary = {
          host: server.host,
          port: server.port,
          database: settings.database,
          user: settings.user,
          envFile: dev.envFile ? settings.envFile : null,
          dataDir: server.dataDir,
          postgresVersion: server.majorVersion,
        };
        if (dev.envFileLeftAlone) run.output.info(`dev: ${dev.envFileLeftAlone}: left alone; the command gets the database in its environment`);
        if (!serve) {
          const environment = { ...process.env, ...dev.environment };
          delete environment[VARIABLES.sslRootCert];
          const status = await runChild(argv, environment);
          return { json: { ...summary, commandExitCode: status }, exitCode: status, ok: status === 0, render: () => undefined };
        }
        run.output.stopSpinner();
        run.output.result(`✔ PostgreSQL ${server.majorVersion} ready on ${server.host}:${server.port} — database ${settings.database}, role ${settings.user}`);
        run.output.result(`  credentials written to ${settings.envFile}; data in ${server.dataDir}${server.persistent ? '' : ' (removed on exit)'}`);
        run.output.result('  press Ctrl-C to stop');
        const signal = await waitForStopSignal();
        run.output.info(`Stopping PostgreSQL (${signal})…`);
        return { json: { ...summary, stoppedBy: signal }, render: (output) => output.result('✔ stopped') };
      } finally {
        await server.stop();
      }
    }),
  );
}
