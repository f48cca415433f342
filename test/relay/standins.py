"""standins.py: local stand-ins for Stripe's and Mollie's APIs, for the
relay tests (test/relay/run.py). Test tools, never part of the product.

Each stand-in checks every request as the provider documents it and answers
as the provider's API reference shows; a request that deviates is recorded
in `violations` (and answered with the provider's error), so the test fails.

Stripe (https://docs.stripe.com/api): form-encoded POST bodies, the secret
key as the bearer token, Idempotency-Key (at most 255 characters):
  POST /v1/payment_intents  amount (positive integer, minor units), currency
                            (three lowercase letters), automatic_payment_methods[enabled]=true,
                            description, metadata[payment_id], metadata[order_id]
                            -> a PaymentIntent {id: pi_..., client_secret: pi_..._secret_..., ...}
  POST /v1/refunds          payment_intent, amount, metadata[refund_id], metadata[payment_id]
                            -> a Refund {id: re_..., status, ...}
  Idempotency: the same key with the same parameters answers the saved
  response again (header Idempotent-Replayed: true); with other parameters
  400 idempotency_error.

Mollie (https://docs.mollie.com/reference): JSON bodies, the API key as the
bearer token, Idempotency-Key:
  POST /v2/payments               amount {currency, value: "12.50"}, description,
                                  redirectUrl, webhookUrl, metadata
                                  -> 201 {resource: payment, id: tr_..., status: open,
                                          _links: {checkout: {href, type: text/html}, ...}}
  POST /v2/payments/{id}/refunds  amount {currency, value}, metadata -> 201 {resource: refund, id: re_...}
  GET  /v2/payments/{id}          -> the payment with its current status

What the relay must send is registered by the test (expect_payment,
expect_refund): amounts, currencies, order ids, descriptions and URLs are
compared with what startlijn holds. Faults: fail_next[route] = n answers the
next n requests of that route with 500 (before anything is created or
saved); delay delays every answer (to make two relays overlap)."""

import json
import random
import re
import string
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALNUM = string.ascii_letters + string.digits
THREE = {'BHD', 'KWD', 'JOD', 'OMR', 'TND', 'LYD', 'IQD'}
ZERO = {'JPY', 'KRW', 'ISK', 'CLP', 'VND', 'XOF', 'XAF', 'UGX', 'PYG'}


def rid(prefix, n):
    return prefix + ''.join(random.choice(ALNUM) for _ in range(n))


def decimals(currency):
    return 0 if currency in ZERO else 3 if currency in THREE else 2


