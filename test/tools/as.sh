#!/usr/bin/env bash
# Call an api function as a user, from psql, exactly as PostgREST does for
# POST /rpc/<fn> (development only; nothing is installed in the database):
#
#   test/tools/as.sh WHO FN ['{"arg": value, ...}'] ['{"header": "value", ...}']
#
#   WHO   anon | service | a demo user's first name (anna, bram, ... sanne) |
#         an email | a profile id | a JWT (test/tools/jwt.sh anna): verified
#         with .pgdata/jwt-secret like PostgREST, its claims used as they are
#   FN    a function of schema api; the JSON body becomes named arguments,
#         typed from the function's declaration (a function with one unnamed
#         json parameter, a webhook, gets the body verbatim)
#
# One transaction, as the role PostgREST logs in as (authenticator):
#   BEGIN (READ ONLY for STABLE functions);
#   set_config('search_path', '"api", "public"', true), set_config('role', <claims.role>, true),
#   set_config('request.jwt.claims', <claims>, true), set_config('request.headers', <headers>, true),
#   set_config('request.method', 'POST', true), set_config('request.path', '/rpc/FN', true);
#   SELECT api.FN(arg := _.arg, ...) FROM jsonb_to_record(<body>) AS _(arg type, ...);
#   COMMIT;                   -- with the caller's role still current
# Prints the JSON result; on an error prints PostgreSQL's message, detail and
# hint and the HTTP status PostgREST answers, rolls back, and exits 1.
# AS_SHOW_SQL=1 prints the statements first. Against another database: set
# PGHOST, PGPORT, PGDATABASE (and JWT_SECRET_FILE).
set -euo pipefail
# shellcheck source=devapi.sh
. "$(dirname "$0")/devapi.sh"

if [ $# -lt 2 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
who=$1 fn=$2 body=${3:-'{}'} headers=${4:-'{}'}
devapi_env

if [[ "$who" == *.*.* && "$who" != *@* ]]; then
  claims=$(devapi_python verify "$JWT_SECRET_FILE" "$who") || { echo "HTTP 401 (PostgREST rejects this JWT)" >&2; exit 1; }
else
  claims=$(devapi_claims "$who")
  if [ -z "$claims" ]; then echo "as.sh: unknown caller '$who' (anon, service, a demo user's first name, an email, a profile id or a JWT)" >&2; exit 2; fi
  now=$(date +%s)
  claims=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); n=int(sys.argv[2])
if c.get("role") != "anon": c.setdefault("iat", n); c.setdefault("exp", n + 3600)
print(json.dumps(c))' "$claims" "$now")
fi
role=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("role") or "anon")' "$claims")

# PostgREST's schema cache, for this one function: volatility and the statement
# (an unknown argument name is PostgREST's PGRST202, HTTP 404)
plan=$(devapi_psql -F $'\t' -v fn="$fn" -v body="$body" <<'SQL'
SELECT p.provolatile,
       -- one unnamed json parameter: the raw body, verbatim (webhooks)
       CASE WHEN p.pronargs = 1 AND p.proargtypes[0] = 'json'::regtype AND COALESCE(p.proargnames[1], '') = ''
            THEN format('SELECT to_jsonb(api.%I(%L::json))', p.proname, :'body')
            WHEN a.unknown IS NOT NULL THEN 'unknown:' || a.unknown
            WHEN p.proretset THEN format('SELECT COALESCE(jsonb_agg(to_jsonb(_r)), ''[]'') FROM %s api.%I(%s) _r',
                                         CASE WHEN a.coldefs IS NOT NULL
                                              THEN format('jsonb_to_record(%L::jsonb) AS _(%s), LATERAL', :'body', a.coldefs) ELSE '' END,
                                         p.proname, COALESCE(a.callargs, ''))
            ELSE format('SELECT to_jsonb(api.%I(%s))%s', p.proname, COALESCE(a.callargs, ''),
                        CASE WHEN a.coldefs IS NOT NULL THEN format(' FROM jsonb_to_record(%L::jsonb) AS _(%s)', :'body', a.coldefs) ELSE '' END)
       END
  FROM pg_proc p,
       LATERAL (SELECT string_agg(format('%I %s', k.key, format_type(t.typ, NULL)), ', ' ORDER BY k.key) FILTER (WHERE t.typ IS NOT NULL) AS coldefs,
                       string_agg(format('%I := _.%I', k.key, k.key), ', ' ORDER BY k.key) FILTER (WHERE t.typ IS NOT NULL) AS callargs,
                       string_agg(k.key, ', ') FILTER (WHERE t.typ IS NULL) AS unknown
                  FROM jsonb_object_keys(:'body'::jsonb) AS k(key)
                  LEFT JOIN LATERAL (
                    SELECT COALESCE(p.proallargtypes[i], (p.proargtypes::oid[])[i - 1]) AS typ
                      FROM generate_subscripts(p.proargnames, 1) AS i
                     WHERE p.proargnames[i] = k.key AND (p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b'))) t ON true) a
 WHERE p.pronamespace = 'api'::regnamespace AND p.proname = :'fn'
SQL
) || exit 1
if [ -z "$plan" ]; then
  echo "HTTP 404 PGRST202: Could not find the function api.$fn in the schema cache" >&2; exit 1
fi
volatility=${plan%%$'\t'*} call=${plan#*$'\t'}
if [[ "$call" == unknown:* ]]; then
  echo "HTTP 404 PGRST202: Could not find the function api.$fn(${call#unknown:}) in the schema cache" >&2; exit 1
fi
if [ "$volatility" = v ]; then access="READ WRITE"; else access="READ ONLY"; fi
headers=$(python3 -c 'import json,sys; h=json.loads(sys.argv[1])
print(json.dumps({"user-agent": "startlijn-as.sh", "content-type": "application/json", **{k.lower(): v for k, v in h.items()}}))' "$headers")

script=$(cat <<SQL
\\set SHOW_CONTEXT never
BEGIN ISOLATION LEVEL READ COMMITTED $access;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', :'role', true),
       set_config('request.jwt.claims', :'claims', true), set_config('request.headers', :'headers', true),
       set_config('request.method', 'POST', true), set_config('request.path', :'path', true) \g /dev/null
$call;
\if :ERROR
  \echo as.sh-error :LAST_ERROR_SQLSTATE
  ROLLBACK;
\else
  COMMIT;
\endif
SQL
)
if [ "${AS_SHOW_SQL:-}" = 1 ]; then
  printf -- '-- as %s (claims %s)\n%s\n' "$AS_LOGIN" "$claims" "$script" >&2
fi
out=$(printf '%s\n' "$script" | "$PG_BIN/psql" -X -q -tA -U "$AS_LOGIN" \
        -v role="$role" -v claims="$claims" -v headers="$headers" -v path="/rpc/$fn" -f -)
if [[ "$out" == *as.sh-error* ]]; then
  state=${out##*as.sh-error }
  case "$state" in
    PT[0-9][0-9][0-9]) status=${state#PT} ;;
    42501) if [ "$role" = anon ]; then status=401; else status=403; fi ;;
    23505|23503|40001) status=409 ;;
    P0001|23514|22*) status=400 ;;
    42883) status=404 ;;
    25006) status=405 ;;
    *) status=500 ;;
  esac
  echo "HTTP $status (SQLSTATE $state)" >&2
  exit 1
fi
printf '%s\n' "$out"
