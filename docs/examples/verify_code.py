#!/usr/bin/env python3
"""Verify a startlijn signed code offline, as a scanner app would.

    verify_code.py SCOPE BUNDLE.json CODE

BUNDLE.json is the output of tokens.scanner_bundle(scope): the scope's
public keys and its revocation list. Uses Python's standard library for
base45 (RFC 9285) and the byte layout, and the openssl command line for the
Ed25519 signature (RFC 8032). Prints the payload (hex) and version and exits
0 when the code is admitted; otherwise prints why and exits 1.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45_decode(text):
    if len(text) % 3 == 1:
        raise ValueError("length 3k+1 is not base45")
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = [ALPHABET.index(c) for c in text[i:i + 3]]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            if n > 0xFFFF:
                raise ValueError("triplet above 65535")
            out += bytes([n >> 8, n & 0xFF])
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise ValueError("pair above 255")
            out.append(n)
    return bytes(out)


def ed25519_verify(public_key, message, signature):
    # SubjectPublicKeyInfo for Ed25519 (RFC 8410): fixed 12-byte prefix + key
    der = bytes.fromhex("302a300506032b6570032100") + public_key
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("pub.der", "msg", "sig")}
        for name, data in (("pub.der", der), ("msg", message), ("sig", signature)):
            with open(paths[name], "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER",
                            "-inkey", paths["pub.der"], "-rawin", "-in", paths["msg"],
                            "-sigfile", paths["sig"]], capture_output=True)
        return r.returncode == 0


def main():
    scope, bundle_path, code = sys.argv[1], sys.argv[2], sys.argv[3]
    bundle = json.load(open(bundle_path))
    assert bundle["scope"] == scope, "the bundle is for another scope"
    raw = base45_decode(code)
    # format[1] key_id[2] version[2] payload[1..32] signature[64]
    if len(raw) < 5 + 1 + 64 or len(raw) > 5 + 32 + 64 or raw[0] != 0x01:
        print("malformed: not a format-1 code")
        return 1
    key_id = int.from_bytes(raw[1:3], "big")
    version = int.from_bytes(raw[3:5], "big")
    payload, signed, signature = raw[5:-64], raw[:-64], raw[-64:]
    keys = {k["key_id"]: base64.b64decode(k["public_key"]) for k in bundle["keys"]}
    if key_id not in keys:
        print("unknown_key: key %d is not (or no longer) in the bundle" % key_id)
        return 1
    message = b"startlijn-code:v1\n" + scope.encode() + b"\n" + signed
    if not ed25519_verify(keys[key_id], message, signature):
        print("bad_signature")
        return 1
    revoked_up_to = max([r["up_to_version"] for r in bundle["revocations"]
                         if base64.b64decode(r["payload"]) == payload] or [0])
    if version <= revoked_up_to:
        print("revoked: version %d, revoked up to %d" % (version, revoked_up_to))
        return 1
    print("valid payload=%s version=%d key_id=%d" % (payload.hex(), version, key_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
