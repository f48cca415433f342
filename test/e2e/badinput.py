"""The bad-input matrix of issue 26.3 (docs/reliability.md, "Fuzzing and bad
input"): every function of the `api` schema, read from pg_catalog when the
matrix runs (a function added tomorrow is covered the day it lands), called
through the PostgREST-exact driver (test/driver/pgrst.py) as anon, as a
signed-in participant, as an organisation owner and as the service role,
with one bad value per argument at a time (NULL, empty, 1 MB, invalid uuid,
negative and overflowing numbers, malformed and wrongly typed JSON, control
and bidirectional characters, timestamps and intervals out of range) and a
few bad bodies per function.

Each call must end in a documented error: a PTnnn business code of 4xx from
docs/errors.md whose details start with a registered code, or one of the
pre-call classes listed in docs/reliability.md (raised by PostgREST or by
PostgreSQL's typing of the arguments before the function runs; raised from
inside a function body it does not count). Never a 5xx, XX000 or another
class. And it writes nothing: a digest (row count and md5 per table) of every
table of the startlijn extensions, except those listed in EXCLUDED (they
record failed attempts), is the same before and after each call of a
volatile function (a STABLE one runs in a read-only transaction).

test/e2e/96_bad_input.py runs a bounded deterministic sample in `make test`;
`make test-reliability` (test/tools/reliability.sh) runs all of it with
test/tools/bad_input.py. Both first run a self-check: a throwaway schema
whose functions raise XX000, return 500 and write, which the checker must
flag."""

import gc
import hashlib
import json
import os
import re
import uuid

from lib import ORG1, STD_SECRET, STRIPE_SECRET, MOLLIE_SECRET, mollie_headers, std_headers, stripe_headers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')

# tables that legitimately record a failed attempt (docs/reliability.md)
EXCLUDED = {
    'tokens.failures',        # a failed redeem or verify is counted for rate limiting (too_many_attempts)
    'payments.deliveries',    # every webhook delivery is kept as received, refused ones too (bad_signature, ...)
}

ONE_MB = 'a' * (1 << 20)
# for typed arguments (uuid, numbers, booleans, intervals, timestamps): the typing refuses a long value
# like any other that does not parse, echoing it in its message, and psycopg2 2.9.5 leaks such a
# message's memory when its diagnostics are read (about 5 times its size per call): 10 kB there
TEN_KB = '1' * 10240
BIDI = '\u202eevil\u202c'
CONTROL = 'a\u0001b\u001b[31m\u007f\u0085'
NUL = 'a\u0000b'
SURROGATE = '\ud800'

# what a webhook endpoint answers with its own HTTP status (docs/api.md, "Payments")
WEBHOOK_OUTCOMES = {'applied', 'duplicate', 'out_of_order_ignored', 'amount_mismatch', 'queued', 'ignored',
                    'missing_header', 'malformed_header', 'bad_signature', 'unknown_payment', 'too_large'}

# the caller whose depth each kind of function reaches
CALLERS = ('anon', 'kim', 'anna', 'service')


def documented_codes():
    """PTnnn business codes of 4xx and their names, from docs/errors.md."""
    names, states = set(), set()
    for line in open(os.path.join(ROOT, 'docs', 'errors.md')):
        m = re.match(r'^\| `([a-z_0-9]+)` \| (PT4\d\d) \|', line)
        if m:
            names.add(m.group(1))
            states.add(m.group(2))
    return names, states


def precall_classes():
    """The pre-call classes accepted, from the table in docs/reliability.md."""
    doc = open(os.path.join(ROOT, 'docs', 'reliability.md')).read()
    sec = doc[doc.index('### Accepted pre-call classes'):]
    sec = sec[:sec.index('\n#', 1)] if '\n#' in sec[1:] else sec
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'^\| `([0-9A-Z]+)` \| (\d{3}) \|', sec, re.M)}


