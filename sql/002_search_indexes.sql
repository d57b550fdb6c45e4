-- Case-insensitive substring search by name or description (ILIKE '%term%'): a B-tree
-- cannot serve a leading wildcard, a trigram GIN index can. pg_trgm is a trusted
-- extension since PostgreSQL 13, so the database owner may create it without superuser.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX IF NOT EXISTS modules_name_trgm_idx ON modules USING gin (name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS modules_description_trgm_idx ON modules USING gin (description gin_trgm_ops);
CREATE INDEX IF NOT EXISTS providers_name_trgm_idx ON providers USING gin (name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS providers_description_trgm_idx ON providers USING gin (description gin_trgm_ops);
