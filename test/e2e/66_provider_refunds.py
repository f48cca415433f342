#!/usr/bin/python3
"""Refunds and chargebacks made at the provider reach the order (issue 25,
the checkout's known gaps, 1), through the PostgREST-exact driver: signed
Stripe webhooks posted as anon, COMMIT under that role; every effect checked
afterwards by superuser queries on what was committed.

- a full refund made in Stripe's dashboard (refund.created, succeeded)
  cancels the order's registrations and entitlements, revokes the codes and
  gives the places back, exactly as the organiser's full refund does (one
  'orders.cancelled' audit entry, no second refund requested); the same
  webhook again, and a later event of that refund, change nothing;
- events of one refund out of order (refund.updated succeeded before
  refund.created pending): one cancellation;
- a partial refund at the provider cancels nothing; the order shows it
  (refunded) to the buyer and the organiser; the organiser's cancellation
  afterwards refunds only what is left;
- a dispute (charge.dispute.created) over the whole payment cancels like a
  full refund; the dispute won (charge.dispute.closed, won) brings nothing
  back;
- the organiser's own full refund still writes one 'orders.cancelled'
  entry (the listener finds nothing left to cancel);
- the ledger balances at the end."""

import json
import uuid

from lib import ORG1, Tap, body, payments_fixture, stripe_headers, stripe_obj, stripe_pi

t = Tap()
api = t.api


q1 = t.q1


acc = payments_fixture(t)
t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid", (acc['stripe'],))

ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Terugbetaalloop 2027', slug='terugbetaalloop-2027', type='running',
    starts_at='2027-09-05T09:00:00+02:00', ends_at='2027-09-05T14:00:00+02:00',
    venue_name='Maliebaan', venue_country='NL', contact_email='info@terugbetaalloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00'))
           ).get('event_id')
course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='10 km', distance_m=10000, capacity=100))
              ).get('course_id')
tt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=course, name='10 km', price=2000,
                                                               vat_rate=900, max_per_order=4))).get('ticket_type_id')
shirt = body(t.call('setup', 'anna', 'create_addon', dict(event_id=ev, name='Shirt'))).get('addon_id')
shirt_m = body(t.call('setup', 'anna', 'create_addon_variant', dict(addon_id=shirt, name='M', price=1500, vat_rate=2100,
                                                                      stock=10))).get('variant_id')
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
t.ok(all([ev, course, tt, shirt_m]), 'the organiser built and published the event through the API')

n_person = [0]


def person():
    n_person[0] += 1
    return dict(ticket_type_id=tt, first_name='Loper%d' % n_person[0], last_name='Terug', date_of_birth='1990-04-01',
                gender='x')


def pi_of(order):
    return 'pi_' + order['payment']['payment_id'].replace('-', '')[:20]


def bought(entries, shirts=0):
    """A guest reserves, checks out and pays (a signed Stripe webhook); returns the order as checked out."""
    lines = [{'ticket_type_id': tt, 'quantity': entries}] + ([{'variant_id': shirt_m, 'quantity': shirts}] if shirts else [])
    rs = body(t.call('reserve', 'anon', 'reserve', dict(event_id=ev, lines=lines, idempotency_key=str(uuid.uuid4()))))
    co = body(t.call('checkout', 'anon', 'checkout', dict(
        order_id=rs['order_id'], order_token=rs['order_token'], buyer={'email': 'koper@example.nl'},
        participants=[person() for _ in range(entries)], idempotency_key=str(uuid.uuid4()))))
    co['order_token'] = rs['order_token']
    t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (co['payment']['payment_id'], pi_of(co)))
    b = stripe_pi('evt_paid_' + pi_of(co), 'payment_intent.succeeded', pi_of(co), co['total'])
    r = api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))
    t.is_((r['status'], body(r).get('outcome')), (200, 'applied'), 'the order is paid by a signed webhook')
    return co


