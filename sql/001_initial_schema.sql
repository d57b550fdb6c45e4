-- The registry's three tables, exactly as the original design defines them, plus the
-- indexes the registry API's queries need. The UNIQUE keys already serve the exact
-- lookups and the per-module / per-provider version listings (their leading columns
-- are namespace, name[, provider]), so no index here repeats them.

CREATE TABLE IF NOT EXISTS modules (
    id SERIAL PRIMARY KEY,
    namespace VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    provider VARCHAR(255) NOT NULL,
    version VARCHAR(50) NOT NULL,
    description TEXT,
    source_url TEXT,
    published_at TIMESTAMP,
    downloads INTEGER DEFAULT 0,
    UNIQUE(namespace, name, provider, version)
);

CREATE TABLE IF NOT EXISTS providers (
    id SERIAL PRIMARY KEY,
    namespace VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    version VARCHAR(50) NOT NULL,
    description TEXT,
    source_url TEXT,
    published_at TIMESTAMP,
    downloads INTEGER DEFAULT 0,
    UNIQUE(namespace, name, version)
);

CREATE TABLE IF NOT EXISTS cache (
    id SERIAL PRIMARY KEY,
    cache_key VARCHAR(255) NOT NULL UNIQUE,
    cache_value TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- "Most downloaded" listings: ORDER BY downloads DESC LIMIT n, without sorting the table.
CREATE INDEX IF NOT EXISTS modules_downloads_idx ON modules (downloads DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS providers_downloads_idx ON providers (downloads DESC NULLS LAST);

-- "Most recent" listings: ORDER BY published_at DESC LIMIT n.
CREATE INDEX IF NOT EXISTS modules_published_at_idx ON modules (published_at DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS providers_published_at_idx ON providers (published_at DESC NULLS LAST);

-- Cache purge: DELETE FROM cache WHERE expires_at < now() touches only expired rows.
-- (Lookup by cache_key is served by its UNIQUE constraint.)
CREATE INDEX IF NOT EXISTS cache_expires_at_idx ON cache (expires_at);
