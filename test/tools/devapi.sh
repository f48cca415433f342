# shellcheck shell=bash
# Shared by as.sh and jwt.sh (development only, never installed): where the
# database is, and the one implementation both call, the PostgREST-exact
# driver test/driver/pgrst.py (who a caller is, HS256 JWTs, the statements
# PostgREST sends; docs/operations.md, "Calling the API as PostgREST does").
#
# Connection: the dev server of `make run` (.pgdata/), unless PGHOST is set,
# then the usual PGHOST, PGPORT, PGDATABASE (default startlijn). Lookups (the
# schema cache, demo users) run as PGUSER (default postgres, a superuser: the
# "auth server"); calls log in as AS_LOGIN (default authenticator, the role
# PostgREST logs in as). The JWT secret: JWT_SECRET_FILE (default
# .pgdata/jwt-secret, PostgREST's jwt-secret).

DEVAPI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

devapi_env() {
  if [ -z "${PGHOST:-}" ]; then
    if [ ! -f "$DEVAPI_ROOT/.pgdata/port" ]; then
      echo "no dev server: run 'make run' first (or set PGHOST, PGPORT, PGDATABASE)" >&2
      return 1
    fi
    export PGHOST=$DEVAPI_ROOT/.pgdata/run PGPORT
    PGPORT=$(cat "$DEVAPI_ROOT/.pgdata/port")
  fi
  export PGDATABASE=${PGDATABASE:-startlijn} PGUSER=${PGUSER:-postgres}
  AS_LOGIN=${AS_LOGIN:-authenticator}
  JWT_SECRET_FILE=${JWT_SECRET_FILE:-$DEVAPI_ROOT/.pgdata/jwt-secret}
}

# devapi_driver ARGS...: test/driver/pgrst.py's command line, logging in as
# AS_LOGIN, with the JWT secret of JWT_SECRET_FILE (without one, the driver's
# test secret: then only JWTs it minted itself verify)
devapi_driver() {
  local secret=()
  [ -s "$JWT_SECRET_FILE" ] && secret=(--jwt-secret-file "$JWT_SECRET_FILE")
  python3 "$DEVAPI_ROOT/test/driver/pgrst.py" --login "$AS_LOGIN" "${secret[@]}" "$@"
}