def webhook(evt, typ, obj):
    b = stripe_obj(evt, typ, obj)
    r = api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))
    return r['status'], body(r).get('outcome')


def refund_obj(order, ref, amount, status='succeeded'):
    return {'id': ref, 'object': 'refund', 'payment_intent': pi_of(order), 'amount': amount, 'currency': 'eur',
            'status': status}


def dispute_obj(order, ref, amount, status='needs_response'):
    return {'id': ref, 'object': 'dispute', 'payment_intent': pi_of(order), 'amount': amount, 'currency': 'eur',
            'status': status}


def state(oid):
    """What the order, its units and the books look like (superuser, committed)."""
    return t.su("""SELECT o.status, o.refunded,
                          (SELECT count(*) FROM startlijn.entitlements n WHERE n.order_id = o.id AND n.status = 'valid')::int,
                          (SELECT count(*) FROM startlijn.entitlements n WHERE n.order_id = o.id AND n.status = 'cancelled')::int,
                          (SELECT count(*) FROM startlijn.registrations r WHERE r.order_id = o.id AND r.status = 'paid')::int,
                          (SELECT count(*) FROM startlijn.registrations r WHERE r.order_id = o.id AND r.status = 'cancelled')::int,
                          (SELECT count(*) FROM payments.refunds f WHERE f.payment_id = o.payment_id)::int,
                          (SELECT count(*) FROM trail.entries e WHERE e.action = 'orders.cancelled'
                              AND strpos(e.body, 'order:' || o.id) > 0)::int
                     FROM startlijn.orders o WHERE o.id = %s::uuid""", (oid,))[0]


def sold():
    return q1("SELECT COALESCE(sum(a.quantity - a.returned), 0)::int FROM capacity.allocations a "
              "JOIN startlijn.ticket_types t ON t.item_id = a.item_id WHERE t.id = %s::uuid", tt)


def revoked(oid):
    return q1("""SELECT count(*)::int FROM tokens.codes c JOIN startlijn.entitlements n
                   ON c.scope = 'event:' || n.event_id AND c.payload = uuid_send(n.id)
                  WHERE n.order_id = %s::uuid AND c.revoked_at IS NOT NULL""", oid)


def digest(oid):
    return q1("""SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
        SELECT to_jsonb(o)::text AS x FROM startlijn.orders o WHERE o.id = %s::uuid
        UNION ALL SELECT to_jsonb(n)::text FROM startlijn.entitlements n WHERE n.order_id = %s::uuid
        UNION ALL SELECT to_jsonb(r)::text FROM startlijn.registrations r WHERE r.order_id = %s::uuid
        UNION ALL SELECT to_jsonb(f)::text FROM payments.refunds f
                   WHERE f.payment_id = (SELECT payment_id FROM startlijn.orders WHERE id = %s::uuid)
        UNION ALL SELECT 'trail ' || count(*) FROM trail.entries
        UNION ALL SELECT 'journal ' || count(*) FROM payments.journal) s""", oid, oid, oid, oid)


# === a full refund made in Stripe's dashboard ================================
a = bought(2)
t.is_(state(a['order_id']), ('paid', 0, 2, 0, 2, 0, 0, 0), 'order A: paid, two valid entries')
sold0 = sold()
codes0 = q1("SELECT count(*)::int FROM startlijn.entitlements WHERE order_id = %s::uuid AND code IS NOT NULL",
            a['order_id'])
t.is_(codes0, 2, 'both entries have their codes')
trail0 = q1("SELECT count(*)::int FROM trail.entries")
t.is_(webhook('evt_refA', 'refund.created', refund_obj(a, 're_A' + a['order_id'][:8], 4000)), (200, 'applied'),
      'the provider\'s full refund (refund.created, succeeded) is applied')
t.is_(state(a['order_id']), ('cancelled', 4000, 0, 2, 0, 2, 1, 1),
      'the order is cancelled: both entries and registrations cancelled, refunded 40.00, one refund (the provider\'s, '
      'none requested again), one orders.cancelled entry')
