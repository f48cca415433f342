# shellcheck shell=bash
# Shared by as.sh and jwt.sh (development only, never installed): who the
# caller is (the claims PostgREST would read from the JWT), where the
# database is, and HS256 JWTs with python3's standard library.
#
# Connection: the dev server of `make run` (.pgdata/), unless PGHOST is set,
# then the usual PGHOST, PGPORT, PGDATABASE (default startlijn). Lookups run
# as PGUSER (default postgres, a superuser: the "auth server"); requests log
# in as AS_LOGIN (default authenticator, the role PostgREST logs in as).
# The JWT secret: JWT_SECRET_FILE (default .pgdata/jwt-secret).

DEVAPI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

devapi_env() {
  if [ -z "${PGHOST:-}" ]; then
    if [ ! -f "$DEVAPI_ROOT/.pgdata/port" ]; then
      echo "no dev server: run 'make run' first (or set PGHOST, PGPORT, PGDATABASE)" >&2
      return 1
    fi
    export PGHOST=$DEVAPI_ROOT/.pgdata/run PGPORT
    PGPORT=$(cat "$DEVAPI_ROOT/.pgdata/port")
  fi
  export PGDATABASE=${PGDATABASE:-startlijn}
  SUPER=${PGUSER:-postgres}
  AS_LOGIN=${AS_LOGIN:-authenticator}
  JWT_SECRET_FILE=${JWT_SECRET_FILE:-$DEVAPI_ROOT/.pgdata/jwt-secret}
}

devapi_psql() { "$PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -U "$SUPER" "$@"; }

# devapi_new_secret FILE: 48 random bytes as 64 URL-safe characters (PostgREST
# uses jwt-secret's characters as the HMAC key and wants at least 32)
devapi_new_secret() {
  (umask 077; head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$1")
}

# devapi_claims WHO: the JWT claims of a caller, as JSON (without iat/exp).
# WHO: anon | service | a demo user's lowercase first name (anna) | an email |
# a profile id | a JSON object of claims (role defaults to authenticated)
devapi_claims() {
  local who=$1
  case "$who" in
    anon) echo '{"role": "anon"}'; return ;;
    service) echo '{"role": "service_role"}'; return ;;
    '{'*) python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c.setdefault("role", "authenticated"); print(json.dumps(c))' "$who"
          return ;;
  esac
  devapi_psql -v who="$who" <<'SQL'
SELECT COALESCE(
         (SELECT jsonb_strip_nulls(jsonb_build_object('sub', p.id, 'role', 'authenticated', 'email', p.email,
                                                      'aud', 'authenticated'))::text
            FROM startlijn.profiles p
           WHERE p.id::text = :'who' OR p.email = :'who' OR lower(split_part(p.full_name, ' ', 1)) = :'who'
           ORDER BY p.id LIMIT 1),
         -- a profile id not known yet: a brand-new user
         CASE WHEN :'who' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              THEN jsonb_build_object('sub', :'who', 'role', 'authenticated', 'aud', 'authenticated')::text END)
SQL
}

# devapi_python mint SECRET_FILE CLAIMS TTL | verify SECRET_FILE JWT: HS256
devapi_python() {
  python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, sys, time

def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def unb64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

cmd, secret_file = sys.argv[1], sys.argv[2]
key = open(secret_file, "rb").read().strip()
if cmd == "mint":                      # mint CLAIMS TTL
    claims = json.loads(sys.argv[3])
    now = int(time.time())
    claims.setdefault("iat", now)
    claims.setdefault("exp", now + int(sys.argv[4]))
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()
    print(head + "." + body + "." + b64(sig))
elif cmd == "verify":                  # verify JWT: its claims, as PostgREST checks them
    try:
        head, body, sig = sys.argv[3].split(".")
        if json.loads(unb64(head)).get("alg") != "HS256":
            raise ValueError("not HS256")
        good = hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(good, unb64(sig)):
            raise ValueError("JWSInvalidSignature")
        claims = json.loads(unb64(body))
        if "exp" in claims and claims["exp"] <= time.time():
            raise ValueError("JWT expired")
    except ValueError as e:
        print("401 %s" % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(claims))
PY
}
