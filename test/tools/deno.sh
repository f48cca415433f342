#!/usr/bin/env bash
# Deno for the relay tests (test/relay/, docs/relays.md), from the npm
# registry's `deno` package (its platform package carries the binary), kept
# in a cache directory outside the checkout:
#   ${STARTLIJN_CACHE:-${XDG_CACHE_HOME:-~/.cache}/startlijn}/deno-<version>
#
#   test/tools/deno.sh install    install it when missing (test/tools/deps.sh does)
#   test/tools/deno.sh path       print the binary's path (exit 1 when not installed)
#   test/tools/deno.sh ARGS...    run it
set -euo pipefail

DENO_VERSION=2.9.6
CACHE=${STARTLIJN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/startlijn}
DIR=$CACHE/deno-$DENO_VERSION

deno_bin() {
  local b
  b=$(find "$DIR/node_modules/@deno" -mindepth 2 -maxdepth 2 -type f -name deno 2>/dev/null | head -1)
  [ -n "$b" ] && [ -x "$b" ] && "$b" --version 2>/dev/null | grep -q "^deno $DENO_VERSION " && echo "$b"
}

case "${1:-}" in
  install)
    deno_bin >/dev/null && exit 0
    if ! command -v npm >/dev/null 2>&1; then
      echo "startlijn: installing npm (for deno)"
      if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
      "${SUDO[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    echo "startlijn: installing deno $DENO_VERSION from the npm registry into $DIR"
    mkdir -p "$DIR"
    npm install --prefix "$DIR" --no-audit --no-fund --no-save --silent "deno@$DENO_VERSION" >/dev/null
    deno_bin >/dev/null || { echo "startlijn: no deno $DENO_VERSION binary for this platform in $DIR" >&2; exit 1; }
    ;;
  path)
    deno_bin
    ;;
  *)
    b=$(deno_bin) || { echo "deno $DENO_VERSION is not installed: run test/tools/deno.sh install" >&2; exit 1; }
    exec "$b" "$@"
    ;;
esac