t.is_(sold(), sold0 - 2, 'the two places are back in the pool')
t.is_(revoked(a['order_id']), 2, 'both codes are revoked')
t.is_(q1("""SELECT (e.body::jsonb->'details'->>'refund') || ' ' || (e.body::jsonb->>'reason') FROM trail.entries e
             WHERE e.action = 'orders.cancelled' AND strpos(e.body, 'order:' || %s) > 0""", a['order_id']),
      '0 payment refunded in full', 'the audit entry says why, and that nothing more was refunded',
      t.su("SELECT body FROM trail.entries WHERE action = 'orders.cancelled'"))
t.is_(q1("SELECT requested_by FROM payments.refunds WHERE payment_id = %s::uuid", a['payment']['payment_id']),
      'provider', 'the refund is the provider\'s')
# the audit: exactly what one cancellation writes (the refund's status, the order, two registrations'
# units back, two codes revoked ...), counted by action
acts = dict(t.su("""SELECT action, count(*)::int FROM trail.entries WHERE id > (SELECT max(id) - %s FROM trail.entries)
                    GROUP BY action""", (q1("SELECT count(*)::int FROM trail.entries") - trail0,)))
t.is_((acts.get('orders.cancelled'), acts.get('payments.refund_status')), (1, 1),
      'audit: one payments.refund_status, one orders.cancelled', acts)
own = body(t.call('order', 'anon', 'order', dict(order_id=a['order_id'], order_token=a['order_token'])))
t.is_((own.get('status'), own.get('refunded'), own['payment'].get('refunded'),
       [n['status'] for n in own.get('entitlements', [])]), ('cancelled', 4000, 4000, ['cancelled', 'cancelled']),
      'the buyer sees the order cancelled and refunded')
d = digest(a['order_id'])
t.is_(webhook('evt_refA', 'refund.created', refund_obj(a, 're_A' + a['order_id'][:8], 4000)), (200, 'duplicate'),
      'the same webhook again: a duplicate')
t.is_(webhook('evt_refA2', 'charge.refund.updated', refund_obj(a, 're_A' + a['order_id'][:8], 4000)),
      (200, 'out_of_order_ignored'), 'a later event of the same refund: ignored')
t.is_(digest(a['order_id']), d, 'neither changed anything (order, units, registrations, refunds; trail and journal '
      'grew only by the deliveries\' records)')

# === events of one refund out of order =========================================
b = bought(1)
ref_b = 're_B' + b['order_id'][:8]
t.is_(webhook('evt_refB2', 'refund.updated', refund_obj(b, ref_b, 2000, 'succeeded')), (200, 'applied'),
      'refund.updated (succeeded) arrives first: applied')
t.is_(webhook('evt_refB1', 'refund.created', refund_obj(b, ref_b, 2000, 'pending')), (200, 'out_of_order_ignored'),
      'refund.created (pending) after it: ignored')
t.is_(state(b['order_id']), ('cancelled', 2000, 0, 1, 0, 1, 1, 1), 'order B: cancelled once, one refund')

# === a partial refund at the provider ==========================================
c = bought(1, shirts=1)
t.is_(c['total'], 3500, 'order C: an entry and a shirt, 35.00')
t.is_(webhook('evt_refC', 'refund.created', refund_obj(c, 're_C' + c['order_id'][:8], 1000)), (200, 'applied'),
      'a partial refund at the provider (10.00) is applied')
t.is_(state(c['order_id']), ('paid', 1000, 2, 0, 1, 0, 1, 0),
      'it cancels nothing: the order stays paid, its entry and shirt valid; the order shows 10.00 refunded')
