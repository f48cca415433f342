#!/usr/bin/env bash
# make run / make stop: the development cluster under ./.pgdata
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=cluster.sh
. test/tools/cluster.sh
# shellcheck source=dev-extras.sh
. test/tools/dev-extras.sh

STATE=$ROOT/.pgdata
DATA=$STATE/data
SOCK=$STATE/run
LOG=$STATE/server.log
DB=startlijn

connect_info() {
  local port pw
  port=$(cat "$STATE/port")
  pw=$(cat "$STATE/password")
  cat <<INFO

startlijn dev server is running (data: .pgdata/, log: .pgdata/server.log)
  psql:  psql -h $SOCK -p $port -U postgres $DB
  URI:   postgresql://postgres:$pw@127.0.0.1:$port/$DB
  stop:  make stop
INFO
}

case "${1:-start}" in
stop)
  dev_postgrest_stop
  if [ -d "$DATA" ] && cluster_running "$DATA"; then
    cluster_stop "$DATA"
    echo "startlijn dev server stopped"
  else
    echo "startlijn dev server is not running"
  fi
  exit 0
  ;;
start) ;;
*) echo "usage: dev.sh start|stop" >&2; exit 2 ;;
esac

if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$ROOT"; then
  echo "make run: user postgres cannot enter $ROOT; run 'chmod o+x' on it and its parents" >&2
  exit 1
fi
if [ ${#SOCK} -gt 90 ]; then
  echo "make run: the socket path $SOCK is too long for a unix socket; clone to a shorter path" >&2
  exit 1
fi

build_and_install

fresh=0
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$STATE"
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  umask 077
  head -c 18 /dev/urandom | base64 | tr '+/' 'xy' > "$STATE/password"
  umask 022
  free_port > "$STATE/port"
  PWFILE=$STATE/password
  if [ "$(id -u)" -eq 0 ]; then chown "$SERVER_USER" "$STATE/password"; fi
  PWFILE=$PWFILE cluster_init "$DATA" "$SOCK" "$(cat "$STATE/port")" 127.0.0.1 \
    "cron.database_name = '$DB'"
  if [ "$(id -u)" -eq 0 ]; then chown root "$STATE/password"; fi
  fresh=1
fi

if ! cluster_running "$DATA"; then
  # the remembered port may have been taken meanwhile: pick another
  port=$(cat "$STATE/port")
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    port=$(free_port); echo "$port" > "$STATE/port"
    as_server sed -i "s/^port = .*/port = $port/" "$DATA/postgresql.conf"
  fi
  touch "$LOG"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$LOG"
  cluster_start "$DATA" "$LOG"
fi

PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(cat "$STATE/port")" -U postgres)
if [ "$fresh" = 1 ] || ! "${PSQL[@]}" -d postgres -tAc "select 1 from pg_database where datname='$DB'" | grep -q 1; then
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
installed=$("${PSQL[@]}" -d "$DB" -tAc "select extversion from pg_extension where extname='startlijn'")
if [ -z "$installed" ]; then
  "${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION startlijn CASCADE"
  "${PSQL[@]}" -d "$DB" -f test/fixtures/demo.sql
  echo "startlijn: database $DB created with demo data"
else
  # startlijn 0.4 needs startlijn_retention 0.2, 0.5 needs startlijn_capacity
  # and the 0.2 of audit, payments and tokens: create what is missing, update
  # every installed startlijn extension, the platform last; a failed update is
  # reported, not hidden
  "${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS startlijn_retention CASCADE" \
    -c "CREATE EXTENSION IF NOT EXISTS startlijn_capacity CASCADE"
  for ext in $("${PSQL[@]}" -d "$DB" -tAc "SELECT extname FROM pg_extension WHERE extname LIKE 'startlijn_%' ORDER BY 1") startlijn; do
    "${PSQL[@]}" -d "$DB" -c "ALTER EXTENSION $ext UPDATE"
  done
fi
connect_info
dev_complete
