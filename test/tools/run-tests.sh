#!/usr/bin/env bash
# make test: build, then run every suite against a throwaway cluster
# (private unix socket, no TCP), remove it even on failure, and end with
# one line "N passed, N failed".
#
#   SUITES="lint unit fuzz regress isolation pgtap e2e pooling relay outside upgrade storm" (default: all) to run a subset;
#   two more, not in the default: fuzz-long (FUZZ_SECONDS per target) and bad-input
#   (the full matrix), run by make test-reliability (test/tools/reliability.sh)
#   E2E="96_bad_input ..." runs only these scripts of test/e2e
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
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)

# a database with the extension, the PostgREST helper and the demo data
make_test_db() {
  local PGOPTIONS="-c client_min_messages=warning"; export PGOPTIONS
  local db=$1; shift
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null &&
  "${PSQL[@]}" -d "$db" "$@" -f test/helpers/test_db.sql >/dev/null
}

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

# --- audit entries verified outside the database -----------------------------
# docs/examples/verify_entry.py checks leaf hash, RFC 9162 proof, checkpoint
# text and the Ed25519 signature with Python's standard library and openssl.
if has_suite outside; then
  echo "== audit proofs verified outside the database (python3 + openssl)"
  if make_test_db startlijn_outside; then
    OUT=$RESULTS/outside; mkdir -p "$OUT"
    q() { "${PSQL[@]}" -d startlijn_outside -tA -c "$1"; }
    q "SELECT trail.seal()" >/dev/null
    vkey=$(q "SELECT trail.public_key()")
    ok=0; bad=0
    for id in $(q "SELECT entry_id FROM trail.leaves ORDER BY entry_id"); do
      q "SELECT body FROM trail.entries WHERE id = $id" | head -c -1 > "$OUT/body"
      q "SELECT trail.inclusion_proof($id)" > "$OUT/proof.json"
      if python3 docs/examples/verify_entry.py "$OUT/body" "$OUT/proof.json" "$vkey" >> "$OUT/log" 2>&1; then
        ok=$((ok + 1))
      else
        bad=$((bad + 1)); echo "   entry $id does not verify (test/results/outside/log)"
      fi
    done
    # and a changed byte, an older tree size and a foreign key are rejected
    id=$(q "SELECT min(entry_id) FROM trail.leaves")
    q "SELECT body FROM trail.entries WHERE id = $id" | head -c -1 | sed 's/"v":1/"v":2/' > "$OUT/body"
    q "SELECT trail.inclusion_proof($id)" > "$OUT/proof.json"
    other="example.org/other+$(python3 -c 'import hashlib,base64,os;k=os.urandom(32);print(hashlib.sha256(b"example.org/other\n\x01"+k).digest()[:4].hex()+"+"+base64.b64encode(b"\x01"+k).decode())')"
    if [ "$ok" -gt 0 ] && [ "$bad" -eq 0 ] &&
       ! python3 docs/examples/verify_entry.py "$OUT/body" "$OUT/proof.json" "$vkey" >> "$OUT/log" 2>&1 &&
       q "SELECT body FROM trail.entries WHERE id = $id" | head -c -1 > "$OUT/body" &&
       ! python3 docs/examples/verify_entry.py "$OUT/body" "$OUT/proof.json" "$other" >> "$OUT/log" 2>&1; then
      note_pass 1; echo "   $ok entries verified with openssl and python3; a changed byte and a foreign key are rejected"
    else
      note_fail 1 "outside verification: $ok ok, $bad failed (test/results/outside/log)"
    fi
    # signed codes: docs/examples/verify_code.py checks base45, layout,
    # signature (openssl) and the revocation list of tokens.scanner_bundle()
    q "SELECT tokens.signing_key('outside-event')" >/dev/null
    c1=$(q "SELECT tokens.sign_code('outside-event', '\\x00112233445566778899aabbccddeeff')")
    q "SELECT tokens.rotate_signing_key('outside-event')" >/dev/null
    c2=$(q "SELECT tokens.sign_code('outside-event', '\\x00112233445566778899aabbccddeeff')")
    c3=$(q "SELECT tokens.sign_code('outside-event', decode(repeat('ab', 32), 'hex'))")
    q "SELECT tokens.scanner_bundle('outside-event')" > "$OUT/bundle.json"
    forged="${c3:0:100}$( [ "${c3:100:1}" = "0" ] && echo 1 || echo 0 )${c3:101}"
    v() { python3 docs/examples/verify_code.py outside-event "$OUT/bundle.json" "$1" >> "$OUT/codes.log" 2>&1; }
    if ! v "$c1" && v "$c2" && v "$c3" && ! v "$forged" && [ "${#c3}" -le 154 ]; then
      note_pass 1; echo "   signed codes verified offline with openssl; superseded and altered codes refused; 32-byte payload = ${#c3} characters"
    else
      note_fail 1 "offline code verification (test/results/outside/codes.log)"
    fi
  else
    note_fail 1 "outside verification: test database"
  fi
