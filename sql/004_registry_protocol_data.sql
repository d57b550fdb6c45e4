-- What the OpenTofu provider and module registry protocols serve, beside the seed's rows:
-- per provider version its protocols and checksum URLs, one row per platform, per provider
-- its warnings, per module version its Git tag as written and its commit, and the signing
-- keys. The seed's tables only gain columns (nullable, so rows written before stay valid);
-- their columns, keys and meaning are unchanged.

ALTER TABLE providers
    ADD COLUMN protocols TEXT[],
    ADD COLUMN shasums_url TEXT,
    ADD COLUMN shasums_signature_url TEXT;

-- The tag is what `?ref=` needs: `version` has its leading `v` removed, the tag keeps it.
-- It must spell the same version; a commit is a Git object id.
ALTER TABLE modules
    ADD COLUMN tag VARCHAR(255),
    ADD COLUMN "commit" VARCHAR(40),
    ADD CONSTRAINT modules_tag_spells_version CHECK (tag = version OR tag = 'v' || version),
    ADD CONSTRAINT modules_commit_is_sha1 CHECK ("commit" ~ '^[0-9a-f]{40}$');

-- One row per provider version and platform (`targets` in the registry's files), keyed by
-- the version's natural key: the download lookup is one index probe, and a platform cannot
-- outlive its version (or miss a rename of it).
CREATE TABLE provider_platforms (
    namespace VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    version VARCHAR(255) NOT NULL,
    os VARCHAR(255) NOT NULL CHECK (os <> ''),
    arch VARCHAR(255) NOT NULL CHECK (arch <> ''),
    filename TEXT NOT NULL,
    download_url TEXT NOT NULL,
    shasum TEXT NOT NULL CHECK (shasum ~ '^[0-9a-f]{64}$'),
    h1 TEXT,
    size BIGINT CHECK (size >= 0),
    PRIMARY KEY (namespace, name, version, os, arch),
    FOREIGN KEY (namespace, name, version) REFERENCES providers (namespace, name, version) ON DELETE CASCADE ON UPDATE CASCADE
);

-- One row per provider of the registry (a `providers/<l>/<namespace>/<name>.json` file, its
-- spellings merged), also one without versions, which the registry lists with none.
-- versions_document is the answer of GET /v1/providers/:namespace/:type/versions as import
-- wrote it with the rows (the registry's own generator precomputes it too): built from the
-- rows, a provider with hundreds of versions and thousands of platforms takes tens of
-- milliseconds. NULL: registry_provider_versions() builds it from the rows.
CREATE TABLE registry_providers (
    namespace VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    warnings TEXT[],
    versions_document JSONB,
    PRIMARY KEY (namespace, name)
);

-- One row per module of the registry (`modules/<l>/<namespace>/<name>/<system>.json`).
CREATE TABLE registry_modules (
    namespace VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    system VARCHAR(255) NOT NULL,
    PRIMARY KEY (namespace, name, system)
);

-- The GPG public keys that sign provider releases: `keys/<l>/<namespace>/<file>.asc` applies
-- to every provider of the namespace (provider = ''), `keys/<l>/<namespace>/<provider>/<file>.asc`
-- to one. key_id is the key's 16-hex-digit ID as `gpg --show-keys` prints it.
CREATE TABLE signing_keys (
    id SERIAL PRIMARY KEY,
    namespace VARCHAR(255) NOT NULL,
    provider VARCHAR(255) NOT NULL DEFAULT '',
    file_name VARCHAR(255) NOT NULL CHECK (file_name <> ''),
    key_id TEXT NOT NULL CHECK (key_id ~ '^[0-9A-F]{16}$'),
    ascii_armor TEXT NOT NULL,
    UNIQUE (namespace, provider, file_name)
);

-- import's bookkeeping, one row per provider or module it has written: the SHA-256 of its
-- files as read (so an unchanged file is recognised without rewriting its rows) and what
-- they held, for exact counts. The registry API never needs it.
CREATE TABLE registry_import_sources (
    kind VARCHAR(8) NOT NULL CHECK (kind IN ('provider', 'module')),
    key TEXT NOT NULL,
    sha256 TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    entries INTEGER NOT NULL,
    merged INTEGER NOT NULL,
    version_rows INTEGER NOT NULL,
    platform_rows INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
