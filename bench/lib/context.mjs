/**
 * Everything a scenario needs to build its processes: the server, the environments
 * (ours, libpq's, a clean base), unique names, paths of the programs compared.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveBinary } from 'dbmate';
import { connectAdmin } from './fixtures.mjs';
import { runProcess } from './measure.mjs';

const require = createRequire(import.meta.url);

/** The Go binary comes in a per-platform optional package: absent elsewhere, create-db's scenario then fails alone. */
function dbmateBinaryOrNothing() {
  try {
    return resolveBinary();
  } catch {
    return undefined;
  }
}

/**
 * Variables that would change what a process does or how fast it starts, taken out of
 * the inherited environment so that every run sees only what the benchmark sets.
 */
const INHERITED_OUT = /^(TOFU_REGISTRY_DB_|PG|DATABASE_URL$|DBMATE_|NODE_OPTIONS$|NODE_DEBUG$|FORCE_COLOR$|npm_)/;

export function cleanBaseEnv(env = process.env) {
  return Object.fromEntries(Object.entries(env).filter(([key, value]) => value !== undefined && !INHERITED_OUT.test(key)));
}

/**
 * @typedef {Awaited<ReturnType<typeof createContext>>} BenchContext
 * @param {{ repo: string, server: Awaited<ReturnType<typeof import('./server.mjs').startBenchServer>>, clientBin: string }} options
 */
export async function createContext({ repo, server, clientBin }) {
  const work = mkdtempSync(path.join(tmpdir(), 'trdb-bench-'));
  const baseEnv = cleanBaseEnv();
  const cliEnv = {
    ...baseEnv,
    TOFU_REGISTRY_DB_HOST: server.host,
    TOFU_REGISTRY_DB_PORT: String(server.port),
    TOFU_REGISTRY_DB_SSLMODE: 'disable',
    TOFU_REGISTRY_DB_ADMIN_USER: server.superuser,
    TOFU_REGISTRY_DB_ADMIN_PASSWORD: server.password,
  };
  const libpqEnv = {
    ...baseEnv,
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: server.superuser,
    PGPASSWORD: server.password,
    PGSSLMODE: 'disable',
    PGAPPNAME: 'bench',
  };
  const cliBin = path.join(repo, 'bin', 'tofu-registry-db.cjs');
  const absentEnvFile = path.join(work, 'absent.env');
  let counter = 0;

  /**
   * `bin/tofu-registry-db.cjs …` executed as a user's shell runs `tofu-registry-db` (npm links
   * that file): through its #! line, which starts Node with `--` (so Node 20 leaves our
   * `--env-file` alone) and without NODE_EXTRA_CA_CERTS (see the bin). Commands get a
   * temporary env file unless given one.
   * @param {readonly string[]} args
   * @param {Record<string, string>} [env] variables to set on top (another port, say)
   * @returns {import('./measure.mjs').ProcessSpec}
   */
  const cli = (args, env = {}) => {
    const informational = args.includes('--help') || args.includes('--version');
    const envFile = informational || args.includes('--env-file') ? [] : ['--env-file', absentEnvFile];
    return { command: cliBin, args: [...args, ...envFile], env: { ...cliEnv, ...env }, cwd: work };
  };

  return {
    repo,
    work,
    server,
    clientBin,
    baseEnv,
    libpqEnv,
    admin: await connectAdmin(server),
    nodePath: process.execPath,
    dbmateCli: require.resolve('dbmate/dist/cli.js'),
    dbmateBinary: dbmateBinaryOrNothing(),
    cli,
    /** @param {readonly string[]} args */
    node: (args) => ({ command: process.execPath, args: [...args], env: baseEnv, cwd: work }),
    /** Runs our CLI untimed (scenario set-up) and fails loudly if it fails. */
    async cliOrThrow(args) {
      const result = await runProcess(cli(args));
      if (result.code !== 0) {
        throw new Error(`set-up step "tofu-registry-db ${args.join(' ')}" exited ${result.code}: ${(result.stderr || result.stdout).trim()}`);
      }
      return result;
    },
    /** Names unique to this run and round: b<pid>_<what>_<n>. */
    unique: (what) => `b${process.pid}_${what}_${++counter}`,
    envFilePath: (name) => path.join(work, `${name}.env`),
    databaseUrl: (database, port = server.port) =>
      `postgres://${server.superuser}:${encodeURIComponent(server.password)}@${server.host}:${port}/${database}?sslmode=disable`,
  };
}