# values that are bad for some arguments of a type but not all (an empty
# description, a zero sort order, an empty list of questions): sent in a
# second pass, after the bad values of every function; they must not end in
# an internal error, and when refused must write nothing, but they may be
# accepted (counted as "edge values accepted")
EDGE = {
    'text': {'empty', 'spaces', 'bidi', 'control', 'long-line'},
    'integer': {'negative', 'zero', 'int-min'},
    'numeric': {'negative'},
    'interval': {'tiny', 'zero'},
    'json': {'empty-object', 'empty-array', 'bidi'},
}


def type_class(typ):
    if typ in ('text', 'character varying'):
        return 'text'
    if typ in ('integer', 'bigint', 'smallint'):
        return 'integer'
    if typ in ('jsonb', 'json'):
        return 'json'
    return typ


def is_edge(typ, label):
    # 2147483648 overflows an integer but is an ordinary bigint (an amount of 21 million euros)
    return label in EDGE.get(type_class(typ), ()) or (typ == 'bigint' and label == 'over-int')


def bad_values(typ):
    """(label, value) pairs, each bad for an argument of this type (or an edge value, EDGE)."""
    common = [('null', None), ('object', {'a': 1}), ('array', [1, 'x']), ('bidi', BIDI), ('nul', NUL),
              ('surrogate', SURROGATE)]
    if typ in ('text', 'character varying'):
        # a JSON number, boolean, object or array for a text argument is read as its text ("12",
        # '{"a": 1}'), exactly as if sent as that string: not bad in itself, so not sent
        common = [c for c in common if c[0] not in ('object', 'array')]
    if typ == 'uuid':
        return common + [('empty', ''), ('not-uuid', 'not-a-uuid'), ('uuid-10kb', TEN_KB),
                         ('nil-uuid', '00000000-0000-0000-0000-000000000000'),
                         ('unknown-uuid', 'ffffffff-ffff-4fff-bfff-ffffffffffff'), ('number', 42), ('bool', True)]
    if typ in ('text', 'character varying'):
        # (a JSON number or boolean for a text argument is read as its text, "12", as if sent so: not bad)
        return common + [('empty', ''), ('1mb', ONE_MB), ('control', CONTROL), ('spaces', '   '),
                         ('long-line', 'x' * 5000)]
    if typ in ('integer', 'bigint', 'smallint'):
        return common + [('empty', ''), ('negative', -1), ('zero', 0), ('int-min', -2147483648),
                         ('over-int', 2147483648), ('over-bigint', 9223372036854775808), ('huge', 10 ** 40),
                         ('float', 1.5), ('exp', 1e308), ('text', 'abc'), ('bool', True), ('10kb', TEN_KB)]
    if typ == 'numeric':
        return common + [('empty', ''), ('nan', 'NaN'), ('inf', 'Infinity'), ('huge', '1e1000'), ('negative', -1e300),
                         ('text', 'abc')]
    if typ == 'boolean':
        return common + [('empty', ''), ('text', 'maybe'), ('number', 2), ('10kb', TEN_KB)]
    if typ == 'interval':
        return common + [('empty', ''), ('text', 'soon'), ('negative', '-1 hour'), ('zero', '0'),
                         ('huge', '178000000 years'), ('iso-huge', 'P100000000Y'), ('over', '999999999999 hours'),
                         ('years', '1000000 years'), ('iso-years', 'P1000000Y'), ('days', '100000000 days'),
                         ('tiny', '1 microsecond'), ('10kb', TEN_KB)]
    if typ in ('timestamp with time zone', 'timestamp without time zone', 'date'):
        return common + [('empty', ''), ('text', 'tomorrow-ish'), ('year-1', '0001-01-01T00:00:00Z'),
                         ('bc', '4713-01-01 BC'), ('year-294276', '294276-12-31'), ('infinity', 'infinity'),
                         ('-infinity', '-infinity'), ('feb-30', '2027-02-30'), ('year-10000', '10000-01-01'),
                         ('year-1899', '1899-12-31T23:59:59Z'), ('number', 1700000000), ('10kb', TEN_KB)]
    if typ in ('jsonb', 'json'):
        return [('null', None), ('string', 'x'), ('json-in-string', '{"a":1}'), ('number', -1), ('bool', True),
                ('empty-object', {}), ('empty-array', []), ('nested', json.loads('[' * 500 + ']' * 500)),
                ('nul-key', {'\u0000': 1}), ('nul-value', {'name': NUL}), ('array-of-null', [None]),
                ('wrong-types', [{'item_id': 5, 'pool_id': [], 'quantity': '2', 'id': {}, 'answers': 'x',
                                  'amount': '100', 'until': 'x', 'refund_percent': 'all', 'type': 7}]),
                ('overflow', [{'quantity': 10 ** 30, 'amount': -10 ** 30, 'price': 1e308, 'from': '0001-01-01'}]),
                ('1mb', [ONE_MB]), ('bidi', {'name': BIDI, 'email': BIDI})]
    if typ.endswith('[]'):
        return [('null', None), ('string', 'x'), ('object', {'a': 1}), ('array-of-null', [None]),
                ('nested', [[1]]), ('wrong-element', ['not-a-uuid', 'x']),
                ('1mb', [ONE_MB if typ == 'text[]' else TEN_KB]), ('bidi', [BIDI])]
    return common + [('empty', ''), ('10kb', TEN_KB)]


