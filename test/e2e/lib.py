"""Shared by the end-to-end suites (test/e2e/[0-9]*.py): TAP output, the
PostgREST-exact driver (test/driver/pgrst.py) and webhook signing.

Every API call goes through the driver: its own transaction, the caller's
role and claims set transaction-locally, COMMIT under that role. Effects are
checked afterwards with a separate superuser query (api.su), which sees only
what was committed."""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'driver'))
from pgrst import Driver  # noqa: E402

ORG1 = '00000000-0000-4000-b000-000000000001'
ORG2 = '00000000-0000-4000-b000-000000000002'
ORG3 = '00000000-0000-4000-b000-000000000003'
USER = {n: '00000000-0000-4000-a000-0000000000%02d' % i for i, n in enumerate(
    ['', 'anna', 'bram', 'carla', 'daan', 'eva', 'floris', 'gijs', 'hanna', 'iris', 'joost', 'kim', 'lars', 'sanne']) if n}

# the webhook secrets of test/pgtap/60_payments_matrix.sql
STRIPE_SECRET = 'whsec_stripe_test_secret_0001'
STD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
MOLLIE_SECRET = 'mollie-shared-secret-0001'


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.api = Driver()
        self.t0 = time.time()

    def ok(self, cond, name, diag=None):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in (diag if isinstance(diag, str) else json.dumps(diag, ensure_ascii=False)).splitlines():
                    print('#   ' + line)
        sys.stdout.flush()
        return cond

    def is_(self, got, want, name, diag=None):
        return self.ok(got == want, name, diag if diag is not None else 'got:  %r\nwant: %r' % (got, want))

    def note(self, text):
        for line in text.splitlines():
            print('# ' + line)

    def call(self, name, who, fn, args=None, want=200, headers=None):
        """Call fn as who; assert the HTTP status; return the result (body or error)."""
        r = self.api.call(who, fn, args, headers)
        self.status(r, want, '%s: %s as %s' % (name, fn, who if isinstance(who, str) else 'claims'))
        return r

    def status(self, r, want, name):
        got = r['status']
        desc = ('%d %s' % (got, (r.get('body') or {}).get('outcome', '') if isinstance(r.get('body'), dict) else '')
                ).strip() if 'body' in r else '%d %s %s' % (got, r.get('code'), r.get('details') or r.get('message'))
        self.ok(got == want, '%s -> %d' % (name, want),
                'got HTTP %s\n%s' % (desc, json.dumps({k: r.get(k) for k in ('code', 'message', 'details', 'hint',
                                                                             'context', 'at_commit') if k in r},
                                                      ensure_ascii=False, indent=1)
                                     if 'body' not in r else json.dumps(r['body'], ensure_ascii=False)[:600]))
        return r

    def su(self, sql, params=None):
        return self.api.su(sql, params)

    def su1(self, sql, params=None):
        return self.api.su1(sql, params)

    def q1(self, sql, *params):
        """The one value a superuser query returns."""
        return self.su1(sql, params or None)

    def expect(self, r, status, code, name):
        """The answer is this HTTP status with this business code."""
        return self.is_((r['status'], code_of(r)), (status, code), '%s: %s (%d)' % (name, code, status),
                        {k: r.get(k) for k in ('status', 'code', 'message', 'details', 'hint')})

    def done(self):
        print('1..%d' % self.n)
        print('# %s: %d of %d failed, %.1f s' % (os.path.basename(sys.argv[0]), self.failed, self.n, time.time() - self.t0))
        sys.exit(1 if self.failed else 0)


def body(r):
    """The JSON body of an answer ({} for an error or a body that is not JSON)."""
    return r.get('body') if isinstance(r.get('body'), (dict, list)) else {}


def code_of(r):
    """The stable business code of an error answer ('sold_out', ...)."""
    d = r.get('details') or ''
    return d.split(':', 1)[0] if ':' in d else r.get('code')


def body_outcome(r):
    b = r.get('body')
    return b.get('outcome') if isinstance(b, dict) else None


def now_s():
    return int(time.time())


def stripe_headers(body, secret=STRIPE_SECRET, ts=None):
    ts = now_s() if ts is None else ts
    sig = hmac.new(secret.encode(), ('%d.%s' % (ts, body)).encode(), hashlib.sha256).hexdigest()
    return {'Stripe-Signature': 't=%d,v1=%s' % (ts, sig), 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)'}


