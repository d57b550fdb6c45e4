import { CHECK_NAMES, type CheckName, type CheckOutcome, type CheckResult, type CheckState, failed } from './check.js';
import { checkConfiguration } from './configuration.js';
import { checkDns, checkTcp } from './network.js';
import { isLoopback } from '../db/network.js';
import { checkTls, tlsVerdict } from './tls.js';
import { checkRoundTrip } from './round-trip.js';
import { checkPrivileges, checkSchema } from './schema.js';
import { checkAuthentication, checkDatabase, checkServer, discardPendingLogin, startLogin } from './session.js';
import { disconnect } from '../db/connection.js';
import { loggerOf, type CoreContext } from '../db/context.js';
import { InterruptedError, RegistryDbError } from '../errors.js';
import { bundledMigrationsDir } from '../migrations/files.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { stopwatch } from '../runtime/stopwatch.js';
import { waitForServer } from '../db/wait-for-server.js';
import { chooseHost, type HostReport } from './host-choice.js';
import { settingsForRole } from '../config/settings.js';

export { CHECK_NAMES } from './check.js';
export type { CheckName, CheckResult, CheckStatus } from './check.js';

export interface TestConnectionOptions {
  /** Check the admin connection instead of the application role. */
  readonly admin?: boolean;
  /** Retry until the server accepts connections, at most this long. */
  readonly waitSeconds?: number;
  /** The migrations the schema check expects to be applied (default: the bundled sql/). */
  readonly migrationsDir?: string;
}

export interface TestConnectionResult {
  readonly ok: boolean;
  readonly role: 'app' | 'admin';
  readonly user: string;
  readonly database: string;
  readonly host: string;
  readonly port: number;
  readonly sslMode: string;
  /** All ten checks, in order: the first failure is followed only by skipped ones. */
  readonly checks: readonly CheckResult[];
  /** 0, or the exit code of the first failure's class (2 config, 3 unreachable, 4 auth, 5 schema). */
  readonly exitCode: number;
  /** With waitSeconds: how long it waited for the server before the checks ran. */
  readonly waitedMs?: number;
  /** With a host list: every host, which one the checks examined, and why the others were passed over. */
  readonly hosts?: readonly HostReport[];
}

const CHECKS: Readonly<Record<CheckName, (state: CheckState) => Promise<CheckOutcome>>> = {
  configuration: checkConfiguration,
  dns: checkDns,
  tcp: checkTcp,
  tls: checkTls,
  authentication: checkAuthentication,
  database: checkDatabase,
  server: checkServer,
  schema: checkSchema,
  privileges: checkPrivileges,
  'round-trip': checkRoundTrip,
};

function toResult(name: CheckName, outcome: CheckOutcome, durationMs: number): CheckResult {
  const { failure } = outcome;
  return {
    name,
    status: outcome.status,
    durationMs: Math.round(durationMs * 10) / 10,
    summary: outcome.summary,
    ...(outcome.details ? { details: outcome.details } : {}),
    ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
    ...(failure ? { error: failure.toJSON() } : {}),
  };
}

function skippedAfter(name: CheckName, failedCheck: CheckName): CheckResult {
  return { name, status: 'skip', durationMs: 0, summary: `skipped: ${failedCheck} failed` };
}

async function runCheck(name: CheckName, state: CheckState): Promise<CheckOutcome> {
  try {
    return await CHECKS[name](state);
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    // A statement the check itself sent was refused (a lost connection, a missing grant on a catalog).
    const failure = toRegistryDbError(error, { host: state.settings.host, port: state.settings.port, user: state.user, database: state.settings.database });
    return failed(failure, `the ${name} check's queries as "${state.user}"`);
  }
}

/** --wait: give the server time to come up; what it still lacks then, the checks report. */
async function waitQuietly(context: CoreContext, seconds: number, role: 'app' | 'admin'): Promise<number> {
  const started = Date.now();
  try {
    await waitForServer(context, seconds, role);
  } catch (error) {
    if (error instanceof InterruptedError || !(error instanceof RegistryDbError)) throw error;
  }
  return Date.now() - started;
}

