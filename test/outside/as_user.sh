#!/usr/bin/env bash
# Acting as a user: make run's test/tools/as.sh and jwt.sh (docs/operations.md,
# "Acting as a user"). as.sh calls the API as PostgREST does (one transaction
# as authenticator, role and request.* set locally, read-only for STABLE
# functions, COMMIT as the caller); jwt.sh mints HS256 JWTs, which a standard
# library (npm's jose, installed into a temporary directory, nothing vendored)
# must accept. Both are test/driver/pgrst.py's command line (the e2e driver):
# they carry no SQL, caller resolution or JWT code of their own.
# The dev-only demo data (test/fixtures/demo_dev.sql) loads on top of demo.sql.
# Runs on any server with the extensions installed (its own database
# startlijn_asuser). Without npm or node, or offline, the jose check is
# skipped with a line that says so (expected/as_user_1.out).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
DB=startlijn_asuser
asdb=(env PGDATABASE="$DB" JWT_SECRET_FILE="$OUT/jwt-secret" PG_BIN="$PG_BIN")
(umask 077; head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$OUT/jwt-secret")

if make_test_db $DB > "$OUT/setup.log" 2>&1 &&
   "${PSQL[@]}" -d $DB -f test/fixtures/demo_dev.sql >> "$OUT/setup.log" 2>&1 &&
   "${PSQL[@]}" -d $DB -f test/fixtures/demo_dev.sql >> "$OUT/setup.log" 2>&1; then
  counts=$(sql $DB "SELECT (SELECT count(*) FROM payments.payments) || ' ' || (SELECT count(*) FROM capacity.items i WHERE NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t WHERE t.item_id = i.id) AND NOT EXISTS (SELECT 1 FROM startlijn.addon_variants v WHERE v.item_id = i.id)) || ' ' || (SELECT count(*) FROM tokens.purposes) || ' ' || (SELECT count(*) FROM startlijn.events) || ' ' || (SELECT count(*) FROM startlijn.ticket_types)" 2>> "$OUT/setup.log")
else
  counts="setup failed"
fi
same "demo_dev.sql loads on the demo data, once (6 payments, a capacity item, a token purpose, 3 events with 8 ticket types)" \
  "6 1 1 3 8" "$counts" "$REL/setup.log"

as() { "${asdb[@]}" bash test/tools/as.sh "$@" 2>> "$OUT/as.log"; }
j() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
got="$(as anna my_profile | j 'd["email"]') $(as anon audit_public_key | j 'd.startswith("startlijn")')"
got+=" $(as anon my_profile >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
got+=" $(as anna update_my_profile '{"phone": "+31612345777"}' | j 'd["phone"]')"
got+=" $(sql $DB "SELECT body::jsonb #>> '{actor,db_role}' FROM trail.entries
                   WHERE table_name = 'startlijn.profiles' AND actor_uid = '00000000-0000-4000-a000-000000000001'
                   ORDER BY id DESC LIMIT 1")"
got+=" $(as daan payments '{"organization_id": "00000000-0000-4000-b000-000000000001"}' | j 'len(d)')"
got+=" $(as eva payments '{"organization_id": "00000000-0000-4000-b000-000000000001"}' >/dev/null; echo $?)"
# STABLE functions run in a read-only transaction, others read-write
got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna my_profile 2>&1 >/dev/null | grep -c '^BEGIN .* READ ONLY;$')"
got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna update_my_profile '{}' 2>&1 >/dev/null | grep -c '^BEGIN .* READ WRITE;$')"
same "as.sh: a user's read and change (committed as authenticated), anon refused with 401, another tenant's payments refused; READ ONLY for STABLE functions" \
  "anna@loopgroep-utrecht.nl True 1 HTTP 401 (SQLSTATE PT401) +31612345777 authenticated 4 1 1 1" "$got" "$REL/as.log"

# every kind of caller, the headers argument, PostgREST's own errors, the login
got="$(as anna@loopgroep-utrecht.nl my_profile | j 'd["id"][-2:]')"
got+=" $(as 00000000-0000-4000-a000-000000000011 my_profile | j 'd["id"][-2:]')"
got+=" $(as '{"sub": "00000000-0000-4000-a000-000000000002"}' my_profile | j 'd["id"][-2:]')"
got+=" $(as service audit_public_key | j 'd.startswith("startlijn")')"
got+=" $(as anna update_my_profile '{"phone": "+31612345778"}' '{"X-Request-Id": "as-sh-1"}' | j 'd["phone"]')"
got+=" $(sql $DB "SELECT (body::jsonb #>> '{request,request_id}') || ',' || (body::jsonb #>> '{request,user_agent}')
                   FROM trail.entries WHERE table_name = 'startlijn.profiles'
                    AND actor_uid = '00000000-0000-4000-a000-000000000001' ORDER BY id DESC LIMIT 1")"
got+=" $(as anna no_such_function >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
got+=" $(as anna my_profile '{"nope": 1}' >/dev/null; echo $?) $(tail -1 "$OUT/as.log")"
got+=" $(as zoe my_profile >/dev/null; echo $?)"
got+=" $(AS_SHOW_SQL=1 "${asdb[@]}" bash test/tools/as.sh anna my_profile 2>&1 >/dev/null | head -1)"
got+=" $(cat test/tools/as.sh test/tools/jwt.sh test/tools/devapi.sh | grep -v '^ *#' | grep -cE 'set_config|to_record|startlijn\.profiles|hmac|sha256|base64')"
same "as.sh: an email, a profile id, claims, service; headers reach the audit trail; PGRST202; logs in as authenticator; no SQL of its own" \
  "01 11 02 True +31612345778 as-sh-1,startlijn-as.sh 1 HTTP 404 (PGRST202) 1 HTTP 404 (PGRST202) 2 -- logged in as authenticator 0" \
  "$got" "$REL/as.log"

# the README's catalog commands on the demo catalog
got="$(as anon events | j 'len(d)') $(as anon event '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}' | j 'len(d["ticket_types"])')"
got+=" $(as anon event '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027", "access_code": "LOOPGROEP-2027"}' | j 'len(d["ticket_types"])')"
same "as.sh anon events/event: the demo catalog (2 published events; 4 public ticket types, 5 with the club code)" \
  "2 4 5" "$got" "$REL/as.log"