fi

# --- backup and restore: every extension's rows come back ---------------------
# The documented procedure (docs/operations.md, "Backup and restore"): its
# three ```sh blocks are read from the doc and run as they are (only their
# NAME=value lines are replaced), so the doc and the test cannot drift.
# The source is the pg_cron database (cron.database_name = 'startlijn_cron'),
# like production's: pg_cron installed, every job scheduled, activity in every
# extension. Restored under another name: the tables equal the source row for
# row, the trail verifies, a token issued before still redeems, a signed code
# still verifies, and work goes on (a new audited change, a new seal
# consistent with the restored checkpoints). Restored under its own name
# (production): the same rows, and the schedule step gives the same jobs.
if has_suite outside; then
  echo "== backup and restore (the commands of docs/operations.md, on the pg_cron database)"
  OUT=$RESULTS/restore; mkdir -p "$OUT"
  CRON_DB=startlijn_cron
  digest() { PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d "$1" -tA -f test/helpers/restore_digest.sql; }
  jobs_of() { "${PSQL[@]}" -d "$1" -tA -c "SELECT jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobname"; }
  # doc_block NAME: the ```sh block after "<!-- make test: NAME -->" in docs/operations.md, without its NAME=value lines
  doc_block() {
    awk -v m="<!-- make test: $1 -->" '$0 == m {f = 1; next} f == 1 && /^```sh/ {f = 2; next} f == 2 && /^```/ {exit} f == 2' \
      docs/operations.md | grep -v -E '^[A-Z_]+='
  }
  # run_doc NAME VAR=value...: run that block with these variables, bash -e, the cluster's client programs first on PATH
  run_doc() {
    local name=$1 block; shift
    block=$(doc_block "$name")
    if [ -z "$block" ]; then echo "no '$name' block in docs/operations.md" >&2; return 1; fi
    printf '%s\n' "$block" | sed 's/^/+ /' >&2
    env "$@" PATH="$PG_BIN:$PATH" bash -e -o pipefail -c "$block"
  }
  # the dump and a digest of the same state: jobs (sealing, the sweep) may commit meanwhile, so retry until both agree
  consistent_backup() {
    local _try
    for _try in 1 2 3 4 5; do
      digest "$CRON_DB" > "$OUT/source.digest" &&
      run_doc backup SOURCE="$CRON_DB" DUMP="$OUT/startlijn.dump" &&
      digest "$CRON_DB" > "$OUT/source.after" || return 1
      cmp -s "$OUT/source.digest" "$OUT/source.after" && return 0
      echo "a job changed the source during the dump; again" >&2
    done
    return 1
  }
  if make_test_db "$CRON_DB" -c "CREATE EXTENSION pg_cron" > "$OUT/setup.log" 2>&1 &&
     "${PSQL[@]}" -d "$CRON_DB" -f test/fixtures/activity.sql >> "$OUT/setup.log" 2>&1 &&
     run_doc schedule TARGET="$CRON_DB" >> "$OUT/setup.log" 2>&1 &&
     jobs_of "$CRON_DB" > "$OUT/source.jobs" && [ "$(wc -l < "$OUT/source.jobs")" -eq 7 ] &&
     consistent_backup >> "$OUT/setup.log" 2>&1 &&
     PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS startlijn_back" >/dev/null &&
     run_doc restore TARGET=startlijn_back DUMP="$OUT/startlijn.dump" > "$OUT/restore.log" 2>&1 &&
     finish=$("${PSQL[@]}" -d startlijn_back -tA -F' ' -c "SELECT r ->> 'ok', r -> 'trail' ->> 'logs_verified', r -> 'trail' ->> 'entries',
                                                                  r ->> 'owner_count_mismatches', r::text
                                                             FROM startlijn.finish_restore() r" 2>> "$OUT/restore.log"); then
    echo "   the source: pg_cron and $(wc -l < "$OUT/source.jobs") jobs ($(cut -d'|' -f1 "$OUT/source.jobs" | tr '\n' ' '))in $CRON_DB"
    digest startlijn_back > "$OUT/restored.digest"
    tables=$(wc -l < "$OUT/source.digest")
    if diff "$OUT/source.digest" "$OUT/restored.digest" > "$OUT/digest.diff" && [ "$tables" -ge 60 ]; then
      note_pass 1; echo "   restored as startlijn_back: $tables tables and sequences of every extension row for row"
    else
      note_fail 1 "restored tables differ from the source (test/results/restore/digest.diff)"
    fi
    read -r f_ok f_logs f_entries f_owners f_all <<< "$finish"
    if [ "$f_ok" = true ] && [ "$f_logs" -ge 2 ]; then
      note_pass 1; echo "   finish_restore: ok, $f_logs logs verified, $f_entries entries, $f_owners owner-count mismatches"
    else
      note_fail 1 "finish_restore: $f_all"
    fi
    after=$("${PSQL[@]}" -d startlijn_back -tA -F' ' -f - 2>> "$OUT/restore.log" <<'SQL'
SELECT (SELECT t.subject FROM tokens.redeem('transfer', (SELECT v FROM public.kept WHERE k = 'token')) t),
       (SELECT c.status FROM tokens.verify_code('event-utrecht-10k', (SELECT v FROM public.kept WHERE k = 'code')) c),
       pgrst.call('anna', 'update_my_profile', '{"phone": "+31612345888"}') ->> 'phone',
       trail.seal() ->> 'complete',
       (SELECT count(*) FROM pg_trigger WHERE tgname IN ('trail_capture', 'trail_capture_truncate', 'trail_append_only',
                                                         'trail_no_truncate') AND tgenabled <> 'A'),
       trail.verify('00000000-0000-4000-b000-000000000001') ->> 'ok',
       (SELECT count(*) FROM pg_namespace WHERE nspname = 'cron');
SQL
)
    if [ "$after" = "ticket-1 valid +31612345888 true 0 true 0" ]; then
      note_pass 1; echo "   after the restore: the old token redeems, the old code verifies, a change is audited and sealed; no pg_cron there"
    else
      note_fail 1 "after the restore: expected 'ticket-1 valid +31612345888 true 0 true 0', got '$after' (test/results/restore/)"
    fi
    refused=$("${PSQL[@]}" -d "$CRON_DB" -tAc "SELECT startlijn.prepare_restore()" 2>&1 || true)
    if [[ "$refused" == *"is in use: it is no restore target"* ]]; then
      note_pass 1; echo "   prepare_restore refuses a database in use"
    else
      note_fail 1 "prepare_restore on the source database: '$refused'"
    fi
    # production: the cron database restored under its own name, then its jobs scheduled
    if "${PSQL[@]}" -d postgres -c "DROP DATABASE $CRON_DB WITH (FORCE)" > "$OUT/same-name.log" 2>&1 &&
       run_doc restore TARGET="$CRON_DB" DUMP="$OUT/startlijn.dump" >> "$OUT/same-name.log" 2>&1 &&
       digest "$CRON_DB" > "$OUT/same-name.digest" &&
       run_doc schedule TARGET="$CRON_DB" >> "$OUT/same-name.log" 2>&1 &&
       jobs_of "$CRON_DB" > "$OUT/same-name.jobs" &&
       diff "$OUT/source.digest" "$OUT/same-name.digest" > "$OUT/same-name.diff" &&
       diff "$OUT/source.jobs" "$OUT/same-name.jobs" >> "$OUT/same-name.diff" &&
       grep -q '"ok": true' "$OUT/same-name.log"; then
      note_pass 1; echo "   restored as $CRON_DB itself (production): the same rows, finish_restore ok, the same $(wc -l < "$OUT/same-name.jobs") jobs scheduled"
    else
      note_fail 1 "restore into the pg_cron database under its own name (test/results/restore/same-name.log, same-name.diff)"
    fi
  else
    note_fail 1 "backup and restore: setup or restore failed (test/results/restore/setup.log, restore.log)"
    tail -5 "$OUT/setup.log" "$OUT/restore.log" 2>/dev/null | sed 's/^/   /'
  fi
  # the retention section below makes its own pg_cron database
  PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $CRON_DB WITH (FORCE)" >/dev/null 2>&1 || true
fi

# --- acting as a user: make run's test/tools/as.sh and jwt.sh -----------------
# as.sh calls the API as PostgREST does (one transaction as authenticator,
# role and request.* set locally, read-only for STABLE functions, COMMIT as
# the caller); jwt.sh mints HS256 JWTs, which a standard library (npm's jose,
# installed into a temporary directory, nothing vendored) must accept. Both
# are test/driver/pgrst.py's command line (the e2e driver): they carry no
# SQL, caller resolution or JWT code of their own.
# The dev-only demo data (test/fixtures/demo_dev.sql) loads on top of demo.sql.
if has_suite outside; then
  echo "== acting as a user (test/tools/as.sh, test/tools/jwt.sh, demo_dev.sql)"
  OUT=$RESULTS/asuser; mkdir -p "$OUT"
  asdb=(env PGDATABASE=startlijn_asuser JWT_SECRET_FILE="$OUT/jwt-secret" PG_BIN="$PG_BIN")
  (umask 077; head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$OUT/jwt-secret")
  if make_test_db startlijn_asuser > "$OUT/setup.log" 2>&1 &&
     "${PSQL[@]}" -d startlijn_asuser -f test/fixtures/demo_dev.sql >> "$OUT/setup.log" 2>&1 &&
     "${PSQL[@]}" -d startlijn_asuser -f test/fixtures/demo_dev.sql >> "$OUT/setup.log" 2>&1 &&
     [ "$("${PSQL[@]}" -d startlijn_asuser -tAc "SELECT (SELECT count(*) FROM payments.payments) || ' ' || (SELECT count(*) FROM capacity.items i WHERE NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t WHERE t.item_id = i.id) AND NOT EXISTS (SELECT 1 FROM startlijn.addon_variants v WHERE v.item_id = i.id)) || ' ' || (SELECT count(*) FROM tokens.purposes) || ' ' || (SELECT count(*) FROM startlijn.events) || ' ' || (SELECT count(*) FROM startlijn.ticket_types)")" = "6 1 1 3 8" ]; then
    note_pass 1; echo "   demo_dev.sql loads on the demo data, once (6 payments, a capacity item, a token purpose, 3 events with 8 ticket types)"
  else
    note_fail 1 "demo_dev.sql (test/results/asuser/setup.log)"
  fi
  as() { "${asdb[@]}" bash test/tools/as.sh "$@" 2>> "$OUT/as.log"; }
  j() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
  got="$(as anna my_profile | j 'd["email"]') $(as anon audit_public_key | j 'd.startswith("startlijn")')"
  got+=" $(as anon my_profile >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
  got+=" $(as anna update_my_profile '{"phone": "+31612345777"}' | j 'd["phone"]')"
  got+=" $("${PSQL[@]}" -d startlijn_asuser -tAc "SELECT body::jsonb #>> '{actor,db_role}' FROM trail.entries
                                                   WHERE table_name = 'startlijn.profiles' AND actor_uid = '00000000-0000-4000-a000-000000000001'
                                                   ORDER BY id DESC LIMIT 1")"
  got+=" $(as daan payments '{"organization_id": "00000000-0000-4000-b000-000000000001"}' | j 'len(d)')"
  got+=" $(as eva payments '{"organization_id": "00000000-0000-4000-b000-000000000001"}' >/dev/null; echo $?)"
  # STABLE functions run in a read-only transaction, others read-write
  got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna my_profile 2>&1 >/dev/null | grep -c '^BEGIN .* READ ONLY;$')"
  got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna update_my_profile '{}' 2>&1 >/dev/null | grep -c '^BEGIN .* READ WRITE;$')"
  want="anna@loopgroep-utrecht.nl True 1 HTTP 401 (SQLSTATE PT401) +31612345777 authenticated 4 1 1 1"
  if [ "$got" = "$want" ]; then
    note_pass 1; echo "   as.sh: a user's read and change (committed as authenticated), anon refused with 401, another tenant's payments refused"
  else
    note_fail 1 "as.sh: expected '$want', got '$got' (test/results/asuser/as.log)"
  fi
  # every kind of caller, the headers argument, PostgREST's own errors, the login
  got="$(as anna@loopgroep-utrecht.nl my_profile | j 'd["id"][-2:]')"
  got+=" $(as 00000000-0000-4000-a000-000000000011 my_profile | j 'd["id"][-2:]')"
  got+=" $(as '{"sub": "00000000-0000-4000-a000-000000000002"}' my_profile | j 'd["id"][-2:]')"
  got+=" $(as service audit_public_key | j 'd.startswith("startlijn")')"
  got+=" $(as anna update_my_profile '{"phone": "+31612345778"}' '{"X-Request-Id": "as-sh-1"}' | j 'd["phone"]')"
  got+=" $("${PSQL[@]}" -d startlijn_asuser -tAc "SELECT (body::jsonb #>> '{request,request_id}') || ',' || (body::jsonb #>> '{request,user_agent}')
                                                   FROM trail.entries WHERE table_name = 'startlijn.profiles'
                                                    AND actor_uid = '00000000-0000-4000-a000-000000000001' ORDER BY id DESC LIMIT 1")"
  got+=" $(as anna no_such_function >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
  got+=" $(as anna my_profile '{"nope": 1}' >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
  got+=" $(as zoe my_profile >/dev/null; echo $?)"
  got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna my_profile 2>&1 >/dev/null | head -1)"
  got+=" $(cat test/tools/as.sh test/tools/jwt.sh test/tools/devapi.sh | grep -v '^ *#' | grep -cE 'set_config|to_record|startlijn\.profiles|hmac|sha256|base64')"
  want="01 11 02 True +31612345778 as-sh-1,startlijn-as.sh 1 HTTP 404 (PGRST202) 1 HTTP 404 (PGRST202) 2 -- logged in as authenticator 0"
  if [ "$got" = "$want" ]; then
    note_pass 1; echo "   as.sh: an email, a profile id, claims, service; headers reach the audit trail; PGRST202; logs in as authenticator; no SQL of its own"
  else
    note_fail 1 "as.sh callers: expected '$want', got '$got' (test/results/asuser/as.log)"
  fi
  # the README's catalog commands on the demo catalog
  got="$(as anon events | j 'len(d)') $(as anon event '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}' | j 'len(d["ticket_types"])')"
  got+=" $(as anon event '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027", "access_code": "LOOPGROEP-2027"}' | j 'len(d["ticket_types"])')"
  if [ "$got" = "2 4 5" ]; then
    note_pass 1; echo "   as.sh anon events/event: the demo catalog (2 published events; 4 public ticket types, 5 with the club code)"
  else
    note_fail 1 "as.sh anon events/event: expected '2 4 5', got '$got' (test/results/asuser/as.log)"
  fi
  # the README's checkout commands on the demo orders
  got="$(as kim my_registrations | j '[r["status"] + ":" + str(bool(r["code"])) for r in d]')"
  got+=" $(as joost my_orders | j '[o["status"] + ":" + o["payment"]["provider_ref"] for o in d]')"
  if [ "$got" = "['paid:True'] ['pending:pi_demo_order_c']" ]; then
    note_pass 1; echo "   as.sh kim my_registrations, joost my_orders: the demo orders (a paid entry with its code, an order waiting for payment)"
  else
    note_fail 1 "as.sh checkout commands: expected \"['paid:True'] ['pending:pi_demo_order_c']\", got '$got' (test/results/asuser/as.log)"
  fi
  # JWTs: as.sh verifies them as PostgREST does and takes their claims
  token=$("${asdb[@]}" bash test/tools/jwt.sh anna 2>> "$OUT/as.log")
  # a changed signature: its last character (16 possible values) replaced by another one
  if [ "${token: -1}" = A ]; then bad=${token%?}Q; else bad=${token%?}A; fi
  got="$(as "$token" my_profile | j 'd["id"]') $(as "$bad" my_profile >/dev/null; echo $?)"
  if [ "$got" = "00000000-0000-4000-a000-000000000001 1" ]; then
    note_pass 1; echo "   as.sh with a minted JWT acts as its subject; a JWT with a changed signature is refused"
  else
    note_fail 1 "as.sh with a JWT: got '$got' (test/results/asuser/as.log)"
  fi
  # ... and a standard JWT library agrees
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "   (skipped: no npm/node on this machine to install jose and check the JWTs with it)"
  elif ! npm install --prefix "$OUT/jose" --no-audit --no-fund --no-save --silent jose@6 > "$OUT/npm.log" 2>&1; then
    echo "   (skipped: 'npm install jose' failed, offline? test/results/asuser/npm.log)"
  else
    {
      echo "ANNA=$token"
      echo "ANON=$("${asdb[@]}" bash test/tools/jwt.sh anon)"
      echo "OLD=$("${asdb[@]}" JWT_TTL=-60 bash test/tools/jwt.sh bram)"
      echo "FOREIGN=$(head -c 48 /dev/urandom | base64 -w0 > "$OUT/other-secret"; env PGDATABASE=startlijn_asuser JWT_SECRET_FILE="$OUT/other-secret" PG_BIN="$PG_BIN" bash test/tools/jwt.sh kim)"
    } > "$OUT/tokens.env" 2>> "$OUT/as.log"
    cat > "$OUT/jose/verify.mjs" <<'JS'
