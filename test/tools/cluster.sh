# shellcheck shell=bash
# Helpers to create, start and stop private PostgreSQL clusters.
# Sourced by dev.sh, run-tests.sh and bench.sh.

PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
PGXS_DIR=$("$PG_BIN/pg_config" --pkglibdir)/pgxs

# PostgreSQL refuses to run as root: as root, run the server as `postgres`.
if [ "$(id -u)" -eq 0 ]; then
  SERVER_USER=postgres
  as_server() { runuser -u postgres -- "$@"; }
else
  SERVER_USER=$(id -un)
  as_server() { "$@"; }
fi

# sudo only when needed (make install into the system PostgreSQL)
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# A TCP port on 127.0.0.1 that nothing listens on (random start, 200 tries).
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  echo "no free port found" >&2; return 1
}

# cluster_init DATADIR SOCKDIR PORT LISTEN [extra postgresql.conf lines...]
cluster_init() {
  local data=$1 sock=$2 port=$3 listen=$4; shift 4
  mkdir -p "$data" "$sock"
  if [ "$(id -u)" -eq 0 ]; then chown "$SERVER_USER" "$data" "$sock"; fi
  chmod 700 "$data"
  as_server "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 ${PWFILE:+--pwfile="$PWFILE"} >/dev/null
  {
    echo "# startlijn"
    echo "port = $port"
    echo "listen_addresses = '$listen'"
    echo "unix_socket_directories = '$sock'"
    echo "unix_socket_permissions = 0770"
    echo "shared_preload_libraries = 'pg_cron,startlijn'"
    echo "max_connections = 120"
    echo "max_prepared_transactions = 10"
    for line in "$@"; do echo "$line"; done
  } | as_server tee -a "$data/postgresql.conf" >/dev/null
}

cluster_start() {
  local data=$1 log=$2
  # the server must not inherit our descriptors beyond stdio: a lock taken
  # with flock(1) around `make run` would otherwise be held by the server
  as_server "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
}

cluster_stop() {
  local data=$1
  [ -f "$data/postmaster.pid" ] || return 0
  as_server "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || \
    as_server "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
}

cluster_running() {
  local data=$1
  [ -f "$data/postmaster.pid" ] && as_server "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# Build with -Werror and install into the system PostgreSQL.
build_and_install() {
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  make -s -j"$jobs" all >/dev/null
  if [ "$(id -u)" -eq 0 ]; then
    make -s install >/dev/null
  else
    sudo make -s install >/dev/null
  fi
}
