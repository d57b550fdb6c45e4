import {
  analyzeStagingSql,
  columnLimitsSql,
  copyIntoStagingSql,
  createStagingTableSql,
  insertIntoEmptySql,
  lockAgainstWritersSql,
  stagingColumns,
  stagingTempBuffersSql,
  tableIsEmptySql,
  upsertSql,
} from '../../src/core/import/import-sql.js';

describe('import SQL builders (exact strings)', () => {
  test.each([
    ['provider', `CREATE TEMP TABLE "tofu_registry_import_providers" (
    "namespace" text NOT NULL,
    "name" text NOT NULL,
    "version" text NOT NULL,
    "source_url" text,
    "published_at" timestamptz,
    "preference" smallint NOT NULL,
    "seq" bigint NOT NULL
) ON COMMIT DROP`],
    ['module', `CREATE TEMP TABLE "tofu_registry_import_modules" (
    "namespace" text NOT NULL,
    "name" text NOT NULL,
    "provider" text NOT NULL,
    "version" text NOT NULL,
    "source_url" text,
    "published_at" timestamptz,
    "preference" smallint NOT NULL,
    "seq" bigint NOT NULL
) ON COMMIT DROP`],
  ] as const)('createStagingTableSql(%s): a TEMP table, text columns, dropped at commit', (kind, expected) => {
    expect(createStagingTableSql(kind)).toBe(expected);
  });

  test.each([
    ['provider', `COPY pg_temp."tofu_registry_import_providers" ("namespace", "name", "version", "source_url", "published_at", "preference", "seq") FROM STDIN`],
    ['module', `COPY pg_temp."tofu_registry_import_modules" ("namespace", "name", "provider", "version", "source_url", "published_at", "preference", "seq") FROM STDIN`],
  ] as const)('copyIntoStagingSql(%s): COPY into the session-private staging table', (kind, expected) => {
    expect(copyIntoStagingSql(kind)).toBe(expected);
  });

  test('stagingColumns: the key, the values, then preference and seq', () => {
    expect(stagingColumns('provider')).toEqual(['namespace', 'name', 'version', 'source_url', 'published_at', 'preference', 'seq']);
    expect(stagingColumns('module')).toEqual(['namespace', 'name', 'provider', 'version', 'source_url', 'published_at', 'preference', 'seq']);
  });

  test('analyzeStagingSql', () => {
    expect(analyzeStagingSql('module')).toBe(`ANALYZE pg_temp."tofu_registry_import_modules"`);
  });

  test('stagingTempBuffersSql: set for the transaction, or left as it is where the session refuses', () => {
    expect(stagingTempBuffersSql('256MB')).toBe(`DO $$BEGIN
    PERFORM set_config('temp_buffers', '256MB', true);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END$$`);
  });

  test('tableIsEmptySql', () => {
    expect(tableIsEmptySql('provider')).toBe(`SELECT NOT EXISTS (SELECT 1 FROM public."providers") AS empty`);
  });

  test('lockAgainstWritersSql: writers wait, readers do not', () => {
    expect(lockAgainstWritersSql('module')).toBe(`LOCK TABLE public."modules" IN SHARE ROW EXCLUSIVE MODE`);
  });

  test.each([
    ['provider', `INSERT INTO public."providers" ("namespace", "name", "version", "source_url", "published_at")
    SELECT DISTINCT ON ("namespace", "name", "version") "namespace", "name", "version", "source_url", "published_at" AT TIME ZONE 'UTC' AS "published_at"
      FROM pg_temp."tofu_registry_import_providers"
     ORDER BY "namespace", "name", "version", "preference", "seq"`],
    ['module', `INSERT INTO public."modules" ("namespace", "name", "provider", "version", "source_url", "published_at")
    SELECT DISTINCT ON ("namespace", "name", "provider", "version") "namespace", "name", "provider", "version", "source_url", "published_at" AT TIME ZONE 'UTC' AS "published_at"
      FROM pg_temp."tofu_registry_import_modules"
     ORDER BY "namespace", "name", "provider", "version", "preference", "seq"`],
  ] as const)('insertIntoEmptySql(%s): the rows upsertSql stages, as a plain INSERT', (kind, expected) => {
    expect(insertIntoEmptySql(kind)).toBe(expected);
  });

  test('columnLimitsSql reads the declared widths of the key columns', () => {
    expect(columnLimitsSql()).toBe(`SELECT table_name, column_name, character_maximum_length
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN ('providers', 'modules')
   AND column_name IN ('namespace', 'name', 'provider', 'version')`);
  });

  test.each([
    ['provider', `WITH staged AS (
    SELECT DISTINCT ON ("namespace", "name", "version") "namespace", "name", "version", "source_url", "published_at" AT TIME ZONE 'UTC' AS "published_at"
      FROM pg_temp."tofu_registry_import_providers"
     ORDER BY "namespace", "name", "version", "preference", "seq"
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM public."providers" t WHERE t."namespace" = s."namespace" AND t."name" = s."name" AND t."version" = s."version" AND t."source_url" IS NOT DISTINCT FROM s."source_url" AND t."published_at" IS NOT DISTINCT FROM s."published_at")
), upserted AS (
    INSERT INTO public."providers" AS t ("namespace", "name", "version", "source_url", "published_at")
    SELECT "namespace", "name", "version", "source_url", "published_at" FROM changed
    ON CONFLICT ("namespace", "name", "version") DO UPDATE
       SET "source_url" = EXCLUDED."source_url", "published_at" = EXCLUDED."published_at"
     WHERE (t."source_url", t."published_at") IS DISTINCT FROM (EXCLUDED."source_url", EXCLUDED."published_at")
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`],
    ['module', `WITH staged AS (
    SELECT DISTINCT ON ("namespace", "name", "provider", "version") "namespace", "name", "provider", "version", "source_url", "published_at" AT TIME ZONE 'UTC' AS "published_at"
      FROM pg_temp."tofu_registry_import_modules"
     ORDER BY "namespace", "name", "provider", "version", "preference", "seq"
), changed AS (
    SELECT s.* FROM staged s
     WHERE NOT EXISTS (SELECT 1 FROM public."modules" t WHERE t."namespace" = s."namespace" AND t."name" = s."name" AND t."provider" = s."provider" AND t."version" = s."version" AND t."source_url" IS NOT DISTINCT FROM s."source_url" AND t."published_at" IS NOT DISTINCT FROM s."published_at")
), upserted AS (
    INSERT INTO public."modules" AS t ("namespace", "name", "provider", "version", "source_url", "published_at")
    SELECT "namespace", "name", "provider", "version", "source_url", "published_at" FROM changed
    ON CONFLICT ("namespace", "name", "provider", "version") DO UPDATE
       SET "source_url" = EXCLUDED."source_url", "published_at" = EXCLUDED."published_at"
     WHERE (t."source_url", t."published_at") IS DISTINCT FROM (EXCLUDED."source_url", EXCLUDED."published_at")
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM staged)::bigint AS staged,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated
  FROM upserted`],
  ] as const)('upsertSql(%s): one statement, lower-case file first, only real changes written', (kind, expected) => {
    expect(upsertSql(kind)).toBe(expected);
  });
});
