#!/usr/bin/python3
"""Writes the committed seed corpus of every libFuzzer target (test/fuzz/fuzz_*.c)
into test/fuzz/corpus/<target>/: valid and near-valid inputs of each format,
named by what they are. Run it again after changing a seed below; the files
are committed, and `make test` replays each of them through its target
(test/tools/fuzz.sh replay). A crash found by `make test-reliability` is added
to the target's directory as crash-<what> (with a unit test in test/unit/).

The signed codes and the token were made by the implementation
(tokens.sign_code on a scratch database, test/unit/test_token.c's vector)."""

import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# tokens.sign_code('seed-scope', ...): payloads of 16, 32 and 1 bytes
CODES = [
    'V50V50V50L72TL6$ZA05F8JJGXNO2S-EWL-CZR6Z51R U--O795PX8MN8LIMNK84XEN1WCT9 T0VP3S/H+TQ07NV8WU R-O29$01JJ+.M6$V8WTO TZVUVRMCA78FL50',
    'V50V50M90RVLRVLRVLRVLRVLRVLRVLRVLRVLRVLRVLRVLRVLRVLRVLSSLVWGDUT%E81RK1E47:O4YUSTB7EFG%DNKNC-DR/MG17-W8VR1E05/AO9YTG0E-4Q1LN$MM+QJ%4VV/95Q7/EVX1GAS8AM3C0',
    'V50V50W504JO9WNFIJYJN:$T8X0/$7TQH1QQH.B-7L1COBCCC03C:47ZFKID+ECO7KN 8F1O.D021T-YG+VB/T9W%HXPH-83O%P*56NN1',
]
TOKEN = 'slt_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_6qtBO'

WH_KEY = b'whsec_fuzz_secret_0123456789abcdef'   # the key of fuzz_webhook.c
BODY = '{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":4200}}}'


def stripe_header(body, t=1700000000):
    return 't=%d,v1=%s' % (t, hmac.new(WH_KEY, ('%d.' % t + body).encode(), hashlib.sha256).hexdigest())


QUESTIONS = json.dumps([
    {'key': 'club', 'type': 'text', 'label': 'Club', 'max': 40},
    {'key': 'shirt', 'type': 'single_select', 'label': 'Shirt', 'required': True,
     'options': [{'key': 's', 'label': 'S'}, {'key': 'm', 'label': 'M'}]},
    {'key': 'dob', 'type': 'date', 'label': 'Born', 'max': '2019-12-31'},
    {'key': 'n', 'type': 'number', 'label': 'N', 'min': 1, 'max': 10},
    {'key': 'ice', 'type': 'emergency_contact', 'label': 'ICE', 'condition': {'question': 'shirt', 'equals': 'm'}},
])
# answers to the form built into fuzz_questions.c
ANSWERS = json.dumps({'member': True, 'club': 'AV Phoenix', 't': 'hello', 'n': 3, 'd': '2010-05-01', 's': 'a',
                      'm': ['b'], 'mb': 'long text', 'e': 'kim@example.com', 'p': '+31612345678', 'c': 'NL',
                      'i': {'name': 'Anna', 'phone': '+31612345001'}})

