#!/usr/bin/env bash
# Audit entries verified outside the database (docs/audit.md, "Worked
# example"): docs/examples/verify_entry.py checks each sealed entry's leaf
# hash, RFC 9162 inclusion proof, checkpoint text and Ed25519 signature with
# Python's standard library and openssl; a changed byte and a foreign key
# must be refused. Runs on any server with the extensions installed (its own
# database startlijn_outside).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
outside_begin
DB=startlijn_outside

if ! make_test_db $DB > "$OUT/setup.log" 2>&1 || ! sql $DB "SELECT trail.seal()" >> "$OUT/setup.log" 2>&1; then
  fail "a sealed test database" "($REL/setup.log)"; done_testing; exit 1
fi
q() { sql $DB "$1"; }
vkey=$(q "SELECT trail.public_key()")
# body ID: the entry's canonical body, bytes as stored (psql's newline removed)
body() { q "SELECT body FROM trail.entries WHERE id = $1" | head -c -1; }
verify() { python3 docs/examples/verify_entry.py "$OUT/body" "$OUT/proof.json" "$1" >> "$OUT/verify.log" 2>&1; }

ok=0; bad=()
for id in $(q "SELECT entry_id FROM trail.leaves ORDER BY entry_id"); do
  body "$id" > "$OUT/body"
  q "SELECT trail.inclusion_proof($id)" > "$OUT/proof.json"
  if verify "$vkey"; then ok=$((ok + 1)); else bad+=("$id"); fi
done
note "$ok entries verified with openssl and python3"
if [ "$ok" -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
  pass "every sealed entry verifies outside the database (leaf hash, inclusion proof, checkpoint, signature)"
else
  fail "every sealed entry verifies outside the database (leaf hash, inclusion proof, checkpoint, signature)" \
    "$ok verified, entries not verifying: ${bad[*]:-none} (none at all: no leaves?) ($REL/verify.log)"
fi

# the first entry with one changed byte, then intact against a foreign key
id=$(q "SELECT min(entry_id) FROM trail.leaves")
body "$id" | sed 's/"v":1/"v":2/' > "$OUT/body"
q "SELECT trail.inclusion_proof($id)" > "$OUT/proof.json"
if ! verify "$vkey"; then pass "an entry with a changed byte is refused"
else fail "an entry with a changed byte is refused" "verify_entry.py accepted it ($REL/verify.log)"; fi
body "$id" > "$OUT/body"
other="example.org/other+$(python3 -c 'import hashlib,base64,os;k=os.urandom(32);print(hashlib.sha256(b"example.org/other\n\x01"+k).digest()[:4].hex()+"+"+base64.b64encode(b"\x01"+k).decode())')"
if ! verify "$other"; then pass "an intact entry is refused under a foreign verifier key"
else fail "an intact entry is refused under a foreign verifier key" "verify_entry.py accepted it ($REL/verify.log)"; fi
done_testing; exit
