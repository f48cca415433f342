#!/usr/bin/env bash
# Installs what startlijn needs on Debian 12 when it is missing. Safe to rerun:
# when every package is present it does nothing (no apt-get update). Deno (the
# relay tests) comes from the npm registry into a cache directory (test/tools/deno.sh).
set -euo pipefail

PKGS=(
  postgresql-15
  postgresql-server-dev-15
  postgresql-15-pgtap
  postgresql-15-cron
  libsodium-dev
  libtap-parser-sourcehandler-pgtap-perl
  build-essential
  pkg-config
  clang-14
  libclang-rt-14-dev
  python3
  openssl
  python3-psycopg2
  pgbouncer
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Deno for the relay tests (test/relay/), from the npm registry, into a cache directory
install_deno() {
  bash "$(dirname "$0")/deno.sh" install
}

if [ ${#missing[@]} -eq 0 ]; then
  install_deno
  exit 0
fi

echo "startlijn: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "startlijn: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the packaged cluster from being created and started: we run our own.
if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
  "${SUDO[@]}" mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | "${SUDO[@]}" tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "startlijn: packages installed"
install_deno
