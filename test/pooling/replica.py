#!/usr/bin/python3
"""Organiser reporting on a streaming replica (docs/scaling.md, "Read replicas").

Run by test/tools/run-tests.sh (suite `pooling`) with the libpq environment
pointing at a hot standby of the test cluster and PRIMARY_DSN at the primary.
Every call goes through the PostgREST-exact driver, as a PostgREST in front of
the replica would make it: GET for the read RPCs (they are STABLE, so a READ
ONLY transaction), POST for the writes.

  - every reporting read answers on the replica exactly as on the primary;
  - a write RPC sent to the replica is refused (25006, HTTP 405) and changes
    nothing anywhere; a webhook sent there is refused too (the provider retries
    it against the primary);
  - a change made on the primary reaches the replica's reads once replayed.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
from lib import ORG1, ORG2, Tap  # noqa: E402
from pgrst import Driver  # noqa: E402

t = Tap()                                  # the replica (libpq environment)
replica = t.api
primary = Driver(os.environ['PRIMARY_DSN'])


def wait_replayed(timeout=30):
    """Until the replica has replayed everything the primary has written (the insert
    position: the test cluster commits asynchronously, so a commit record may not
    be written out yet when the call returns)."""
    lsn = primary.su1('SELECT pg_current_wal_insert_lsn()::text')
    deadline = time.time() + timeout
    while time.time() < deadline:
        if replica.su1("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)):
            return True
        time.sleep(0.05)
    return False


t.is_(replica.su1('SELECT pg_is_in_recovery()'), True, 'the replica is a hot standby in recovery')
t.ok(wait_replayed(), 'the replica has replayed the primary (demo data and demo_dev.sql)')

singel = primary.su1("SELECT id::text FROM startlijn.events WHERE slug = 'singelloop-2027'")
tri = primary.su1("SELECT id::text FROM startlijn.events WHERE slug = 'triathlon-2027'")
order = primary.su1("SELECT o.id::text FROM startlijn.orders o JOIN startlijn.events e ON e.id = o.event_id "
                    "WHERE e.slug = 'triathlon-2027' AND o.status = 'paid' ORDER BY o.created_at LIMIT 1")
payment = primary.su1("SELECT id::text FROM payments.payments WHERE organization_id = %s ORDER BY created_at LIMIT 1",
                      (ORG1,))

# (caller, function, GET parameters): the public catalog, the buyer's reads and
# the organiser's reporting, every one a STABLE function
READS = [
    ('anon', 'events', None),
    ('anon', 'events', {'type': 'running'}),
    ('anon', 'event', {'org_slug': 'loopgroep-utrecht', 'event_slug': 'singelloop-2027'}),
    ('anon', 'event', {'org_slug': 'loopgroep-utrecht', 'event_slug': 'singelloop-2027', 'access_code': 'LOOPGROEP-2027'}),
    ('kim', 'my_registrations', None),
    ('kim', 'my_orders', None),
    ('joost', 'my_orders', None),
    ('anna', 'organization_events', {'organization_id': ORG1}),
    ('anna', 'event_dashboard', {'event_id': singel}),
    ('daan', 'event_revenue', {'event_id': singel}),
    ('anna', 'orders', {'event_id': singel}),
    ('anna', 'registrations', {'event_id': singel}),
    ('carla', 'start_list', {'event_id': singel}),
    ('anna', 'discount_codes', {'event_id': singel}),
    ('daan', 'payments', {'organization_id': ORG1}),
    ('daan', 'payment', {'payment_id': payment}),
    ('daan', 'ledger_balances', {'organization_id': ORG1}),
    ('anna', 'audit_entries', {'organization_id': ORG1}),
    ('eva', 'event_dashboard', {'event_id': tri}),
    ('eva', 'orders', {'event_id': tri}),
    ('eva', 'registrations', {'event_id': tri}),
    ('hanna', 'event_revenue', {'event_id': tri}),
    ('eva', 'order', {'order_id': order}),
    ('hanna', 'payments', {'organization_id': ORG2}),
    ('bram', 'event_dashboard', {'event_id': tri}),          # another tenant: refused on both alike
]

stable = {r[0] for r in primary.su("SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace "
                                   "AND p.provolatile IN ('s', 'i')")}
t.is_(sorted({fn for _, fn, _ in READS} - stable), [], 'every reporting read is STABLE (PostgREST serves it read-only)')


def same(who, fn, params):
    a = primary.get(who, fn, params)
    b = replica.get(who, fn, params)
    label = '%s %s%s' % (who, fn, '' if not params else ' ' + ','.join(sorted(params)))
    t.ok(a == b and (a['status'] == 200 or who == 'bram'),
         'on the replica as on the primary: GET %s -> %s' % (label, a['status']),
         'primary: %s\nreplica: %s' % (json.dumps(a, ensure_ascii=False, default=str)[:400],
                                       json.dumps(b, ensure_ascii=False, default=str)[:400]))
    return b


answers = [same(who, fn, params) for who, fn, params in READS]
filled = sum(1 for r in answers if r['status'] == 200 and r.get('body') not in (None, [], {}, ''))
t.ok(filled >= len(READS) - 3, '%d of the %d reads answered with demo data, not empty' % (filled, len(READS)))

# writes sent to the replica: refused before the function runs, nothing changes
before = primary.su1("SELECT md5(string_agg(to_jsonb(e)::text, '|' ORDER BY e.id)) FROM startlijn.events e")
ledger_before = primary.su1("SELECT count(*) FROM payments.postings")
for who, fn, args in [
        ('anna', 'update_event', {'event_id': singel, 'description': 'op de replica'}),
        ('kim', 'reserve', {'event_id': singel, 'lines': [{'ticket_type_id': primary.su1(
            "SELECT id::text FROM startlijn.ticket_types WHERE event_id = %s AND name = '5 km'", (singel,)),
            'quantity': 1}], 'idempotency_key': 'replica-reserve-000000001'}),
        ('daan', 'request_refund', {'payment_id': payment, 'amount': 1, 'reason': 'replica'})]:
    r = replica.call(who, fn, args)
    t.ok(r.get('code') == '0A000' and 'during recovery' in (r.get('message') or ''),
         'a write sent to the replica is refused at BEGIN READ WRITE: POST %s as %s -> %s (0A000)' % (fn, who, r['status']),
         json.dumps(r, default=str)[:400])
r = replica.post_raw(None, 'stripe_webhook', json.dumps({'id': 'evt_replica', 'type': 'payment_intent.succeeded'}),
                     headers={'Stripe-Signature': 't=1,v1=00'})
t.ok(r['status'] >= 400 and r.get('code') == '0A000',
     'a webhook sent to the replica is refused (%s, 0A000): the provider retries it, against the primary' % r['status'],
     json.dumps(r, default=str)[:400])
t.ok(wait_replayed(), 'replayed again')
t.is_(primary.su1("SELECT md5(string_agg(to_jsonb(e)::text, '|' ORDER BY e.id)) FROM startlijn.events e"), before,
      'the refused writes changed no event')
t.is_(primary.su1("SELECT count(*) FROM payments.postings"), ledger_before, 'and no ledger posting')

# a change on the primary reaches the replica's reads once replayed
r = primary.call('anna', 'update_event', {'event_id': singel, 'description': 'Nu ook met een kidsrun.'})
t.is_(r['status'], 200, 'the organiser changes the event on the primary', json.dumps(r, default=str)[:600])
t.is_((primary.get('anon', 'event', {'org_slug': 'loopgroep-utrecht', 'event_slug': 'singelloop-2027'}).get('body') or {})
      .get('description'), 'Nu ook met een kidsrun.', 'the public catalog on the primary shows it')
t.ok(wait_replayed(), 'the replica replays the change')
got = replica.get('anon', 'event', {'org_slug': 'loopgroep-utrecht', 'event_slug': 'singelloop-2027'})
t.is_((got.get('body') or {}).get('description'), 'Nu ook met een kidsrun.', 'the public catalog on the replica shows it')
same('anna', 'event_dashboard', {'event_id': singel})

t.done()
