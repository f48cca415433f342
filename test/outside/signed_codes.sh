#!/usr/bin/env bash
# Signed codes verified offline (docs/tokens.md, "Verifying offline, worked
# through"): docs/examples/verify_code.py checks base45, the byte layout, the
# Ed25519 signature (openssl) and the revocation list of
# tokens.scanner_bundle(), as a scanner app would. Runs on any server with the
# extensions installed (its own database startlijn_codes).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
DB=startlijn_codes

if ! make_test_db $DB > "$OUT/setup.log" 2>&1; then
  fail "a test database" "($REL/setup.log)"; done_testing; exit 1
fi
q() { sql $DB "$1" 2>> "$OUT/setup.log"; }
q "SELECT tokens.signing_key('outside-event')" >/dev/null
c1=$(q "SELECT tokens.sign_code('outside-event', '\\x00112233445566778899aabbccddeeff')")
q "SELECT tokens.rotate_signing_key('outside-event')" >/dev/null
c2=$(q "SELECT tokens.sign_code('outside-event', '\\x00112233445566778899aabbccddeeff')")
c3=$(q "SELECT tokens.sign_code('outside-event', decode(repeat('ab', 32), 'hex'))")
q "SELECT tokens.scanner_bundle('outside-event')" > "$OUT/bundle.json"
# one character of the signature part changed
forged="${c3:0:100}$( [ "${c3:100:1}" = "0" ] && echo 1 || echo 0 )${c3:101}"
# admitted CODE: verify_code.py admits it
admitted() { echo "== $1" >> "$OUT/codes.log"; python3 docs/examples/verify_code.py outside-event "$OUT/bundle.json" "$1" >> "$OUT/codes.log" 2>&1; }
where="($REL/codes.log, $REL/bundle.json)"

if [ -n "$c1" ] && ! admitted "$c1"; then pass "the first version of a re-issued code is refused (revoked in the bundle)"
else fail "the first version of a re-issued code is refused (revoked in the bundle)" "$where"; fi
if admitted "$c2"; then pass "the re-issued code, signed with the rotated key, is admitted"
else fail "the re-issued code, signed with the rotated key, is admitted" "$where"; fi
if admitted "$c3"; then pass "a code with a 32-byte payload is admitted"
else fail "a code with a 32-byte payload is admitted" "$where"; fi
if [ "$forged" != "$c3" ] && ! admitted "$forged"; then pass "that code with one character changed is refused"
else fail "that code with one character changed is refused" "$where"; fi
note "32-byte payload = ${#c3} characters"
same "a code with a 32-byte payload fits in 154 characters" yes "$([ -n "$c3" ] && [ "${#c3}" -le 154 ] && echo yes || echo "no: ${#c3}")" "$where"
done_testing; exit
