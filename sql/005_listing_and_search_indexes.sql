-- The registry API lists with `ORDER BY downloads DESC LIMIT n` (and published_at alike),
-- plain DESC: NULLs first, since both columns are nullable. 001's indexes keep DESC NULLS
-- LAST and cannot serve that order; these can (and 001's stay, for queries written with
-- NULLS LAST).
CREATE INDEX IF NOT EXISTS modules_downloads_desc_idx ON modules (downloads DESC);
CREATE INDEX IF NOT EXISTS providers_downloads_desc_idx ON providers (downloads DESC);
CREATE INDEX IF NOT EXISTS modules_published_at_desc_idx ON modules (published_at DESC);
CREATE INDEX IF NOT EXISTS providers_published_at_desc_idx ON providers (published_at DESC);

-- ILIKE '%term%' must be served by the trigram indexes as soon as an import has committed.
-- With GIN's fastupdate new entries wait in a pending list that every search reads in full
-- and only VACUUM merges (4 MB by default), so after a bulk load the planner rightly avoids
-- the index. Without fastupdate each row's entries go into the index one by one, which made
-- loading the registry three times slower. A 64 kB pending list keeps both: entries are
-- merged in batches by the writer itself whenever 64 kB are pending, and a search reads at
-- most 64 kB more. Entries already pending are merged now, by the indexes' owner.
ALTER INDEX modules_name_trgm_idx SET (gin_pending_list_limit = 64);
ALTER INDEX modules_description_trgm_idx SET (gin_pending_list_limit = 64);
ALTER INDEX providers_name_trgm_idx SET (gin_pending_list_limit = 64);
ALTER INDEX providers_description_trgm_idx SET (gin_pending_list_limit = 64);
SELECT gin_clean_pending_list(index_name::regclass)
  FROM unnest(ARRAY['modules_name_trgm_idx', 'modules_description_trgm_idx', 'providers_name_trgm_idx', 'providers_description_trgm_idx']) AS index_name;
