#!/usr/bin/env bash
# make bench: pgbench workloads on a throwaway cluster, our figures beside a
# baseline measured in the same run. Not a test: each part prints its table
# while it runs; every figure and invariant is also recorded in
# $BENCH_OUT/results.tsv (default test/results/bench), and at the end
# test/tools/bench_report.py prints one summary table and writes
# docs/benchmarks.md with an SVG chart per workload in docs/bench/.
#   BENCH_SECONDS   seconds per pgbench run (default 10; below 5 the report says "smoke run")
#   BENCH_LOG_SIZE  entries in the log used for the proof benchmark (default 1000000)
#   BENCH_DOCS      where the report goes (default docs; empty: no report written)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=cluster.sh
. test/tools/cluster.sh
SECS=${BENCH_SECONDS:-10}
LOG_SIZE=${BENCH_LOG_SIZE:-1000000}
# which parts to run: audit, tokens, capacity, retention, payments, checkout, catalog (default all)
PARTS=${BENCH_PARTS:-"audit tokens capacity retention payments checkout catalog"}
# buyers per checkout run (each reserve, checkout and a paid webhook)
CO_BUYERS=${BENCH_CHECKOUT_BUYERS:-2000}
# payments per webhook run (each gets 2 events, 30% of them delivered twice)
PAY_PAYMENTS=${BENCH_PAY_PAYMENTS:-4000}
# labelled rows anonymised by the retention benchmark
RET_ROWS=${BENCH_RETENTION_ROWS:-1000000}
# fully built events of the catalog benchmark (of its 20,000; the rest bare)
CAT_BUILT=${BENCH_CATALOG_BUILT:-200}
# units of the ticket-drop pool
DROP_UNITS=${BENCH_DROP_UNITS:-10000}
# single-use tokens consumed by the redeem runs (about 12,000 per second of runs)
TOKEN_STOCK=${BENCH_TOKEN_STOCK:-$((12000 * ${BENCH_SECONDS:-10}))}
OUT=${BENCH_OUT:-test/results/bench}
DOCS=${BENCH_DOCS-docs}
part() { [[ " $PARTS " == *" $1 "* ]]; }

