import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describe } from '../config/names.js';
import { bundledMigrationsDir, loadMigrationFiles } from './files.js';

/**
 * `migrate new <name>`: the next numbered, empty migration file, as dbmate `new`,
 * node-pg-migrate `create` and graphile-migrate do. It only writes a file; `migrate` applies it.
 */
export interface NewMigrationOptions {
  /** The migrations folder (default: the bundled sql/, when this is a checkout and not an installed package). */
  readonly migrationsDir?: string;
}

export interface NewMigrationResult {
  /** The file written: the folder as given, joined with the file name. */
  readonly path: string;
  readonly fileName: string;
  /** The number, as written (zero-padded like the folder's other files). */
  readonly version: string;
  readonly name: string;
}

/** What a migration's name may hold: what files.ts accepts after the number. */
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
/** Tries at the next numbers when another run took this one between reading the folder and writing. */
const ATTEMPTS = 5;

function checkName(name: string): void {
  if (NAME_PATTERN.test(name)) return;
  throw new ConfigError(
    `The migration name ${describe(name)} is not usable in a file name NNN_name.sql.`,
    'Use letters, digits, "_", "-" and "." only (at most 100), e.g. `migrate new add_downloads_index`.',
    'MIGRATION_NAME_INVALID',
  );
}

/** The bundled sql/ of an installed package is replaced by every upgrade: a migration written there would be lost. */
function defaultFolder(): string {
  const dir = bundledMigrationsDir();
  if (dir.split(path.sep).includes('node_modules')) {
    throw new ConfigError(
      `The bundled migrations (${dir}) belong to the installed package, and an upgrade would remove a file added there.`,
      'Give your own migrations folder: `migrate new <name> --dir ./migrations` (then `migrate --dir ./migrations`).',
      'MIGRATIONS_DIR_REQUIRED',
    );
  }
  return dir;
}

/** The comment the new file holds: an empty migration, with the two rules a newcomer needs. */
function template(fileName: string): string {
  return [
    `-- ${fileName}`,
    '-- Runs in a transaction of its own, under the migration lock: no BEGIN or COMMIT here.',
    '-- Forward-only: once applied, change the schema with a new migration, never by editing this file.',
    '',
  ].join('\n');
}

export async function createMigrationFile(name: string, options: NewMigrationOptions = {}): Promise<NewMigrationResult> {
  checkName(name);
  const dir = options.migrationsDir ?? defaultFolder();
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new ConfigError(`Cannot create the migrations folder ${describe(dir)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, 'Check --dir.');
  }
  // Also checks the folder's files (names, duplicate numbers) before adding one.
  const files = await loadMigrationFiles(dir);
  const last = files.reduce((max, file) => (BigInt(file.version) > max ? BigInt(file.version) : max), 0n);
  const width = Math.max(3, ...files.map((file) => file.fileName.indexOf('_')));
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const version = String(last + BigInt(attempt)).padStart(width, '0');
    // A number already taken by another file (a concurrent run's, an editor's copy) is skipped.
    const taken = readdirSync(dir).some((entry) => {
      const number = /^(\d+)_/.exec(entry)?.[1];
      return number !== undefined && BigInt(number) === BigInt(version);
    });
    if (taken) continue;
    const fileName = `${version}_${name}.sql`;
    const file = path.join(dir, fileName);
    try {
      writeFileSync(file, template(fileName), { flag: 'wx', mode: 0o644 });
      return { path: file, fileName, version, name };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new ConfigError(`No free migration number after ${last} in ${describe(dir)}: the next ${ATTEMPTS} are taken by other files.`, 'Rename or remove the files that hold them.');
}