/**
 * Runs the ten checks in order and returns the checklist, also on failure: the first
 * failing check is explained (what was tried, what the server or the network answered,
 * the remedy) and every later one is reported as skipped. Never throws for a failed
 * check; only an interruption escapes.
 */
export async function testConnection(context: CoreContext, options: TestConnectionOptions = {}): Promise<TestConnectionResult> {
  const role = options.admin ? 'admin' : 'app';
  // The admin's connections may have a server of their own (TOFU_REGISTRY_DB_ADMIN_URL).
  const settings = settingsForRole(context.settings, role);
  const logger = loggerOf(context);
  const state: CheckState = {
    context,
    settings,
    role,
    user: role === 'admin' ? settings.admin.user : settings.user,
    logger,
    migrationsDir: options.migrationsDir ?? bundledMigrationsDir(),
  };
  const checks: CheckResult[] = [];
  let failure: { check: CheckName; error: RegistryDbError } | undefined;
  let waitedMs: number | undefined;
  let hosts: readonly HostReport[] | undefined;
  try {
    for (const name of CHECK_NAMES) {
      if (failure) {
        checks.push(skippedAfter(name, failure.check));
        continue;
      }
      if (name === 'dns') {
        if (options.waitSeconds !== undefined) waitedMs = await waitQuietly(context, options.waitSeconds, role);
        if (settings.hosts.length > 1) {
          const choice = await chooseHost(context, role);
          state.settings = choice.settings;
          hosts = choice.hosts;
        }
        startLogin(state);
      }
      logger.step(`Checking ${name}`);
      const elapsed = stopwatch();
      const outcome = await runCheck(name, state);
      checks.push(toResult(name, outcome, outcome.durationMs ?? elapsed()));
      if (outcome.failure) failure = { check: name, error: outcome.failure };
      if (name === 'authentication' && state.login) confirmTls(checks, state);
    }
  } finally {
    await discardPendingLogin(state);
    if (state.connection !== state.login) await disconnect(state.connection);
    await disconnect(state.login);
  }
  return {
    ok: failure === undefined,
    role,
    user: state.user,
    database: settings.database,
    host: state.settings.host,
    port: state.settings.port,
    sslMode: settings.sslMode,
    ...(hosts ? { hosts } : {}),
    checks,
    exitCode: failure?.error.exitCode ?? 0,
    ...(waitedMs !== undefined ? { waitedMs } : {}),
  };
}

/**
 * The TLS check ran before the login; once logged in, what the connection really
 * negotiated is known (with sslmode allow, only then), so its verdict is restated from that.
 */
function confirmTls(checks: CheckResult[], state: CheckState): void {
  const index = checks.findIndex((check) => check.name === 'tls');
  const earlier = checks[index];
  if (!earlier || earlier.status === 'skip' || !state.login) return;
  const outcome = tlsVerdict({
    sslMode: state.settings.sslMode,
    host: state.settings.host,
    port: state.settings.port,
    loopback: isLoopback(state.settings.host, state.addresses),
    probe: state.tlsProbe,
    negotiated: state.login.tls,
  });
  checks[index] = toResult('tls', outcome, earlier.durationMs);
}

/**
 * The checklist for settings that could not even be resolved (resolveSettings threw):
 * configuration fails with that error, the other nine are skipped.
 */
export function configurationFailure(error: RegistryDbError, options: { readonly admin?: boolean } = {}): TestConnectionResult {
  const outcome = failed(error, 'resolve settings from flags, the environment and the env file');
  return {
    ok: false,
    role: options.admin ? 'admin' : 'app',
    user: '',
    database: '',
    host: '',
    port: 0,
    sslMode: '',
    checks: CHECK_NAMES.map((name) => (name === 'configuration' ? toResult(name, outcome, 0) : skippedAfter(name, 'configuration'))),
    exitCode: error.exitCode,
  };
}
