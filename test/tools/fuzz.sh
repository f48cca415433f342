#!/usr/bin/env bash
# The libFuzzer targets of test/fuzz, built with ASan+UBSan (clang and
# libclang-rt-14-dev), with their committed seed corpora in
# test/fuzz/corpus/<target>/ (test/fuzz/corpus/seeds.py writes them).
#
#   fuzz.sh replay     every corpus file once through its target: fast and
#                      deterministic (the fuzz suite of make test)
#   fuzz.sh SECONDS    fuzz each target for SECONDS (default 20), starting from
#                      its corpus; what it finds goes to test/results/fuzz/<target>/
#                      (make fuzz; make test-reliability with FUZZ_SECONDS)
#
# FUZZ_TARGETS="fuzz_webhook ..." limits the run to these targets.
# One TAP-like line per target: "ok - fuzz_x: ..." or "not ok - fuzz_x (log)".
# A crash leaves its input as test/results/fuzz/crash-<target>-<sha1>: copy it
# to test/fuzz/corpus/<target>/crash-<what> and add a unit test (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-20}
CLANG=$(command -v clang-14 || command -v clang || true)
if [ -z "$CLANG" ] || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
  CLANG=$(command -v clang-14)
fi
mkdir -p test/results/fuzz
# build every target first, two at a time
export CLANG
targets() {
  local src
  for src in test/fuzz/fuzz_*.c; do
    if [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $(basename "$src" .c) "* ]]; then echo "$src"; fi
  done
}
targets | xargs -P 2 -I{} sh -c \
  '"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -o "${1%.c}.bin" "$1" src/common/*.c -lsodium' _ {}
for src in $(targets); do
  name=$(basename "$src" .c)
  bin=test/fuzz/$name.bin
  seeds=test/fuzz/corpus/$name
  log=test/results/fuzz/$name.log
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "not ok - $name: no seed corpus in $seeds"
    continue
  fi
  if [ "$mode" = replay ]; then
    n=$(find "$seeds" -type f | wc -l)
    if "$bin" -artifact_prefix="test/results/fuzz/crash-$name-" "$seeds"/* > "$log" 2>&1 &&
       [ "$(grep -c '^Executed ' "$log")" -eq "$n" ]; then
      echo "ok - $name: $n corpus files replayed"
    else
      grep -E 'ERROR|SUMMARY|Running: ' "$log" | tail -5 | sed 's/^/# /'
      echo "not ok - $name: corpus replay ($log)"
    fi
  else
    out=test/results/fuzz/$name
    mkdir -p "$out"
    echo "== $name (${mode}s, from $(find "$seeds" -type f | wc -l) seeds)"
    if "$bin" -max_total_time="$mode" -max_len=2048 -print_final_stats=1 \
         -artifact_prefix="test/results/fuzz/crash-$name-" "$out" "$seeds" > "$log" 2>&1; then
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
      cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
      echo "ok - $name: ${runs:-?} executions in ${mode} s, ${cov:-cov: ?}, $(find "$out" -type f | wc -l) new inputs"
    else
      grep -E 'ERROR|SUMMARY|Test unit written' "$log" | sed 's/^/# /'
      echo "not ok - $name: a crash ($log)"
    fi
  fi
done
