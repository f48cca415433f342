#!/usr/bin/python3
"""Bad input over every api function (issue 26.3; docs/reliability.md,
"Fuzzing and bad input"): a bounded deterministic sample of the matrix of
test/e2e/badinput.py, read from pg_catalog now, through the PostgREST-exact
driver as anon, a participant, an owner and the service role. Each call ends
in a documented error and writes nothing. First the self-check (the checker
flags a planted XX000, a write and an in-body overflow), then the findings of
the matrix as regression rows. `make test-reliability` runs the whole
matrix (test/tools/bad_input.py)."""

import json
import os
import time

import badinput
from lib import ORG1, STD_SECRET, Tap, std_headers
from pgrst import Driver

SAMPLE = int(os.environ.get('BAD_INPUT_SAMPLE', '40'))   # about 1 case in 40 of each function

t = Tap()
badinput.prepare(t)
t.note('prepared in %.1f s' % (time.time() - t.t0))

# --- the checker can fail --------------------------------------------------------
for name, ok, detail in badinput.self_check(lambda schema: Driver(schema=schema)):
    t.ok(ok, name, detail)

t.note('self-check done at %.1f s' % (time.time() - t.t0))

# --- regressions: what the matrix found, fixed -----------------------------------
hold = t.su1("SELECT id::text FROM capacity.holds WHERE holder = 'bad-input'")
event = t.su1("SELECT id::text FROM startlijn.events WHERE organization_id = %s ORDER BY starts_at, id LIMIT 1", (ORG1,))


def refused(who, fn, args, code, name):
    before = t.api.su1("SELECT md5(string_agg(to_jsonb(x)::text, '|' ORDER BY x.id)) FROM startlijn.events x")
    r = t.api.call(who, fn, args)
    t.is_((r.get('status'), (r.get('details') or '').split(':')[0]), (400, code), name, r)
    t.is_(t.api.su1("SELECT md5(string_agg(to_jsonb(x)::text, '|' ORDER BY x.id)) FROM startlijn.events x"), before,
          name + ': nothing written')


for ttl in ('1000000 years', 'P1000000Y', '100000000 days'):
    r = t.api.call('anna', 'extend_hold', {'organization_id': ORG1, 'hold_id': hold, 'ttl': ttl})
    t.is_((r.get('status'), (r.get('details') or '').split(':')[0]), (400, 'invalid_ttl'),
          'extend_hold with a ttl of %s: invalid_ttl, not an overflow of now() + ttl' % ttl, r)
for moment in ('0001-01-01T00:00:00Z', '1899-12-31T23:59:59Z', '10000-01-01', 'infinity', '-infinity', '4713-01-01 BC'):
    refused('anna', 'update_event', {'event_id': event, 'starts_at': moment}, 'invalid_period',
            'update_event starts_at %s: invalid_period' % moment)
refused('anna', 'create_event', {'organization_id': ORG1, 'name': 'Far', 'slug': 'far-future', 'type': 'running',
                                 'starts_at': '294276-12-31', 'ends_at': '294276-12-31'}, 'invalid_period',
        'create_event in year 294276: invalid_period')
refused('anna', 'update_event', {'event_id': event, 'cancellation_policy': [{'until': '0005-01-01', 'refund_percent': 50}]},
        'invalid_cancellation_policy', 'a cancellation tier until year 5: invalid_cancellation_policy')
r = t.api.call('anna', 'acknowledge_retention_notifications', {'organization_id': ORG1, 'ids': [None]})
t.is_((r.get('status'), (r.get('details') or '').split(':')[0]), (400, 'invalid_argument'),
      'acknowledge_retention_notifications with ids [null]: invalid_argument', r)
# an access code longer than any (1 MB) joined the waitlist of a public ticket type; reserve refused it already
tt = t.su1("""SELECT t.id::text FROM startlijn.ticket_types t JOIN startlijn.events e ON e.id = t.event_id
               WHERE e.organization_id = %s AND e.status = 'published' AND t.visibility = 'public' ORDER BY t.id LIMIT 1""",
           (ORG1,))
waiting = t.su1('SELECT count(*) FROM capacity.waitlist')
r = t.api.call('kim', 'join_ticket_waitlist', {'ticket_type_id': tt, 'access_code': 'x' * (1 << 20)})
t.is_((r.get('status'), (r.get('details') or '').split(':')[0], t.su1('SELECT count(*) FROM capacity.waitlist')),
      (404, 'ticket_type_not_found', waiting), 'join_ticket_waitlist with a 1 MB access code: ticket_type_not_found, not joined', r)
# the relay reporting a negative amount claimed the event (payments.events) before answering
events = t.su1('SELECT count(*) FROM payments.events')
r = t.api.call('service', 'record_payment_status', {'provider': 'stripe', 'provider_ref': 'pi_bad_input', 'status': 'paid',
                                                    'amount': -1})
t.is_((r.get('status'), (r.get('details') or '').split(':')[0], t.su1('SELECT count(*) FROM payments.events')),
      (400, 'invalid_amount', events), 'record_payment_status with amount -1: invalid_amount, no event claimed', r)
# Standard Webhooks: an amount that is not a whole number makes a signed event unreadable: ignored, nothing but its record
pay = t.su1("SELECT to_jsonb(p)::text FROM payments.payments p WHERE provider_ref = 'psp_bad_input'")
for i, amount in enumerate(('4200', None, 42.5, [4200])):
    body = json.dumps({'type': 'payment.paid', 'data': {'id': 'psp_bad_input', 'amount': amount, 'currency': 'EUR'}})
    r = t.api.post_raw('anon', 'standard_webhook', body, std_headers('msg_regress_%d' % i, body, secret=STD_SECRET))
    t.is_((r.get('status'), (r.get('body') or {}).get('outcome') if 'body' in r else r.get('code')), (200, 'ignored'),
          'standard_webhook, signed, amount %s: 200 ignored' % json.dumps(amount), r)
t.is_(t.su1("SELECT to_jsonb(p)::text FROM payments.payments p WHERE provider_ref = 'psp_bad_input'"), pay,
      'standard_webhook: the payment is unchanged by the unreadable amounts')

t.note('regressions done at %.1f s' % (time.time() - t.t0))

# --- the sample ------------------------------------------------------------------
m = badinput.Matrix(t.api)
functions = m.functions()
names = {f[0] for f in functions}
t.ok(len(names) >= 90, 'the matrix reads %d api functions from pg_catalog' % len(names))


def log(name, edge, found):
    t.ok(not found, '%s%s: %s' % (name, ' (edge values)' if edge else '', 'a documented error, nothing written'),
         '\n'.join(found[:10]))


m.run(functions, sample=SAMPLE, log=log)
t.note(m.summary())
t.ok(m.calls >= 400 and not m.findings, 'the sample: %d calls of %d functions, no finding' % (m.calls, len(m.functions_seen)))
t.done()
