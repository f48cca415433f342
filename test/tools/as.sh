#!/usr/bin/env bash
# Call an api function as a user, exactly as PostgREST does for
# POST /rpc/<fn> (development only; nothing is installed in the database):
#
#   test/tools/as.sh WHO FN ['{"arg": value, ...}'] ['{"header": "value", ...}']
#
#   WHO   anon | service | a demo user's first name (anna, bram, ... sanne) |
#         an email | a profile id | a JSON object of claims | a JWT
#         (test/tools/jwt.sh anna): verified with .pgdata/jwt-secret like
#         PostgREST, its claims used as they are
#   FN    a function of schema api; the JSON body becomes named arguments,
#         typed from the function's declaration (a function with one unnamed
#         json parameter, a webhook, gets the body verbatim)
#
# The call is test/driver/pgrst.py's (the driver of the e2e tests; its header
# and docs/operations.md list the statements): logged in as authenticator,
# one transaction (READ ONLY for STABLE functions) that sets search_path, role,
# request.jwt.claims, request.method, request.path, request.headers and
# request.cookies with set_config(..., true), calls api.FN with named
# arguments, and COMMITs with the caller's role still current.
# Prints the JSON result; on an error prints PostgreSQL's message, detail and
# hint and the HTTP status PostgREST answers, and exits 1.
# AS_SHOW_SQL=1 prints the statements as they are sent. Against another
# database: set PGHOST, PGPORT, PGDATABASE (and JWT_SECRET_FILE).
set -euo pipefail
# shellcheck source=devapi.sh
. "$(dirname "$0")/devapi.sh"

if [ $# -lt 2 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
who=$1 fn=$2 body=${3:-'{}'} headers=${4:-'{}'}
devapi_env
sql=()
[ "${AS_SHOW_SQL:-}" = 1 ] && sql=(--sql)
devapi_driver --plain "${sql[@]}" --as "$who" -H 'User-Agent: startlijn-as.sh' --headers "$headers" \
  POST "/rpc/$fn" "$body"
