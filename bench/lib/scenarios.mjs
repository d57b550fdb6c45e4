/**
 * The scenarios of issue #7, each our command beside its reference. A scenario has
 * variants (the processes timed, in this order within every round: ours first, then
 * the references) and rows (the ratios reported, each with its target).
 *
 * A variant's prepare() does the untimed work before one run (fresh names, an empty
 * database) and returns the process to time, a verify() that proves the run did its
 * work, and a cleanup() that removes what it made.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTables, createAppRole, dropObjects, quoteIdent, writeDbmateMigrations, writeSmallMigrations } from './fixtures.mjs';

/**
 * @typedef {import('./measure.mjs').ProcessSpec} ProcessSpec
 * @typedef {import('./measure.mjs').ProcessResult} ProcessResult
 * @typedef {object} PreparedRun
 * @property {ProcessSpec} spec
 * @property {(result: ProcessResult) => Promise<void>} [verify]
 * @property {() => Promise<void>} [cleanup]
 * @typedef {object} Variant
 * @property {string} label
 * @property {boolean} [ours]                 a tofu-registry-db process: counts for the memory limit
 * @property {string} [command]              our subcommand: while it is a placeholder, the scenario reports "n/a"
 * @property {(round: number) => Promise<PreparedRun>} prepare
 * @typedef {object} Row
 * @property {string} label
 * @property {string} a                       variant key (numerator)
 * @property {string} b                       variant key (denominator)
 * @property {number | undefined} target      highest acceptable ratio; undefined: for information
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {() => Promise<void>} [setup]
 * @property {() => Promise<void>} [teardown]
 * @property {Record<string, Variant>} variants
 * @property {readonly Row[]} rows
 */

/** The round trip of the remote scenarios (the latency proxy delays each direction by half). */
export const REMOTE_RTT_MS = 10;

/**
 * Starts bench/lib/latency-proxy.mjs in front of the server, as a process of its own.
 * @returns {Promise<{ port: number, stop: () => Promise<void> }>}
 */
export async function startLatencyProxy(server, oneWayDelayMs) {
  const child = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'latency-proxy.mjs'), '0', server.host, String(server.port), String(oneWayDelayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(Number(/listening (\d+)/.exec(String(data))?.[1])));
    child.once('exit', (code) => reject(new Error(`the latency proxy exited with ${code}`)));
  });
  child.removeAllListeners('exit');
  return {
    port,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** What the placeholder commands (not yet written) say, in their --help and when run. */
export const PLACEHOLDER = /not implemented yet/i;

/** @param {import('./context.mjs').BenchContext} ctx */
async function expectTables(ctx, database, expected) {
  const found = await countTables(ctx.server, database);
  if (found !== expected) throw new Error(`database ${database} has ${found} tables, expected ${expected}`);
}

/** @param {import('./context.mjs').BenchContext} ctx */
async function expectRole(ctx, role) {
  const { rows } = await ctx.admin.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [role]);
  if (!rows[0]?.rolcanlogin) throw new Error(`role ${role} was not created with LOGIN`);
}

