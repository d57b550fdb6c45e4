-- Versions are Git tags, and the real registry holds tags longer than the original
-- VARCHAR(50) (long prerelease and build suffixes), which an import must never cut.
-- VARCHAR(255) matches the other name columns and Git's practical limit for a tag name
-- (one path component); a longer value is still rejected and reported, not truncated.
-- Widening a varchar is a catalog-only change in PostgreSQL (no table rewrite), and the
-- UNIQUE keys that include version keep working unchanged.

ALTER TABLE modules ALTER COLUMN version TYPE VARCHAR(255);
ALTER TABLE providers ALTER COLUMN version TYPE VARCHAR(255);
