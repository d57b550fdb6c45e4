import {
  columnLimitsSql,
  copyIntoStagingSql,
  copyIntoTableSql,
  createStagingTableSql,
  forgetSourcesSql,
  importLockSql,
  knownSourcesSql,
  lockAgainstWritersSql,
  markImportSql,
  stagingTempBuffersSql,
  tableIsEmptySql,
  truncateStagingSql,
} from '../../src/core/import/import-sql.js';
import { deleteStaleSql, importSourcesSync, PROVIDER_PLATFORMS, PROVIDERS, REGISTRY_MODULES, SIGNING_KEYS, upsertSql } from '../../src/core/import/sync-sql.js';

describe('import SQL builders (exact strings)', () => {
  test("createStagingTableSql('providers'): a TEMP table like the registry's, text where it has varchar(n), dropped at commit", () => {
    expect(createStagingTableSql('providers')).toBe(`CREATE TEMP TABLE IF NOT EXISTS "tofu_registry_import_providers" ("namespace" text, "name" text, "version" text, "source_url" text, "published_at" timestamp, "protocols" text[], "shasums_url" text, "shasums_signature_url" text) ON COMMIT DROP`);
  });

  test("copyIntoStagingSql('provider_platforms'): into the session-private staging table", () => {
    expect(copyIntoStagingSql('provider_platforms')).toBe(`COPY pg_temp."tofu_registry_import_platforms" ("namespace", "name", "version", "os", "arch", "filename", "download_url", "shasum", "h1", "size") FROM STDIN`);
  });

  test("copyIntoTableSql('modules'): a fresh import copies straight into the table", () => {
    expect(copyIntoTableSql('modules')).toBe(`COPY public."modules" ("namespace", "name", "provider", "version", "source_url", "published_at", "tag", "commit") FROM STDIN`);
  });

  test("truncateStagingSql: emptied for the next chunk", () => {
    expect(truncateStagingSql(['registry_modules', 'modules'])).toBe(`TRUNCATE pg_temp."tofu_registry_import_registry_modules", pg_temp."tofu_registry_import_modules"`);
  });

  test("forgetSourcesSql: a fresh import starts the kind's bookkeeping afresh", () => {
    expect(forgetSourcesSql('module')).toBe(`DELETE FROM public.registry_import_sources WHERE kind = 'module'`);
  });

  test("columnLimitsSql: the declared widths of every character column an import writes", () => {
    expect(columnLimitsSql()).toBe(`SELECT table_name, column_name, character_maximum_length
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN ('providers', 'modules', 'provider_platforms', 'registry_providers', 'registry_modules', 'signing_keys')
   AND character_maximum_length IS NOT NULL`);
  });

  test("knownSourcesSql", () => {
    expect(knownSourcesSql()).toBe(`SELECT kind, key, sha256, entries, merged, version_rows, platform_rows FROM public.registry_import_sources`);
  });

  test("importLockSql: one import at a time per database", () => {
    expect(importLockSql()).toBe(`SELECT pg_advisory_xact_lock(1953457781, 2)`);
  });

  test("markImportSql: the transaction is import's own", () => {
    expect(markImportSql()).toBe(`SET LOCAL tofu_registry.importing = 'on'`);
  });

  test("tableIsEmptySql", () => {
    expect(tableIsEmptySql('provider_platforms')).toBe(`SELECT NOT EXISTS (SELECT 1 FROM public."provider_platforms") AS empty`);
  });

  test("lockAgainstWritersSql: writers wait, readers do not", () => {
    expect(lockAgainstWritersSql('modules')).toBe(`LOCK TABLE public."modules" IN SHARE ROW EXCLUSIVE MODE`);
  });

  test("stagingTempBuffersSql: set for the transaction, or left as it is where the session refuses", () => {
    expect(stagingTempBuffersSql('256MB')).toBe(`DO $$BEGIN
    PERFORM set_config('temp_buffers', '256MB', true);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END$$`);
  });

  test("deleteStaleSql(PROVIDERS): versions of the staged providers that were not staged", () => {
    expect(deleteStaleSql(PROVIDERS)).toBe(`DELETE FROM public."providers" t
 WHERE (t.namespace, t.name) IN (SELECT e.namespace, e.name FROM pg_temp."tofu_registry_import_registry_providers" e)
   AND NOT EXISTS (SELECT 1 FROM (SELECT s.namespace, s.name, s.version, s.source_url, s.published_at, s.protocols, s.shasums_url, s.shasums_signature_url FROM pg_temp."tofu_registry_import_providers" s) s WHERE s."namespace" = t."namespace" AND s."name" = t."name" AND s."version" = t."version")`);
  });

  test("deleteStaleSql(SIGNING_KEYS): every key not staged, but in namespaces kept as they were", () => {
    expect(deleteStaleSql(SIGNING_KEYS)).toBe(`DELETE FROM public."signing_keys" t
 WHERE t.namespace NOT IN (SELECT k.namespace FROM pg_temp."tofu_registry_import_kept_key_namespaces" k)
   AND NOT EXISTS (SELECT 1 FROM (SELECT s.namespace, s.provider, s.file_name, s.key_id, s.ascii_armor FROM pg_temp."tofu_registry_import_keys" s) s WHERE s."namespace" = t."namespace" AND s."provider" = t."provider" AND s."file_name" = t."file_name")`);
  });

  test("deleteStaleSql(importSourcesSync('module')): the bookkeeping of modules staged without a hash", () => {
    expect(deleteStaleSql(importSourcesSync('module'))).toBe(`DELETE FROM public."registry_import_sources" t
 WHERE t.kind = 'module' AND t.key IN (SELECT e.namespace || '/' || e.name || '/' || e.system FROM pg_temp."tofu_registry_import_registry_modules" e)
   AND NOT EXISTS (SELECT 1 FROM (SELECT s.kind, s.key, s.sha256, s.entries, s.merged, s.version_rows, s.platform_rows FROM pg_temp."tofu_registry_import_sources" s) s WHERE s."kind" = t."kind" AND s."key" = t."key")`);
  });

  test("upsertSql(PROVIDERS): one statement, only real changes written, exact counts", () => {
    expect(upsertSql(PROVIDERS)).toBe(`WITH staged AS (
    SELECT s.namespace, s.name, s.version, s.source_url, s.published_at, s.protocols, s.shasums_url, s.shasums_signature_url FROM pg_temp."tofu_registry_import_providers" s
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM public."providers" t WHERE t."namespace" = s."namespace" AND t."name" = s."name" AND t."version" = s."version" AND t."source_url" IS NOT DISTINCT FROM s."source_url" AND t."published_at" IS NOT DISTINCT FROM s."published_at" AND t."protocols" IS NOT DISTINCT FROM s."protocols" AND t."shasums_url" IS NOT DISTINCT FROM s."shasums_url" AND t."shasums_signature_url" IS NOT DISTINCT FROM s."shasums_signature_url")
), upserted AS (
    INSERT INTO public."providers" AS t ("namespace", "name", "version", "source_url", "published_at", "protocols", "shasums_url", "shasums_signature_url")
    SELECT "namespace", "name", "version", "source_url", "published_at", "protocols", "shasums_url", "shasums_signature_url" FROM changed
    ON CONFLICT ("namespace", "name", "version") DO UPDATE
       SET "source_url" = EXCLUDED."source_url", "published_at" = EXCLUDED."published_at", "protocols" = EXCLUDED."protocols", "shasums_url" = EXCLUDED."shasums_url", "shasums_signature_url" = EXCLUDED."shasums_signature_url"
     WHERE (t."source_url", t."published_at", t."protocols", t."shasums_url", t."shasums_signature_url") IS DISTINCT FROM (EXCLUDED."source_url", EXCLUDED."published_at", EXCLUDED."protocols", EXCLUDED."shasums_url", EXCLUDED."shasums_signature_url")
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`);
  });

  test("upsertSql(REGISTRY_MODULES): a table without values: new rows only", () => {
    expect(upsertSql(REGISTRY_MODULES)).toBe(`WITH staged AS (
    SELECT s.namespace, s.name, s.system FROM pg_temp."tofu_registry_import_registry_modules" s
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM public."registry_modules" t WHERE t."namespace" = s."namespace" AND t."name" = s."name" AND t."system" = s."system")
), upserted AS (
    INSERT INTO public."registry_modules" AS t ("namespace", "name", "system")
    SELECT "namespace", "name", "system" FROM changed
    ON CONFLICT ("namespace", "name", "system") DO NOTHING
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`);
  });

  test("upsertSql(PROVIDER_PLATFORMS): keyed by the version's natural key, os and arch", () => {
    expect(upsertSql(PROVIDER_PLATFORMS)).toBe(`WITH staged AS (
    SELECT s.namespace, s.name, s.version, s.os, s.arch, s.filename, s.download_url, s.shasum, s.h1, s.size FROM pg_temp."tofu_registry_import_platforms" s
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM public."provider_platforms" t WHERE t."namespace" = s."namespace" AND t."name" = s."name" AND t."version" = s."version" AND t."os" = s."os" AND t."arch" = s."arch" AND t."filename" IS NOT DISTINCT FROM s."filename" AND t."download_url" IS NOT DISTINCT FROM s."download_url" AND t."shasum" IS NOT DISTINCT FROM s."shasum" AND t."h1" IS NOT DISTINCT FROM s."h1" AND t."size" IS NOT DISTINCT FROM s."size")
), upserted AS (
    INSERT INTO public."provider_platforms" AS t ("namespace", "name", "version", "os", "arch", "filename", "download_url", "shasum", "h1", "size")
    SELECT "namespace", "name", "version", "os", "arch", "filename", "download_url", "shasum", "h1", "size" FROM changed
    ON CONFLICT ("namespace", "name", "version", "os", "arch") DO UPDATE
       SET "filename" = EXCLUDED."filename", "download_url" = EXCLUDED."download_url", "shasum" = EXCLUDED."shasum", "h1" = EXCLUDED."h1", "size" = EXCLUDED."size"
     WHERE (t."filename", t."download_url", t."shasum", t."h1", t."size") IS DISTINCT FROM (EXCLUDED."filename", EXCLUDED."download_url", EXCLUDED."shasum", EXCLUDED."h1", EXCLUDED."size")
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`);
  });
});

