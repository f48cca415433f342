#!/usr/bin/env bash
# make test: build, then run every suite against a throwaway cluster
# (private unix socket, no TCP), remove it even on failure, and end with
# one line "N passed, N failed".
#
#   SUITES="lint unit fuzz regress isolation pgtap e2e pooling relay outside upgrade storm" (default: all) to run a subset;
#   two more, not in the default: fuzz-long (FUZZ_SECONDS per target) and bad-input
#   (the full matrix), run by make test-reliability (test/tools/reliability.sh)
#   E2E="96_bad_input ..." runs only these scripts of test/e2e
#   OUTSIDE="as_user ..." runs only these files of test/outside
#   STORM_SECONDS (60): the storm suite's storm phase (make test-storm, make test-reliability: 600)
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=cluster.sh
. test/tools/cluster.sh

SUITES=${SUITES:-"lint unit fuzz regress isolation pgtap e2e pooling relay outside upgrade storm"}
RESULTS=$ROOT/test/results
PASSED=0
FAILED=0
FAILURES=()

note_pass() { PASSED=$((PASSED + $1)); }
note_fail() { FAILED=$((FAILED + $1)); FAILURES+=("$2"); }

finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    note_fail 1 "the test runner itself stopped with status $rc"
  fi
  if [ -n "${TMP:-}" ]; then
    [ -f "$TMP/pgbouncer/pgbouncer.pid" ] && kill "$(cat "$TMP/pgbouncer/pgbouncer.pid")" 2>/dev/null
    cluster_stop "$TMP/replica"
    cluster_stop "$TMP/data"
    rm -rf "$TMP"
  fi
  if [ ${#FAILURES[@]} -gt 0 ]; then
    echo
    echo "failures (outputs under test/results/):"
    printf '  - %s\n' "${FAILURES[@]}"
  fi
  echo
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then exit 1; fi
  exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# the throwaway cluster's directory; the build is installed into a private
# copy of PostgreSQL inside it, never into the system's directories
TMP=$(mktemp -d /tmp/startlijn-test.XXXXXX)
chmod 755 "$TMP"

echo "== build (-Wall -Wextra -Werror) and install (into $TMP/install)"
if ! build_and_install_private "$TMP/install" > "$RESULTS/build.log" 2>&1; then
  cat "$RESULTS/build.log"
  note_fail 1 "build"
  exit 1
fi

has_suite() { [[ " $SUITES " == *" $1 "* ]]; }

# --- lint: SQL in C strings, SECURITY DEFINER search_path ---------------------
# test/tools/lint_c_sql.py: a file checked clean counts one pass, each
# finding one failure; its self-test (planted violations must be caught,
# clean samples must pass) counts too.
if has_suite lint; then
  echo "== lint (test/tools/lint_c_sql.py: SQL strings in src/, SECURITY DEFINER in extension/)"
  python3 test/tools/lint_c_sql.py --self-test > "$RESULTS/lint-self-test.tap" 2>&1 || true
  python3 test/tools/lint_c_sql.py > "$RESULTS/lint.out" 2>&1 || true
  ok=$(grep -c '^ok ' "$RESULTS/lint-self-test.tap" || true)
  nok=$(grep -c '^not ok ' "$RESULTS/lint-self-test.tap" || true)
  clean=$(sed -n 's/^lint: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$RESULTS/lint.out")
  found=$(sed -n 's/^lint: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$RESULTS/lint.out")
  if [ -z "$clean" ] || [ -z "$found" ]; then
    note_fail 1 "lint: no summary line (test/results/lint.out)"
    clean=0; found=0
  fi
  grep -v '^lint: ' "$RESULTS/lint.out" | sed 's/^/   /'
  grep '^not ok' "$RESULTS/lint-self-test.tap" | sed 's/^/   /'
  note_pass $((clean + ok))
  [ "$found" -gt 0 ] && note_fail "$found" "lint: $found finding(s) (test/results/lint.out)"
  [ "$nok" -gt 0 ] && note_fail "$nok" "lint self-test: $nok planted case(s) not judged right (test/results/lint-self-test.tap)"
  [ $((ok + nok)) -eq 0 ] && note_fail 1 "lint self-test: no result (test/results/lint-self-test.tap)"
  echo "   $clean files clean, $found findings; self-test $ok ok, $nok not ok"
  # make bench's report (test/tools/bench_report.py) on a fixed results file: no database
  echo "== make bench's report on a fixed TSV (test/tools/bench_report_test.py)"
  python3 test/tools/bench_report_test.py > "$RESULTS/bench-report.tap" 2>&1 || true
  ok=$(grep -c '^ok ' "$RESULTS/bench-report.tap" || true)
  nok=$(grep -c '^not ok ' "$RESULTS/bench-report.tap" || true)
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$RESULTS/bench-report.tap" | tail -1)
  grep '^not ok' "$RESULTS/bench-report.tap" | sed 's/^/   /'
  note_pass "$ok"
  [ "$nok" -gt 0 ] && note_fail "$nok" "bench report: $nok failing (test/results/bench-report.tap)"
  if [ -z "$plan" ] || [ "$plan" -ne $((ok + nok)) ]; then
    note_fail 1 "bench report: plan ${plan:-missing} but $((ok + nok)) results (test/results/bench-report.tap)"
  fi
  echo "   $ok ok, $nok not ok"
fi

# --- C unit tests (TAP) -------------------------------------------------------
if has_suite unit; then
  echo "== C unit tests (test/unit)"
  if make -s unit > "$RESULTS/unit.tap" 2>&1; then :; fi
  ok=$(grep -c '^ok ' "$RESULTS/unit.tap" || true)
  nok=$(grep -c '^not ok ' "$RESULTS/unit.tap" || true)
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$RESULTS/unit.tap" | tail -1)
  grep '^not ok' "$RESULTS/unit.tap" | sed 's/^/   /'
  note_pass "$ok"
  [ "$nok" -gt 0 ] && note_fail "$nok" "unit: $nok failing (test/results/unit.tap)"
  if [ -z "$plan" ] || [ "$plan" -ne $((ok + nok)) ]; then
    note_fail 1 "unit: plan ${plan:-missing} but $((ok + nok)) results (crash?)"
  fi
  echo "   $ok ok, $nok not ok"
fi

# --- libFuzzer: each committed seed corpus replayed (make test-reliability fuzzes) --
if has_suite fuzz; then
  echo "== fuzz targets (test/fuzz: each seed corpus of test/fuzz/corpus replayed under ASan+UBSan)"
  bash test/tools/fuzz.sh replay > "$RESULTS/fuzz.tap" 2>&1 || true
  ok=$(grep -c '^ok ' "$RESULTS/fuzz.tap" || true)
  nok=$(grep -c '^not ok ' "$RESULTS/fuzz.tap" || true)
  grep -E '^(ok|not ok) |^#' "$RESULTS/fuzz.tap" | sed 's/^/   /'
  note_pass "$ok"
  [ "$nok" -gt 0 ] && note_fail "$nok" "fuzz: $nok target(s) failed a corpus input (test/results/fuzz/)"
  [ $((ok + nok)) -eq 0 ] && note_fail 1 "fuzz: no target ran (test/results/fuzz.tap)"
fi

# --- make test-reliability: each libFuzzer target for FUZZ_SECONDS -----------
if has_suite fuzz-long; then
  echo "== fuzzing (test/fuzz, ${FUZZ_SECONDS:-60} s per target, from the seed corpora)"
  bash test/tools/fuzz.sh "${FUZZ_SECONDS:-60}" > "$RESULTS/fuzz-long.tap" 2>&1 || true
  ok=$(grep -c '^ok ' "$RESULTS/fuzz-long.tap" || true)
  nok=$(grep -c '^not ok ' "$RESULTS/fuzz-long.tap" || true)
  grep -E '^(ok|not ok) |^#' "$RESULTS/fuzz-long.tap" | sed 's/^/   /'
  note_pass "$ok"
  [ "$nok" -gt 0 ] && note_fail "$nok" "fuzz: $nok target(s) found a crash (test/results/fuzz/crash-*: add it to test/fuzz/corpus/<target>/ with a unit test)"
  [ $((ok + nok)) -eq 0 ] && note_fail 1 "fuzz: no target ran (test/results/fuzz-long.tap)"
fi

# --- throwaway cluster --------------------------------------------------------
PORT=$(( 20000 + RANDOM % 40000 ))
SOCK=$TMP/sock
echo "== throwaway cluster in $TMP (socket only, port number $PORT)"
cluster_init "$TMP/data" "$SOCK" "$PORT" "" \
  "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
  "cron.database_name = 'startlijn_cron'" "log_min_messages = warning" \
  "max_locks_per_transaction = 256"
touch "$TMP/server.log"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$TMP/server.log"
if ! cluster_start "$TMP/data" "$TMP/server.log"; then
  cat "$TMP/server.log"
  note_fail 1 "cluster start"
  exit 1
fi
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
# PSQL (the private install's psql) and make_test_db DB [psql args...]: a
# database with every extension, the PostgREST helper and the demo data
# shellcheck source=../outside/lib.sh
. test/outside/lib.sh

# count "name ... ok|FAILED" lines of pg_regress / pg_isolation_regress output
# tally_regress LABEL RESULTS_PREFIX EXPECTED_COUNT  (reads PREFIX.out, diffs in PREFIX/)
tally_regress() {
  local label=$1 out=$2 expected=$3 ok bad
  sed -n 's/^\(test \| *\)\?\([a-z0-9_-]*\) *\.\.\. \(ok\|FAILED\|failed\).*$/\2 \3/p' "$out.out" > "$out.summary"
  ok=$(grep -c ' ok$' "$out.summary" || true)
  bad=$(grep -ci ' failed$' "$out.summary" || true)
  note_pass "$ok"
  if [ "$bad" -gt 0 ]; then
    note_fail "$bad" "$label: $(grep -i ' failed$' "$out.summary" | cut -d' ' -f1 | tr '\n' ' ')(${out#"$ROOT"/}/regression.diffs)"
    head -c 6000 "$out/regression.diffs" 2>/dev/null | sed 's/^/   /'
  fi
  if [ $((ok + bad)) -ne "$expected" ]; then
    note_fail 1 "$label did not run every test (${out#"$ROOT"/}.out)"
    tail -20 "$out.out"
  fi
  echo "   $ok ok, $bad failed"
}

# --- pg_regress and isolation: PGXS's make installcheck ----------------------
# The Makefile's REGRESS (sql/) and ISOLATION (test/isolation/specs/), run by
# PGXS's own installcheck with the private install's pg_config (its
# pg_regress, pg_isolation_regress and psql); results under test/results/.
installcheck() {  # installcheck REGRESS=... ISOLATION=... (empty: not this one)
  make -s installcheck PG_CONFIG="$PG_BIN/pg_config" PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres \
    REGRESS_OPTS="--dbname=startlijn_regress --outputdir=$RESULTS/regress" \
    ISOLATION_OPTS="--inputdir=test/isolation --use-existing --dbname=startlijn_isolation --outputdir=$RESULTS/isolation" "$@"
}
if has_suite regress; then
  echo "== pg_regress (sql/, expected/: make installcheck)"
  tests=$(cd sql && ls -1 *.sql | sed 's/\.sql$//' | sort)
  installcheck ISOLATION= > "$RESULTS/regress.out" 2>&1
  tally_regress pg_regress "$RESULTS/regress" "$(echo "$tests" | wc -l)"
fi
if has_suite isolation; then
  echo "== isolation (test/isolation: make installcheck)"
  specs=$(cd test/isolation/specs && ls -1 *.spec 2>/dev/null | sed 's/\.spec$//' | sort)
  installcheck REGRESS= > "$RESULTS/isolation.out" 2>&1
  tally_regress isolation "$RESULTS/isolation" "$(echo "$specs" | wc -l)"
fi

# --- pgTAP --------------------------------------------------------------------
if has_suite pgtap; then
  echo "== pgTAP (test/pgtap, pg_prove)"
  if make_test_db startlijn_tap -c "CREATE EXTENSION pgtap"; then
    pg_prove --verbose --ext .sql -d startlijn_tap test/pgtap/ > "$RESULTS/pgtap.out" 2>&1
    prove_rc=$?
    ok=$(grep -cE '^ *ok [0-9]+' "$RESULTS/pgtap.out" || true)
    nok=$(grep -cE '^ *not ok [0-9]+' "$RESULTS/pgtap.out" || true)
    note_pass "$ok"
    if [ "$nok" -gt 0 ]; then
      note_fail "$nok" "pgTAP: $nok failing assertions (test/results/pgtap.out)"
      grep -E -A4 '^ *not ok [0-9]+' "$RESULTS/pgtap.out" | head -80 | sed 's/^/   /'
    fi
    if [ "$prove_rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
      note_fail 1 "pgTAP: pg_prove failed without a failing assertion (plan or error; test/results/pgtap.out)"
      grep -E 'ERROR|Bad plan|Dubious|Parse errors|psql:' "$RESULTS/pgtap.out" | head -20 | sed 's/^/   /'
    fi
    echo "   $ok ok, $nok not ok"
  else
    note_fail 1 "pgTAP: could not prepare the database"
  fi
fi

# --- end to end through the PostgREST-exact driver ---------------------------
# test/e2e/[0-9]*.py call the API from outside the database as PostgREST 12
# does (test/driver/pgrst.py: one transaction per call, the caller's role and
# claims set transaction-locally, COMMIT under that role) and check what was
# committed with separate superuser queries. Each script gets a fresh
# database with the demo data and prints TAP.
# tally_tap FILE LABEL: count a TAP file's results (sets ok and nok), note
# them, show the failing assertions and a plan that does not match
tally_tap() {
  local file=$1 label=$2 plan rel=${1#"$ROOT"/}
  ok=$(grep -cE '^ok [0-9]+' "$file" || true)
  nok=$(grep -cE '^not ok [0-9]+' "$file" || true)
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$file" | tail -1)
  note_pass "$ok"
  if [ "$nok" -gt 0 ]; then
    note_fail "$nok" "$label: $nok failing ($rel)"
    grep -E -A4 '^not ok [0-9]+' "$file" | grep -v '^--$' | head -40 | sed 's/^/   /'
  fi
  if [ -z "$plan" ] || [ "$plan" -ne $((ok + nok)) ]; then
    note_fail 1 "$label: plan ${plan:-missing} but $((ok + nok)) results ($rel)"
    tail -15 "$file" | sed 's/^/   /'
  fi
}

# e2e_run SCRIPT DB OUT LABEL [VAR=value...]: one TAP script on a fresh
# database (the libpq environment may be overridden, e.g. to go through
# PgBouncer; E2E_PREPARED=1: the database is ready, keep it); counts its results
e2e_run() {
  local script=$1 db=$2 out=$3 label=$4; shift 4
  local PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
  local name
  name=$(basename "$script" .py)
  if [ -n "${E2E_PREPARED:-}" ] || make_test_db "$db" > "$out/$name.setup.log" 2>&1; then
    env PGDATABASE="$db" "$@" "$PY" "$script" > "$out/$name.tap" 2>&1
    tally_tap "$out/$name.tap" "$label $name"
    echo "   $name: $ok ok, $nok not ok"
  else
    note_fail 1 "$label $name: could not prepare the database (${out#"$ROOT"/}/$name.setup.log)"
  fi
}

if has_suite e2e; then
  echo "== end to end through the PostgREST-exact driver (test/e2e, python3-psycopg2)"
  OUT=$RESULTS/e2e; mkdir -p "$OUT"
  e2e_start=$(date +%s)
  for script in test/e2e/[0-9]*.py; do
    name=$(basename "$script" .py)
    if [ -n "${E2E:-}" ] && [[ " $E2E " != *" $name "* ]]; then continue; fi
    e2e_run "$script" "startlijn_e2e_${name#*_}" "$OUT" e2e
  done
  echo "   e2e took $(( $(date +%s) - e2e_start )) s"
fi

# --- through PgBouncer, and reporting on a streaming replica -----------------
# docs/scaling.md. The end-to-end suites again, every call through PgBouncer in
# transaction-pooling mode (as Supabase's pooler serves PostgREST): a call is
# one transaction, so any server connection may serve it. Then a hot standby
# of the test cluster (pg_basebackup, streaming): the organiser's reporting
# reads answer there as on the primary, writes are refused (test/pooling/replica.py).
if has_suite pooling; then
  echo "== through PgBouncer (transaction pooling) and on a streaming replica (docs/scaling.md)"
  OUT=$RESULTS/pooling; mkdir -p "$OUT"
  BDIR=$TMP/pgbouncer; mkdir -p "$BDIR"; BPORT=$(free_port)
  printf '"postgres" ""\n"authenticator" ""\n' > "$BDIR/userlist.txt"
  cat > "$BDIR/pgbouncer.ini" <<INI
[databases]
* = host=$SOCK port=$PORT
[pgbouncer]
listen_addr =
listen_port = $BPORT
unix_socket_dir = $BDIR
auth_type = trust
auth_file = $BDIR/userlist.txt
pool_mode = transaction
default_pool_size = 40
max_client_conn = 400
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
admin_users = postgres
stats_period = 1
logfile = $BDIR/pgbouncer.log
pidfile = $BDIR/pgbouncer.pid
INI
  [ "$(id -u)" -eq 0 ] && chown -R "$SERVER_USER" "$BDIR"
  if as_server pgbouncer -d -q "$BDIR/pgbouncer.ini" && sleep 0.5 &&
     [ "$("$PG_BIN/psql" -X -h "$BDIR" -p "$BPORT" -d postgres -tAc "SELECT 1" 2>> "$OUT/pgbouncer.err")" = 1 ]; then
    pool_start=$(date +%s)
    for script in test/e2e/[0-9]*.py; do
      name=$(basename "$script" .py)
      e2e_run "$script" "startlijn_pool_${name#*_}" "$OUT" "PgBouncer e2e" PGHOST="$BDIR" PGPORT="$BPORT"
    done
    sleep 1.5   # SHOW STATS adds up every stats_period
    mode=$("$PG_BIN/psql" -X -h "$BDIR" -p "$BPORT" -d pgbouncer -tA -c "SHOW POOLS" 2>> "$OUT/pgbouncer.err" | awk -F'|' '$1 ~ /^startlijn_pool_/ {print $NF}' | sort -u | tr '\n' ' ')
    "$PG_BIN/psql" -X -h "$BDIR" -p "$BPORT" -d pgbouncer -c "SHOW STATS" -c "SHOW POOLS" > "$OUT/pgbouncer.stats" 2>> "$OUT/pgbouncer.err"
    xacts=$("$PG_BIN/psql" -X -h "$BDIR" -p "$BPORT" -d pgbouncer -tA -c "SHOW STATS" 2>> "$OUT/pgbouncer.err" | awk -F'|' '$1 ~ /^startlijn_pool_/ {n += $2} END {print n + 0}')
    if [ "$mode" = "transaction " ] && [ "$xacts" -gt 500 ]; then
      note_pass 1; echo "   every script through PgBouncer in transaction mode (its SHOW STATS counted $xacts transactions) ($(( $(date +%s) - pool_start )) s)"
    else
      note_fail 1 "PgBouncer: pools in mode '$mode', not transaction (test/results/pooling/)"
    fi
  else
    note_fail 1 "PgBouncer did not start (test/results/pooling/pgbouncer.err, $BDIR/pgbouncer.log)"
    cat "$BDIR/pgbouncer.log" 2>/dev/null | tail -5 | sed 's/^/   /'
  fi
  # the replica: a base backup of the running cluster, streaming from it
  RDIR=$TMP/replica; RSOCK=$TMP/replica-sock; RPORT=$(free_port)
  mkdir -p "$RSOCK" "$RDIR"; chmod 700 "$RDIR"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$RSOCK" "$RDIR"
  touch "$TMP/replica.log"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$TMP/replica.log"
  if make_test_db startlijn_reports > "$OUT/replica.setup.log" 2>&1 &&
     "${PSQL[@]}" -d startlijn_reports -f test/fixtures/demo_dev.sql >> "$OUT/replica.setup.log" 2>&1 &&
     as_server "$PG_BIN/pg_basebackup" -h "$SOCK" -p "$PORT" -U postgres -D "$RDIR" -R -X stream -c fast >> "$OUT/replica.setup.log" 2>&1 &&
     printf "port = %s\nunix_socket_directories = '%s'\nhot_standby = on\n" "$RPORT" "$RSOCK" | as_server tee -a "$RDIR/postgresql.conf" >/dev/null &&
     cluster_start "$RDIR" "$TMP/replica.log"; then
    E2E_PREPARED=1 e2e_run test/pooling/replica.py startlijn_reports "$OUT" replica PGHOST="$RSOCK" PGPORT="$RPORT" \
      PRIMARY_DSN="host=$SOCK port=$PORT dbname=startlijn_reports user=postgres" 2>/dev/null || true
  else
    note_fail 1 "replica: could not start a streaming replica (test/results/pooling/replica.setup.log, $TMP/replica.log)"
  fi
fi

# --- make test-reliability: the full bad-input matrix -------------------------
# test/tools/bad_input.py: every case of test/e2e/badinput.py for every api
# function and caller (test/e2e/96_bad_input.py runs a sample in make test)
if has_suite bad-input; then
  echo "== the bad-input matrix over every api function (test/tools/bad_input.py)"
  OUT=$RESULTS/bad-input; mkdir -p "$OUT"
  PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
  if make_test_db startlijn_bad_input > "$OUT/setup.log" 2>&1; then
    PGDATABASE=startlijn_bad_input PG_BIN=$PG_BIN "$PY" test/tools/bad_input.py > "$OUT/bad_input.tap" 2>&1
    tally_tap "$OUT/bad_input.tap" "bad input"
    grep -E '^# (bad-input matrix|[0-9]+ functions)' "$OUT/bad_input.tap" | sed 's/^# /   /'
  else
    note_fail 1 "bad input: could not prepare the database (test/results/bad-input/setup.log)"
  fi
fi

# --- the reference relays end to end ----------------------------------------
# test/relay/run.py runs the Edge Functions of docs/examples/relay/ unchanged
# under Deno (test/tools/deno.sh) against the API gateway and PostgREST in
# front of a fresh database (test/relay/pgrst_http.py over the driver) and
# local stand-ins for Stripe's and Mollie's APIs that check every request.
if has_suite relay; then
  echo "== the relays (docs/examples/relay) under Deno, through PostgREST, against provider stand-ins"
  OUT=$RESULTS/relay; mkdir -p "$OUT"
  PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
  if ! DENO=$(bash test/tools/deno.sh path); then
    note_fail 1 "relay: no deno (test/tools/deno.sh install; make test runs it through test/tools/deps.sh)"
  elif make_test_db startlijn_relay > "$OUT/setup.log" 2>&1; then
    relay_start=$(date +%s)
    PGDATABASE=startlijn_relay DENO=$DENO RELAY_OUT=$OUT "$PY" test/relay/run.py > "$OUT/relay.tap" 2>&1
    tally_tap "$OUT/relay.tap" "relay"
    echo "   $ok ok, $nok not ok ($(( $(date +%s) - relay_start )) s)"
  else
    note_fail 1 "relay: could not prepare the database (test/results/relay/setup.log)"
  fi
fi

# --- outside the database: test/outside/ ------------------------------------
# Checks made from outside with the client programs, python3, openssl, as.sh
# and jwt.sh, one file each in test/outside/ (docs/architecture.md, "Tests"):
# audit proofs and signed codes verified offline, backup and restore by the
# commands of docs/operations.md, retention labels through pg_dump/pg_restore,
# the retention job under pg_cron, acting as a user; and the server log
# searched for token text. Each prints TAP; test/outside/run.sh runs it and
# compares its output with test/outside/expected/<name>.out. Every assertion
# counts; an output that differs without a failing assertion (a line missing
# or changed) counts one failure.
# outside_run NAME [VAR=value...]: one file through run.sh, counted
outside_run() {
  local name=$1 failed_before rel=${RESULTS#"$ROOT"/}/outside; shift
  mkdir -p "$RESULTS/outside"
  env "$@" PG_BIN="$PG_BIN" OUTSIDE_RESULTS="$RESULTS/outside" bash test/outside/run.sh "$name" > "$RESULTS/outside/$name.run" 2>&1
  failed_before=$FAILED
  tally_tap "$RESULTS/outside/$name.out" "outside $name"
  echo "   $(tail -1 "$RESULTS/outside/$name.run"): $ok ok, $nok not ok"
  grep '^# ' "$RESULTS/outside/$name.log" 2>/dev/null | sed 's/^/     /'
  if grep -q '^1\.\.0 # SKIP' "$RESULTS/outside/$name.out"; then
    note_fail 1 "outside $name: skipped on make test's cluster ($rel/$name.out)"
  elif [ -s "$RESULTS/outside/$name.diff" ] && [ "$FAILED" -eq "$failed_before" ]; then
    note_fail 1 "outside $name: the output differs from test/outside/expected/$name.out ($rel/$name.diff)"
    head -40 "$RESULTS/outside/$name.diff" | sed 's/^/   /'
  fi
}
if has_suite outside; then
  echo "== outside the database (test/outside/*.sh, outputs compared with test/outside/expected/)"
  for f in test/outside/*.sh; do
    name=$(basename "$f" .sh)
    case $name in lib|run|server_log) continue ;; esac
    if [ -n "${OUTSIDE:-}" ] && [[ " $OUTSIDE " != *" $name "* ]]; then continue; fi
    outside_run "$name"
  done
fi
# the regress, isolation and pgTAP suites fail redeems with tokens spelled out
if has_suite regress || has_suite pgtap || has_suite isolation; then
  echo "== token text never reaches the server log (test/outside/server_log.sh)"
  outside_run server_log SERVER_LOG="$TMP/server.log"
fi

# --- extension upgrade paths --------------------------------------------------
# No upgrade scripts until the first release (docs/architecture.md, "Releases
# and upgrades"). From then on, with the latest git tag v* (or UPGRADE_FROM=<ref>):
# the release's install scripts are built from the tag and installed beside
# the current ones, a database is created at the release with the release's
# demo data, every extension is updated with ALTER EXTENSION ... UPDATE, and
# the result must equal a fresh install (test/helpers/extension_catalog.sql,
# versions aside). An extension whose SQL changed since the release without a
# new version (and an upgrade script) fails.
if has_suite upgrade; then
  echo "== upgrade paths (from the previous release)"
  release=${UPGRADE_FROM:-$(git tag -l 'v*' --sort=-v:refname 2>/dev/null | head -1)}
  if [ -z "$release" ]; then
    echo "   no release yet (no git tag v*): nothing to update from, nothing counted"
  else
    OUT=$RESULTS/upgrade; rm -rf "$OUT"; mkdir -p "$OUT/release"
    exts="startlijn_audit startlijn_payments startlijn_retention startlijn_capacity startlijn_tokens startlijn"
    version_of() { sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$1/extension/$2.control"; }
    sharedir=$("$PG_BIN/pg_config" --sharedir)/extension
    if git archive "$release" | tar -x -C "$OUT/release" &&
       make -s -C "$OUT/release" install-scripts > "$OUT/build.log" 2>&1; then
      updates=()
      for ext in $exts; do
        old=$(version_of "$OUT/release" "$ext"); new=$(version_of "$ROOT" "$ext")
        if [ "$old" = "$new" ]; then
          if cmp -s "$OUT/release/extension/$ext--$old.sql" "extension/$ext--$new.sql"; then
            echo "   $ext: $old, unchanged since $release"
          else
            note_fail 1 "$ext changed since $release but is still $new: give it a new version and an upgrade script"
          fi
        else
          as_root install -m 644 "$OUT/release/extension/$ext--$old.sql" "$sharedir/"
          updates+=("$ext $old $new")
        fi
      done
      PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS startlijn_upgrade" \
        -c "CREATE DATABASE startlijn_upgrade" >/dev/null
      git show "$release:test/helpers/pgrst.sql" > "$OUT/pgrst.sql" && git show "$release:test/fixtures/demo.sql" > "$OUT/demo.sql"
      create=(); update=()
      for ext in $exts; do
        create+=(-c "CREATE EXTENSION $ext VERSION '$(version_of "$OUT/release" "$ext")'")
        update+=(-c "ALTER EXTENSION $ext UPDATE")
      done
      if [ ${#updates[@]} -gt 0 ] &&
         PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d startlijn_upgrade "${create[@]}" -c "CREATE EXTENSION pgcrypto" \
           -f "$OUT/pgrst.sql" -f "$OUT/demo.sql" "${update[@]}" > "$OUT/update.log" 2>&1 &&
         make_test_db startlijn_upgrade_fresh >> "$OUT/update.log" 2>&1; then
        for db in startlijn_upgrade startlijn_upgrade_fresh; do
          "${PSQL[@]}" -d "$db" -f test/helpers/extension_catalog.sql | grep -v '^version ' | LC_ALL=C sort > "$OUT/$db.catalog"
        done
        if diff "$OUT/startlijn_upgrade.catalog" "$OUT/startlijn_upgrade_fresh.catalog" > "$OUT/catalog.diff"; then
          note_pass 1; echo "   $release -> now (${updates[*]}), with the release's demo data: equal to a fresh install"
        else
          note_fail 1 "updated from $release: differs from a fresh install (test/results/upgrade/catalog.diff)"
        fi
      elif [ ${#updates[@]} -gt 0 ]; then
        note_fail 1 "update from $release failed (test/results/upgrade/update.log)"
      fi
    else
      note_fail 1 "could not build the install scripts of $release (test/results/upgrade/build.log)"
    fi
  fi
fi

# --- crash and storm ---------------------------------------------------------
# test/tools/storm.sh starts a second cluster configured as production (fsync,
# synchronous_commit, full_page_writes on), runs a mixed load of 64 clients
# through the PostgREST-exact driver, kills the whole server with SIGKILL
# mid-run, restarts it and checks every invariant, resumes the retention job,
# then storms STORM_SECONDS with random client backends terminated, checks
# again, and proves its checker detects one corruption per invariant
# (docs/reliability.md, "Crash and storm").
if has_suite storm; then
  echo "== crash and storm (test/tools/storm.sh, 64 clients, fsync on; storm ${STORM_SECONDS:-60} s)"
  OUT=$RESULTS/storm; mkdir -p "$OUT"
  storm_start=$(date +%s)
  PG_BIN=$PG_BIN STORM_INSTALLED=1 STORM_OUT=$OUT STORM_SECONDS=${STORM_SECONDS:-60} \
    bash test/tools/storm.sh > "$OUT/storm.tap" 2>&1
  tally_tap "$OUT/storm.tap" "storm"
  grep -E '^# (crash after|storm: [0-9]+ calls in|STORM )' "$OUT/storm.tap" | sed 's/^# /   /'
  echo "   $ok ok, $nok not ok ($(( $(date +%s) - storm_start )) s)"
fi
