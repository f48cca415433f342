#!/usr/bin/env bash
# Retention labels through pg_dump/pg_restore (docs/retention.md,
# docs/operations.md "Backup and restore"): a table managed by retention
# (its table and column security labels), the guard trigger retention.manage()
# put on it and the retention defaults come back after the restore steps
# (schema, startlijn.prepare_restore(), data, startlijn.finish_restore()), and
# the restore says nothing about retention. Runs on any server with the
# extensions installed (its own databases startlijn_dump, startlijn_restored).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
labels="SELECT string_agg(objname || '=' || label, ';' ORDER BY objname) FROM pg_seclabels WHERE provider = 'retention'"

if ! { make_test_db startlijn_dump &&
       sql startlijn_dump "CREATE TABLE public.people (id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text,
                             ended date, archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
                           SECURITY LABEL FOR retention ON TABLE public.people IS 'classification=personal;organization=organization_id;anchor=ended;subject=id';
                           SECURITY LABEL FOR retention ON COLUMN public.people.name IS 'pii:name';
                           SELECT retention.manage('public.people');
                           SELECT retention.set_defaults(grace => '7 days');" &&
       "$PG_BIN/pg_dump" -Fc -d startlijn_dump -f "$OUT/dump" &&
       PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS startlijn_restored" \
         -c "CREATE DATABASE startlijn_restored"; } > "$OUT/setup.log" 2>&1; then
  fail "a managed table with labels, dumped" "($REL/setup.log)"; done_testing; exit
fi
# the documented restore (docs/operations.md, "Backup and restore")
{ "$PG_BIN/pg_restore" --schema-only -d startlijn_restored "$OUT/dump" &&
  "${PSQL[@]}" -d startlijn_restored -tAc "SELECT startlijn.prepare_restore()" &&
  "$PG_BIN/pg_restore" --data-only --disable-triggers -d startlijn_restored "$OUT/dump" &&
  "${PSQL[@]}" -d startlijn_restored -tAc "SELECT startlijn.finish_restore()"; } > "$OUT/restore.log" 2>&1

before=$(sql startlijn_dump "$labels" 2>&1); after=$(sql startlijn_restored "$labels" 2>&1)
desc="every retention label survives pg_dump/pg_restore (the 2 of public.people, those of the extensions' own tables)"
if [ -n "$before" ] && [ "$before" = "$after" ] && [[ "$before" == people=classification=personal\;*\;people.name=pii:name\;* ]]; then
  pass "$desc"
else
  fail "$desc" "before: '$before'" "after:  '$after'" "($REL/restore.log)"
fi
same "the guard trigger survives" 1 \
  "$(sql startlijn_restored "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.people'::regclass AND tgname = 'retention_guard'" 2>&1)" \
  "$REL/restore.log"
same "the retention defaults survive" "7 days" "$(sql startlijn_restored "SELECT grace FROM retention.config" 2>&1)" "$REL/restore.log"
if ! grep -q 'retention' "$OUT/restore.log"; then
  pass "the restore says nothing about retention"
else
  fail "the restore says nothing about retention" "$(grep -m3 'retention' "$OUT/restore.log")" "($REL/restore.log)"
fi
done_testing