# machine-readable results, read by test/tools/bench_report.py (one line each, tab-separated):
#   meta    <key> <value>
#   result  <part> <workload> <clients> <series> <role: ours|baseline|floor|info> <value> <unit>
#   check   <part> <workload or -> <clients or -> <name> <ok|FAIL> <detail>
mkdir -p "$OUT"
TSV=$OUT/results.tsv
echo "# startlijn make bench results (test/tools/bench.sh); report: test/tools/bench_report.py" > "$TSV"
meta() { printf 'meta\t%s\t%s\n' "$1" "$2" >> "$TSV"; }
record() { printf 'result\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" >> "$TSV"; }
check() { printf 'check\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >> "$TSV"; }
okif() { if "$@"; then echo ok; else echo FAIL; fi; }

TMP=$(mktemp -d /tmp/startlijn-bench.XXXXXX)
chmod 755 "$TMP"
# the build goes into a private copy of PostgreSQL (as make test's): the system's stays as it was
build_and_install_private "$TMP/install" > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; rm -rf "$TMP"; exit 1; }
PORT=$(free_port)
cleanup() { cluster_stop "$TMP/data" || true; rm -rf "$TMP"; }
trap cleanup EXIT
# durable commits (fsync on): the setting a production cluster runs with
cluster_init "$TMP/data" "$TMP/sock" "$PORT" "" "max_connections = 200" "shared_buffers = 512MB" \
  "max_wal_size = 4GB" "log_min_messages = warning"
touch "$TMP/server.log"; [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$TMP/server.log"
cluster_start "$TMP/data" "$TMP/server.log"
export PGHOST=$TMP/sock PGPORT=$PORT PGUSER=postgres PGDATABASE=bench
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"

# the machine and the settings, for the report
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
meta cores "$(nproc)"
meta cpu "$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)"
meta ram "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
for setting in server_version fsync synchronous_commit full_page_writes wal_level shared_buffers max_wal_size; do
  meta "$setting" "$("${PSQL[@]}" -tA -c "SHOW $setting")"
done
meta BENCH_SECONDS "$SECS"; meta BENCH_PARTS "$PARTS"; meta BENCH_LOG_SIZE "$LOG_SIZE"
meta BENCH_TOKEN_STOCK "$TOKEN_STOCK"; meta BENCH_DROP_UNITS "$DROP_UNITS"; meta BENCH_RETENTION_ROWS "$RET_ROWS"
meta BENCH_PAY_PAYMENTS "$PAY_PAYMENTS"; meta BENCH_CHECKOUT_BUYERS "$CO_BUYERS"

# a figure missing (a run too short to finish a transaction prints "tps = nan") computes as 0
calc() { awk "BEGIN { print $1 }" 2>/dev/null || echo 0; }

run() {  # run <test/bench script name> <clients> [pgbench options] -> tps
  local script=$1 clients=$2; shift 2
  "$PG_BIN/pgbench" -n -c "$clients" -j 2 -T "$SECS" "$@" -f "test/bench/$script.sql" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# tps <table> <clients>: the insert script for that table, prepared protocol (as PostgREST runs
# statements; the floor's longer statement would otherwise pay its parsing on every transaction)
tps() {
  sed "s/bench\.:tbl/bench.$1/" test/bench/audit_insert.sql > "$TMP/audit_insert_$1.sql"
  "$PG_BIN/pgbench" -n -M prepared -c "$2" -j 2 -T "$SECS" -f "$TMP/audit_insert_$1.sql" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

if part audit; then
"${PSQL[@]}" -f test/bench/setup.sql >/dev/null
echo "== audited inserts: pgbench -M prepared, ${SECS}s per run, fsync on, $(nproc) cores"
printf '%-8s %12s %12s %12s %12s %12s %10s %10s %10s %10s\n' clients plain trail chain supa_audit floor \
  trail/plain chain/plain supa/plain floor/plain
wl="audited inserts"
for c in 1 8 64; do
  p=$(tps plain "$c"); a=$(tps audited "$c"); h=$(tps chain "$c"); u=$(tps supa "$c"); f=$(run audit_floor "$c" -M prepared)
  printf '%-8s %12.0f %12.0f %12.0f %12.0f %12.0f %10.2f %10.2f %10.2f %10.2f\n' "$c" "$p" "$a" "$h" "$u" "$f" \
    "$(calc "$a / $p")" "$(calc "$h / $p")" "$(calc "$u / $p")" "$(calc "$f / $p")"
  record audit "$wl" "$c" trail ours "$a" tx/s
  record audit "$wl" "$c" plain baseline "$p" tx/s
  record audit "$wl" "$c" chain baseline "$h" tx/s
  record audit "$wl" "$c" supa_audit baseline "$u" tx/s
  record audit "$wl" "$c" floor floor "$f" tx/s
done
echo "(floor: the row and an entry-sized row with trail.entries' indexes written by one statement, no"
echo " trigger, encoding or hashing: the fastest any trail writing one entry row per change can be;"
echo " supa_audit: a PL/pgSQL trigger writing to_jsonb(NEW) with op, table and time to a log table, no hashing)"
"${PSQL[@]}" -c "SELECT trail.seal()" >/dev/null
read -r logs logs_ok < <("${PSQL[@]}" -tA -F' ' -c "SELECT count(*), count(*) FILTER (WHERE (trail.verify(l.id) ->> 'ok')::boolean)
                                                    FROM trail.logs l")
check audit "$wl" - "trail.verify ok for every log" "$(okif [ "$logs" = "$logs_ok" ])" "$logs_ok of $logs logs verify"
for t in chain supa; do
  read -r rows logged < <("${PSQL[@]}" -tA -F' ' -c "SELECT (SELECT count(*) FROM bench.$t),
                            (SELECT count(*) FROM bench.$([ $t = chain ] && echo chain_log || echo record_version))")
  check audit "$wl" - "$t: one log row per insert" "$(okif [ "$rows" = "$logged" ])" "$rows rows, $logged log rows"
done

echo
echo "== sealing (trail.seal) and proofs in a log of $LOG_SIZE entries"
start=$(date +%s.%N)
"${PSQL[@]}" -c "INSERT INTO bench.audited (organization_id, payload, amount)
                 SELECT '00000000-0000-4000-b000-0000000000ff', 'bulk ' || g, g FROM generate_series(1, $LOG_SIZE) g" >/dev/null
end=$(date +%s.%N)
printf 'recording %d entries in one statement: %.1f s (%.0f entries/s)\n' "$LOG_SIZE" \
  "$(calc "$end - $start")" "$(calc "$LOG_SIZE / ($end - $start)")"
record audit "recording (one statement)" 1 trail ours "$(calc "$LOG_SIZE / ($end - $start)")" entries/s
sealed=$("${PSQL[@]}" -tA -c "\\timing on" -c "SELECT trail.seal() ->> 'sealed'" | tr '\n' ' ')
n=$(echo "$sealed" | awk '{print $1}'); ms=$(echo "$sealed" | sed -n 's/.*Time: \([0-9.]*\) ms.*/\1/p')
printf 'sealing %d entries: %.0f ms (%.0f entries/s; goal >= 100000)\n' "$n" "$ms" "$(calc "$n / ($ms / 1000)")"
record audit "sealing (trail.seal)" 1 trail.seal ours "$(calc "$n / ($ms / 1000)")" entries/s
read -r first last size < <("${PSQL[@]}" -tA -F' ' -c "SELECT min(l.entry_id), max(l.entry_id), max(l.idx) + 1 FROM trail.leaves l
                                       WHERE l.log_id = '00000000-0000-4000-b000-0000000000ff'")
lat=$("$PG_BIN/pgbench" -n -c 1 -t 2000 -D first="$first" -D last="$last" -D size="$size" \
        -f test/bench/audit_proof.sql 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
printf 'inclusion proof in a log of %d entries: %.3f ms average over 2000 (goal < 5 ms)\n' "$size" "$lat"
record audit "inclusion proof" 1 latency ours "$lat" ms
verified=$("${PSQL[@]}" -tA -c "\\timing on" -c "SELECT trail.verify('00000000-0000-4000-b000-0000000000ff') ->> 'ok'" | tr '\n' ' ')
echo "$verified" | sed -n 's/^\(\S*\) Time: \([0-9.]*\) ms.*/trail.verify of that log: ok=\1 in \2 ms/p'
check audit - - "trail.verify of the log of $size entries" "$(okif [ "${verified%% *}" = true ])" "ok=${verified%% *}"
fi

if part tokens; then
  echo
  echo "== startlijn_tokens: pgbench, ${SECS}s per run, $(nproc) cores"
  "${PSQL[@]}" -v stock="$TOKEN_STOCK" -v sqlstock="$((40000 * SECS))" -f test/bench/tokens_setup.sql >/dev/null
  printf '%-8s %14s %14s %8s %14s %14s %8s\n' clients lookup verify_code ratio sql_redeem redeem ratio
  for c in 1 8 32; do
    l=$(run tokens_lookup "$c"); v=$(run tokens_verify "$c")
    q=$(run tokens_redeem_sql "$c"); r=$(run tokens_redeem "$c")
    printf '%-8s %14.0f %14.0f %8.2f %14.0f %14.0f %8.2f\n' "$c" "$l" "$v" "$(calc "$v / $l")" "$q" "$r" "$(calc "$r / $q")"
    record tokens verify_code "$c" verify_code ours "$v" calls/s
    record tokens verify_code "$c" lookup baseline "$l" calls/s
    record tokens redeem "$c" redeem ours "$r" calls/s
    record tokens redeem "$c" sql_redeem baseline "$q" calls/s
  done
  echo "(lookup: the same round trip without verification; sql_redeem: SHA-256 + UPDATE in plain SQL, no throttling or audit)"
  bulk=$("${PSQL[@]}" -tA -c "\\timing on" -c "SELECT count(*) FILTER (WHERE v.valid) FROM bench.codes c, tokens.verify_code('bench-event', c.code) v" | tr '\n' ' ')
  n=$(echo "$bulk" | awk '{print $1}'); ms=$(echo "$bulk" | sed -n 's/.*Time: \([0-9.]*\) ms.*/\1/p')
  printf 'verify_code over %d codes in one statement: %.0f ms (%.0f codes/s per core; goal >= 10000/s)\n' "$n" "$ms" "$(calc "$n / ($ms / 1000)")"
  record tokens "verify_code (one statement)" 1 verify_code ours "$(calc "$n / ($ms / 1000)")" codes/s
  used=$("${PSQL[@]}" -tA -c "SELECT count(*) FILTER (WHERE uses = 1) || ' used once, ' || count(*) FILTER (WHERE uses > 1) || ' more than once' FROM tokens.tokens WHERE purpose = 'bench'")
  echo "redeemed tokens: $used"
  check tokens redeem - "no token used more than once" "$(okif grep -q ' 0 more than once$' <<< "$used")" "$used"
  # a run that ran out of stock would have measured no-ops: say so
  stock=$("${PSQL[@]}" -tA -c "SELECT CASE WHEN (SELECT last_value FROM bench.tok_seq) > (SELECT count(*) FROM bench.tok)
                                     OR (SELECT last_value FROM bench.sqltok_seq) > (SELECT count(*) FROM bench.sqltok)
                                   THEN 'WARNING: the token stock ran out; redeem figures are invalid (raise BENCH_TOKEN_STOCK)'
                                   ELSE 'token stock sufficed: every redeem call used a fresh token' END")
  echo "$stock"
  check tokens redeem - "token stock sufficed" "$(okif grep -vq '^WARNING' <<< "$stock")" "$stock"
fi

if part capacity; then
  echo
  echo "== startlijn_capacity: a ticket drop of $DROP_UNITS units, $(nproc) cores, fsync on"
  echo "   each buyer: hold 1 entry, then confirm (70%), release (20%) or let it expire (10%, TTL 1 s);"
  echo "   a run lasts until 1.5 x $DROP_UNITS buyers have tried (sold out near the end)"
  "${PSQL[@]}" -f test/bench/capacity_setup.sql >/dev/null
  pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.1f", a[i]/1000}'; }
  printf '%-6s %-8s %10s %9s %9s %9s %9s %10s %10s %12s %12s %12s %12s %8s %8s %8s %8s %8s\n' pools clients holds/s p50_ms p99_ms confirmed oversold \
    inconsistent floor/s same_work/s naive/s plain/s pretix/s x_floor x_same x_naive x_plain x_pretix
  for multi in false true; do
    for c in 1 16 64; do
      "${PSQL[@]}" -c "SELECT bench.new_drop($DROP_UNITS, $multi)" >/dev/null
      rm -f "$TMP"/cap.*
      per=$(( (DROP_UNITS * 3 / 2 + c - 1) / c ))
      h=$( (cd "$TMP" && "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -l --log-prefix=cap \
              -f "$OLDPWD/test/bench/capacity_drop.sql" 2>/dev/null) | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      p50=$(cat "$TMP"/cap.* | awk '{print $3}' | pct 50)
      p99=$(cat "$TMP"/cap.* | awk '{print $3}' | pct 99)
      read -r over incons conf < <("${PSQL[@]}" -tA -F' ' -c "SELECT * FROM bench.check_drop()")
      "${PSQL[@]}" -c "SELECT bench.naive_reset($DROP_UNITS)" >/dev/null
      sw=$("$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -f test/bench/capacity_naive_drop.sql 2>/dev/null |
           sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      n=$(run capacity_naive "$c" -M prepared); pl=$(run capacity_plain "$c" -M prepared)
      "${PSQL[@]}" -c "SELECT bench.pretix_reset($DROP_UNITS, $multi)" >/dev/null
      px=$("$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -f test/bench/capacity_pretix.sql 2>/dev/null |
           sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      pxover=$("${PSQL[@]}" -tA -c "SELECT bench.check_pretix()")
      wl="ticket drop, $([ "$multi" = true ] && echo "1+4 pools" || echo "1 pool")"
      fl=-; xf=-
      if [ "$multi" = false ]; then
        "${PSQL[@]}" -c "SELECT bench.new_floor($DROP_UNITS)" >/dev/null
        # JIT off: with its copies unanalyzed, the floor's estimates pass jit_above_cost and every
        # execution would be compiled (the engine's statements stay far below it)
        fl=$(PGOPTIONS="-c jit=off" "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -f test/bench/capacity_floor.sql 2>/dev/null |
             sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        fover=$("${PSQL[@]}" -tA -c "SELECT bench.check_floor()")
        [ "$fover" = 0 ] || echo "WARNING: the floor oversold $fover units"
        check capacity "$wl" "$c" "floor: oversold = 0" "$(okif [ "$fover" = 0 ])" "oversold=$fover"
        record capacity "$wl" "$c" floor floor "$fl" buyers/s
        xf=$(calc "$h / $fl"); fl=$(printf '%.0f' "$fl")
      fi
      [ "$pxover" = 0 ] || echo "WARNING: the pretix-style baseline oversold $pxover units"
      printf '%-6s %-8s %10.0f %9s %9s %9s %9s %10s %10s %12.0f %12.0f %12.0f %12.0f %8s %8.2f %8.2f %8.2f %8.2f\n' \
        "$([ "$multi" = true ] && echo 1+4 || echo 1)" "$c" "$h" "$p50" "$p99" "$conf" "$over" "$incons" \
        "$fl" "$sw" "$n" "$pl" "$px" "$([ "$xf" = - ] && echo - || printf '%.2f' "$xf")" "$(calc "$h / $sw")" "$(calc "$h / $n")" \
        "$(calc "$h / $pl")" "$(calc "$h / $px")"
      record capacity "$wl" "$c" capacity ours "$h" buyers/s
      record capacity "$wl" "$c" same_work baseline "$sw" buyers/s
      record capacity "$wl" "$c" pretix baseline "$px" buyers/s
      record capacity "$wl" "$c" naive baseline "$n" sales/s
      record capacity "$wl" "$c" plain baseline "$pl" sales/s
      record capacity "$wl" "$c" p50 info "$p50" ms
      record capacity "$wl" "$c" p99 info "$p99" ms
      check capacity "$wl" "$c" "oversold = 0, slots agree with holds" "$(okif test "$over" = 0 -a "$incons" = 0)" \
        "oversold=$over inconsistent=$incons confirmed=$conf"
      check capacity "$wl" "$c" "pretix: oversold = 0" "$(okif [ "$pxover" = 0 ])" "oversold=$pxover"
    done
  done
  echo "(holds/s: buyers per second, each a hold and its confirm or release, two transactions;"
  echo " floor: the rows our buyers write, into copies of capacity's tables with their keys and indexes, one statement"
  echo "   per transaction, no logic (capacity_floor.sql): the fastest any engine writing these rows can be;"
  echo " same_work: the same buyers on one counter row locked until commit, with a hold row and an audit row per step;"
  echo " pretix: the same buyers on a pretix-style quota check: lock the quota rows, count their sold and held positions,"
  echo "   insert a position if below the size (capacity_setup.sql);"
  echo " naive: UPDATE of one counter row per sale; plain: one INSERT per sale; goals at 64 clients: x_naive >= 10, x_plain >= 0.5)"
fi

if part retention; then
  echo
  echo "== startlijn_retention: anonymise $RET_ROWS labelled rows (name, email, phone), $(nproc) cores, fsync on"
  "${PSQL[@]}" -v rows="$RET_ROWS" -f test/bench/retention_setup.sql >/dev/null
  # run 1 computes the dates and expires every row; run 2 anonymises them (never in the same run)
  "${PSQL[@]}" -c "CALL retention.run(max_rows => 100000000, max_seconds => 86400)"
  t0=$(date +%s.%N)
  "${PSQL[@]}" -c "CALL retention.run(max_rows => 100000000, max_seconds => 86400)"
  t1=$(date +%s.%N)
  read -r exp_s exp_n exp_lock anon_s anon_n anon_lock batches < <("${PSQL[@]}" -tA -F' ' -c "
    SELECT extract(epoch FROM a.finished_at - a.started_at), a.expired, round(a.longest_batch_ms),
           extract(epoch FROM b.finished_at - b.started_at), b.anonymized, round(b.longest_batch_ms), b.batches
      FROM retention.runs a, retention.runs b WHERE a.id = (SELECT max(id) - 1 FROM retention.runs)
                                                AND b.id = (SELECT max(id) FROM retention.runs)")
  left=$("${PSQL[@]}" -tA -c "SELECT count(*) FROM bench_r.people WHERE archive_status <> 'anonymized' OR name !~ '^Persoon [A-Z]+$'")
  distinct=$("${PSQL[@]}" -tA -c "SELECT count(DISTINCT name) FROM bench_r.people")
  u0=$(date +%s.%N)
  "${PSQL[@]}" -c "UPDATE bench_r.plain SET name = 'Persoon', email = 'persoon@anoniem.invalid', phone = NULL,
                                             archive_status = 'anonymized', anonymized_at = now()"
  u1=$(date +%s.%N)
  upd_s=$(calc "$u1 - $u0")
  printf '%-34s %12s %10s %18s\n' "" rows rows/s longest_lock_ms
  printf '%-34s %12s %10.0f %18s\n' "retention.run: expire (run 1)" "$exp_n" "$(calc "$exp_n / $exp_s")" "$exp_lock"
  printf '%-34s %12s %10.0f %18s\n' "retention.run: anonymise (run 2)" "$anon_n" "$(calc "$anon_n / $anon_s")" "$anon_lock"
  printf '%-34s %12s %10.0f %18.0f\n' "baseline: one UPDATE of the table" "$RET_ROWS" "$(calc "$RET_ROWS / $upd_s")" "$(calc "$upd_s * 1000")"
  record retention "anonymise (run 2)" 1 retention.run ours "$(calc "$anon_n / $anon_s")" rows/s
  record retention "anonymise (run 2)" 1 "one UPDATE" baseline "$(calc "$RET_ROWS / $upd_s")" rows/s
  record retention "anonymise (run 2)" 1 longest_lock info "$anon_lock" ms
  record retention "anonymise (run 2)" 1 "one UPDATE: lock" info "$(calc "$upd_s * 1000")" ms
  record retention "expire (run 1)" 1 retention.run ours "$(calc "$exp_n / $exp_s")" rows/s
  record retention "expire (run 1)" 1 longest_lock info "$exp_lock" ms
  check retention "anonymise (run 2)" 1 "every row anonymised" "$(okif test "$left" = 0 -a "$anon_n" = "$RET_ROWS")" \
    "anonymised=$anon_n of $RET_ROWS, left=$left"
  echo "(run 2: $batches batches committed separately, wall $(calc "$t1 - $t0") s; rows not anonymised: $left;"
  echo " distinct pseudonyms among $RET_ROWS names: $distinct. The baseline holds every row lock until its single"
  echo " commit and writes one constant, no pseudonyms, no audit entries.)"
fi

if part payments; then
  echo
  echo "== startlijn_payments: Stripe webhooks, $PAY_PAYMENTS payments per run (processing + succeeded each;"
  echo "   30% of the deliveries are duplicates; shuffled), $(nproc) cores, fsync on; C = payments.receive (all in C),"
  echo "   plpgsql = 0.3's PL/pgSQL implementation of the same rules, signature check with pgcrypto"
  "${PSQL[@]}" -f test/bench/payments_setup.sql >/dev/null
  printf '%-8s %-8s %10s %10s %10s  %s\n' clients impl deliveries per_s x_plpgsql check
  for c in 1 8 32; do
    for impl in plpgsql c floor; do
      run_id="b${c}${impl:0:2}$RANDOM"
      n=$("${PSQL[@]}" -tA -c "SELECT bench_p.new_batch('$run_id', $PAY_PAYMENTS)")
      per_client=$(( (n + c - 1) / c ))
      case $impl in c) code=1 ;; plpgsql) code=0 ;; floor) code=2 ;; esac
      t0=$(date +%s.%N)
      "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per_client" -D impl="$code" \
        -f test/bench/payments_deliver.sql > "$TMP/pay.log" 2>&1 || { cat "$TMP/pay.log"; exit 1; }
      t1=$(date +%s.%N)
      rate=$(calc "$n / ($t1 - $t0)")
      [ "$impl" = plpgsql ] && base=$rate
      chk=$("${PSQL[@]}" -tA -c "SELECT bench_p.check('$run_id', $PAY_PAYMENTS)")
      expect="events=$((2 * PAY_PAYMENTS)) paid=$PAY_PAYMENTS received_journals=$PAY_PAYMENTS deliveries=$n"
      case "$chk" in "$expect "*ledger_problems=0) ok=exact ;; *) ok="WRONG" ;; esac
      printf '%-8s %-8s %10s %10.0f %10.2f  %s (%s)\n' "$c" "$impl" "$n" "$rate" "$(calc "$rate / $base")" "$ok" "$chk"
      case $impl in c) role=ours ;; plpgsql) role=baseline ;; floor) role=floor ;; esac
      record payments "Stripe webhooks" "$c" "$([ "$impl" = c ] && echo C || echo "$impl")" "$role" "$rate" deliveries/s
      check payments "Stripe webhooks" "$c" "$impl: each event applied once, ledger balanced" "$(okif [ "$ok" = exact ])" "$chk"
    done
  done
  echo "(per_s: deliveries applied or recorded per second, wall clock of the whole run; exact: every event"
  echo " applied once, every payment paid once with one payment_received journal, every delivery recorded,"
  echo " the ledger balanced. floor: the same rows written by one prepared statement with every decision"
  echo " made ahead, no rules evaluated: no implementation keeping these records is faster."
  echo " Goal of the issue: C at least 3x the PL/pgSQL baseline.)"
fi

if part checkout; then
  echo
  echo "== checkout: one hot event, $CO_BUYERS buyers per run, each reserve -> checkout -> (relay) -> signed Stripe"
  echo "   paid webhook, three API transactions as PostgREST makes them (anon, -M prepared); $(nproc) cores, fsync on"
  "${PSQL[@]}" -f test/bench/checkout_setup.sql >/dev/null
  printf '%-8s %12s %12s %10s %10s %10s %12s  %s\n' clients e2e_per_s capacity_per_s floor_per_s x_capacity x_floor rows/buyer check
  for c in 1 16 64; do
    per=$(( (CO_BUYERS + c - 1) / c )); n=$((per * c))
    "${PSQL[@]}" -c "SELECT bench_c.new_event($((n * 3)))" >/dev/null
    "${PSQL[@]}" -c "SELECT bench_c.snapshot()" >/dev/null
    t0=$(date +%s.%N)
    "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -f test/bench/checkout_buyer.sql > "$TMP/co.log" 2>&1 ||
      { cat "$TMP/co.log"; exit 1; }
    t1=$(date +%s.%N)
    grep -q "aborted" "$TMP/co.log" && { echo "WARNING: pgbench clients aborted:"; grep -m3 -i "error\|aborted" "$TMP/co.log"; }
    e2e=$(calc "$n / ($t1 - $t0)")
    sleep 1   # the clients' table statistics reach the shared stats at exit
    chk=$("${PSQL[@]}" -tA -c "SELECT bench_c.check()")
    read -r rows width < <("${PSQL[@]}" -tA -F' ' -c "SELECT * FROM bench_c.profile($n)")
    if [ "$c" = 1 ]; then   # where a buyer's rows go (the same at every client count)
      "${PSQL[@]}" -tA -F$'\t' -c "SELECT * FROM bench_c.profile_tables($n)" > "$TMP/co.tables"
      while IFS=$'\t' read -r rel per_buyer; do
        record checkout "hot event" 1 "rows/buyer: $rel" info "$per_buyer" rows
      done < "$TMP/co.tables"
    fi
    t0=$(date +%s.%N)
    "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -f test/bench/checkout_capacity.sql > "$TMP/co.log" 2>&1 ||
      { cat "$TMP/co.log"; exit 1; }
    t1=$(date +%s.%N)
    cap=$(calc "$n / ($t1 - $t0)")
    k=$(calc "int(($rows + 3) / 4)")
    t0=$(date +%s.%N)
    "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -t "$per" -D k="$k" -D w="$width" \
      -f test/bench/checkout_floor.sql > "$TMP/co.log" 2>&1 || { cat "$TMP/co.log"; exit 1; }
    t1=$(date +%s.%N)
    fl=$(calc "$n / ($t1 - $t0)")
    expect="paid=$n registrations=$n oversold=0 double_paid=0 invoice_gaps=0 double_applied=0 ledger_problems=0"
    [ "$chk" = "$expect" ] && ok=exact || ok="WRONG"
    printf '%-8s %12.0f %12.0f %10.0f %10.2f %10.2f %12s  %s (%s)\n' "$c" "$e2e" "$cap" "$fl" "$(calc "$e2e / $cap")" \
      "$(calc "$e2e / $fl")" "$rows x ${width}B" "$ok" "$chk"
    record checkout "hot event" "$c" e2e ours "$e2e" buyers/s
    record checkout "hot event" "$c" capacity_only baseline "$cap" buyers/s
    record checkout "hot event" "$c" floor floor "$fl" buyers/s
    record checkout "hot event" "$c" rows_per_buyer info "$rows" rows
    check checkout "hot event" "$c" "paid once, oversold = 0, invoices gapless, applied once, ledger balanced" \
      "$(okif [ "$ok" = exact ])" "$chk"
  done
  echo "rows per buyer by table: $(awk -F'\t' '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$TMP/co.tables")"
  echo "(e2e_per_s: buyers per second, wall clock, each reserve + checkout + the relay's provider id + the paid"
  echo " webhook; capacity_per_s: the capacity engine's hold + confirm alone for as many buyers; floor_per_s: a buyer's"
  echo " rows (as many, as wide, inserted or updated over every table) written by four plain INSERTs, no rules;"
  echo " exact: every order paid once, registrations paid, nothing oversold, invoice numbers consecutive, each"
  echo " paid event applied once, the ledger balanced. Goal of issue 25: e2e >= 0.5 x capacity.)"
fi

if part catalog; then
  echo
  echo "== catalog: the public catalog as anon (api.events, api.event) on 1,000 organisations and 20,000 events"
  echo "   ($CAT_BUILT fully built, the rest bare; 3 of 4 published), as PostgREST calls it (read-only transaction,"
  echo "   -M prepared), beside the same query on the same tables with row level security disabled, run by their"
  echo "   owner in the same transaction shape; ${SECS}s per run, $(nproc) cores"
  t0=$(date +%s)
  PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -v built="$CAT_BUILT" -f test/bench/catalog_setup.sql >/dev/null
  echo "   setup: $(( $(date +%s) - t0 )) s; $("${PSQL[@]}" -tA -c "SELECT count(*) || ' organisations, ' ||
    (SELECT count(*) FROM startlijn.events) || ' events (' || (SELECT count(*) FROM startlijn.events WHERE status = 'published')
    || ' published)' FROM startlijn.organizations"); answers: $("${PSQL[@]}" -tA -c "SELECT bench_k.same()")"
  printf '%-12s %-8s %10s %10s %10s %10s %10s\n' query clients api_tps plain_tps api_ms plain_ms x_plain
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
  for q in events event; do
    for c in 1 16; do
      # three api runs and three plain runs, alternating; the median of each
      as=(); ps=()
      for r in 1 2 3; do
        as+=("$(run "catalog_$q" "$c" -M prepared -D plain=0 -D built="$CAT_BUILT")")
        "${PSQL[@]}" -c "SELECT bench_k.rls(false)" >/dev/null
        ps+=("$(run "catalog_$q" "$c" -M prepared -D plain=1 -D built="$CAT_BUILT")")
        "${PSQL[@]}" -c "SELECT bench_k.rls(true)" >/dev/null
      done
      a=$(printf '%s\n' "${as[@]}" | median); p=$(printf '%s\n' "${ps[@]}" | median)
      printf '%-12s %-8s %10.0f %10.0f %10.3f %10.3f %10.2f\n' "api.$q" "$c" "$a" "$p" \
        "$(calc "1000 * $c / $a")" "$(calc "1000 * $c / $p")" "$(calc "$p / $a")"
      record catalog "api.$q" "$c" api ours "$a" calls/s
      record catalog "api.$q" "$c" "plain (no RLS)" baseline "$p" calls/s
    done
  done
  echo "(tps: the median of three ${SECS}s runs each, api and plain alternating; api_ms, plain_ms: milliseconds"
  echo " per call and client; x_plain: the API's time over the plain query's,"
  echo " goal of issue 24 <= 1.2. api.events mixes no filter, type, text, country and pages 1 to 3; api.event"
  echo " reads a fully built event: 3 courses, 2 waves, 3 public ticket types (one with a tier), a T-shirt in 3 sizes)"
fi

# the summary table, docs/benchmarks.md and its charts (BENCH_DOCS= to print the table only)
echo
python3 test/tools/bench_report.py "$TSV" ${DOCS:+--docs "$DOCS"}
failed=$(awk -F'\t' '$1 == "check" && $6 != "ok"' "$TSV" | wc -l)
if [ "$failed" -gt 0 ]; then
  echo "$failed invariant check(s) failed: $TSV"
  exit 1
fi