def mollie_value(minor, currency):
    e = decimals(currency)
    return str(minor) if e == 0 else '%d.%0*d' % (minor // 10 ** e, e, minor % 10 ** e)


class StandIn(ThreadingHTTPServer):
    daemon_threads = True
    name = 'provider'

    def __init__(self, api_key):
        super().__init__(('127.0.0.1', 0), Handler)
        self.api_key = api_key
        self.lock = threading.Lock()
        self.violations = []
        self.requests = []          # (method, route, idempotency key) in arrival order
        self.fail_next = {}
        self.delay = 0.0
        self.saved = {}             # idempotency key -> (route, params, status, body)
        self.replays = 0

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    def violation(self, text):
        with self.lock:
            self.violations.append(text)

    def take_failure(self, route):
        with self.lock:
            n = self.fail_next.get(route, 0)
            if n > 0:
                self.fail_next[route] = n - 1
                return True
        return False

    def count(self, method, route, key=None):
        with self.lock:
            return sum(1 for m, r, k in self.requests if m == method and r == route and (key is None or k == key))

    # the idempotency layer both providers document: the saved answer for the
    # same key and the same parameters; another request with that key is an error
    def idempotent(self, route, key, params, run):
        with self.lock:
            saved = self.saved.get(key)
        if saved is not None:
            if saved[0] != route or saved[1] != params:
                self.violation('%s: Idempotency-Key %s reused with other parameters' % (route, key))
                return self.reused_key_error()
            with self.lock:
                self.replays += 1
            return saved[2], saved[3], {'Idempotent-Replayed': 'true'}
        status, body = run()
        if status < 500:
            with self.lock:
                self.saved[key] = (route, params, status, body)
        return status, body, {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _serve(self, method):
        srv = self.server
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n).decode('utf-8', 'replace') if n else ''
        if srv.delay:
            time.sleep(srv.delay)
        status, body, headers, ctype = srv.handle_request_(method, urllib.parse.urlsplit(self.path), self.headers, raw)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve('GET')

    def do_POST(self):
        self._serve('POST')

    def do_PUT(self):
        self._serve('PUT')

    def do_DELETE(self):
        self._serve('DELETE')


# ---------------------------------------------------------------------------
# Stripe
# ---------------------------------------------------------------------------

class Stripe(StandIn):
    name = 'stripe'
    PI_KEYS = {'amount', 'currency', 'automatic_payment_methods[enabled]', 'description',
               'metadata[payment_id]', 'metadata[order_id]'}
    REFUND_KEYS = {'payment_intent', 'amount', 'metadata[refund_id]', 'metadata[payment_id]'}

    def __init__(self, api_key):
        super().__init__(api_key)
        self.expected_payments = {}     # payment id -> {amount, currency, order_id, description}
        self.expected_refunds = {}      # refund id -> {amount, payment_intent}
        self.intents = {}               # pi id -> PaymentIntent
        self.refunds = {}               # re id -> Refund
        self.refund_status = {}         # refund id -> the status Stripe answers (default succeeded)

    def expect_payment(self, payment_id, amount, currency, order_id=None, description=None):
        self.expected_payments[payment_id] = dict(amount=amount, currency=currency, order_id=order_id,
                                                  description=description)

    def expect_refund(self, refund_id, amount, payment_intent, status='succeeded'):
        self.expected_refunds[refund_id] = dict(amount=amount, payment_intent=payment_intent)
        self.refund_status[refund_id] = status

    @staticmethod
    def error(status, typ, message, code=None):
        e = {'type': typ, 'message': message}
        if code:
            e['code'] = code
        return status, {'error': e}

    def reused_key_error(self):
        s, b = self.error(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same '
                                                    'parameters they were first used with.')
        return s, b, {}

    def handle_request_(self, method, url, headers, raw):
        ctype = 'application/json'
        route = url.path
        key = headers.get('Idempotency-Key')
        with self.lock:
            self.requests.append((method, route, key))
        if route not in ('/v1/payment_intents', '/v1/refunds') or method != 'POST':
            self.violation('%s %s: not an endpoint the relay uses' % (method, route))
            return (*self.error(404, 'invalid_request_error', 'Unrecognized request URL'), {}, ctype)
        if headers.get('Authorization') != 'Bearer ' + self.api_key:
            self.violation('%s: Authorization is not Bearer <the secret key>' % route)
            return (*self.error(401, 'invalid_request_error', 'Invalid API Key provided'), {}, ctype)
        if (headers.get('Content-Type') or '').split(';')[0].strip() != 'application/x-www-form-urlencoded':
            self.violation('%s: Content-Type %r is not form-encoded' % (route, headers.get('Content-Type')))
            return (*self.error(400, 'invalid_request_error', 'Invalid request: unsupported Content-Type'), {}, ctype)
        if not key or len(key) > 255:
            self.violation('%s: no Idempotency-Key of 1 to 255 characters' % route)
            return (*self.error(400, 'invalid_request_error', 'Idempotency-Key required'), {}, ctype)
        try:
            pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            self.violation('%s: the body is not form-encoded' % route)
            return (*self.error(400, 'invalid_request_error', 'Invalid request body'), {}, ctype)
        params = dict(pairs)
        if len(params) != len(pairs):
            self.violation('%s: a parameter is sent twice' % route)
        if self.take_failure(route):
            return (*self.error(500, 'api_error', 'An unknown error occurred (injected by the test)'), {}, ctype)
        if route == '/v1/payment_intents':
            status, body, extra = self.idempotent(route, key, params, lambda: self.create_intent(key, params))
        else:
            status, body, extra = self.idempotent(route, key, params, lambda: self.create_refund(key, params))
        return status, body, extra, ctype

    def create_intent(self, key, p):
        bad = []
        unknown = set(p) - self.PI_KEYS
        if unknown:
            bad.append('parameters Stripe would not get from the relay: %s' % sorted(unknown))
        if not re.fullmatch(r'[1-9][0-9]{0,10}', p.get('amount', '')):
            bad.append('amount %r is not a positive integer of minor units' % p.get('amount'))
        if not re.fullmatch(r'[a-z]{3}', p.get('currency', '')):
            bad.append('currency %r is not three lowercase letters' % p.get('currency'))
        if p.get('automatic_payment_methods[enabled]') != 'true':
            bad.append('automatic_payment_methods[enabled] is not true')
        if p.get('metadata[payment_id]') != key:
            bad.append('Idempotency-Key %s is not metadata[payment_id] %s' % (key, p.get('metadata[payment_id]')))
        want = self.expected_payments.get(key)
        if want is None:
            bad.append('payment %s is not one startlijn asked to create' % key)
        else:
            got = dict(amount=p.get('amount'), currency=p.get('currency'), order_id=p.get('metadata[order_id]'),
                       description=p.get('description'))
            exp = dict(amount=str(want['amount']), currency=want['currency'].lower(), order_id=want['order_id'],
                       description=want['description'])
            if got != exp:
                bad.append('payment %s: sent %s, startlijn holds %s' % (key, got, exp))
        if bad:
            for b in bad:
                self.violation('POST /v1/payment_intents: ' + b)
            return self.error(400, 'invalid_request_error', '; '.join(bad), 'parameter_invalid')
        pid = rid('pi_', 24)
        pi = {
            'id': pid, 'object': 'payment_intent', 'amount': int(p['amount']), 'amount_capturable': 0,
            'amount_details': {'tip': {}}, 'amount_received': 0, 'application': None, 'application_fee_amount': None,
            'automatic_payment_methods': {'allow_redirects': 'always', 'enabled': True}, 'canceled_at': None,
            'cancellation_reason': None, 'capture_method': 'automatic',
            'client_secret': pid + '_secret_' + ''.join(random.choice(ALNUM) for _ in range(25)),
            'confirmation_method': 'automatic', 'created': int(time.time()), 'currency': p['currency'],
            'customer': None, 'description': p.get('description'), 'last_payment_error': None, 'latest_charge': None,
            'livemode': False, 'metadata': {k[9:-1]: v for k, v in p.items() if k.startswith('metadata[')},
            'next_action': None, 'on_behalf_of': None, 'payment_method': None,
            'payment_method_types': ['card', 'link'], 'processing': None, 'receipt_email': None, 'review': None,
            'setup_future_usage': None, 'shipping': None, 'source': None, 'statement_descriptor': None,
            'statement_descriptor_suffix': None, 'status': 'requires_payment_method', 'transfer_data': None,
            'transfer_group': None,
        }
        with self.lock:
            self.intents[pid] = pi
        return 200, pi

    def create_refund(self, key, p):
        bad = []
        unknown = set(p) - self.REFUND_KEYS
        if unknown:
            bad.append('parameters the relay should not send: %s' % sorted(unknown))
        if p.get('metadata[refund_id]') != key:
            bad.append('Idempotency-Key %s is not metadata[refund_id] %s' % (key, p.get('metadata[refund_id]')))
        pi = self.intents.get(p.get('payment_intent', ''))
        if pi is None:
            bad.append('payment_intent %r was not created here' % p.get('payment_intent'))
        if not re.fullmatch(r'[1-9][0-9]{0,10}', p.get('amount', '')):
            bad.append('amount %r is not a positive integer of minor units' % p.get('amount'))
        want = self.expected_refunds.get(key)
        if want is None:
            bad.append('refund %s is not one startlijn asked to send' % key)
        elif (p.get('amount'), p.get('payment_intent')) != (str(want['amount']), want['payment_intent']):
            bad.append('refund %s: sent %s for %s, startlijn holds %s for %s' % (
                key, p.get('amount'), p.get('payment_intent'), want['amount'], want['payment_intent']))
        if not bad:
            refunded = sum(r['amount'] for r in self.refunds.values() if r['payment_intent'] == pi['id'])
            if refunded + int(p['amount']) > pi['amount']:
                bad.append('refunds of %s would exceed its amount' % pi['id'])
        if bad:
            for b in bad:
                self.violation('POST /v1/refunds: ' + b)
            return self.error(400, 'invalid_request_error', '; '.join(bad), 'parameter_invalid')
        re_ = {
            'id': rid('re_', 24), 'object': 'refund', 'amount': int(p['amount']),
            'balance_transaction': rid('txn_', 24), 'charge': rid('ch_', 24), 'created': int(time.time()),
            'currency': pi['currency'], 'destination_details': {'type': 'card', 'card': {'type': 'refund'}},
            'metadata': {k[9:-1]: v for k, v in p.items() if k.startswith('metadata[')},
            'payment_intent': pi['id'], 'reason': None, 'receipt_number': None, 'source_transfer_reversal': None,
            'status': self.refund_status.get(key, 'succeeded'), 'transfer_reversal': None,
        }
        with self.lock:
            self.refunds[re_['id']] = re_
        return 200, re_


# ---------------------------------------------------------------------------
# Mollie
# ---------------------------------------------------------------------------

class Mollie(StandIn):
    name = 'mollie'
    PAYMENT_KEYS = {'amount', 'description', 'redirectUrl', 'webhookUrl', 'metadata'}
    REFUND_KEYS = {'amount', 'description', 'metadata'}

    def __init__(self, api_key):
        super().__init__(api_key)
        self.expected_payments = {}     # payment id -> {amount, currency, description, redirectUrl, webhookUrl, metadata}
        self.expected_refunds = {}      # refund id -> {amount, currency, payment}
        self.payments = {}              # tr id -> payment
        self.refunds = {}

    def expect_payment(self, payment_id, amount, currency, description, redirect_url, webhook_url, metadata):
        self.expected_payments[payment_id] = dict(amount={'currency': currency, 'value': mollie_value(amount, currency)},
                                                  description=description, redirectUrl=redirect_url,
                                                  webhookUrl=webhook_url, metadata=metadata)

    def expect_refund(self, refund_id, amount, currency, tr):
        self.expected_refunds[refund_id] = dict(amount={'currency': currency, 'value': mollie_value(amount, currency)},
                                                payment=tr)

    def set_status(self, tr, status):
        with self.lock:
            self.payments[tr]['status'] = status

    @staticmethod
    def error(status, title, detail, field=None):
        b = {'status': status, 'title': title, 'detail': detail,
             '_links': {'documentation': {'href': 'https://docs.mollie.com/overview/handling-errors',
                                          'type': 'text/html'}}}
        if field:
            b['field'] = field
        return status, b

    def reused_key_error(self):
        s, b = self.error(422, 'Unprocessable Entity', 'The Idempotency-Key was used with another request')
        return s, b, {}

    def links(self, tr, extra=None):
        l = {'self': {'href': 'https://api.mollie.com/v2/payments/' + tr, 'type': 'application/hal+json'},
             'documentation': {'href': 'https://docs.mollie.com/reference/create-payment', 'type': 'text/html'}}
        l.update(extra or {})
        return l

    def handle_request_(self, method, url, headers, raw):
        ctype = 'application/hal+json'
        key = headers.get('Idempotency-Key')
        m = re.fullmatch(r'/v2/payments(?:/(tr_[A-Za-z0-9]+)(/refunds)?)?', url.path)
        route = url.path if not m else ('/v2/payments' if not m.group(1) else
                                        '/v2/payments/{id}/refunds' if m.group(2) else '/v2/payments/{id}')
        with self.lock:
            self.requests.append((method, route, key))
        allowed = {('POST', '/v2/payments'), ('POST', '/v2/payments/{id}/refunds'), ('GET', '/v2/payments/{id}')}
        if (method, route) not in allowed:
            self.violation('%s %s: not an endpoint the relay uses' % (method, url.path))
            return (*self.error(404, 'Not Found', 'The resource does not exist'), {}, ctype)
        if headers.get('Authorization') != 'Bearer ' + self.api_key:
            self.violation('%s %s: Authorization is not Bearer <the API key>' % (method, route))
            return (*self.error(401, 'Unauthorized Request', 'Missing authentication, or failed to authenticate'),
                    {}, ctype)
        if method == 'GET':
            if raw:
                self.violation('GET %s: a body' % route)
            with self.lock:
                tr = self.payments.get(m.group(1))
            if tr is None:
                self.violation('GET %s: payment %s was not created here' % (route, m.group(1)))
                return (*self.error(404, 'Not Found', 'No payment exists with token %s.' % m.group(1)), {}, ctype)
            return 200, tr, {}, ctype
        if (headers.get('Content-Type') or '').split(';')[0].strip() != 'application/json':
            self.violation('%s: Content-Type %r is not JSON' % (route, headers.get('Content-Type')))
            return (*self.error(415, 'Unsupported Media Type', 'The request body is not JSON'), {}, ctype)
        if not key:
            self.violation('%s: no Idempotency-Key' % route)
            return (*self.error(422, 'Unprocessable Entity', 'An Idempotency-Key is required here'), {}, ctype)
        try:
            body = json.loads(raw)
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            self.violation('%s: the body is not a JSON object' % route)
            return (*self.error(400, 'Bad Request', 'The body is not a JSON object'), {}, ctype)
        if self.take_failure(route):
            return (*self.error(500, 'Internal Server Error', 'Something went wrong (injected by the test)'), {}, ctype)
        if route == '/v2/payments':
            status, out, extra = self.idempotent(route, key, body, lambda: self.create_payment(key, body))
        else:
            status, out, extra = self.idempotent(route, key, [m.group(1), body],
                                                 lambda: self.create_refund(key, m.group(1), body))
        return status, out, extra, ctype

    def check_amount(self, a, bad):
        if not isinstance(a, dict) or set(a) != {'currency', 'value'}:
            bad.append('amount %r is not {currency, value}' % (a,))
            return
        c, v = a.get('currency'), a.get('value')
        if not isinstance(c, str) or not re.fullmatch(r'[A-Z]{3}', c):
            bad.append('amount.currency %r is not an ISO 4217 code' % (c,))
            return
        e = decimals(c)
        if not isinstance(v, str) or not re.fullmatch(r'[0-9]+' + (r'\.[0-9]{%d}' % e if e else ''), v):
            bad.append('amount.value %r is not a string with %d decimals' % (v, e))

    def create_payment(self, key, b):
        bad = []
        unknown = set(b) - self.PAYMENT_KEYS
        if unknown:
            bad.append('parameters the relay should not send: %s' % sorted(unknown))
        self.check_amount(b.get('amount'), bad)
        d = b.get('description')
        if not isinstance(d, str) or not 1 <= len(d) <= 255:
            bad.append('description %r is not 1 to 255 characters' % (d,))
        for f in ('redirectUrl', 'webhookUrl'):
            if f in b and not (isinstance(b[f], str) and b[f].startswith(('https://', 'http://127.0.0.1'))):
                bad.append('%s %r is not a URL Mollie can reach' % (f, b[f]))
        if 'redirectUrl' not in b:
            bad.append('no redirectUrl (required for one-off payments)')
        md = b.get('metadata')
        if not isinstance(md, dict) or md.get('payment_id') != key:
            bad.append('Idempotency-Key %s is not metadata.payment_id (%r)' % (key, md))
        want = self.expected_payments.get(key)
        if want is None:
            bad.append('payment %s is not one startlijn asked to create' % key)
        elif {k: b.get(k) for k in want} != want:
            bad.append('payment %s: sent %s, startlijn holds %s' % (key, {k: b.get(k) for k in want}, want))
        if bad:
            for x in bad:
                self.violation('POST /v2/payments: ' + x)
            return self.error(422, 'Unprocessable Entity', '; '.join(bad))
        tr = rid('tr_', 10)
        now = time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime())
        pay = {
            'resource': 'payment', 'id': tr, 'mode': 'test', 'createdAt': now, 'amount': b['amount'],
            'description': b['description'], 'method': None, 'metadata': b['metadata'], 'status': 'open',
            'isCancelable': False,
            'expiresAt': time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(time.time() + 900)),
            'profileId': 'pfl_QkEhN94Ba', 'sequenceType': 'oneoff', 'redirectUrl': b['redirectUrl'],
            'webhookUrl': b.get('webhookUrl'),
            '_links': self.links(tr, {
                'checkout': {'href': 'https://www.mollie.com/checkout/select-method/' + tr[3:], 'type': 'text/html'},
                'dashboard': {'href': 'https://www.mollie.com/dashboard/org_12345678/payments/' + tr,
                              'type': 'text/html'}}),
        }
        with self.lock:
            self.payments[tr] = pay
        return 201, pay

    def create_refund(self, key, tr, b):
        bad = []
        unknown = set(b) - self.REFUND_KEYS
        if unknown:
            bad.append('parameters the relay should not send: %s' % sorted(unknown))
        self.check_amount(b.get('amount'), bad)
        md = b.get('metadata')
        if not isinstance(md, dict) or md.get('refund_id') != key:
            bad.append('Idempotency-Key %s is not metadata.refund_id (%r)' % (key, md))
        with self.lock:
            pay = self.payments.get(tr)
        if pay is None:
            bad.append('payment %s was not created here' % tr)
        want = self.expected_refunds.get(key)
        if want is None:
            bad.append('refund %s is not one startlijn asked to send' % key)
        elif (b.get('amount'), tr) != (want['amount'], want['payment']):
            bad.append('refund %s: sent %s for %s, startlijn holds %s for %s' % (key, b.get('amount'), tr,
                                                                                   want['amount'], want['payment']))
        if bad:
            for x in bad:
                self.violation('POST /v2/payments/{id}/refunds: ' + x)
            return self.error(422, 'Unprocessable Entity', '; '.join(bad))
        re_ = {
            'resource': 'refund', 'id': rid('re_', 10), 'mode': 'test', 'amount': b['amount'],
            'description': b.get('description', ''), 'metadata': b.get('metadata'), 'status': 'pending',
            'paymentId': tr, 'createdAt': time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime()),
            '_links': self.links(tr),
        }
        with self.lock:
            self.refunds[re_['id']] = re_
        return 201, re_
