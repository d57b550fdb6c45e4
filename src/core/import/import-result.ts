import type { Problem } from './entity-stager.js';
import { addCounts, NO_ROWS, type TableCounts, type WrittenCounts } from './import-write.js';
import type { TreeKind } from './registry-tree.js';
import type { KindTally } from './stream-tree.js';

/** A kind of versioned row (`providers`, `modules`): what the files held, and what happened to the rows. */
export interface KindCounts extends TableCounts {
  /** Metadata files read (left-out ones included). */
  readonly files: number;
  /** Version entries in those files, before spellings merged. */
  readonly versions: number;
  /** Entries that were another spelling of a version (`v1.0.0` beside `1.0.0`, `QuiNovas/…` beside `quinovas/…`): one row. */
  readonly merged: number;
}

export interface KeyCounts extends TableCounts {
  /** Key files read. */
  readonly files: number;
}

export interface ImportResult {
  readonly database: string;
  readonly path: string;
  /** The role the rows were written as. */
  readonly user: string;
  /** Files read, of every kind. */
  readonly files: number;
  readonly skipped: readonly Problem[];
  /** Every table's rows together. */
  readonly rows: TableCounts;
  /** One row per provider version. */
  readonly providers: KindCounts;
  /** One row per provider version and platform. */
  readonly providerPlatforms: TableCounts;
  /** One row per provider (its warnings). */
  readonly registryProviders: TableCounts;
  /** One row per module version. */
  readonly modules: KindCounts;
  /** One row per module. */
  readonly registryModules: TableCounts;
  readonly signingKeys: KeyCounts;
  readonly durationMs: number;
}

interface ResultParts {
  readonly database: string;
  readonly path: string;
  readonly user: string;
  readonly problems: readonly Problem[];
  readonly tallies: Readonly<Record<TreeKind, KindTally>>;
  readonly written: WrittenCounts;
  readonly durationMs: number;
}

/** A table's counts: what was written, plus the rows of providers and modules recognised as unchanged. */
function table(written: WrittenCounts, name: string, unchanged: number): TableCounts {
  const counts = written[name] ?? NO_ROWS;
  return { ...counts, unchanged: counts.unchanged + unchanged };
}

export function importResult(parts: ResultParts): ImportResult {
  const { tallies, written } = parts;
  const { provider, module, keys } = tallies;
  const providers: KindCounts = { files: provider.files, versions: provider.entries, merged: provider.merged, ...table(written, 'providers', provider.unchangedRows) };
  const modules: KindCounts = { files: module.files, versions: module.entries, merged: module.merged, ...table(written, 'modules', module.unchangedRows) };
  const providerPlatforms = table(written, 'provider_platforms', provider.unchangedPlatformRows);
  const registryProviders = table(written, 'registry_providers', provider.unchangedEntities);
  const registryModules = table(written, 'registry_modules', module.unchangedEntities);
  const signingKeys: KeyCounts = { files: keys.files, ...table(written, 'signing_keys', 0) };
  const rows = [providers, providerPlatforms, registryProviders, modules, registryModules, signingKeys].reduce<TableCounts>(
    (sum, counts) => addCounts(sum, { inserted: counts.inserted, updated: counts.updated, unchanged: counts.unchanged, deleted: counts.deleted }),
    NO_ROWS,
  );
  return {
    database: parts.database,
    path: parts.path,
    user: parts.user,
    files: provider.files + module.files + keys.files,
    skipped: parts.problems,
    rows,
    providers,
    providerPlatforms,
    registryProviders,
    modules,
    registryModules,
    signingKeys,
    durationMs: parts.durationMs,
  };
}
