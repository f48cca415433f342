#!/usr/bin/python3
"""The reference relays (docs/examples/relay/, docs/relays.md) end to end:
each Edge Function's index.ts runs unchanged under Deno and speaks HTTP to
the API gateway and PostgREST in front of the test cluster
(test/relay/pgrst_http.py, over test/driver/pgrst.py) and to local stand-ins
for Stripe's and Mollie's APIs (test/relay/standins.py) that check every
request as the providers document it. Prints TAP.

Environment: PGDATABASE (a fresh database with the demo data), DENO (the
deno binary), RELAY_OUT (a directory for the relays' logs)."""

import json
import os
import queue
import random
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'test', 'e2e'))
sys.path.insert(0, HERE)
from lib import ORG1, Tap  # noqa: E402
from pgrst_http import Gateway  # noqa: E402
from standins import Mollie, Stripe, mollie_value  # noqa: E402

DENO = os.environ.get('DENO') or 'deno'
OUT = os.environ.get('RELAY_OUT') or os.path.join(ROOT, 'test', 'results', 'relay')
os.makedirs(OUT, exist_ok=True)
RELAYS = os.path.join(ROOT, 'docs', 'examples', 'relay')

t = Tap()
api = t.api


def rand(n):
    return ''.join(random.choice(string.ascii_letters + string.digits) for _ in range(n))


def http(method, url, body=None, headers=None, timeout=180):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b'null')
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b'null')
        except ValueError:
            return e.code, raw.decode('utf-8', 'replace')


# --- the checks that need no server: type-check and lint -----------------------
deno_env = dict(PATH=os.environ.get('PATH', '/usr/bin:/bin'), HOME=os.environ.get('HOME', '/tmp'),
                DENO_DIR=os.path.join(OUT, 'deno-cache'), DENO_NO_UPDATE_CHECK='1', NO_COLOR='1')
indexes = [os.path.join(RELAYS, f, 'index.ts') for f in ('stripe-relay', 'mollie-relay')]
r = subprocess.run([DENO, 'check', '--no-remote', *indexes, os.path.join(HERE, 'serve.ts')],
                   env=deno_env, cwd=ROOT, capture_output=True, text=True)
t.ok(r.returncode == 0, 'deno check: the relays type-check (%s)' % ', '.join(os.path.relpath(i, ROOT) for i in indexes),
     r.stdout + r.stderr)
r = subprocess.run([DENO, 'lint', RELAYS, os.path.join(HERE, 'serve.ts')], env=deno_env, cwd=ROOT,
                   capture_output=True, text=True)
t.ok(r.returncode == 0, 'deno lint: the relays are clean', r.stdout + r.stderr)
r = subprocess.run([DENO, 'fmt', '--check', '--line-width', '120', RELAYS], env=deno_env, cwd=ROOT,
                   capture_output=True, text=True)
t.ok(r.returncode == 0, 'deno fmt --check --line-width 120: the relays are formatted', r.stdout + r.stderr)

# --- the world: accounts, keys, the gateway, the stand-ins ----------------------
stripe_acc = t.su1("SELECT payments.create_account('stripe', 'relay')::text")
mollie_acc = t.su1("SELECT payments.create_account('mollie', 'relay')::text")
service_key = api.mint('service', ttl=86400)
anon_key = api.mint('anon', ttl=86400)
gateway = Gateway([service_key, anon_key]).start()
stripe = Stripe('sk_test_' + rand(24)).start()
mollie = Mollie('test_' + rand(30)).start()
webhook_url = '%s/rest/v1/rpc/mollie_classic_webhook?apikey=%s' % (gateway.url, urllib.parse.quote(anon_key, safe=''))
REDIRECT = 'https://app.example.org/betaald'


