#!/usr/bin/env bash
# Mint a JWT for the dev server's PostgREST (development only):
#
#   TOKEN=$(test/tools/jwt.sh anna)
#   curl "$API/rpc/my_profile" -H "Authorization: Bearer $TOKEN"
#
#   WHO   a demo user's first name (anna, bram, ... sanne), an email, a profile
#         id, anon (like Supabase's anon key), service (the service role) or a
#         JSON object of claims
#
# HS256 with the secret `make run` generated (.pgdata/jwt-secret, also the
# jwt-secret of .pgdata/postgrest.conf); claims as Supabase Auth issues them:
# sub (the profile id), role authenticated, email, aud authenticated, iat,
# exp (JWT_TTL seconds, default 3600). Minted by test/driver/pgrst.py --token
# (python3's standard library; no network).
set -euo pipefail
# shellcheck source=devapi.sh
. "$(dirname "$0")/devapi.sh"

if [ $# -ne 1 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
devapi_env
if [ ! -s "$JWT_SECRET_FILE" ]; then
  echo "jwt.sh: no JWT secret in $JWT_SECRET_FILE: run 'make run' first" >&2; exit 1
fi
devapi_driver --token --ttl "${JWT_TTL:-3600}" --as "$1"
