#!/usr/bin/env bash
# The reference for `tofu-registry-db setup`: the same work done the way a careful shell
# script in a CI job would, with PostgreSQL's own client programs. It is written to be
# as fast as such a script can reasonably be (few processes, one session where one will
# do) while doing everything setup does, so that the comparison is fair:
#
#   1. create the database unless it exists                      createdb
#   2. create the role with a generated password, unless it     createuser --pwprompt
#      exists (the SCRAM verifier is computed on the client, as setup does)
#   3. apply the pending sql/*.sql files, each in its own        one psql session
#      transaction under an advisory lock, with a bookkeeping
#      table (version, name, checksum); then the grants, in one
#      transaction: CONNECT/TEMPORARY, REVOKE CONNECT FROM PUBLIC,
#      USAGE on the schema, CRUD on the tables, USAGE/SELECT on
#      the sequences, default privileges for later tables
#   4. write the env file atomically, mode 0600                  printf + mv
#   5. the checks, as the new role: server version and primary,  one psql session
#      schema and migrations, privileges (and more than needed),
#      a CRUD round trip on a temporary table and on the real
#      tables inside a transaction that is rolled back
#
# Input (environment): PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE for the admin,
# BENCH_DB, BENCH_ROLE, BENCH_ENV_FILE, BENCH_SQL_DIR, and PG_CLIENT_BIN (the folder
# holding psql, createdb and createuser). Idempotent: a second run changes nothing and
# keeps the password, like setup.
#
# It must run without a controlling terminal (the benchmark starts it in its own
# session): createuser then reads the password from stdin instead of /dev/tty.
set -euo pipefail

db=$BENCH_DB
role=$BENCH_ROLE
env_file=$BENCH_ENV_FILE
sql_dir=$BENCH_SQL_DIR
bin=${PG_CLIENT_BIN:-/usr/bin}
admin=$PGUSER
# -X: no ~/.psqlrc; -q: quiet; ON_ERROR_STOP: the first failing statement ends psql with exit 3.
psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1)

err=$(mktemp)
trap 'rm -f "$err"' EXIT

# 1. The database. Trying first and accepting "already exists" costs one process on a
#    fresh name, where checking pg_database first would cost two.
if ! "$bin/createdb" "$db" 2>"$err"; then
  grep -q 'already exists' "$err" || { cat "$err" >&2; exit 1; }
fi

# 2. The role: LOGIN and nothing more. A new role gets 32 characters from [A-Za-z0-9]
#    out of /dev/urandom (tr -dc drops the other bytes, so there is no modulo bias).
#    An existing role keeps its password, which the env file already holds.
password=''
candidate=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32)
[ "${#candidate}" -eq 32 ] || { echo 'could not generate a password' >&2; exit 1; }
if printf '%s\n%s\n' "$candidate" "$candidate" |
  "$bin/createuser" --login --no-superuser --no-createdb --no-createrole --no-replication --pwprompt "$role" 2>"$err"; then
  password=$candidate
else
  grep -q 'already exists' "$err" || { cat "$err" >&2; exit 1; }
fi

