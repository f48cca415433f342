# shellcheck shell=bash
# Shared by the outside tests (test/outside/*.sh) and sourced by
# test/tools/run-tests.sh for make_test_db: checks made from outside the
# database with the client programs (pg_dump, pg_restore, psql), python3,
# openssl, as.sh and jwt.sh. Each test prints TAP on stdout, which
# test/outside/run.sh compares with test/outside/expected/<name>.out; the
# lines it prints are stable (no timings, ids or counts that change when the
# demo data grows): such figures go to stderr as "# " notes (run.sh keeps them
# in test/results/outside/<name>.log). See docs/architecture.md, "Tests".
#
# Where the server is: libpq's PGHOST, PGPORT, PGUSER (default postgres, a
# superuser); without PGHOST the dev server of `make run` (.pgdata/). The
# client programs: PG_BIN (default: the bindir of pg_config).

OUTSIDE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$( (command -v pg_config >/dev/null && pg_config --bindir) || echo /usr/lib/postgresql/15/bin)
fi
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)

# make_test_db DB [psql args...]: a fresh database DB with every extension,
# the PostgREST call helper and the demo data (test/helpers/test_db.sql);
# the psql arguments run before the script (e.g. -c "CREATE EXTENSION pg_cron")
make_test_db() {
  local PGOPTIONS="-c client_min_messages=warning"; export PGOPTIONS
  local db=$1; shift
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null &&
  "${PSQL[@]}" -d "$db" "$@" -f "$OUTSIDE_ROOT/test/helpers/test_db.sql" >/dev/null
}

# drop_db DB: drop it if it exists, ending its sessions (pg_cron's scheduler)
drop_db() {
  PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
}

# sql DB QUERY: one query, unaligned tuples only
sql() { "${PSQL[@]}" -d "$1" -tA -c "$2"; }

# --- TAP -------------------------------------------------------------------
T_N=0 T_FAILED=0
# pass DESCRIPTION
pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
# fail DESCRIPTION [DETAIL...]: each detail a "# " line under it (what was
# expected, what came, which file under test/results/ to read)
fail() {
  T_N=$((T_N + 1)) T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"; shift
  local line
  for line in "$@"; do echo "#   $line"; done
}
# same DESCRIPTION WANT GOT WHERE: pass if GOT equals WANT
same() {
  if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "expected: '$2'" "got:      '$3'" "($4)"; fi
}
# note TEXT: a figure for the reader, not compared (stderr, kept in the log)
note() { echo "# $*" >&2; }
# done_testing: the plan, at the end (1..N); the status: 1 if anything failed
done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }
# skip_all REASON: this server cannot run this test; nothing counted
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# outside_begin: a test's start. Sets OUT, its scratch directory
# (test/results/outside/<name>/, or OUTSIDE_RESULTS/<name>/), and REL, the
# same relative to the repository (for messages); connects to the dev server
# when PGHOST is not set (OUTSIDE_NO_SERVER=1: a test that needs no server);
# runs from the repository's root.
outside_begin() {
  local name
  name=$(basename "$0" .sh)
  cd "$OUTSIDE_ROOT" || exit 1
  OUT=${OUTSIDE_RESULTS:-$OUTSIDE_ROOT/test/results/outside}/$name
  rm -rf "$OUT"; mkdir -p "$OUT"
  REL=${OUT#"$OUTSIDE_ROOT"/}
  [ -n "${OUTSIDE_NO_SERVER:-}" ] && return 0
  if [ -z "${PGHOST:-}" ]; then
    if [ ! -f .pgdata/port ]; then
      echo "Bail out! no server: run 'make run' first, or set PGHOST, PGPORT, PGUSER"; exit 1
    fi
    PGHOST=$OUTSIDE_ROOT/.pgdata/run PGPORT=$(cat .pgdata/port)
  fi
  export PGHOST PGPORT PGUSER=${PGUSER:-postgres}
  unset PGDATABASE
  if ! sql postgres "SELECT 1" >/dev/null 2>"$OUT/connect.log"; then
    echo "Bail out! cannot connect to the server at $PGHOST port ${PGPORT:-5432} ($REL/connect.log)"; exit 1
  fi
}

# need_cron_db: tests that drop and recreate the database pg_cron runs in
# run only where that is startlijn_cron (make test's throwaway cluster), never
# against a server whose pg_cron database holds data (make run's: startlijn)
need_cron_db() {
  CRON_DB=$(sql postgres "SELECT current_setting('cron.database_name', true)" 2>/dev/null)
  if [ "$CRON_DB" != startlijn_cron ]; then
    skip_all "drops and recreates the pg_cron database: needs cron.database_name = 'startlijn_cron' (make test's cluster), not '$CRON_DB'"
  fi
}

# --- the commands of docs/operations.md ----------------------------------------
# doc_block NAME: the ```sh block after "<!-- make test: NAME -->" in
# docs/operations.md, without its NAME=value lines
doc_block() {
  awk -v m="<!-- make test: $1 -->" '$0 == m {f = 1; next} f == 1 && /^```sh/ {f = 2; next} f == 2 && /^```/ {exit} f == 2' \
    "$OUTSIDE_ROOT/docs/operations.md" | grep -v -E '^[A-Z_]+='
}
# run_doc NAME VAR=value...: run that block with these variables, bash -e,
# PG_BIN first on PATH; the block is echoed to stderr with "+ "
run_doc() {
  local name=$1 block; shift
  block=$(doc_block "$name")
  if [ -z "$block" ]; then echo "no '$name' block in docs/operations.md" >&2; return 1; fi
  printf '%s\n' "$block" | sed 's/^/+ /' >&2
  env "$@" PATH="$PG_BIN:$PATH" bash -e -o pipefail -c "$block"
}