SEEDS = {
    'fuzz_code': {
        'code-16-bytes': CODES[0], 'code-32-bytes': CODES[1], 'code-1-byte': CODES[2],
        'code-truncated': CODES[0][:-3], 'code-lowercase': CODES[2].lower(), 'base45-hello': '%69 VD92EX0',
        'base45-empty': '', 'base45-bad-char': 'AB#', 'base45-dangling': 'A',
    },
    'fuzz_jcs': {
        'object-sorted': '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
        'object-unsorted': '{"b":2,"a":1,"\\u20ac":"euro","A":0}',
        'numbers': '[0,-0,1e21,1e-7,123.456,-1.5e+300,5e-324,9007199254740993]',
        'strings': '["\\u0000\\u001f","\\ud83d\\ude00","\\/","tab\\t","\\u00e9"]',
        'nested': '[' * 60 + ']' * 60, 'duplicate-key': '{"a":1,"a":2}', 'lone-surrogate': '["\\ud800"]',
        'trailing-comma': '{"a":1,}', 'bare-word': 'nul', 'empty': '', 'whitespace': ' \n\t {"x" : [ 1 , 2 ] } ',
        'note': 'example.com/log\n42\nqSrT2oqSrT2oqSrT2oqSrT2oqSrT2oqSrT2oqSrT2oo=\n\n\u2014 example.com/log AAAAAAAAAAAA\n',
    },
    'fuzz_jsontext': {
        'nul-escape': '{"a":"x\\u0000y"}', 'escaped-backslash': '{"a":"\\\\u0000"}', 'two': '["\\u0000","\\u0000"]',
        'plain': '{"type":"payment.paid","data":{"id":"psp_1","amount":4200}}', 'cut': '"\\u000',
        'upper': '"\\U0000"', 'deep': '[' * 200 + ']' * 200,
    },
    'fuzz_label': {
        'column-name': 'pii:name', 'column-required': 'pii:email;required', 'column-spaces': '  pii: date_of_birth ; required ',
        'column-unknown': 'pii:shoe_size', 'table-archive': 'classification=archive;organization=organization_id;anchor=contract_end',
        'table-full': ' subject = id ; classification=personal; organization=org ;anchor=ended_at;result=awarded;status=archive_status;until=retention_until;anonymized_at=anonymized_at',
        'table-fiscal': 'classification=fiscal;organization=o;anchor=a;expire=keep',
        'table-missing': 'organization=o;anchor=a', 'table-dup': 'classification=personal;classification=fiscal',
        'number-big': struct.pack('<I', 0x7fffffff).decode('latin-1'),
    },
    'fuzz_merkle': {
        'tree-7-leaf-3': struct.pack('<QQ', 3, 7) + bytes(range(64)) + bytes(32 * 3),
        'tree-1': struct.pack('<QQ', 0, 1) + bytes(64),
        'tree-big': struct.pack('<QQ', 2 ** 63, 2 ** 64 - 1) + b'\xff' * 64 + b'\x01' * 32 * 40,
        'consistency-4-8': struct.pack('<QQ', 4, 8) + hashlib.sha256(b'a').digest() + hashlib.sha256(b'b').digest()
        + hashlib.sha256(b'c').digest() * 3,
    },
    'fuzz_money': {
        'eur': 'EUR42.50', 'eur-int': 'EUR42', 'jpy': 'JPY500', 'kwd': 'KWD1.234', 'negative': 'EUR-1.00',
        'int64-max': 'EUR9223372036854775807', 'int64-over': 'xxx9223372036854775808', 'plain-int': '4200',
        'plus': '+42', 'spaces': 'EUR 4 2', 'exp': 'EUR1e3', 'many-decimals': 'EUR1.005', 'empty-amount': 'EUR',
        'huge': 'EUR' + '9' * 40, 'dot-only': 'EUR.',
    },
    'fuzz_questions': {
        'questions': '\x00' + QUESTIONS, 'questions-empty': '\x00[]', 'questions-bad-type': '\x00[{"key":"a","type":"blob","label":"A"}]',
        'questions-dup-key': '\x00[{"key":"a","type":"text","label":"A"},{"key":"a","type":"text","label":"B"}]',
        'questions-bad-condition': '\x00[{"key":"a","type":"text","label":"A","condition":{"question":"zz","equals":1}}]',
        'answers': '\x01' + ANSWERS, 'answers-empty': '\x01{}', 'answers-wrong-types': '\x01{"member":"yes","n":"3","m":"b","d":"2030-01-01"}',
        'answers-unknown': '\x01{"nope":1}', 'both': '\x02' + QUESTIONS + '\x00{"shirt":"m","ice":{"name":"A","phone":"+31612345001"}}',
        'both-missing': '\x02' + QUESTIONS + '\x00{}',
    },
    'fuzz_token': {
        'token': TOKEN, 'token-changed': TOKEN[:-1] + ('A' if TOKEN[-1] != 'A' else 'B'), 'token-short': TOKEN[:-5],
        'token-long-prefix': 'abcdefghijklm' + TOKEN[3:], 'token-no-prefix': TOKEN[4:], 'token-upper-prefix': 'SLT' + TOKEN[3:],
        'token-padding': TOKEN + '==',
    },
    'fuzz_validate': {
        'slug': 'singelloop-2027', 'slug-reserved': 'api', 'slug-hyphens': '-a--b-', 'name': 'Anna de Vries',
        'name-bidi': '\u202eevil\u202c', 'name-control': 'a\x01b', 'kvk': '12345678', 'email': 'anna@loopgroep-utrecht.nl',
        'email-idn': 'k\u00efm@\u00e9xample.nl', 'email-two-at': 'a@b@c.nl', 'country': 'NL', 'locale': 'nl-NL',
        'locale-bad': 'nl_NL', 'phone': '+31612345678', 'phone-bad': '0612345678', 'overlong-utf8': '\xc0\xaf',
    },
    'fuzz_webhook': {
        'stripe': stripe_header(BODY) + '\n' + BODY, 'stripe-two-sigs': 't=1700000000,v1=%s,v0=abc,v1=%s\n%s' % ('0' * 64, '1' * 64, BODY),
        'stripe-no-t': 'v1=' + '0' * 64 + '\n' + BODY, 'stripe-neg-t': 't=-1,v1=' + '0' * 64 + '\n{}',
        'std': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==\n{"type":"payment.paid"}',
        'std-secret': 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'std-secret-bad': 'whsec_!!!!', 'mollie': 'sha256=' + '0' * 64 + '\n{"id":"tr_1"}',
        'timestamp': '1700000000', 'timestamp-overflow': '99999999999999999999', 'empty-header': '\n{}',
    },
}


def main():
    n = 0
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            if isinstance(data, str):
                # raw bytes (an overlong UTF-8 sequence, a binary number) as latin-1, text as UTF-8
                data = data.encode('latin-1') if name in ('number-big', 'overlong-utf8') else data.encode('utf-8')
            with open(os.path.join(d, 'seed-' + name), 'wb') as f:
                f.write(data)
            n += 1
    print('%d seeds in %d targets' % (n, len(SEEDS)))


if __name__ == '__main__':
    main()