import { jwtVerify } from 'jose'
import { readFileSync } from 'node:fs'
const dir = process.argv[2]
const t = Object.fromEntries(readFileSync(dir + '/tokens.env', 'utf8').trim().split('\n').map(l => l.split('=')))
const key = new TextEncoder().encode(readFileSync(dir + '/jwt-secret', 'utf8').trim())
const opts = { algorithms: ['HS256'], audience: 'authenticated' }
const out = []
const { payload: a, protectedHeader: h } = await jwtVerify(t.ANNA, key, opts)
const now = Math.floor(Date.now() / 1000)
out.push(h.alg, a.sub, a.role, a.email, a.aud, a.exp - a.iat, a.exp > now && a.iat <= now + 5)
const { payload: n } = await jwtVerify(t.ANON, key, { algorithms: ['HS256'] })
out.push(n.role, n.sub === undefined)
for (const name of ['OLD', 'FOREIGN']) {
  try { await jwtVerify(t[name], key, opts); out.push(name + ':accepted') } catch (e) { out.push(name + ':' + e.code) }
}
console.log(out.join(' '))
JS
    got=$(cd "$OUT/jose" && node verify.mjs "$OUT" 2>> "$OUT/as.log")
    want="HS256 00000000-0000-4000-a000-000000000001 authenticated anna@loopgroep-utrecht.nl authenticated 3600 true anon true OLD:ERR_JWT_EXPIRED FOREIGN:ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
    if [ "$got" = "$want" ]; then
      note_pass 1; echo "   jose $(node -p "require('$OUT/jose/node_modules/jose/package.json').version") verifies jwt.sh's tokens (HS256, sub, role, email, aud, exp); expired and foreign ones refused"
    else
      note_fail 1 "jose: expected '$want', got '$got' (test/results/asuser/)"
    fi
  fi
