import { ConfigError, RegistryDbError } from '../errors.js';
import { loadMigrationFiles } from '../migrations/files.js';
import { failed, passed, type CheckOutcome, type CheckState } from './check.js';
import { VARIABLES } from '../config/variables.js';
import { describeSettingSources } from '../config/describe-settings.js';

/**
 * Settings were validated when they were resolved; what is left to check here is what
 * test-connection itself needs: the application role's password (only ever from
 * TOFU_REGISTRY_DB_PASSWORD) and the migrations the schema check compares against.
 */
export async function checkConfiguration(state: CheckState): Promise<CheckOutcome> {
  const { settings } = state;
  const tried = `read settings from flags, the environment and ${settings.envFile}${settings.envFileLoaded ? '' : ' (not found)'}`;
  const details: Record<string, unknown> = {
    host: settings.host,
    port: settings.port,
    ...(settings.hosts.length > 1 ? { hosts: settings.hosts } : {}),
    database: settings.database,
    user: state.user,
    sslMode: settings.sslMode,
    ...(settings.sslRootCert ? { sslRootCert: settings.sslRootCert } : {}),
    envFile: settings.envFile,
    envFileLoaded: settings.envFileLoaded,
    sources: describeSettingSources(settings, state.role),
  };
  let password: string;
  if (state.role === 'app') {
    if (!settings.password) {
      const failure = new ConfigError(
        `No password for role "${state.user}": ${VARIABLES.password} is not set (neither in the environment nor in ${settings.envFile}).`,
        `Run \`tofu-registry-db create-user\` as the admin: it creates the role and writes ${VARIABLES.password} into the env file. Or set ${VARIABLES.password}.`,
        'PASSWORD_MISSING',
      );
      return failed(failure, tried, { answer: `${VARIABLES.password} is empty or unset`, ...details });
    }
    password = `from ${settings.origins.password}`;
  } else {
    password = settings.admin.passwordSource === 'unresolved'
      ? 'from ~/.pgpass or a prompt, if the server asks'
      : `from ${settings.origins.adminPassword ?? settings.admin.passwordSource}`;
  }
  try {
    state.files = await loadMigrationFiles(state.migrationsDir);
  } catch (error) {
    if (!(error instanceof RegistryDbError)) throw error;
    return failed(error, `read the migrations in ${state.migrationsDir}`, details);
  }
  const verifies = settings.sslMode === 'verify-ca' || settings.sslMode === 'verify-full' || settings.sslMode === 'require';
  const warnings = [
    ...(settings.sslRootCert && !verifies ? [`${VARIABLES.sslRootCert} is set, but sslmode ${settings.sslMode} never verifies certificates: use verify-full to make use of it`] : []),
    // A value of libpq's variables that another setting overrides is named (it used to be silent).
    ...settings.notes.filter((note) => (state.role === 'admin' ? !/^(TOFU_REGISTRY_DB_PASSWORD|TOFU_REGISTRY_DB_USER)\b/.test(note) : !/\b(PGUSER|PGPASSWORD|PGDATABASE)\b/.test(note))),
  ];
  return passed(
    `settings valid; password ${password}${settings.envFileLoaded ? `; env file ${settings.envFile}` : ''}`,
    { ...details, password, migrations: state.files.length },
    warnings,
  );
}