def std_headers(msg_id, body, secret=STD_SECRET, ts=None):
    ts = now_s() if ts is None else ts
    key = base64.b64decode(secret[len('whsec_'):])
    sig = base64.b64encode(hmac.new(key, ('%s.%d.%s' % (msg_id, ts, body)).encode(), hashlib.sha256).digest()).decode()
    return {'webhook-id': msg_id, 'webhook-timestamp': str(ts), 'webhook-signature': 'v1,' + sig}


def mollie_headers(body, secret=MOLLIE_SECRET):
    return {'X-Mollie-Signature': 'sha256=' + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()}


def stripe_pi(evt, typ, pi, amount):
    return json.dumps({'id': evt, 'object': 'event', 'type': typ, 'data': {'object': {
        'id': pi, 'object': 'payment_intent', 'amount': amount, 'amount_received': amount, 'currency': 'eur'}}})


def stripe_obj(evt, typ, obj):
    return json.dumps({'id': evt, 'object': 'event', 'type': typ, 'data': {'object': obj}})


def payments_fixture(t):
    """Provider accounts with the test secrets and a platform fee for org 1, as the operator sets them up (superuser)."""
    acc = {}
    for provider, name, secret in (('stripe', 'main', STRIPE_SECRET), ('standard', 'psp', STD_SECRET),
                                   ('mollie', 'nl', MOLLIE_SECRET)):
        acc[provider] = t.su1('SELECT payments.create_account(%s, %s)::text', (provider, name))
        t.su('SELECT payments.add_secret(%s::uuid, %s)', (acc[provider], secret))
    t.su("SELECT payments.set_fee_rule(%s::uuid, 'platform', 'platform_fee_revenue', 600, 0)", (ORG1,))
    return acc


def create_payment(t, acc, provider, ref, amount, org=ORG1):
    """A payment the checkout created (superuser: the platform's checkout is not an API function yet)."""
    return t.su1("SELECT (payments.create_payment(%s::uuid, %s, %s, 'EUR', %s::uuid, %s) ->> 'id')",
                 (org, 'order:' + ref, amount, acc[provider], ref))


def payment_state(t, pid):
    """status, captured, count of payment_received journals (each with postings summing to 0)."""
    return t.su("""SELECT p.status, p.captured,
                          (SELECT count(*) FROM payments.journal j WHERE j.payment_id = p.id AND j.kind = 'payment_received'
                              AND (SELECT sum(x.amount) FROM payments.postings x WHERE x.journal_id = j.id) = 0
                              AND (SELECT count(*) FROM payments.postings x WHERE x.journal_id = j.id) >= 2)
                     FROM payments.payments p WHERE p.id = %s::uuid""", (pid,))[0]


def payments_digest(t):
    """Everything payments holds except the delivery records, plus the audit trail's size."""
    return t.su1("""SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
        SELECT 'p' || to_jsonb(p)::text AS x FROM payments.payments p
        UNION ALL SELECT 'e' || to_jsonb(e)::text FROM payments.events e
        UNION ALL SELECT 'j' || to_jsonb(j)::text FROM payments.journal j
        UNION ALL SELECT 'x' || to_jsonb(x)::text FROM payments.postings x
        UNION ALL SELECT 'r' || to_jsonb(r)::text FROM payments.refunds r
        UNION ALL SELECT 'c' || to_jsonb(c)::text FROM payments.chargebacks c
        UNION ALL SELECT 'q' || to_jsonb(q)::text FROM payments.fetch_queue q
        UNION ALL SELECT 't' || count(*)::text FROM trail.entries) s""")


def su_deliver(t, provider, body, headers):
    """Apply a signed delivery as the superuser: the setup of a later step, not what is under test."""
    t.su("SELECT set_config('request.headers', %s, false)", (json.dumps({k.lower(): v for k, v in headers.items()}),))
    try:
        return t.su1('SELECT payments.receive(%s, %s::json) ->> \'outcome\'', (provider, body))
    finally:
        t.su('RESET request.headers')


def paid_payment(t, acc, ref, amount):
    """A Stripe payment that is paid (set up by the superuser)."""
    pid = create_payment(t, acc, 'stripe', ref, amount)
    body = stripe_pi('evt_%s_paid' % ref, 'payment_intent.succeeded', ref, amount)
    su_deliver(t, 'stripe', body, stripe_headers(body))
    return pid