fi

# --- retention: labels survive dump and restore; the pg_cron job ------------
if has_suite outside; then
  echo "== retention labels through pg_dump/pg_restore; the pg_cron job"
  OUT=$RESULTS/retention; mkdir -p "$OUT"
  r() { "${PSQL[@]}" -d "$1" -tA -c "$2"; }
  labels="SELECT string_agg(objname || '=' || label, ';' ORDER BY objname) FROM pg_seclabels WHERE provider = 'retention'"
  if make_test_db startlijn_dump &&
     r startlijn_dump "CREATE TABLE public.people (id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text,
                         ended date, archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
                       SECURITY LABEL FOR retention ON TABLE public.people IS 'classification=personal;organization=organization_id;anchor=ended;subject=id';
                       SECURITY LABEL FOR retention ON COLUMN public.people.name IS 'pii:name';
                       SELECT retention.manage('public.people');
                       SELECT retention.set_defaults(grace => '7 days');" > "$OUT/setup.log" 2>&1 &&
     "$PG_BIN/pg_dump" -Fc -d startlijn_dump -f "$OUT/dump" 2>> "$OUT/setup.log" &&
     PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS startlijn_restored" \
       -c "CREATE DATABASE startlijn_restored" >/dev/null; then
    # the documented restore (docs/operations.md, "Backup and restore")
    { "$PG_BIN/pg_restore" --schema-only -d startlijn_restored "$OUT/dump" &&
      "${PSQL[@]}" -d startlijn_restored -tAc "SELECT startlijn.prepare_restore()" &&
      "$PG_BIN/pg_restore" --data-only --disable-triggers -d startlijn_restored "$OUT/dump" &&
      "${PSQL[@]}" -d startlijn_restored -tAc "SELECT startlijn.finish_restore()"; } > "$OUT/restore.log" 2>&1
    before=$(r startlijn_dump "$labels"); after=$(r startlijn_restored "$labels")
    guard=$(r startlijn_restored "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.people'::regclass AND tgname = 'retention_guard'")
    grace=$(r startlijn_restored "SELECT grace FROM retention.config")
    if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$guard" = 1 ] && [ "$grace" = "7 days" ] &&
       ! grep -q 'retention' "$OUT/restore.log"; then
      note_pass 1; echo "   2 labels, the guard trigger and the retention defaults survive pg_dump/pg_restore"
    else
      note_fail 1 "retention labels after restore: '$after' (was '$before'), guard $guard, grace '$grace' (test/results/retention/)"
    fi
  else
    note_fail 1 "retention dump/restore: setup (test/results/retention/setup.log)"
  fi
  # pg_cron runs in the database named by cron.database_name
  if r postgres "CREATE DATABASE startlijn_cron" >/dev/null 2>&1 || true; then :; fi
  if r startlijn_cron "CREATE EXTENSION IF NOT EXISTS pg_cron; CREATE EXTENSION IF NOT EXISTS startlijn_retention CASCADE" > "$OUT/cron.log" 2>&1 &&
     r startlijn_cron "SELECT retention.schedule('*/10 * * * *', max_rows => 5000, max_seconds => 30)" >> "$OUT/cron.log" 2>&1; then
    cmd=$(r startlijn_cron "SELECT command FROM cron.job WHERE jobname = 'startlijn-retention' AND schedule = '*/10 * * * *'")
    if [ -n "$cmd" ] && "${PSQL[@]}" -d startlijn_cron -c "$cmd" >> "$OUT/cron.log" 2>&1 &&
       [ "$(r startlijn_cron "SELECT status || ' ' || actor FROM retention.runs ORDER BY id DESC LIMIT 1")" = "completed job:postgres" ]; then
      note_pass 1; echo "   retention.schedule() registers '$cmd'; run as the job, it completes and reports"
    else
      note_fail 1 "retention pg_cron job: '$cmd' (test/results/retention/cron.log)"
    fi
  else
    note_fail 1 "retention pg_cron job: setup (test/results/retention/cron.log)"
  fi
fi

# --- no token text in the server log ------------------------------------------
# The suites above issue tokens and fail redeems with the token spelled out in
# top-level statements; errors of calls that carry a token hide their
# STATEMENT and CONTEXT lines (src/tokens/tokens.c).
if has_suite regress || has_suite pgtap || has_suite isolation; then
  echo "== token text never reaches the server log"
  leaked=$(grep -coE '\bsl[a-z0-9]{0,10}_[A-Za-z0-9_-]{48}' "$TMP/server.log" || true)
  if grep -q 'token already used' "$TMP/server.log" && [ "$leaked" -eq 0 ]; then
    note_pass 1; echo "   failed redeems were logged, no token text with them"
  else
    note_fail 1 "token text in the server log ($leaked lines) or no failed redeem logged at all ($TMP/server.log copied to test/results/server.log)"
    cp "$TMP/server.log" "$RESULTS/server.log"
  fi
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
