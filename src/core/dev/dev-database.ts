import { updateEnvFile, type EnvFileUpdateResult } from '../config/env-file-update.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import type { CoreContext } from '../db/context.js';
import { loggerOf } from '../db/context.js';
import { setup, type SetupResult } from '../provision/setup.js';
import { DEV_COMMENT, devEnvFileVerdict, devEnvValues, notOwnedError } from './dev-env-file.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { devChildEnvironment } from './child-environment.js';

export { VARIABLES_PG_READS_ITSELF } from './child-environment.js';
import { DATABASE_URL, VARIABLES } from '../config/variables.js';

/**
 * `dev`: an embedded PostgreSQL, provisioned by setup, and its credentials written to the env
 * file only where that file is dev's own (dev-env-file.ts). With a command to run, a file that is
 * not dev's is left alone and the command gets the database in its environment.
 */
export interface DevOptions {
  readonly dataDir?: string;
  readonly port?: number;
  /** Serving until stopped: the env file is how clients find the database, so one that is not dev's is refused. */
  readonly serve: boolean;
  readonly database?: string;
  readonly user?: string;
  /** What the command's environment starts from (default: this process's). */
  readonly callerEnvironment?: Readonly<Record<string, string | undefined>>;
}

export interface DevDatabase {
  readonly server: EmbeddedServer;
  readonly settings: Settings;
  readonly setup: SetupResult;
  /** The whole environment of `dev -- <command>` (child-environment.ts); undefined while the role's password is unknown (setup failed). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Written (or up to date); undefined when the file was left alone. */
  readonly envFile?: EnvFileUpdateResult;
  /** Why the env file was left alone, when it was. */
  readonly envFileLeftAlone?: string;
}

/** TOFU_REGISTRY_DB_* and libpq's PG* variables of the caller: none may steer dev's settings away from its own server. */
function withoutConnectionVariables(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const kept = Object.entries(env).filter(([key]) => !(key.startsWith('TOFU_REGISTRY_DB_') || key.startsWith('PG') || key === DATABASE_URL) || key === VARIABLES.database || key === VARIABLES.user);
  return Object.fromEntries(kept);
}

export async function startDevDatabase(base: CoreContext, options: DevOptions): Promise<DevDatabase> {
  const envFile = base.settings.envFile;
  const verdict = devEnvFileVerdict(envFile);
  if (!verdict.owned && options.serve) throw notOwnedError(envFile, verdict.reason);
  const server = await startEmbeddedServer({ dataDir: options.dataDir, port: options.port, logger: loggerOf(base) });
  try {
    const own = {
      [VARIABLES.type]: 'postgres',
      [VARIABLES.host]: server.host,
      [VARIABLES.port]: String(server.port),
      [VARIABLES.sslMode]: 'disable',
      [VARIABLES.adminUser]: server.adminUser,
      [VARIABLES.adminPassword]: server.adminPassword,
      [VARIABLES.adminDatabase]: 'postgres',
    };
    const resolved = resolveSettings({ env: { ...withoutConnectionVariables(process.env), ...own }, flags: { database: options.database, user: options.user, envFile } });
    // Another program's file may name the database and the role; its password is never dev's.
    const settings: Settings = verdict.owned ? resolved : { ...resolved, password: undefined };
    // A kept --data-dir whose password is unknown: the local role gets a new one.
    const result = await setup({ ...base, settings }, { rotateIfUnknown: true, writeEnv: false, passwordKept: true });
    // New or rotated, else the one it kept (from dev's own env file).
    const password = result.user?.password ?? settings.password;
    const connection = password === undefined ? undefined : { host: server.host, port: server.port, database: settings.database, user: settings.user, password };
    const values = connection === undefined ? {} : devEnvValues(connection);
    const written = verdict.owned && password !== undefined && result.ok
      ? await updateEnvFile(envFile, values, { headerComment: DEV_COMMENT, commentChangedKeys: true })
      : undefined;
    return {
      server,
      settings,
      setup: result,
      ...(connection ? { environment: devChildEnvironment(options.callerEnvironment ?? process.env, connection) } : {}),
      ...(written ? { envFile: written } : {}),
      ...(verdict.owned ? {} : { envFileLeftAlone: `${envFile} was not written by dev (${verdict.reason})` }),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
