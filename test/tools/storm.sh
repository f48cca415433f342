#!/usr/bin/env bash
# Crash and storm (issue 26, part 2; docs/reliability.md, "Crash and storm").
#
# Starts its own cluster configured as production (fsync, synchronous_commit
# and full_page_writes on), loads the extensions and the demo data, and runs
# test/storm/storm.py against it:
#   1. crash: a mixed load at STORM_CLIENTS clients through the PostgREST-exact
#      driver with a retention run going; the postmaster is killed with
#      SIGKILL mid-run, the cluster restarted (crash recovery), every
#      invariant checked, the retention job run again (it must resume);
#   2. storm: the same mix for STORM_SECONDS with a random client's backend
#      terminated now and then (pg_terminate_backend); every invariant checked;
#   3. the checker's self-test: one deliberate corruption per invariant, each
#      in a rolled-back transaction, each must be detected.
# Prints TAP (one line per check); exits 1 when anything failed.
#
#   STORM_SECONDS (60)  STORM_CLIENTS (64)  STORM_CRASH_SECONDS (8)
#   STORM_OUT (test/results/storm): logs, the server log, a JSON report
#   STORM_KEEP=1: keep the cluster up afterwards (for a look with psql)
#   PG_BIN: a bin directory whose PostgreSQL has the extensions installed
#     (run-tests.sh passes its private install); without it, the build is
#     installed into a private copy of PostgreSQL as make test does.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=cluster.sh
. test/tools/cluster.sh

OUT=${STORM_OUT:-$ROOT/test/results/storm}
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/startlijn-storm.XXXXXX)
chmod 755 "$TMP"
cleanup() {
  # thrown away: no shutdown checkpoint needed
  [ -f "$TMP/data/postmaster.pid" ] && as_server "$PG_BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1
  cluster_stop "$TMP/data"
  [ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${STORM_INSTALLED:-}" ]; then
  echo "# build and install (into $TMP/install)"
  if ! build_and_install_private "$TMP/install" > "$OUT/build.log" 2>&1; then
    cat "$OUT/build.log"; echo "not ok 1 - build"; echo "1..1"; exit 1
  fi
fi

setup_start=$(date +%s)
PORT=$(( 20000 + RANDOM % 40000 ))
SOCK=$TMP/sock
cluster_init "$TMP/data" "$SOCK" "$PORT" "" \
  "fsync = on" "synchronous_commit = on" "full_page_writes = on" \
  "max_connections = 200" "shared_buffers = 256MB" "max_wal_size = 2GB" \
  "cron.database_name = 'startlijn_storm'" "log_min_messages = warning" \
  "max_locks_per_transaction = 256" "restart_after_crash = off"
touch "$TMP/server.log"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$TMP/server.log"
if ! cluster_start "$TMP/data" "$TMP/server.log"; then
  cat "$TMP/server.log"; echo "not ok 1 - cluster start"; echo "1..1"; exit 1
fi
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=startlijn_storm
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
if ! PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "CREATE DATABASE startlijn_storm" > "$OUT/setup.log" 2>&1 ||
   ! PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d startlijn_storm \
       -f test/helpers/test_db.sql -c "CREATE EXTENSION pg_cron" -f test/storm/setup.sql >> "$OUT/setup.log" 2>&1; then
  cat "$OUT/setup.log"; echo "not ok 1 - storm database setup (test/results/storm/setup.log)"; echo "1..1"; exit 1
fi

echo "# cluster and database set up in $(( $(date +%s) - setup_start )) s"

# storm.py restarts the cluster after the crash with this command
export STORM_DATA=$TMP/data
export STORM_RESTART="$(declare -f as_server cluster_start); PG_BIN='$PG_BIN'; cluster_start '$TMP/data' '$TMP/server.log'"
export STORM_OUT=$OUT STORM_LOG=$TMP/server.log
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
"$PY" test/storm/storm.py
rc=$?
if [ -n "${STORM_KEEP:-}" ]; then
  echo "# STORM_KEEP: the cluster stays up until this script is stopped:"
  echo "#   PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres $PG_BIN/psql startlijn_storm"
  sleep infinity
fi
exit $rc