own = body(t.call('order', 'anon', 'order', dict(order_id=c['order_id'], order_token=c['order_token'])))
t.is_((own.get('status'), own.get('refunded')), ('paid', 1000), 'the buyer sees it')
lst = body(t.call('orders', 'daan', 'orders', dict(event_id=ev)))
t.is_([o.get('refunded') for o in lst if o.get('order_id') == c['order_id']], [1000], 'the organiser sees it in api.orders')
rev = body(t.call('revenue', 'daan', 'event_revenue', dict(event_id=ev)))
t.is_(rev.get('refunded'), 4000 + 2000 + 1000, 'api.event_revenue counts the provider\'s refunds', rev)
oc = body(t.call('cancel', 'daan', 'cancel_order', dict(order_id=c['order_id'])))
t.is_((oc.get('status'), oc.get('refund'), oc.get('refunded')), ('cancelled', 2500, 3500),
      'the organiser\'s cancellation afterwards refunds only what is left (25.00)')
t.is_(state(c['order_id']), ('cancelled', 3500, 0, 2, 0, 1, 2, 1), 'order C: two refunds, one orders.cancelled entry')

# === a chargeback ==============================================================
e = bought(1)
sold1 = sold()
dp = 'dp_E' + e['order_id'][:8]
t.is_(webhook('evt_dpE1', 'charge.dispute.created', dispute_obj(e, dp, 2000)), (200, 'applied'),
      'a dispute over the whole payment (charge.dispute.created) is applied')
t.is_(state(e['order_id']), ('cancelled', 0, 0, 1, 0, 1, 0, 1),
      'it cancels the order like a full refund (no refund requested: the provider took the money back)')
t.is_(sold(), sold1 - 1, 'the place is back in the pool')
t.is_(q1("""SELECT e.body::jsonb->>'reason' FROM trail.entries e
             WHERE e.action = 'orders.cancelled' AND strpos(e.body, 'order:' || %s) > 0""", e['order_id']),
      'payment charged back', 'the audit entry says why')
own = body(t.call('order', 'anon', 'order', dict(order_id=e['order_id'], order_token=e['order_token'])))
t.is_(own['payment'].get('charged_back'), 2000, 'the order shows the amount charged back')
d = digest(e['order_id'])
t.is_(webhook('evt_dpE2', 'charge.dispute.closed', dispute_obj(e, dp, 2000, 'won')), (200, 'applied'),
      'the dispute is won (charge.dispute.closed, won)')
t.is_(state(e['order_id']), ('cancelled', 0, 0, 1, 0, 1, 0, 1), 'nothing comes back: the order stays cancelled')
t.is_(q1("SELECT charged_back::int FROM payments.payments WHERE id = %s::uuid", e['payment']['payment_id']), 0,
      'the payment\'s money is back (charged_back 0)')

# === the organiser's own full refund: one cancellation entry ==================
f = bought(2)
oc = body(t.call('cancel', 'daan', 'cancel_order', dict(order_id=f['order_id'])))
t.is_((oc.get('status'), oc.get('refund')), ('cancelled', 4000), 'finance cancels an order in full')
t.is_(state(f['order_id']), ('cancelled', 4000, 0, 2, 0, 2, 1, 1),
      'one refund, one orders.cancelled entry: the listener found nothing left to cancel')
# an organiser's full refund through the payments API (no cancellation asked): nothing paid for stays valid
g = bought(1)
t.call('refund', 'daan', 'request_refund', dict(payment_id=g['payment']['payment_id'], reason='klant wil geld terug',
                                                idempotency_key=str(uuid.uuid4())))
t.is_(state(g['order_id']), ('cancelled', 2000, 0, 1, 0, 1, 1, 1),
      'a full refund requested through api.request_refund cancels the order the same way')

t.is_(q1("SELECT count(*)::int FROM payments.ledger_problems()"), 0, 'the ledger is balanced')
t.is_(q1("""SELECT count(*)::int FROM startlijn.orders o JOIN payments.payments p ON p.id = o.payment_id
             WHERE o.event_id = %s::uuid AND o.refunded <> p.refunded""", ev), 0,
      'every order\'s refunded is its payment\'s')
t.done()
