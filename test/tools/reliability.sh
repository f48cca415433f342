#!/usr/bin/env bash
# make test-reliability: what takes longer than make test (docs/reliability.md).
#   - each libFuzzer target of test/fuzz for FUZZ_SECONDS (default 60), from
#     its committed seed corpus (test/tools/fuzz.sh);
#   - the full bad-input matrix over every api function, as anon, a
#     participant, an owner and the service role (test/tools/bad_input.py);
#   - crash and storm with a STORM_SECONDS (default 600) storm (test/tools/storm.sh).
# Runs on a throwaway cluster through test/tools/run-tests.sh; ends with one
# line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export STORM_SECONDS=${STORM_SECONDS:-600}
start=$(date +%s)
rc=0
SUITES=${RELIABILITY_SUITES:-"fuzz-long bad-input storm"} bash test/tools/run-tests.sh || rc=$?
echo "make test-reliability: $(( $(date +%s) - start )) s (FUZZ_SECONDS=$FUZZ_SECONDS, STORM_SECONDS=$STORM_SECONDS)"
exit $rc