BAD_BODIES = [('malformed-json', '{"a": '), ('not-an-object', '[1, 2]'), ('unknown-argument', '{"no_such_argument": 1}'),
              ('json-1mb', json.dumps({'x': ONE_MB}))]
RAW_JSON_BODIES = [('empty', ''), ('malformed', '{"type": '), ('null', 'null'), ('array', '[]'), ('string', '"x"'),
                   ('number', '-1'), ('nul', '{"type": "a\\u0000b"}'), ('1mb', json.dumps({'type': ONE_MB})),
                   ('nested', '[' * 500 + ']' * 500), ('bidi', json.dumps({'type': BIDI, 'id': BIDI}))]


class Matrix:
    def __init__(self, api, schema='api', callers=CALLERS):
        self.api = api
        self.schema = schema
        self.callers = callers
        self.names, self.states = documented_codes()
        self.precall = precall_classes()
        self.ids = self._demo_ids()
        self.tables = self._tables()
        self.digest_sql = self._digest_sql()
        self.calls = 0
        self.findings = []
        self.outcomes = {}
        self.functions_seen = set()
        self._digest = None
        self.edge_accepted = 0

    # ---- the catalog --------------------------------------------------------
    def functions(self):
        """[(name, volatility, [(param, type, required)], single_json)] of the schema, from pg_catalog."""
        rows = self.api.su("""
            SELECT DISTINCT p.proname
              FROM pg_proc p WHERE p.pronamespace = %s::regnamespace AND p.prokind = 'f'
               AND p.prorettype <> 'trigger'::regtype
             ORDER BY 1""", (self.schema,))
        out = []
        for (name,) in rows:
            for r in self.api.routines(name):
                single = len(r.params) == 1 and r.params[0][0] == ''
                out.append((name, r.volatility, [(p[0], p[1], p[2]) for p in r.params], single))
        return out

    def _demo_ids(self):
        q = {
            'organization_id': ("SELECT %s::text", (ORG1,)),
            'event_id': ("SELECT id::text FROM startlijn.events WHERE organization_id = %s ORDER BY starts_at, id LIMIT 1", (ORG1,)),
            'ticket_type_id': ("SELECT t.id::text FROM startlijn.ticket_types t WHERE t.organization_id = %s ORDER BY t.id LIMIT 1", (ORG1,)),
            'course_id': ("SELECT id::text FROM startlijn.courses WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'wave_id': ("SELECT id::text FROM startlijn.waves WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'addon_id': ("SELECT id::text FROM startlijn.addons WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'variant_id': ("SELECT id::text FROM startlijn.addon_variants WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'order_id': ("SELECT id::text FROM startlijn.orders WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'registration_id': ("SELECT id::text FROM startlijn.registrations WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'entitlement_id': ("SELECT id::text FROM startlijn.entitlements WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'discount_code_id': ("SELECT id::text FROM startlijn.discount_codes WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'payment_id': ("SELECT id::text FROM payments.payments WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'refund_id': ("SELECT id::text FROM payments.refunds ORDER BY id LIMIT 1", None),
            'hold_id': ("SELECT id::text FROM capacity.holds WHERE holder = 'bad-input' ORDER BY id LIMIT 1", None),
            'pool_id': ("SELECT id::text FROM capacity.pools WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'item_id': ("SELECT id::text FROM capacity.items WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'allocation_id': ("SELECT id::text FROM capacity.allocations WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,)),
            'user_id': ("SELECT '00000000-0000-4000-a000-000000000002'", None),
            'subject': ("SELECT '00000000-0000-4000-a000-000000000011'", None),
        }
        ids = {}
        for k, (sql, params) in q.items():
            try:
                ids[k] = self.api.su1(sql, params)
            except Exception:      # a table a later issue renames: a random id instead
                ids[k] = None
            ids[k] = ids[k] or str(uuid.UUID(hashlib.md5(k.encode()).hexdigest()))
        return ids

    def baseline(self, name, typ):
        """A plausible value for an argument that is not the one under test."""
        if typ == 'uuid':
            return self.ids.get(name) or str(uuid.UUID(hashlib.md5(name.encode()).hexdigest()))
        if typ in ('text', 'character varying'):
            return {'slug': 'bad-input-check', 'role': 'admin', 'provider': 'stripe', 'status': 'paid', 'name': 'Bad input',
                    'account': 'platform_fee_revenue', 'resolution': 'accepted', 'provider_ref': 'pi_bad_input',
                    'org_slug': 'loopgroep-utrecht', 'event_slug': 'singelloop-2027', 'id': 'tr_bad_input'}.get(name, 'x')
        if typ in ('integer', 'bigint', 'smallint'):
            return 1
        if typ in ('jsonb', 'json'):
            return []
        if typ.endswith('[]'):
            return []
        if typ == 'interval':
            return '5 minutes'
        if typ == 'boolean':
            return False
        return 'x'

    # ---- the digest ---------------------------------------------------------
    def _tables(self):
        return [r[0] for r in self.api.su("""
            SELECT c.oid::regclass::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
              JOIN pg_class c ON c.oid = d.objid
             WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%%'
               AND c.relkind IN ('r', 'p') ORDER BY 1""") if r[0] not in EXCLUDED]

    def _digest_sql(self):
        return ' UNION ALL '.join(
            "SELECT %s, count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM %s t"
            % ("'" + t + "'", t) for t in self.tables)

    def digest(self):
        return dict(self.api.su(self.digest_sql))

    def next_xid(self):
        """The next transaction id: a call that committed a write was given one, so when it has not moved
        nothing was written and the full digest need not be computed again."""
        return self.api.su1('SELECT pg_snapshot_xmax(pg_current_snapshot())::text')

    # ---- judging ------------------------------------------------------------
    def raised_by_typing(self, call, code):
        """Does PostgreSQL's typing of the arguments alone (what PostgREST runs before the function:
        json_to_record with the declared types, or the body cast to json) raise this class?"""
        params, single, body = call
        try:
            if single:
                self.api.su('SELECT %s::json', (body,))
            else:
                keys = json.loads(body)
                cols = [(p, t) for p, t, _ in params if isinstance(keys, dict) and p in keys]
                if not cols:
                    return False
                self.api.su('SELECT * FROM json_to_record(%%s::json) AS _(%s)' % ', '.join(
                    '"%s" %s' % (p, t) for p, t in cols), (body,))
        except Exception as e:
            return getattr(e, 'pgcode', None) == code
        return False

    def judge(self, r, vol, call=None):
        """None if the answer is a documented error, else what is wrong."""
        status, code = r.get('status'), r.get('code')
        if 'body' in r:
            body = r['body']
            if isinstance(body, dict) and body.get('outcome') in WEBHOOK_OUTCOMES and status in (200, 400, 401, 404, 413):
                return None   # a webhook's documented answer (docs/api.md, "Payments"); the digest shows what it wrote
            if vol in ('s', 'i') and status < 400:
                return None   # a read in a read-only transaction: an odd filter finds nothing, it cannot write
            return 'accepted (HTTP %s)' % status
        if status >= 500:
            return 'HTTP %s %s %s' % (status, code, r.get('message'))
        if code in self.states:
            name = (r.get('details') or '').split(':')[0]
            if name not in self.names:
                return '%s with details %r: no registered code' % (code, (r.get('details') or '')[:80])
            return None
        if code in self.precall:
            if self.precall[code] != status:
                return '%s answered HTTP %s, documented %s' % (code, status, self.precall[code])
            if not code.startswith('PGRST') and not self.raised_by_typing(call, code):
                return '%s (%s) raised inside the function, not by the typing of its arguments' % (
                    code, (r.get('message') or '')[:120])
            return None
        return 'undocumented class %s (HTTP %s): %s' % (code, status, (r.get('message') or '')[:160])

    def record(self, fn, who, label, r, problem):
        self.calls += 1
        key = (r.get('code') or ('HTTP %s' % r.get('status')))
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        if problem:
            self.findings.append('%s as %s, %s: %s' % (fn, who, label, problem))

    # ---- the calls ----------------------------------------------------------
    def cases(self, fn, params, single, sample=None, edge=False):
        """[(label, body_text, headers)] for one function: its bad values, or (edge) its edge values."""
        out = []
        if edge:
            if single:
                return []
            base = {p: self.baseline(p, t) for p, t, req in params if req}
            for p, t, req in params:
                for label, v in bad_values(t):
                    if is_edge(t, label):
                        out.append(('%s=%s' % (p, label), json.dumps(dict(base, **{p: v})), None))
        elif single:
            for label, body in RAW_JSON_BODIES:
                out.append(('raw ' + label, body, None))
            out += self.webhook_cases(fn)
        else:
            base = {p: self.baseline(p, t) for p, t, req in params if req}
            for p, t, req in params:
                for label, v in bad_values(t):
                    if v is None and not req:
                        continue      # an explicit null for an optional argument is its default
                    if is_edge(t, label):
                        continue
                    args = dict(base)
                    args[p] = v
                    out.append(('%s=%s' % (p, label), json.dumps(args), None))
            for label, body in BAD_BODIES:
                if label == 'not-an-object' and not any(req for _, _, req in params):
                    continue      # without required arguments, a body that is not an object is a call without arguments
                out.append(('body ' + label, body, None))
        if sample:
            # a deterministic sample: the cases whose hash falls in 1/sample of the space
            out = [c for c in out if int(hashlib.md5((fn + c[0]).encode()).hexdigest(), 16) % sample == 0] or out[:1]
        return out

    def webhook_cases(self, fn):
        """Signed deliveries with payloads of the wrong shape: past the signature check, into the parser."""
        payloads = [
            {'amount': '4200'}, {'amount': -1}, {'amount': 10 ** 30}, {'amount': 1e308}, {'amount': None},
            {'amount': [1]}, {'currency': 7}, {'currency': BIDI}, {'id': 5}, {'id': ONE_MB}, {'id': NUL},
            {'status': {}}, {'type': None},
        ]
        out = []
        for i, extra in enumerate(payloads):
            label = 'signed ' + json.dumps(extra)[:40]
            if fn == 'standard_webhook':
                data = dict({'id': 'psp_bad_input', 'amount': 4200, 'currency': 'EUR'}, **extra)
                body = json.dumps({'type': extra.get('type', 'payment.paid'), 'data': data})
                out.append((label, body, std_headers('msg_bad_%d' % i, body, secret=STD_SECRET)))
            elif fn == 'stripe_webhook':
                obj = {'id': 'pi_bad_input', 'object': 'payment_intent', 'amount': 4200, 'amount_received': 4200,
                       'currency': 'eur'}
                for k, v in extra.items():
                    obj[k] = v
                    if k == 'amount':
                        obj['amount_received'] = v
                body = json.dumps({'id': 'evt_bad_%d' % i, 'object': 'event',
                                   'type': extra.get('type', 'payment_intent.succeeded'), 'data': {'object': obj}})
                out.append((label, body, stripe_headers(body, secret=STRIPE_SECRET)))
            elif fn == 'mollie_webhook':
                ent = {'resource': 'payment', 'id': 'tr_bad_input', 'status': 'paid',
                       'amount': {'value': '42.00', 'currency': 'EUR'}}
                for k, v in extra.items():
                    if k in ('amount', 'currency'):
                        ent['amount'] = dict(ent['amount'], **{'value' if k == 'amount' else 'currency': v})
                    else:
                        ent[k] = v
                body = json.dumps({'id': 'ev_bad_%d' % i, '_embedded': {'entity': ent}})
                out.append((label, body, mollie_headers(body, secret=MOLLIE_SECRET)))
        return out

    def run_function(self, fn, vol, params, single, sample=None, callers=None, edge=False):
        self.functions_seen.add(fn)
        for who in callers or self.callers:
            for label, body, headers in self.cases(fn, params, single, sample, edge):
                if vol == 'v':
                    if self._digest is None:
                        self._digest = self.digest()
                    before, xid = self._digest, self.next_xid()
                else:
                    before = None
                try:
                    r = self.api.post_raw(who, fn, body, headers)
                except Exception as e:          # the driver itself failed: a finding, not a crash of the matrix
                    r = {'status': 599, 'code': 'driver', 'message': repr(e)[:200]}
                problem = self.judge(r, vol, (params, single, body))
                if edge and problem and problem.startswith('accepted'):
                    self.edge_accepted += 1
                    problem = None
                    before = self._digest = None   # an accepted edge value is a valid call: it may write
                if before is not None and self.next_xid() != xid:
                    after = self._digest = self.digest()
                    if after != before:
                        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                        # a signed delivery, or the relay's report as the service role: the provider's word
                        reported = headers or (isinstance(r.get('body'), dict) and 'outcome' in r['body'])
                        allowed = self.signed_writes(r) if reported else set()
                        if set(changed) - allowed:
                            problem = (problem + '; ' if problem else '') + 'wrote ' + ', '.join(changed)
                self.record(fn, who, label, r, problem)
                if self.calls % 25 == 0:
                    gc.collect()      # failed calls leave cycles (exception, frames) holding 1 MB bodies

    @staticmethod
    def signed_writes(r):
        """What a delivery with a valid signature (or the relay's report, api.record_payment_status) may write (docs/payments.md, "Exactly once"): the event's
        claim (payments.events) whatever its outcome, and the payment's change when it was applied or its
        amount did not match (the payment gets the exception amount_mismatch)."""
        outcome = r.get('body', {}).get('outcome') if isinstance(r.get('body'), dict) else None
        allowed = {'payments.events'}
        if outcome in ('applied', 'amount_mismatch'):
            allowed |= {'payments.payments', 'payments.journal', 'payments.postings', 'payments.fetch_queue',
                        'trail.entries', 'startlijn.orders', 'startlijn.order_items', 'startlijn.registrations',
                        'startlijn.entitlements', 'capacity.holds', 'capacity.allocations', 'capacity.slots'}
        return allowed

    def run(self, functions, sample=None, log=None):
        """Every function's bad values, then every function's edge values."""
        for edge in (False, True):
            for name, vol, params, single in functions:
                n = len(self.findings)
                self.run_function(name, vol, params, single, sample=sample, edge=edge)
                if log:
                    log(name, edge, self.findings[n:])

    def summary(self):
        return '%d functions, %d calls (%d edge values accepted), %d findings; outcomes: %s' % (
            len(self.functions_seen), self.calls, self.edge_accepted, len(self.findings),
            ', '.join('%s %d' % kv for kv in sorted(self.outcomes.items(), key=lambda kv: -kv[1])))


def prepare(t):
    """The data the matrix reaches deep with: the dev demo (events, ticket types, orders, payments, a
    capacity pool and item), the test webhook secrets, and a live capacity hold of organisation 1."""
    import subprocess
    from lib import create_payment, payments_fixture
    psql = os.path.join(os.environ.get('PG_BIN', '/usr/lib/postgresql/15/bin'), 'psql')
    subprocess.run([psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', os.path.join(ROOT, 'test/fixtures/demo_dev.sql')],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, PGOPTIONS='-c client_min_messages=warning'))
    acc = payments_fixture(t)
    # a payment of each scheme the signed deliveries of the matrix name (4200 EUR cents, waiting)
    for provider, ref in (('standard', 'psp_bad_input'), ('stripe', 'pi_bad_input'), ('mollie', 'tr_bad_input')):
        create_payment(t, acc, provider, ref, 4200)
    pool = t.su1("SELECT id::text FROM capacity.pools WHERE organization_id = %s ORDER BY id LIMIT 1", (ORG1,))
    r = t.api.call('anna', 'hold_capacity', {'organization_id': ORG1, 'lines': [{'pool_id': pool, 'quantity': 1}],
                                             'ttl': '30 minutes', 'holder': 'bad-input'})
    if r.get('status') != 200:
        raise RuntimeError('could not hold capacity for the matrix: %r' % r)


SELF_CHECK_SQL = """
DROP SCHEMA IF EXISTS bad_input_selfcheck CASCADE;
CREATE SCHEMA bad_input_selfcheck;
GRANT USAGE ON SCHEMA bad_input_selfcheck TO anon, authenticated, service_role;
-- an internal error whatever the input
CREATE FUNCTION bad_input_selfcheck.internal_error(x text) RETURNS int LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'planted internal error' USING ERRCODE = 'XX000'; END$$;
-- a business error for most input, but it writes to an extension table first and answers 200
CREATE FUNCTION bad_input_selfcheck.writes(x text) RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS
  $$BEGIN UPDATE startlijn.profiles SET full_name = 'Kim Vos ' || pg_catalog.length(coalesce(x, ''))
           WHERE id = '00000000-0000-4000-a000-000000000011'; RETURN 1; END$$;
-- a 22003 raised inside the body (an overflow in our own arithmetic, reached by the edge value
-- -2147483648) is not a pre-call class
CREATE FUNCTION bad_input_selfcheck.overflows(n integer) RETURNS int LANGUAGE plpgsql AS
  $$BEGIN RETURN n * 2147483647; END$$;
-- a clean one: every input ends in a business error
CREATE FUNCTION bad_input_selfcheck.clean(x text) RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS
  $$BEGIN PERFORM startlijn.raise('invalid_argument', NULL, NULL); RETURN 0; END$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bad_input_selfcheck TO anon, authenticated, service_role;
"""


def self_check(api_factory):
    """The checker flags a planted XX000, a write, an in-body 22003, and passes a clean function.
    Returns [(name, ok, detail)]."""
    su = api_factory('api')
    su.su(SELF_CHECK_SQL.replace('%', '%%'))
    kim_name = su.su1("SELECT full_name FROM startlijn.profiles WHERE id = '00000000-0000-4000-a000-000000000011'")
    res = []
    try:
        drv = api_factory('bad_input_selfcheck')
        m = Matrix(drv, schema='bad_input_selfcheck', callers=('anna',))
        fns = {f[0]: f for f in m.functions()}
        for fn, want in (('internal_error', 'XX000'), ('writes', 'wrote startlijn.profiles'),
                         ('overflows', 'raised inside the function'), ('clean', None)):
            m.findings = []
            name, vol, params, single = fns[fn]
            m.run_function(name, vol, params, single, sample=None)
            m.run_function(name, vol, params, single, sample=None, edge=True)
            hit = [f for f in m.findings if want and want in f]
            if want is None:
                res.append(('self-check: a clean function gives no finding', not m.findings, m.findings[:3]))
            else:
                res.append(('self-check: the checker flags %s (%s)' % (fn, want), bool(hit),
                            m.findings[:3] or 'no finding at all'))
    finally:
        su.su("UPDATE startlijn.profiles SET full_name = %s WHERE id = '00000000-0000-4000-a000-000000000011'",
              (kim_name,))
        su.su('DROP SCHEMA bad_input_selfcheck CASCADE')
    return res