# the README's checkout commands on the demo orders
got="$(as kim my_registrations | j '[r["status"] + ":" + str(bool(r["code"])) for r in d]')"
got+=" $(as joost my_orders | j '[o["status"] + ":" + o["payment"]["provider_ref"] for o in d]')"
same "as.sh kim my_registrations, joost my_orders: the demo orders (a paid entry with its code, an order waiting for payment)" \
  "['paid:True'] ['pending:pi_demo_order_c']" "$got" "$REL/as.log"

# JWTs: as.sh verifies them as PostgREST does and takes their claims
token=$("${asdb[@]}" bash test/tools/jwt.sh anna 2>> "$OUT/as.log")
# a changed signature: its last character (16 possible values) replaced by another one
if [ "${token: -1}" = A ]; then bad=${token%?}Q; else bad=${token%?}A; fi
got="$(as "$token" my_profile | j 'd["id"]') $(as "$bad" my_profile >/dev/null; echo $?)"
same "as.sh with a minted JWT acts as its subject; a JWT with a changed signature is refused" \
  "00000000-0000-4000-a000-000000000001 1" "$got" "$REL/as.log"

# ... and a standard JWT library agrees
jose_skipped="# skipped: the jose check (no npm or node on this machine, or 'npm install jose' failed)"
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "$jose_skipped"; note "no npm/node on this machine to install jose and check the JWTs with it"
elif ! npm install --prefix "$OUT/jose" --no-audit --no-fund --no-save --silent jose@6 > "$OUT/npm.log" 2>&1; then
  echo "$jose_skipped"; note "'npm install jose' failed, offline? ($REL/npm.log)"
else
  {
    echo "ANNA=$token"
    echo "ANON=$("${asdb[@]}" bash test/tools/jwt.sh anon)"
    echo "OLD=$("${asdb[@]}" JWT_TTL=-60 bash test/tools/jwt.sh bram)"
    echo "FOREIGN=$(head -c 48 /dev/urandom | base64 -w0 > "$OUT/other-secret"; env PGDATABASE=$DB JWT_SECRET_FILE="$OUT/other-secret" PG_BIN="$PG_BIN" bash test/tools/jwt.sh kim)"
  } > "$OUT/tokens.env" 2>> "$OUT/as.log"
  cat > "$OUT/jose/verify.mjs" <<'JS'
import { jwtVerify } from 'jose'
import { readFileSync } from 'node:fs'
const dir = process.argv[2]
const t = Object.fromEntries(readFileSync(dir + '/tokens.env', 'utf8').trim().split('\n').map(l => l.split('=')))
const key = new TextEncoder().encode(readFileSync(dir + '/jwt-secret', 'utf8').trim())
const opts = { algorithms: ['HS256'], audience: 'authenticated' }
const out = []
const { payload: a, protectedHeader: h } = await jwtVerify(t.ANNA, key, opts)
const now = Math.floor(Date.now() / 1000)
out.push(h.alg, a.sub, a.role, a.email, a.aud, a.exp - a.iat, a.exp > now && a.iat <= now + 5)
const { payload: n } = await jwtVerify(t.ANON, key, { algorithms: ['HS256'] })
out.push(n.role, n.sub === undefined)
for (const name of ['OLD', 'FOREIGN']) {
  try { await jwtVerify(t[name], key, opts); out.push(name + ':accepted') } catch (e) { out.push(name + ':' + e.code) }
}
console.log(out.join(' '))
JS
  got=$(cd "$OUT/jose" && node verify.mjs "$OUT" 2>> "$OUT/as.log")
  note "jose $(node -p "require('$OUT/jose/node_modules/jose/package.json').version")"
  same "jose verifies jwt.sh's tokens (HS256, sub, role, email, aud, exp); expired and foreign ones refused" \
    "HS256 00000000-0000-4000-a000-000000000001 authenticated anna@loopgroep-utrecht.nl authenticated 3600 true anon true OLD:ERR_JWT_EXPIRED FOREIGN:ERR_JWS_SIGNATURE_VERIFICATION_FAILED" \
    "$got" "$REL/as.log, $REL/jose/"
fi
done_testing
