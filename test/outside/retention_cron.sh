#!/usr/bin/env bash
# The retention job under pg_cron (docs/retention.md): retention.schedule()
# registers the job in the database pg_cron runs in (cron.database_name);
# its command, run as the job would run it, completes and reports in
# retention.runs. It drops and recreates the pg_cron database: on make
# test's cluster only (elsewhere it skips).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
need_cron_db      # sets CRON_DB
r() { sql "$CRON_DB" "$1"; }

if drop_db "$CRON_DB" > "$OUT/cron.log" 2>&1 && sql postgres "CREATE DATABASE $CRON_DB" >> "$OUT/cron.log" 2>&1 &&
   r "CREATE EXTENSION IF NOT EXISTS pg_cron; CREATE EXTENSION IF NOT EXISTS startlijn_retention CASCADE" >> "$OUT/cron.log" 2>&1 &&
   r "SELECT retention.schedule('*/10 * * * *', max_rows => 5000, max_seconds => 30)" >> "$OUT/cron.log" 2>&1; then
  cmd=$(r "SELECT command FROM cron.job WHERE jobname = 'startlijn-retention' AND schedule = '*/10 * * * *'")
  if [ -n "$cmd" ] && "${PSQL[@]}" -d "$CRON_DB" -c "$cmd" >> "$OUT/cron.log" 2>&1 &&
     [ "$(r "SELECT status || ' ' || actor FROM retention.runs ORDER BY id DESC LIMIT 1")" = "completed job:postgres" ]; then
    pass "retention.schedule() registers '$cmd'; run as the job, it completes and reports"
  else
    fail "retention.schedule() registers the job; run as the job, it completes and reports" "the job's command: '$cmd' ($REL/cron.log)"
  fi
else
  fail "retention.schedule() registers the job; run as the job, it completes and reports" "setup ($REL/cron.log)"
fi
drop_db "$CRON_DB"
done_testing
