# shellcheck shell=bash
# Sourced by dev.sh: what makes the dev database the whole product (every
# extension, demo data for every documented call, the pg_cron jobs) and the
# ways to call it as a user (test/tools/as.sh, test/tools/jwt.sh, a
# PostgREST configuration, PostgREST itself when it is on the PATH).
# Uses dev.sh's STATE, SOCK, DB, PG_BIN and cluster.sh's helpers.

dev_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(cat "$STATE/port")" -U postgres -d "$DB" "$@"; }

# startlijn_tokens (not required by the platform yet) and demo data for it,
# payments and capacity (test/fixtures/demo_dev.sql, loaded once)
dev_install_rest() {
  dev_psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS startlijn_tokens"
  dev_psql -f test/fixtures/demo_dev.sql
}

# every pg_cron job production runs (docs/examples/schedule_jobs.sql; the
# dev cluster preloads pg_cron with cron.database_name = the dev database)
dev_schedule_jobs() {
  echo
  echo "pg_cron jobs in database $DB (docs/examples/schedule_jobs.sql):"
  dev_psql -P footer=off -f docs/examples/schedule_jobs.sql | sed 's/^/  /'
  # pg_cron stores cron.host with each job when it is scheduled: jobs of a dev
  # database from before cron.host was set still point at localhost
  dev_psql -c "UPDATE cron.job SET nodename = current_setting('cron.host') WHERE nodename IS DISTINCT FROM current_setting('cron.host')"
}

# pg_cron runs each job through libpq to cron.host (default localhost, where
# the dev server asks for a password): point it at the unix socket. And a
# DROP DATABASE ... WITH (FORCE) of the cron database (dropdb --force, a
# same-name restore) stops pg_cron's scheduler until the server restarts.
dev_cron_scheduler() {
  local conf=$DATA/postgresql.conf why=""
  if ! grep -q "^cron.host" "$conf"; then
    echo "cron.host = '$SOCK'" | as_server tee -a "$conf" >/dev/null
    why="cron.host set to the socket directory"
  elif [ -z "$(dev_psql -tAc "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'")" ]; then
    why="pg_cron's scheduler was not running"
  fi
  if [ -n "$why" ]; then
    echo "startlijn: restarting the dev server ($why)"
    cluster_stop "$DATA"
    cluster_start "$DATA" "$LOG"
  fi
}

# the PostgREST side: authenticator's password, a JWT secret, .pgdata/postgrest.conf
dev_postgrest_config() {
  local pw port api_port
  umask 077
  [ -s "$STATE/authenticator-password" ] ||
    head -c 18 /dev/urandom | base64 | tr '+/' 'xy' > "$STATE/authenticator-password"
  [ -s "$STATE/jwt-secret" ] || head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$STATE/jwt-secret"
  umask 022
  pw=$(cat "$STATE/authenticator-password")
  dev_psql -v pw="$pw" <<< "ALTER ROLE authenticator LOGIN PASSWORD :'pw'"
  port=$(cat "$STATE/port")
  api_port=$(cat "$STATE/postgrest-port" 2>/dev/null || true)
  if [ -z "$api_port" ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then api_port=$(free_port); else api_port=3000; fi
    echo "$api_port" > "$STATE/postgrest-port"
  fi
  umask 077
  cat > "$STATE/postgrest.conf.new" <<CONF
# written by make run (test/tools/dev-extras.sh); docs/operations.md, "PostgREST"
db-uri = "postgres://authenticator:$pw@127.0.0.1:$port/$DB"
db-schemas = "api"
db-anon-role = "anon"
jwt-secret = "$(cat "$STATE/jwt-secret")"
db-pool = 10
server-host = "127.0.0.1"
server-port = $api_port
CONF
  umask 022
  mv "$STATE/postgrest.conf.new" "$STATE/postgrest.conf"
}

postgrest_running() {
  [ -f "$STATE/postgrest.pid" ] && kill -0 "$(cat "$STATE/postgrest.pid")" 2>/dev/null
}

# PostgREST itself, only when a postgrest binary is on the PATH
dev_postgrest_start() {
  local bin
  bin=$(command -v postgrest || true)
  [ -n "$bin" ] || return 0
  if postgrest_running; then
    kill -USR2 "$(cat "$STATE/postgrest.pid")" 2>/dev/null || true   # reload the configuration
    return 0
  fi
  nohup "$bin" "$STATE/postgrest.conf" >> "$STATE/postgrest.log" 2>&1 &
  echo $! > "$STATE/postgrest.pid"
  sleep 1
  postgrest_running || { echo "postgrest did not start: see .pgdata/postgrest.log" >&2; rm -f "$STATE/postgrest.pid"; }
}

dev_postgrest_stop() {
  if postgrest_running; then
    kill "$(cat "$STATE/postgrest.pid")" && echo "postgrest stopped"
  fi
  rm -f "$STATE/postgrest.pid"
}

dev_usage() {
  local port api_port
  port=$(cat "$STATE/port")
  api_port=$(cat "$STATE/postgrest-port")
  cat <<USAGE

Client programs (psql, pg_dump, pg_restore, the commands of docs/operations.md):
  export PGHOST=$SOCK PGPORT=$port PGUSER=postgres PGDATABASE=$DB

Act as a user, exactly as PostgREST calls the API (test/driver/pgrst.py: one transaction,
role, request.jwt.claims, request.headers, search_path set locally, COMMIT as the caller):
  test/tools/as.sh anna my_profile
  test/tools/as.sh anna list_members '{"organization_id": "00000000-0000-4000-b000-000000000001"}'
  test/tools/as.sh anon audit_public_key
  (WHO: anon, service, a demo user's first name (docs/operations.md), an email, a profile id,
   a JSON object of claims or a JWT;
   AS_SHOW_SQL=1 prints the statements)
A JWT for a demo user (HS256, secret in .pgdata/jwt-secret):
  TOKEN=\$(test/tools/jwt.sh anna)
USAGE
  if postgrest_running; then
    cat <<USAGE
PostgREST is running (.pgdata/postgrest.conf, log .pgdata/postgrest.log); the curl examples of docs/api.md work with:
  API=http://127.0.0.1:$api_port TOKEN=\$(test/tools/jwt.sh anna)
USAGE
  else
    cat <<USAGE
PostgREST: configuration in .pgdata/postgrest.conf; no postgrest binary on the PATH, so
  it is not started (install it from https://github.com/PostgREST/postgrest/releases and
  'make run' starts it on http://127.0.0.1:$api_port; meanwhile use test/tools/as.sh).
USAGE
  fi
}

# everything above, after dev.sh has created or updated the database
dev_complete() {
  dev_install_rest
  dev_cron_scheduler
  dev_schedule_jobs
  dev_postgrest_config
  dev_postgrest_start
  dev_usage
}
