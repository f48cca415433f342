#!/usr/bin/env bash
# make fuzz: build every libFuzzer target in test/fuzz with ASan+UBSan and run
# each for FUZZ_SECONDS (default 20). Needs clang and libclang-rt-14-dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
CLANG=$(command -v clang-14 || command -v clang || true)
if [ -z "$CLANG" ] || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
  CLANG=$(command -v clang-14)
fi
mkdir -p test/results/fuzz
for src in test/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  bin=test/fuzz/$name.bin
  "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc -o "$bin" "$src" src/common/*.c -lsodium
  corpus=test/results/fuzz/$name
  mkdir -p "$corpus"
  echo "== $name (${seconds}s)"
  if "$bin" -max_total_time="$seconds" -max_len=512 "$corpus" > "test/results/fuzz/$name.log" 2>&1; then
    echo "ok - $name: $(grep -Eo 'Done [0-9]+ runs' "test/results/fuzz/$name.log")"
  else
    grep -E 'ERROR|SUMMARY|Test unit written' "test/results/fuzz/$name.log" | sed 's/^/# /'
    echo "not ok - $name (test/results/fuzz/$name.log)"
  fi
done
