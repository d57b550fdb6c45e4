import { readFileSync, statSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors.js';
import { describe } from './names.js';

/**
 * Reading the env file: what settings.ts resolves from, and what create-user and setup read
 * again under their locks. Writing it back is env-file-update.ts (loaded only by the commands
 * that write: it needs node:crypto and the file system's promises).
 */

/** The env file's values and the line each key was last set on (dotenv keeps the last). */
export interface EnvFileContents {
  readonly values: Readonly<Record<string, string>>;
  readonly lines: Readonly<Record<string, number>>;
}

/** Reads the env file with the line of each key, for messages ("TOFU_REGISTRY_DB_ADMIN_USER (.env, line 7)"). */
export function readEnvFileWithLines(file: string): EnvFileContents | undefined {
  const text = readEnvText(file);
  if (text === undefined) return undefined;
  const values = parseDotenv(text);
  const lines: Record<string, number> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const key = /^\s*(?:export\s+)?([\w.-]+)\s*(?:=|:\s)/.exec(line)?.[1];
    if (key !== undefined && key in values) lines[key] = index + 1;
  });
  return { values, lines };
}

/** Reads the env file with dotenv's parser; a missing file is not an error, a folder is. */
export function readEnvFile(file: string): Record<string, string> | undefined {
  const text = readEnvText(file);
  return text === undefined ? undefined : parseDotenv(text);
}

/** The env file's text, read once; undefined when it does not exist. */
export function readEnvText(file: string): string | undefined {
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Cannot read the env file ${describe(file)}: ${(error as Error).message}.`);
  }
  if (!stats.isFile()) {
    throw new ConfigError(
      `The env file ${describe(file)} is not a regular file.`,
      'Point --env-file at a file (it is created if missing).',
    );
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the env file ${describe(file)}: ${(error as Error).message}.`);
  }
}
