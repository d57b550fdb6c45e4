-- The registry API lists with `ORDER BY downloads DESC LIMIT n` (and published_at alike),
-- plain DESC: NULLs first, since both columns are nullable. 001's indexes keep DESC NULLS
-- LAST and cannot serve that order; these can (and 001's stay, for queries written with
-- NULLS LAST).
CREATE INDEX IF NOT EXISTS modules_downloads_desc_idx ON modules (downloads DESC);
CREATE INDEX IF NOT EXISTS providers_downloads_desc_idx ON providers (downloads DESC);
CREATE INDEX IF NOT EXISTS modules_published_at_desc_idx ON modules (published_at DESC);
CREATE INDEX IF NOT EXISTS providers_published_at_desc_idx ON providers (published_at DESC);

-- ILIKE '%term%' must be served by the trigram indexes as soon as an import has committed.
-- With GIN's fastupdate (the default) new entries wait in a pending list, which every search
-- reads in full and only VACUUM merges, so the planner rightly avoids the index after a bulk
-- load. Without it each row's entries go into the index as it is written. Entries already
-- pending are merged now, by the indexes' owner.
ALTER INDEX modules_name_trgm_idx SET (fastupdate = off);
ALTER INDEX modules_description_trgm_idx SET (fastupdate = off);
ALTER INDEX providers_name_trgm_idx SET (fastupdate = off);
ALTER INDEX providers_description_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list(index_name::regclass)
  FROM unnest(ARRAY['modules_name_trgm_idx', 'modules_description_trgm_idx', 'providers_name_trgm_idx', 'providers_description_trgm_idx']) AS index_name;