# 3. Migrations and grants in one admin session on the registry database. psql
#    substitutes :'var' (a literal) and :"var" (an identifier) in what it reads from
#    stdin, so names are quoted by psql, never pasted.
checksums=$(cd "$sql_dir" && sha256sum -- *.sql)
migration_count=0
{
  cat <<'SQL'
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS public.bench_migrations (
    version  TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SQL
  while read -r sum file; do
    version=${file%%_*}
    # Skip what was applied; a changed applied file stops the run (the cast fails with
    # the message as its "invalid input", which psql prints before exiting 3).
    cat <<SQL
BEGIN;
SELECT pg_advisory_xact_lock(7240131985016412);
SELECT EXISTS (SELECT 1 FROM public.bench_migrations WHERE version = '$version') AS applied,
       EXISTS (SELECT 1 FROM public.bench_migrations WHERE version = '$version' AND checksum <> '$sum') AS changed \\gset
\\if :changed
SELECT 'applied migration $file changed since it ran'::int;
\\elif :applied
ROLLBACK;
\\else
\\i '$sql_dir/$file'
;
INSERT INTO public.bench_migrations (version, name, checksum) VALUES ('$version', '$file', '$sum');
COMMIT;
\\endif
SQL
  done <<<"$checksums"
  cat <<'SQL'
BEGIN;
REVOKE CONNECT ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM :"role";
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM :"role";
GRANT USAGE ON SCHEMA public TO :"role";
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"admin" IN SCHEMA public REVOKE ALL ON TABLES FROM :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"admin" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"admin" IN SCHEMA public REVOKE ALL ON SEQUENCES FROM :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"admin" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"role";
COMMIT;
SQL
} | "${psql[@]}" -o /dev/null -d "$db" -v db="$db" -v role="$role" -v admin="$admin"
migration_count=$(wc -l <<<"$checksums")

# 4. The env file: other lines kept, our variables replaced, written to a temporary
#    file in the same folder and renamed (atomic), mode 0600. Single quotes: dotenv
#    reads them back literally, and so does the shell below.
umask 077
tmp="$env_file.tmp.$$"
{
  if [ -f "$env_file" ]; then
    # Keep the old password line when the role existed (no new password).
    keep='TYPE|HOST|PORT|NAME|USER|SSLMODE'
    [ -n "$password" ] && keep="$keep|PASSWORD"
    grep -v -E "^TOFU_REGISTRY_DB_($keep)=" "$env_file" || true
  fi
  printf "TOFU_REGISTRY_DB_TYPE='postgres'\nTOFU_REGISTRY_DB_HOST='%s'\nTOFU_REGISTRY_DB_PORT='%s'\nTOFU_REGISTRY_DB_NAME='%s'\nTOFU_REGISTRY_DB_USER='%s'\nTOFU_REGISTRY_DB_SSLMODE='%s'\n" \
    "$PGHOST" "$PGPORT" "$db" "$role" "${PGSSLMODE:-require}"
  [ -n "$password" ] && printf "TOFU_REGISTRY_DB_PASSWORD='%s'\n" "$password"
} >"$tmp"
mv -f -- "$tmp" "$env_file"
[ -n "$password" ] || password=$(. "$env_file" && printf '%s' "$TOFU_REGISTRY_DB_PASSWORD")

# 5. The checks, as the application role, in one session. Connecting at all proves TCP,
#    authentication and CONNECT on the database. The checks run as PL/pgSQL (a DO
#    block), where a failed check raises its message and psql exits 3 with it; the
#    expected migration count comes in through a setting, since psql does not
#    substitute variables inside dollar quotes.
PGUSER=$role PGPASSWORD=$password "${psql[@]}" -d "$db" -v expected="$migration_count" <<'SQL'
SELECT set_config('bench.expected_migrations', :'expected', false) \g /dev/null
DO $$
DECLARE
  missing text;
BEGIN
  IF current_setting('server_version_num')::int < 120000 THEN
    RAISE EXCEPTION 'server older than PostgreSQL 12';
  END IF;
  IF pg_is_in_recovery() THEN
    RAISE EXCEPTION 'connected to a read-only standby, not the primary';
  END IF;
  IF (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('modules', 'providers', 'cache')) <> 3 THEN
    RAISE EXCEPTION 'registry tables missing: run the migrations';
  END IF;
  IF (SELECT count(*) FROM public.bench_migrations) <> current_setting('bench.expected_migrations')::int THEN
    RAISE EXCEPTION 'migrations pending';
  END IF;
  -- has_*_privilege with a list is true when ANY of them is held: ask for each one.
  SELECT string_agg(format('%s on %s', p.privilege, c.relname), ', ') INTO missing
    FROM pg_class c
    JOIN (VALUES ('r', 'SELECT'), ('r', 'INSERT'), ('r', 'UPDATE'), ('r', 'DELETE'), ('S', 'USAGE'), ('S', 'SELECT')) p (relkind, privilege)
      ON p.relkind = c.relkind::text
   WHERE c.relnamespace = 'public'::regnamespace
     AND NOT CASE c.relkind WHEN 'r' THEN has_table_privilege(c.oid, p.privilege) ELSE has_sequence_privilege(c.oid, p.privilege) END;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'missing grants: %', missing;
  END IF;
  -- More than it needs is a warning, not a failure.
  IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user
              AND (r.rolsuper OR has_schema_privilege('public', 'CREATE')
                   OR has_database_privilege(current_database(), 'CREATE')
                   OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relowner = r.oid))) THEN
    RAISE WARNING 'the role has more privileges than the API needs';
  END IF;
END $$;
-- The round trip: write, read back, change and delete, then roll everything back.
BEGIN;
DO $$
BEGIN
  CREATE TEMPORARY TABLE bench_round_trip (id integer PRIMARY KEY, label text) ON COMMIT DROP;
  INSERT INTO bench_round_trip VALUES (1, 'written');
  UPDATE bench_round_trip SET label = 'updated' WHERE id = 1 AND label = 'written';
  IF NOT FOUND THEN RAISE EXCEPTION 'temporary table: the row did not read back'; END IF;
  DELETE FROM bench_round_trip WHERE id = 1;

  INSERT INTO modules (namespace, name, provider, version) VALUES ('bench-check', 'check', 'null', '0.0.0');
  UPDATE modules SET downloads = downloads + 1 WHERE namespace = 'bench-check';
  PERFORM 1 FROM modules WHERE namespace = 'bench-check' AND downloads = 1;
  IF NOT FOUND THEN RAISE EXCEPTION 'modules: the row did not read back'; END IF;
  DELETE FROM modules WHERE namespace = 'bench-check';

  INSERT INTO providers (namespace, name, version) VALUES ('bench-check', 'check', '0.0.0');
  UPDATE providers SET downloads = downloads + 1 WHERE namespace = 'bench-check';
  PERFORM 1 FROM providers WHERE namespace = 'bench-check' AND downloads = 1;
  IF NOT FOUND THEN RAISE EXCEPTION 'providers: the row did not read back'; END IF;
  DELETE FROM providers WHERE namespace = 'bench-check';

  INSERT INTO cache (cache_key, cache_value, expires_at) VALUES ('bench-check', 'v', now());
  UPDATE cache SET cache_value = 'w' WHERE cache_key = 'bench-check';
  PERFORM 1 FROM cache WHERE cache_key = 'bench-check' AND cache_value = 'w';
  IF NOT FOUND THEN RAISE EXCEPTION 'cache: the row did not read back'; END IF;
  DELETE FROM cache WHERE cache_key = 'bench-check';
END $$;
ROLLBACK;
SQL
echo "setup done: database $db, role $role, env file $env_file"