class Relay:
    """One Edge Function, served by Deno as the edge runtime would (test/relay/serve.ts)."""

    def __init__(self, name, function, **env):
        self.name = name
        self.logfile = os.path.join(OUT, name + '.log')
        e = dict(deno_env, SUPABASE_URL=gateway.url, SUPABASE_SERVICE_ROLE_KEY=service_key, SUPABASE_ANON_KEY=anon_key,
                 RELAY_TIMEOUT_MS='10000')
        e.update({k: v for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:
            e.pop(k, None)
        self.log = open(self.logfile, 'w')
        self.proc = subprocess.Popen([DENO, 'run', '--no-remote', '--no-npm', '--allow-net=127.0.0.1', '--allow-env',
                                      '--allow-read=' + ROOT, os.path.join(HERE, 'serve.ts'),
                                      os.path.join(RELAYS, function, 'index.ts')],
                                     env=e, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
                self.log.write(line)
                self.log.flush()
        threading.Thread(target=pump, daemon=True).start()
        self.port = None
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith('LISTEN '):
                self.port = int(line.split()[1])
        if self.port is None:
            raise RuntimeError('%s did not start (%s)' % (name, self.logfile))

    def run(self, method='POST'):
        return http(method, 'http://127.0.0.1:%d/' % self.port, '' if method == 'POST' else None)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def create_payment(acc, ref, amount, metadata, age=0):
    pid = t.su1("SELECT payments.create_payment(%s::uuid, %s, %s, 'EUR', %s::uuid, NULL, %s::jsonb) ->> 'id'",
                (ORG1, ref, amount, acc, json.dumps(metadata)))
    t.su("UPDATE payments.payments SET created_at = now() - %s * interval '1 second' WHERE id = %s::uuid", (age, pid))
    return pid


def payment(pid):
    return t.su("SELECT status, provider_ref, checkout_url, client_secret, relay_attempts, captured FROM payments.payments"
                " WHERE id = %s::uuid", (pid,))[0]


def expire_leases():
    t.su("UPDATE payments.payments SET relay_leased_until = now() - interval '1 second' WHERE relay_leased_until > now()")
    t.su("UPDATE payments.refunds SET leased_until = now() - interval '1 second' WHERE leased_until > now()")


relays = []
try:
    stripe_env = dict(STRIPE_SECRET_KEY=stripe.api_key, STRIPE_API_BASE=stripe.url)
    a = Relay('stripe-relay-a', 'stripe-relay', RELAY_BATCH='3', **stripe_env)
    b = Relay('stripe-relay-b', 'stripe-relay', RELAY_BATCH='3', **stripe_env)
    m = Relay('mollie-relay', 'mollie-relay', MOLLIE_API_KEY=mollie.api_key, MOLLIE_API_BASE=mollie.url,
              MOLLIE_REDIRECT_URL=REDIRECT)
    relays += [a, b, m]

    # --- the stand-ins and the gateway catch what deviates (they can fail) ------
    st, _ = http('POST', stripe.url + '/v1/payment_intents', 'amount=100&currency=eur',
                 {'Authorization': 'Bearer ' + stripe.api_key, 'Content-Type': 'application/x-www-form-urlencoded'})
    st2, _ = http('POST', mollie.url + '/v2/payments',
                  json.dumps({'amount': {'currency': 'EUR', 'value': 12.5}, 'description': 'x', 'redirectUrl': REDIRECT,
                              'metadata': {'payment_id': 'k1'}}),
                  {'Authorization': 'Bearer ' + mollie.api_key, 'Content-Type': 'application/json', 'Idempotency-Key': 'k1'})
    t.ok(st == 400 and st2 == 422 and any('Idempotency-Key' in v for v in stripe.violations)
         and any('amount.value' in v for v in mollie.violations),
         'the stand-ins refuse and record a request without Idempotency-Key (Stripe), an amount that is no string (Mollie)',
         {'stripe': stripe.violations, 'mollie': mollie.violations})
    stripe.violations.clear(); stripe.requests.clear(); mollie.violations.clear(); mollie.requests.clear()
    mollie.saved.clear()
    st, body = http('POST', gateway.url + '/rest/v1/rpc/payments_to_create', '{}', {'Content-Type': 'application/json'})
    st2, body2 = http('POST', gateway.url + '/rest/v1/rpc/payments_to_create', '{}',
                      {'Content-Type': 'application/json', 'apikey': anon_key, 'Authorization': 'Bearer ' + anon_key})
    t.ok((st, st2, (body2 or {}).get('details', '').split(':')[0]) == (401, 401, 'not_authenticated'),
         'the gateway wants an API key; with the anon key PostgREST answers not_authenticated',
         {'no key': [st, body], 'anon': [st2, body2]})

    # --- the functions as HTTP endpoints --------------------------------------
    st, body = a.run('GET')
    t.is_(st, 405, 'a relay answers GET with 405 (POST runs it)', body)
    bad = Relay('stripe-relay-nokey', 'stripe-relay', STRIPE_SECRET_KEY=None, STRIPE_API_BASE=stripe.url)
    relays.append(bad)
    st, body = bad.run()
    t.is_((st, (body or {}).get('message')), (500, 'STRIPE_SECRET_KEY is not set'),
          'a relay without its provider key answers 500 misconfigured, naming the variable', body)
    anon_relay = Relay('stripe-relay-anon', 'stripe-relay', RELAY_SERVICE_KEY=anon_key, **stripe_env)
    relays.append(anon_relay)
    create_payment(stripe_acc, 'order:anon-relay', 500, {}, age=3600)
    stripe.expect_payment(t.su1("SELECT id::text FROM payments.payments WHERE payable_ref = 'order:anon-relay'"), 500, 'EUR')
    st, body = anon_relay.run()
    t.ok(st == 502 and body['ok'] is False and body['payments']['claimed'] == 0 and stripe.count('POST', '/v1/payment_intents') == 0,
         'a relay with the anon key instead of the service key claims nothing (502) and calls no provider', body)

    # --- two relays at once: every payment created exactly once -----------------
    stripe.delay = 0.15
    pids = []
    for i in range(20):
        meta = {'order_id': 'order-%d' % i, 'description': 'Singelloop Utrecht 2027: 10 km (%d)' % i,
                'return_url': 'https://app.example.org/orders/%d' % i}
        pids.append(create_payment(stripe_acc, 'order:relay-%d' % i, 1000 + i, meta, age=600 - i))
        stripe.expect_payment(pids[-1], 1000 + i, 'EUR', meta['order_id'], meta['description'])
    results = {}

    def run_in_thread(relay):
        results[relay.name] = relay.run()
    threads = [threading.Thread(target=run_in_thread, args=(x,)) for x in (a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stripe.delay = 0
    (sa, ra), (sb, rb) = results['stripe-relay-a'], results['stripe-relay-b']
    t.ok(sa == 200 and sb == 200 and ra['ok'] and rb['ok'], 'two stripe-relay runs at once: both answer 200', results)
    t.is_(ra['payments']['done'] + rb['payments']['done'], 21,
          'two relays at once: the 21 payments waiting are created, none twice (%d by one, %d by the other)'
          % (ra['payments']['done'], rb['payments']['done']), results)
    t.ok(ra['payments']['done'] > 0 and rb['payments']['done'] > 0,
         'two relays at once: both worked (the claims overlapped and split the payments)', results)
    per_key = [stripe.count('POST', '/v1/payment_intents', p) for p in pids]
    t.is_((per_key, len(stripe.intents), stripe.replays), ([1] * 20, 21, 0),
          'two relays at once: one PaymentIntent per payment, one request each (no replay needed)')
    states = [payment(p) for p in pids]
    by_payment = {pi['metadata']['payment_id']: pi for pi in stripe.intents.values()}
    t.ok(all(s[0] == 'open' and s[1] == by_payment[p]['id'] and s[3] == by_payment[p]['client_secret'] and s[2] is None
             and s[4] == 1 for p, s in zip(pids, states)),
         'two relays at once: each payment is open with its PaymentIntent and client secret, claimed once',
         [list(s[:2]) + [s[4]] for s in states])

    # --- a lost answer: the replay with the same Idempotency-Key is harmless -----
    p21 = create_payment(stripe_acc, 'order:relay-lost', 2100, {'order_id': 'order-lost'})
    stripe.expect_payment(p21, 2100, 'EUR', 'order-lost')
    gateway.fail_next['record_provider_payment'] = 1
    st, body = a.run()
    t.ok(st == 200 and body['payments'] == {'claimed': 1, 'done': 0, 'failed': 1},
         'lost answer: the PaymentIntent is created but recording it fails (gateway 503): counted as failed', body)
    s = payment(p21)
    t.is_((s[0], s[1], stripe.count('POST', '/v1/payment_intents', p21)), ('created', None, 1),
          'lost answer: the payment stays created, leased for the next run')
    st, body = a.run()
    t.is_(body['payments']['claimed'], 0, 'lost answer: while leased, no relay takes it', body)
    expire_leases()
    st, body = a.run()
    pis = [pi for pi in stripe.intents.values() if pi['metadata']['payment_id'] == p21]
    s = payment(p21)
    t.ok(st == 200 and body['payments']['done'] == 1 and stripe.count('POST', '/v1/payment_intents', p21) == 2
         and stripe.replays == 1 and len(pis) == 1,
         'lost answer: after the lease, the same Idempotency-Key returns the same PaymentIntent (one object, a replay)',
         body)
    t.is_((s[0], s[1], s[3], s[4]), ('open', pis[0]['id'], pis[0]['client_secret'], 2),
          'lost answer: recorded with that PaymentIntent and client secret on the second attempt')

    # --- a provider error: left for the lease to expire, then retried -------------
    p22 = create_payment(stripe_acc, 'order:relay-500', 2200, {})
    stripe.expect_payment(p22, 2200, 'EUR')
    stripe.fail_next['/v1/payment_intents'] = 1
    st, body = a.run()
    s = payment(p22)
    t.ok(st == 200 and body['payments'] == {'claimed': 1, 'done': 0, 'failed': 1} and s[:2] == ('created', None),
         'Stripe 500: counted as failed, the payment stays created without a provider reference', body)
    expire_leases()
    st, body = b.run()
    s = payment(p22)
    t.ok(body['payments']['done'] == 1 and s[0] == 'open' and s[1].startswith('pi_') and s[4] == 2
         and stripe.count('POST', '/v1/payment_intents', p22) == 2,
         'Stripe 500: the next run after the lease creates it (attempt 2)', body)

    # --- refunds through Stripe ----------------------------------------------
    for p in pids[:2]:
        t.su("SELECT payments.record_status('stripe', %s, 'paid', amount, 'EUR') FROM payments.payments WHERE id = %s::uuid",
             (payment(p)[1], p))
    f1 = api.call('daan', 'request_refund', {'payment_id': pids[0], 'amount': 300, 'reason': 'geblesseerd'})['body']['id']
    f2 = api.call('daan', 'request_refund', {'payment_id': pids[0], 'amount': 200})['body']['id']
    f3 = api.call('anna', 'request_refund', {'payment_id': pids[1]})['body']['id']
    t.su("UPDATE payments.refunds SET created_at = created_at - interval '1 minute' WHERE id = %s::uuid", (f1,))
    stripe.expect_refund(f1, 300, payment(pids[0])[1])
    stripe.expect_refund(f2, 200, payment(pids[0])[1], status='requires_action')
    stripe.expect_refund(f3, 1001, payment(pids[1])[1])
    st, body = a.run()
    order = [k for mth, rt, k in stripe.requests if rt == '/v1/refunds']
    t.ok(st == 200 and body['refunds'] == {'claimed': 3, 'done': 3, 'failed': 0},
         'refunds: three requested refunds are sent to Stripe', body)
    t.ok(f1 in order and f2 in order and order.index(f1) < order.index(f2),
         'refunds: a payment\'s refunds go oldest first, one at a time (the second once the first is recorded)', order)
    got = t.su("SELECT id::text, status, provider_ref FROM payments.refunds WHERE id = ANY (%s::uuid[])", ([f1, f2, f3],))
    by_ref = {r['id']: r for r in stripe.refunds.values()}
    t.is_(sorted((r[0], r[1], by_ref.get(r[2], {}).get('metadata', {}).get('refund_id')) for r in got),
          sorted([(f1, 'succeeded', f1), (f2, 'pending', f2), (f3, 'succeeded', f3)]),
          'refunds: recorded with Stripe\'s refund ids; succeeded, and requires_action as pending')
    t.is_(t.su1("SELECT count(*) FROM payments.journal WHERE kind = 'refund_paid' AND refund_id = ANY (%s::uuid[])",
                ([f1, f2, f3],)), 2, 'refunds: the two succeeded refunds are paid in the ledger')
    st, body = a.run()
    t.is_(body['refunds']['claimed'], 0, 'refunds: nothing is sent twice', body)

    # --- Mollie: payments with a checkout URL, the classic webhook, refunds ----------
    m1 = create_payment(mollie_acc, 'order:mollie-1', 1250, {'order_id': 'm-1', 'description': 'Triathlon Kromme Rijn',
                                                            'return_url': 'https://app.example.org/orders/m-1'}, age=60)
    m2 = create_payment(mollie_acc, 'order:mollie-2', 990, {}, age=30)
    mollie.expect_payment(m1, 1250, 'EUR', 'Triathlon Kromme Rijn', 'https://app.example.org/orders/m-1', webhook_url,
                          {'payment_id': m1, 'order_id': 'm-1'})
    mollie.expect_payment(m2, 990, 'EUR', 'order:mollie-2', REDIRECT, webhook_url, {'payment_id': m2})
    st, body = m.run()
    t.ok(st == 200 and body['payments'] == {'claimed': 2, 'done': 2, 'failed': 0},
         'mollie-relay creates the Mollie payments (and no Stripe one)', body)
    trs = {p['metadata']['payment_id']: p for p in mollie.payments.values()}
    t.ok(all(payment(p)[:3] == ('open', trs[p]['id'], trs[p]['_links']['checkout']['href']) for p in (m1, m2)),
         'mollie: each payment is open with its tr_ id and checkout URL (_links.checkout.href)',
         [payment(p)[:3] for p in (m1, m2)])
    t.is_(mollie_value(1250, 'EUR') + ' ' + trs[m1]['amount']['value'], '12.50 12.50',
          'mollie: the amount went as the string "12.50"')
    # Mollie calls the webhookUrl the relay gave it: through the gateway to api.mollie_classic_webhook
    mollie.set_status(trs[m1]['id'], 'paid')
    st, body = http('POST', trs[m1]['webhookUrl'], 'id=' + trs[m1]['id'], {'Content-Type': 'application/x-www-form-urlencoded'})
    t.is_((st, (body or {}).get('outcome')), (200, 'queued'),
          'mollie: the classic webhook (id=tr_..., apikey in the URL) is queued for the relay', body)
    st, body = m.run()
    t.ok(st == 200 and body['fetches'] == {'claimed': 1, 'done': 1, 'failed': 0}
         and mollie.count('GET', '/v2/payments/{id}') == 1,
         'mollie: the relay fetches the payment from Mollie and reports it', body)
    t.is_((payment(m1)[0], payment(m1)[5]), ('paid', 1250), 'mollie: the payment is paid with its amount captured')
    f4 = api.call('anna', 'request_refund', {'payment_id': m1, 'amount': 500})['body']['id']
    mollie.expect_refund(f4, 500, 'EUR', trs[m1]['id'])
    st, body = m.run()
    got = t.su1("SELECT status || ' ' || provider_ref FROM payments.refunds WHERE id = %s::uuid", (f4,))
    t.ok(body['refunds'] == {'claimed': 1, 'done': 1, 'failed': 0} and got and got.startswith('pending re_')
         and got.split()[1] in mollie.refunds,
         'mollie: the refund is sent to /v2/payments/{id}/refunds and recorded as pending with its re_ id', [body, got])
    m3 = create_payment(mollie_acc, 'order:mollie-3', 4500, {'return_url': 'https://app.example.org/orders/m-3'})
    mollie.expect_payment(m3, 4500, 'EUR', 'order:mollie-3', 'https://app.example.org/orders/m-3', webhook_url,
                          {'payment_id': m3})
    mollie.fail_next['/v2/payments'] = 1
    st, body = m.run()
    t.ok(body['payments'] == {'claimed': 1, 'done': 0, 'failed': 1} and payment(m3)[:2] == ('created', None),
         'mollie 500: counted as failed, the payment stays created', body)
    expire_leases()
    st, body = m.run()
    t.ok(body['payments']['done'] == 1 and payment(m3)[0] == 'open', 'mollie 500: retried after the lease', body)

    # --- what the runs leave behind ------------------------------------------------
    t.is_(stripe.violations + mollie.violations, [], 'no request of any relay deviated from the providers\' APIs')
    t.is_(t.su1("SELECT count(*) FROM payments.payments WHERE status = 'created' AND provider_ref IS NULL "
                "AND payable_ref <> 'order:anon-relay'"), 0, 'every payment is created at its provider')
    t.is_(t.su1('SELECT count(*) FROM payments.ledger_problems()'), 0, 'the ledger balances')
    t.is_(t.su1("SELECT count(*) FROM trail.entries WHERE action = 'payments.creation_claimed'"
                " AND body::jsonb #>> '{actor,role}' = 'service_role'"),
          t.su1("SELECT sum(relay_attempts) FROM payments.payments"),
          'every claim is audited, by the service role')
finally:
    for x in relays:
        x.stop()
    gateway.stop()
    stripe.stop()
    mollie.stop()

# --- the logs: written, and without a secret -----------------------------------
logs = {x.name: open(x.logfile).read() for x in relays}
secrets = [stripe.api_key, mollie.api_key, service_key, anon_key, '_secret_'] + \
    [r[0] for r in t.su("SELECT client_secret FROM payments.payments WHERE client_secret IS NOT NULL")]
t.ok(logs['stripe-relay-a'].count('"event":"payment_created"') > 0 and '"event":"payment_failed"' in logs['stripe-relay-a'],
     'the relays log what they did and what failed (one JSON line each)')
leaks = sorted({name for name, text in logs.items() for s in secrets if s in text})
t.is_(leaks, [], 'no log holds a key or a client secret')
t.done()
