#!/usr/bin/env bash
# Backup and restore: every extension's rows come back. The documented
# procedure (docs/operations.md, "Backup and restore"): its three ```sh
# blocks are read from the doc and run as they are (only their NAME=value
# lines are replaced), so the doc and the test cannot drift.
# The source is the pg_cron database (cron.database_name = 'startlijn_cron'),
# like production's: pg_cron installed, every job scheduled, activity in every
# extension (test/fixtures/activity.sql). Restored under another name: the
# tables equal the source row for row (test/helpers/restore_digest.sql), the
# trail verifies, a token issued before still redeems, a signed code still
# verifies, and work goes on (a new audited change, a new seal consistent with
# the restored checkpoints). Restored under its own name (production): the
# same rows, and the schedule step gives the same jobs.
# It drops and recreates the pg_cron database: on make test's cluster only
# (elsewhere it skips).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
need_cron_db      # sets CRON_DB
BACK=startlijn_back

digest() { PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d "$1" -tA -f test/helpers/restore_digest.sql; }
jobs_of() { sql "$1" "SELECT jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobname"; }
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

# the source: the pg_cron database with activity and every job, and its dump
if drop_db "$CRON_DB" && make_test_db "$CRON_DB" -c "CREATE EXTENSION pg_cron" > "$OUT/setup.log" 2>&1 &&
   "${PSQL[@]}" -d "$CRON_DB" -f test/fixtures/activity.sql >> "$OUT/setup.log" 2>&1 &&
   run_doc schedule TARGET="$CRON_DB" >> "$OUT/setup.log" 2>&1 &&
   jobs_of "$CRON_DB" > "$OUT/source.jobs" && [ "$(wc -l < "$OUT/source.jobs")" -eq 7 ] &&
   consistent_backup >> "$OUT/setup.log" 2>&1; then
  pass "the source: pg_cron and its 7 jobs in $CRON_DB, activity in every extension, dumped (the backup block)"
  note "the jobs: $(cut -d'|' -f1 "$OUT/source.jobs" | tr '\n' ' ')"
else
  fail "the source: pg_cron and its 7 jobs in $CRON_DB, activity in every extension, dumped (the backup block)" \
    "($REL/setup.log, $REL/source.jobs)"
  tail -5 "$OUT/setup.log" | sed 's/^/#   /'
  done_testing; exit
fi

# restored under another name
if drop_db $BACK && run_doc restore TARGET=$BACK DUMP="$OUT/startlijn.dump" > "$OUT/restore.log" 2>&1 &&
   finish=$("${PSQL[@]}" -d $BACK -tA -F' ' -c "SELECT r ->> 'ok', r -> 'trail' ->> 'logs_verified', r -> 'trail' ->> 'entries',
                                                       r ->> 'owner_count_mismatches', r::text
                                                  FROM startlijn.finish_restore() r" 2>> "$OUT/restore.log"); then
  pass "restored as $BACK (the restore block)"
else
  fail "restored as $BACK (the restore block)" "($REL/restore.log)"
  tail -5 "$OUT/restore.log" | sed 's/^/#   /'
  done_testing; exit
fi
digest $BACK > "$OUT/restored.digest"
tables=$(wc -l < "$OUT/source.digest")
note "$tables tables and sequences compared"
if diff "$OUT/source.digest" "$OUT/restored.digest" > "$OUT/digest.diff" && [ "$tables" -ge 60 ]; then
  pass "every extension's tables and sequences (60 or more) equal the source row for row"
else
  fail "every extension's tables and sequences (60 or more) equal the source row for row" \
    "$tables tables and sequences; differences in $REL/digest.diff"
fi
read -r f_ok f_logs f_entries f_owners f_all <<< "$finish"
note "finish_restore: $f_logs logs verified, $f_entries entries, $f_owners owner-count mismatches"
if [ "$f_ok" = true ] && [ "$f_logs" -ge 2 ]; then
  pass "finish_restore: ok, 2 or more logs verified"
else
  fail "finish_restore: ok, 2 or more logs verified" "got: $f_all"
fi
after=$("${PSQL[@]}" -d $BACK -tA -F' ' -f - 2>> "$OUT/restore.log" <<'SQL'
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
same "after the restore: the old token redeems, the old code verifies, a change is audited and sealed; no pg_cron there" \
  "ticket-1 valid +31612345888 true 0 true 0" "$after" "$REL/restore.log"
refused=$(sql "$CRON_DB" "SELECT startlijn.prepare_restore()" 2>&1 || true)
if [[ "$refused" == *"is in use: it is no restore target"* ]]; then
  pass "prepare_restore refuses a database in use"
else
  fail "prepare_restore refuses a database in use" "got: '$refused'"
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
  pass "restored as $CRON_DB itself (production): the same rows, finish_restore ok, the same jobs scheduled"
else
  fail "restored as $CRON_DB itself (production): the same rows, finish_restore ok, the same jobs scheduled" \
    "($REL/same-name.log, $REL/same-name.diff)"
fi
# no jobs running on after this test (make test goes on with other suites)
drop_db "$CRON_DB"
done_testing