function expectEnvFile(file, database, role) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const [key, value] of [['TOFU_REGISTRY_DB_NAME', database], ['TOFU_REGISTRY_DB_USER', role]]) {
    if (!new RegExp(`^${key}=["']?${value}["']?$`, 'm').test(text)) throw new Error(`env file ${file} lacks ${key}=${value}`);
  }
  if (!/^TOFU_REGISTRY_DB_PASSWORD=["']?[A-Za-z0-9]{32,}["']?$/m.test(text)) throw new Error(`env file ${file} lacks a password`);
}

/** @param {import('./context.mjs').BenchContext} ctx @returns {Variant} */
function nodeNoop(ctx) {
  return { label: 'node -e 0', prepare: async () => ({ spec: ctx.node(['-e', '0']) }) };
}

/** @param {import('./context.mjs').BenchContext} ctx @returns {Scenario[]} */
export function buildScenarios(ctx) {
  const bundledSql = path.join(ctx.repo, 'sql');
  // The tables the bundled migrations create (each side adds its own bookkeeping table to these).
  const apiTables = readdirSync(bundledSql).filter((f) => f.endsWith('.sql'))
    .reduce((n, f) => n + (readFileSync(path.join(bundledSql, f), 'utf8').match(/^\s*CREATE TABLE/gim) ?? []).length, 0);

  const help = {
    id: 'help',
    title: 'tofu-registry-db --help',
    variants: { ours: { label: 'tofu-registry-db --help', ours: true, prepare: async () => ({ spec: ctx.cli(['--help']) }) }, node: nodeNoop(ctx) },
    rows: [{ label: '--help vs node -e 0', a: 'ours', b: 'node', target: 1.3 }],
  };

  // The floor of any commander CLI: three lines that print a version, commander loaded from
  // node_modules. Its ratio to `node -e 0` says how much of ours is the runtime's own cost of
  // loading a module and opening stdout.
  const floorScript = path.join(ctx.work, 'commander-version.cjs');
  const version = {
    id: 'version',
    title: 'tofu-registry-db --version',
    setup: async () =>
      writeFileSync(
        floorScript,
        `const { Command } = require(${JSON.stringify(path.join(ctx.repo, 'node_modules', 'commander'))});\n` +
          `new Command('floor').version('0.0.0', '--version').parse(process.argv);\n`,
      ),
    variants: {
      ours: { label: 'tofu-registry-db --version', ours: true, prepare: async () => ({ spec: ctx.cli(['--version']) }) },
      node: nodeNoop(ctx),
      floor: { label: 'a three-line commander program --version', prepare: async () => ({ spec: ctx.node([floorScript, '--version']) }) },
    },
    rows: [
      { label: '--version vs node -e 0', a: 'ours', b: 'node', target: 1.3 },
      { label: 'floor: a three-line commander program --version vs node -e 0', a: 'floor', b: 'node', target: undefined },
    ],
  };

  const noopDatabase = ctx.unique('noop');
  // The floor of a Node program that does what a no-op migrate does on the wire: pg loaded from
  // node_modules, one login, the same two bookkeeping queries. Its ratio to `node -e 0` is
  // what the runtime and the driver cost before any code of ours.
  const pgFloorScript = path.join(ctx.work, 'pg-two-queries.cjs');
  const migrateNoop = {
    id: 'migrate-noop',
    title: 'migrate, all applied',
    setup: async () => {
      await ctx.cliOrThrow(['create-db', '--name', noopDatabase]);
      const config = { host: ctx.server.host, port: ctx.server.port, user: ctx.server.superuser, password: ctx.server.password, database: noopDatabase };
      writeFileSync(
        pgFloorScript,
        `const { Client } = require(${JSON.stringify(path.join(ctx.repo, 'node_modules', 'pg'))});\n` +
          `const client = new Client(${JSON.stringify(config)});\n` +
          `client.connect().then(() => client.query("SELECT to_regclass('public.tofu_registry_migrations') IS NOT NULL AS present"))\n` +
          `  .then(() => client.query('SELECT version, name, checksum, applied_at FROM public.tofu_registry_migrations'))\n` +
          `  .then((result) => { process.stdout.write(result.rows.length + ' applied\\n'); return client.end(); });\n`,
        { mode: 0o600 },
      );
    },
    teardown: async () => dropObjects(ctx.admin, { databases: [noopDatabase] }),
    variants: {
      ours: {
        label: 'tofu-registry-db migrate (nothing pending)',
        ours: true,
        prepare: async () => ({
          spec: ctx.cli(['migrate', '--name', noopDatabase]),
          verify: async (result) => {
            if (!/up to date/.test(result.stdout)) throw new Error(`migrate did not report "up to date": ${result.stdout}`);
          },
        }),
      },
      node: nodeNoop(ctx),
      floor: {
        label: 'a five-line pg program: login, the same two queries',
        prepare: async () => ({
          spec: ctx.node([pgFloorScript]),
          verify: async (result) => {
            if (!/^\d+ applied$/m.test(result.stdout)) throw new Error(`the pg program printed: ${result.stdout}${result.stderr}`);
          },
        }),
      },
    },
    rows: [
      { label: 'no-op migrate vs node -e 0', a: 'ours', b: 'node', target: 2.0 },
      { label: 'floor: a five-line pg program (login, the same two queries) vs node -e 0', a: 'floor', b: 'node', target: undefined },
    ],
  };

  const tcDatabase = ctx.unique('tc');
  const tcRole = ctx.unique('tc_user');
  const tcEnvFile = ctx.envFilePath('test-connection');
  const testConnection = {
    id: 'test-connection',
    title: 'test-connection, all checks',
    setup: async () => {
      await ctx.cliOrThrow(['create-db', '--name', tcDatabase]);
      const password = await createAppRole(ctx.server, ctx.admin, tcDatabase, tcRole);
      writeFileSync(tcEnvFile, `TOFU_REGISTRY_DB_NAME=${tcDatabase}\nTOFU_REGISTRY_DB_USER=${tcRole}\nTOFU_REGISTRY_DB_PASSWORD=${password}\n`, { mode: 0o600 });
    },
    teardown: async () => {
      await dropObjects(ctx.admin, { databases: [tcDatabase], roles: [tcRole] });
      rmSync(tcEnvFile, { force: true });
    },
    variants: {
      ours: {
        label: 'tofu-registry-db test-connection',
        ours: true,
        command: 'test-connection',
        prepare: async () => ({
          spec: ctx.cli(['test-connection', '--env-file', tcEnvFile]),
          verify: async (result) => {
            if (/✖/.test(result.stdout + result.stderr)) throw new Error(`test-connection reported a failed check: ${result.stdout}`);
          },
        }),
      },
      node: nodeNoop(ctx),
    },
    rows: [{ label: 'test-connection vs node -e 0', a: 'ours', b: 'node', target: 2.5 }],
  };

  const dbmateDir = path.join(ctx.work, 'dbmate-migrations');
  /** @returns {Variant} */
  const dbmateVariant = (label, command, args, port) => ({
    label,
    prepare: async () => {
      if (!ctx.dbmateBinary) throw new Error('the dbmate binary for this platform is not installed (npm ci installs @dbmate/<platform>)');
      const database = ctx.unique('dbmate');
      return {
        spec: {
          command,
          args: [...args, 'up'],
          cwd: ctx.work,
          env: {
            ...ctx.baseEnv,
            // In the environment, not argv, as one would in CI: the URL holds the password.
            DATABASE_URL: ctx.databaseUrl(database, port()),
            DBMATE_MIGRATIONS_DIR: dbmateDir,
            // Our create-db writes no schema dump either (dbmate's default runs pg_dump).
            DBMATE_NO_DUMP_SCHEMA: 'true',
          },
        },
        verify: async () => expectTables(ctx, database, apiTables + 1), // + schema_migrations
        cleanup: async () => dropObjects(ctx.admin, { databases: [database] }),
      };
    },
  });
  /** create-db and dbmate up against the server at `port()` (see setupVariants). @returns {Record<string, Variant>} */
  const createDbVariants = (port) => ({
    ours: {
      label: 'tofu-registry-db create-db',
      ours: true,
      prepare: async () => {
        const database = ctx.unique('cdb');
        return {
          spec: ctx.cli(['create-db', '--name', database], { TOFU_REGISTRY_DB_PORT: String(port()) }),
          verify: async () => expectTables(ctx, database, apiTables + 1), // + tofu_registry_migrations
          cleanup: async () => dropObjects(ctx.admin, { databases: [database] }),
        };
      },
    },
    dbmate: dbmateVariant('dbmate up (npm package: node wrapper + Go binary)', ctx.nodePath, [ctx.dbmateCli], port),
    dbmateBinary: dbmateVariant('dbmate up (its Go binary alone)', ctx.dbmateBinary, [], port),
  });
  const createDb = {
    id: 'create-db',
    title: 'create-db on a fresh name',
    setup: async () => writeDbmateMigrations(bundledSql, dbmateDir),
    variants: createDbVariants(() => ctx.server.port),
    rows: [
      { label: 'create-db vs dbmate up (npm)', a: 'ours', b: 'dbmate', target: 1.0 },
      { label: 'create-db vs dbmate binary alone', a: 'ours', b: 'dbmateBinary', target: undefined },
    ],
  };

  /** @returns {PreparedRun} */
  const setupRun = (spec, database, role, envFile, expectedTables) => ({
    spec,
    verify: async () => {
      await expectTables(ctx, database, expectedTables);
      await expectRole(ctx, role);
      expectEnvFile(envFile, database, role);
    },
    cleanup: async () => {
      await dropObjects(ctx.admin, { databases: [database], roles: [role] });
      rmSync(envFile, { force: true });
    },
  });
  /**
   * setup and the shell script, both against the server at `port()` (a function: the
   * latency proxy's port is known only once its scenario has started it).
   * @returns {Record<string, Variant>}
   */
  const setupVariants = (port) => ({
    ours: {
      label: 'tofu-registry-db setup',
      ours: true,
      command: 'setup',
      prepare: async () => {
        const [database, role, envFile] = [ctx.unique('setup'), ctx.unique('setup_user'), ctx.envFilePath(ctx.unique('setup'))];
        const spec = ctx.cli(['setup', '--name', database, '--user', role, '--env-file', envFile], { TOFU_REGISTRY_DB_PORT: String(port()) });
        return setupRun(spec, database, role, envFile, apiTables + 1);
      },
    },
    script: {
      label: 'bench/reference/setup.sh (createdb, createuser, psql)',
      prepare: async () => {
        const [database, role, envFile] = [ctx.unique('setup'), ctx.unique('setup_user'), ctx.envFilePath(ctx.unique('setup'))];
        const spec = {
          command: 'bash',
          args: [path.join(ctx.repo, 'bench', 'reference', 'setup.sh')],
          cwd: ctx.work,
          env: { ...ctx.libpqEnv, PGPORT: String(port()), BENCH_DB: database, BENCH_ROLE: role, BENCH_ENV_FILE: envFile, BENCH_SQL_DIR: bundledSql, PG_CLIENT_BIN: ctx.clientBin },
        };
        return setupRun(spec, database, role, envFile, apiTables + 1); // + bench_migrations
      },
    },
  });
  const setup = {
    id: 'setup',
    title: 'setup on fresh names',
    variants: setupVariants(() => ctx.server.port),
    rows: [{ label: 'setup vs shell script', a: 'ours', b: 'script', target: 1.0 }],
  };

  // create-db and setup again, through a proxy that delays every packet: a server
  // REMOTE_RTT_MS away, as a managed database in another zone is from a CI runner. What
  // each side pays there is mostly its number of round trips.
  /** @type {{ port?: number, stop?: () => Promise<void> }} */
  const proxy = {};
  const behindProxy = { setup: async () => Object.assign(proxy, await startLatencyProxy(ctx.server, REMOTE_RTT_MS / 2)), teardown: async () => proxy.stop?.() };
  const createDbRemote = {
    id: 'create-db-remote',
    title: `create-db on a fresh name, ${REMOTE_RTT_MS} ms from the server`,
    setup: async () => {
      writeDbmateMigrations(bundledSql, dbmateDir);
      await behindProxy.setup();
    },
    teardown: behindProxy.teardown,
    variants: createDbVariants(() => proxy.port),
    rows: [
      { label: `create-db vs dbmate up (npm), ${REMOTE_RTT_MS} ms round trip`, a: 'ours', b: 'dbmate', target: undefined },
      { label: `create-db vs dbmate binary alone, ${REMOTE_RTT_MS} ms round trip`, a: 'ours', b: 'dbmateBinary', target: undefined },
    ],
  };
  const setupRemote = {
    id: 'setup-remote',
    title: `setup on fresh names, ${REMOTE_RTT_MS} ms from the server`,
    ...behindProxy,
    variants: setupVariants(() => proxy.port),
    rows: [{ label: `setup vs shell script, ${REMOTE_RTT_MS} ms round trip`, a: 'ours', b: 'script', target: undefined }],
  };

  const smallDirs = { 200: path.join(ctx.work, 'small-200'), 400: path.join(ctx.work, 'small-400') };
  const smallFiles = {};
  /** A fresh empty database per run: each side applies every migration. */
  const onEmptyDatabase = async (count, makeSpec) => {
    const database = ctx.unique(`m${count}`);
    await ctx.admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
    return { database, run: makeSpec(database) };
  };
  /** @returns {Variant} */
  const oursMigrating = (count) => ({
    label: `tofu-registry-db migrate --dir (${count} files)`,
    ours: true,
    prepare: async () => {
      const { database, run } = await onEmptyDatabase(count, (db) => ctx.cli(['migrate', '--name', db, '--dir', smallDirs[count]]));
      return {
        spec: run,
        verify: async () => expectTables(ctx, database, count + 1),
        cleanup: async () => dropObjects(ctx.admin, { databases: [database] }),
      };
    },
  });
  /**
   * One psql session for all files, each file in its own transaction (the -c BEGIN /
   * -c COMMIT around it), stopping at the first error: the fastest way psql can give
   * each migration its own transaction. No bookkeeping table: that work is ours alone.
   * @returns {Variant}
   */
  const psqlSession = (count) => ({
    label: `psql, one session, -c BEGIN -f file -c COMMIT per file (${count} files)`,
    prepare: async () => {
      const { database, run } = await onEmptyDatabase(count, (db) => ({
        command: path.join(ctx.clientBin, 'psql'),
        args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, ...smallFiles[count].flatMap((file) => ['-c', 'BEGIN', '-f', file, '-c', 'COMMIT'])],
        cwd: ctx.work,
        env: ctx.libpqEnv,
      }));
      return {
        spec: run,
        verify: async () => expectTables(ctx, database, count),
        cleanup: async () => dropObjects(ctx.admin, { databases: [database] }),
      };
    },
  });
  /** What a shell-scripted runner does: one psql per file, each file one transaction (-1). */
  const psqlPerFile = (count) => ({
    label: `for f in *.sql; do psql -1 -f "$f"; done (${count} files)`,
    prepare: async () => {
      const { database, run } = await onEmptyDatabase(count, (db) => ({
        command: 'bash',
        args: ['-c', 'set -e; for f in "$1"/*.sql; do "$2/psql" -X -q -v ON_ERROR_STOP=1 -1 -d "$3" -f "$f"; done', 'runner', smallDirs[count], ctx.clientBin, db],
        cwd: ctx.work,
        env: ctx.libpqEnv,
      }));
      return {
        spec: run,
        verify: async () => expectTables(ctx, database, count),
        cleanup: async () => dropObjects(ctx.admin, { databases: [database] }),
      };
    },
  });
  const migrations = {
    id: 'migrations',
    title: 'applying 200 and 400 small migrations',
    setup: async () => {
      for (const count of [200, 400]) smallFiles[count] = writeSmallMigrations(smallDirs[count], count);
    },
    variants: {
      ours200: oursMigrating(200),
      psql200: psqlSession(200),
      psqlPerFile200: psqlPerFile(200),
      ours400: oursMigrating(400),
      psql400: psqlSession(400),
    },
    rows: [
      { label: '200 migrations vs psql, one session', a: 'ours200', b: 'psql200', target: 3.0 },
      { label: '200 migrations vs one psql per file', a: 'ours200', b: 'psqlPerFile200', target: undefined },
      { label: '400 migrations vs psql, one session', a: 'ours400', b: 'psql400', target: 3.0 },
      { label: 'linearity: our 400 / our 200', a: 'ours400', b: 'ours200', target: 2.1 },
      { label: 'linearity: psql 400 / psql 200', a: 'psql400', b: 'psql200', target: undefined },
    ],
  };

  return [help, version, migrateNoop, testConnection, createDb, setup, createDbRemote, setupRemote, migrations];
}
