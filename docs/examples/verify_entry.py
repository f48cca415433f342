#!/usr/bin/env python3
"""Verify a startlijn audit entry outside the database, with standard tools.

Usage: verify_entry.py ENTRY_BODY_FILE PROOF_JSON_FILE VKEY
       verify_entry.py - PROOF_JSON_FILE VKEY

  ENTRY_BODY_FILE  the entry's canonical body (trail.entries.body), bytes as stored;
                   "-" takes them from the proof's body_base64 (api.audit_proof
                   returns them, so a verifier with API access alone needs no
                   database: re-encoding the parsed entry would not give the
                   same bytes, e.g. for a number like 0.14285714285714285714)
  PROOF_JSON_FILE  the output of api.audit_proof / trail.inclusion_proof
  VKEY             the verifier key (api.audit_public_key), name+keyid+base64

Checks, using only Python's standard library and the openssl command line:
  1. leaf hash = SHA-256(0x00 || body) equals the proof's leaf hash
  2. the RFC 9162 inclusion proof leads from the leaf to the root
  3. the checkpoint text is origin, tree size and that root
  4. the checkpoint carries a signature of VKEY's key (key ID rule of
     c2sp.org/signed-note), and openssl verifies the Ed25519 signature
Exit status 0 when everything holds.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2, literally."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main():
    proof = json.load(open(sys.argv[2]))
    if sys.argv[1] == "-":
        body = base64.b64decode(proof["body_base64"])
    else:
        body = open(sys.argv[1], "rb").read()
    # key names never contain "+", base64 may: split from the left
    name, keyid_hex, key_b64 = sys.argv[3].split("+", 2)
    typed = base64.b64decode(key_b64)
    assert typed[0] == 0x01 and len(typed) == 33, "not an Ed25519 verifier key"
    pub = typed[1:]

    leaf = hashlib.sha256(b"\x00" + body).digest()
    assert leaf == base64.b64decode(proof["leaf_hash"]), "1. leaf hash differs"
    path = [base64.b64decode(h) for h in proof["proof"]]
    root = base64.b64decode(proof["root"])
    assert verify_inclusion(proof["leaf_index"], proof["tree_size"], leaf, path, root), "2. proof fails"

    note = proof["checkpoint"].encode()
    text, sigs = note.split(b"\n\n", 1)[0] + b"\n", note.split(b"\n\n", 1)[1]
    want = "%s\n%d\n%s\n" % (proof["origin"], proof["tree_size"], proof["root"])
    assert text == want.encode(), "3. checkpoint text differs"

    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    assert key_id.hex() == keyid_hex, "vkey key ID does not follow the signed-note rule"
    sig = None
    for line in sigs.decode().splitlines():
        dash, signer, blob = line.split(" ")
        raw = base64.b64decode(blob)
        if dash == "\u2014" and signer == name and raw[:4] == key_id:
            sig = raw[4:]
    assert sig is not None, "4. no signature of this key"
    with tempfile.TemporaryDirectory() as d:
        der = bytes.fromhex("302a300506032b6570032100") + pub      # SubjectPublicKeyInfo, Ed25519
        pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"
        for fname, data in (("pub.pem", pem), ("text", text), ("sig", sig)):
            with open(os.path.join(d, fname), "wb") as f:
                f.write(data)
        ok = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", os.path.join(d, "pub.pem"),
                             "-rawin", "-in", os.path.join(d, "text"), "-sigfile", os.path.join(d, "sig")],
                            capture_output=True)
        assert ok.returncode == 0, "4. openssl rejects the signature: " + ok.stdout.decode() + ok.stderr.decode()
    print("ok: entry is leaf %d of %s (size %d), signed by %s+%s"
          % (proof["leaf_index"], proof["origin"], proof["tree_size"], name, keyid_hex))


if __name__ == "__main__":
    main()
