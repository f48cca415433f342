#!/usr/bin/env bash
# Run outside tests (test/outside/<name>.sh) and compare what each prints
# with test/outside/expected/<name>.out, as pg_regress does:
#
#   test/outside/run.sh [NAME...]     (default: every test but server_log)
#
# Per test, under test/results/outside/ (OUTSIDE_RESULTS): <name>.out (its
# TAP), <name>.log (its stderr: notes with figures, the commands of
# docs/operations.md it ran), <name>.diff (when the output differs from every
# expected file) and <name>/ (its scratch files and logs). An expected file
# may have alternatives <name>_1.out, <name>_2.out, ... (a check skipped on
# a machine without a tool): the output must equal one of them. Prints one
# line per test, "<name> ... ok" or "<name> ... FAILED", and exits 1 if any
# failed. A test that cannot run on this server prints "1..0 # SKIP reason":
# "<name> ... skipped: reason", not a failure here (make test counts it as one).
#
# The server: libpq's PGHOST, PGPORT, PGUSER; without PGHOST the dev server
# of `make run`. make test runs each file through this script on its
# throwaway cluster (test/tools/run-tests.sh, suite outside).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
RESULTS=${OUTSIDE_RESULTS:-$ROOT/test/results/outside}
export OUTSIDE_RESULTS=$RESULTS
mkdir -p "$RESULTS"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in test/outside/*.sh; do
    name=$(basename "$f" .sh)
    case $name in lib|run|server_log) continue ;; esac
    names+=("$name")
  done
fi

failed=0
for name in "${names[@]}"; do
  name=${name%.sh}; name=${name##*/}
  if [ ! -f "test/outside/$name.sh" ] || [ ! -f "test/outside/expected/$name.out" ]; then
    echo "$name ... FAILED (no test/outside/$name.sh or test/outside/expected/$name.out)"
    failed=1; continue
  fi
  rm -f "$RESULTS/$name.diff"
  bash "test/outside/$name.sh" > "$RESULTS/$name.out" 2> "$RESULTS/$name.log"
  rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^1\.\.0 # SKIP' "$RESULTS/$name.out"; then
    echo "$name ... skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$RESULTS/$name.out")"
    continue
  fi
  same=
  for exp in test/outside/expected/"$name".out test/outside/expected/"$name"_[0-9].out; do
    [ -f "$exp" ] && cmp -s "$exp" "$RESULTS/$name.out" && { same=$exp; break; }
  done
  if [ -n "$same" ] && [ "$rc" -eq 0 ]; then
    echo "$name ... ok"
  else
    (cd "$RESULTS" && diff -u "$ROOT/test/outside/expected/$name.out" "$name.out") > "$RESULTS/$name.diff"
    [ -n "$same" ] && echo "(the output is as expected, but the test exited with status $rc)" >> "$RESULTS/$name.diff"
    echo "$name ... FAILED (${RESULTS#"$ROOT"/}/$name.diff)"
    failed=1
  fi
done
exit $failed
