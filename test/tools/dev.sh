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
# The database is built from the installed extension scripts. There are no
# upgrade scripts before the first release (docs/architecture.md): when the
# scripts differ from those the database was built with (a fingerprint in
# .pgdata/scripts.sha256; none for databases of older checkouts), the
# database is recreated with the demo data.
scripts_hash() { cat $(ls extension/*.control extension/*--*.sql | sort) | sha256sum | cut -d' ' -f1; }
installed=$("${PSQL[@]}" -d "$DB" -tAc "select extversion from pg_extension where extname='startlijn'")
if [ -n "$installed" ] && [ "$(cat "$STATE/scripts.sha256" 2>/dev/null)" != "$(scripts_hash)" ]; then
  "${PSQL[@]}" -d postgres -c "DROP DATABASE $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  created="startlijn: the extension scripts changed since database $DB was built (startlijn $installed): recreated it with demo data"
  installed=
fi
if [ -z "$installed" ]; then
  "${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "CREATE EXTENSION startlijn CASCADE"
  "${PSQL[@]}" -d "$DB" -f test/fixtures/demo.sql
  echo "${created:-startlijn: database $DB created with demo data}"
fi
scripts_hash > "$STATE/scripts.sha256"
connect_info
dev_complete
