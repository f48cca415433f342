#!/usr/bin/python3
"""Checkout end to end through the PostgREST-exact driver (issue 25): an
organiser builds and publishes an event through the API, buyers reserve and
check out as PostgREST would call it, signed Stripe webhooks pay the orders
(as anon, COMMIT under that role), and every effect is checked afterwards by
superuser queries on what was committed: capacity, entitlements and codes,
registrations, invoice numbers, the ledger and the audit trail.

Scenarios (the issue's list): three buyers race for the last two entries; a
guest buys for two participants, pays, and later claims them by signing
up; the same webhook again changes nothing; a payment after its hold ran
out is allocated, and when sold out refunded; a participant cancels within
policy, gets the partial refund, and the waitlist gets the place; a
discount code with one use left and two buyers; invoice numbers stay
gapless across a rolled-back payment; a free order completes at once; bad
input is refused with stable codes and writes nothing."""

import json
import threading
import uuid

from lib import ORG1, ORG2, Tap, body, code_of, payments_fixture, stripe_headers, stripe_pi
from pgrst import Driver

t = Tap()
api = t.api


q1 = t.q1


acc = payments_fixture(t)
# (robust to earlier orders in the database: invoice numbers and audit entries are counted from here)
BASE = q1("SELECT COALESCE(max(last_number), 0) FROM startlijn.invoice_counters WHERE organization_id = %s::uuid", ORG1)
PAID0 = q1("SELECT count(*)::int FROM trail.entries WHERE action = 'orders.paid'")


def inv(k):
    return '%s-%06d' % (q1("SELECT date_part('year', now() AT TIME ZONE 'Europe/Amsterdam')::int"), BASE + k)

t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid", (acc['stripe'],))

# --- the organiser builds an event through the API ---------------------------
ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Checkoutloop 2027', slug='checkoutloop-2027', type='running',
    starts_at='2027-09-05T09:00:00+02:00', ends_at='2027-09-05T14:00:00+02:00',
    venue_name='Maliebaan', venue_country='NL', contact_email='info@checkoutloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00',
    cancellation_policy=[{'until': '2027-06-01T00:00:00+02:00', 'refund_percent': 80, 'fee': 250},
                         {'until': '2027-08-01T00:00:00+02:00', 'refund_percent': 50}],
    minimum_age=12))).get('event_id')
course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='10 km', distance_m=10000, capacity=4))
              ).get('course_id')
tt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=course, name='10 km', price=2500,
                                                               vat_rate=900, max_per_order=4))).get('ticket_type_id')
kids_course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='Kidsrun', distance_m=1000,
                                                                    capacity=100))
                   ).get('course_id')
free = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=kids_course, name='Kidsrun',
                                                                 price=0, max_per_order=4))).get('ticket_type_id')
shirt = body(t.call('setup', 'anna', 'create_addon', dict(event_id=ev, name='Shirt'))).get('addon_id')
shirt_m = body(t.call('setup', 'anna', 'create_addon_variant', dict(addon_id=shirt, name='M', price=1500, vat_rate=2100,
                                                                      stock=10))).get('variant_id')
t.call('setup', 'anna', 'set_questions', dict(event_id=ev, questions=[
    {'key': 'ice', 'type': 'emergency_contact', 'label': 'Noodcontact', 'required': True}]))
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
t.ok(all([ev, course, tt, free, shirt, shirt_m]), 'the organiser built and published the event through the API')

ICE = {'ice': {'name': 'Piet Ouder', 'phone': '+31612345678'}}


def person(first, last='Jansen', dob='1990-04-01', tid=None, **kw):
    p = dict(ticket_type_id=tid or tt, first_name=first, last_name=last, date_of_birth=dob, gender='x', answers=ICE)
    p.update(kw)
    return p


def reserve(who, lines, **kw):
    return t.api.call(who, 'reserve', dict(event_id=ev, lines=lines, **kw))


def pay(order, event_id=None, amount=None):
    """The relay recorded the provider's id; Stripe posts payment_intent.succeeded, signed, as anon."""
    pid = order['payment']['payment_id']
    pi = 'pi_' + pid.replace('-', '')[:20]
    if not q1("SELECT provider_ref FROM payments.payments WHERE id = %s::uuid", pid):
        t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (pid, pi))
    b = stripe_pi(event_id or 'evt_' + pi, 'payment_intent.succeeded', pi, amount or order['total'])
    return api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b)), b


def order_row(oid):
    return t.su("SELECT status, invoice_number, late_payment, refunded FROM startlijn.orders WHERE id = %s::uuid",
                (oid,))[0]


def lapse(hold_id, order_id):
    """20 minutes pass: the hold and the reservation ran out (set up by the superuser)."""
    t.su("UPDATE capacity.holds SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' "
         "WHERE id = %s::uuid", (hold_id,))
    t.su("UPDATE startlijn.orders SET expires_at = now() - interval '1 second' WHERE id = %s::uuid", (order_id,))
    t.su("UPDATE capacity.slots SET held_until = now() - interval '1 second' "
         "WHERE hold_id = %s::uuid AND held_until > now() AND held_until < 'infinity'", (hold_id,))


def sold(tid):
    return q1("SELECT COALESCE(sum(a.quantity - a.returned), 0)::int FROM capacity.allocations a "
              "JOIN startlijn.ticket_types t ON t.item_id = a.item_id WHERE t.id = %s::uuid", tid)


# --- three buyers race for the last two entries --------------------------------
# (the course has 4 places; two are taken first)
r = reserve('anon', [{'ticket_type_id': tt, 'quantity': 2}])
t.status(r, 200, 'a guest reserves two of the four places')
first = body(r)
results = {}


def race(who):
    results[who] = Driver().call(who, 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}]))


threads = [threading.Thread(target=race, args=(w,)) for w in ('kim', 'iris', 'bram')]
for th in threads:
    th.start()
for th in threads:
    th.join()
won = [w for w, x in results.items() if x['status'] == 200]
lost = [w for w, x in results.items() if x['status'] != 200]
t.is_(len(won), 2, 'three buyers race for the last two places: two win', {w: x['status'] for w, x in results.items()})
# the loser is told sold_out, or try_again while the winners' units are in flight (docs/capacity.md)
t.ok(len(lost) == 1 and code_of(results[lost[0]]) in ('sold_out', 'try_again') and results[lost[0]]['status'] == 409,
     'the third gets sold_out or try_again (409)', {w: (x['status'], x.get('code'), x.get('message'), x.get('details')) for w, x in results.items()})
if lost:
    again = t.api.call(lost[0], 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}]))
    t.is_((again['status'], code_of(again)), (409, 'sold_out'), 'and on retry sold_out')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE event_id = %s::uuid", ev), 3,
      'exactly three orders were written (nothing for the loser)')
# give the race's places back: their reservations are released by a failed checkout later; here we expire them
for w in won:
    lapse(body(results[w])['hold_id'], body(results[w])['order_id'])
t.is_(q1("SELECT startlijn.expire_orders(100)"), 2, 'the pg_cron job expires the two lapsed reservations')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE event_id = %s::uuid AND status = 'expired'", ev), 2,
      'their orders are expired')

# --- a guest buys for two participants; a signed webhook pays -------------------
co = t.call('guest', 'anon', 'checkout', dict(
    order_id=first['order_id'], order_token=first['order_token'],
    buyer={'email': 'Ouder.Guest@Example.nl', 'name': 'Olga Ouder'},
    participants=[person('Lotte', 'Ouder', '2008-03-01'), person('Mees', 'Ouder', '2010-07-09')],
    return_url='https://checkoutloop.nl/bedankt', idempotency_key=str(uuid.uuid4())))
order = body(co)
t.is_((order.get('status'), (order.get('payment') or {}).get('status'), order.get('total')), ('pending', 'created', 5000),
      'checkout as a guest: the order is pending with a payment of 50.00 created')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE order_id = %s::uuid AND status = 'pending'",
         first['order_id']), 2, 'two pending registrations')
t.is_(q1("SELECT metadata ->> 'return_url' FROM payments.payments WHERE id = %s::uuid", order['payment']['payment_id']),
      'https://checkoutloop.nl/bedankt', 'the payment carries what the relay needs (return_url)')
t.call('guest reads', 'anon', 'order', dict(order_id=first['order_id']), want=404)
rd = t.call('guest reads', 'anon', 'order', dict(order_id=first['order_id'], order_token=first['order_token']))
t.is_(body(rd).get('status'), 'pending', 'the guest reads the order with its token (api.order, read-only)')
t.call('other tenant', 'eva', 'order', dict(order_id=first['order_id']), want=404)
t.call('wrong token', 'anon', 'order', dict(order_id=first['order_id'], order_token='0' * 64), want=404)

# the relay (service role) claims the payment to create and records the provider's answer
todo = body(t.call('relay', 'service', 'payments_to_create', dict(max_rows=50, provider='stripe')))
mine = [x for x in (todo if isinstance(todo, list) else []) if x.get('payment_id', x.get('id')) == order['payment']['payment_id']]
t.ok(len(mine) == 1 and (mine[0].get('metadata') or {}).get('order_id') == first['order_id'],
     'the relay claims the order\'s payment, with its order id in the metadata', todo)
pi_ref = 'pi_' + order['payment']['payment_id'].replace('-', '')[:20]
t.call('relay', 'service', 'record_provider_payment', dict(payment_id=order['payment']['payment_id'], provider_ref=pi_ref,
                                                           client_secret=pi_ref + '_secret_abc123'))
pay_view = body(t.call('guest polls', 'anon', 'order', dict(order_id=first['order_id'],
                                                           order_token=first['order_token']))).get('payment') or {}
t.is_((pay_view.get('provider_ref'), pay_view.get('client_secret')), (pi_ref, pi_ref + '_secret_abc123'),
      'the buyer polling api.order gets the client secret to pay with')
org_view = body(t.call('organiser reads', 'anna', 'order', dict(order_id=first['order_id']))).get('payment') or {}
t.ok('client_secret' not in org_view and org_view.get('provider_ref') == pi_ref,
     'an organiser reading the order does not get the payer\'s client secret', org_view)
t.call('relay as anon', 'anon', 'payments_to_create', dict(max_rows=5), want=401)

audit_before = q1("SELECT count(*)::int FROM trail.entries")
wr, wbody = pay(order)
t.is_((wr['status'], body(wr).get('outcome')), (200, 'applied'), 'the signed Stripe webhook (as anon) is applied')
t.is_(order_row(first['order_id'])[0], 'paid', 'in the same transaction the order became paid')
inv1 = order_row(first['order_id'])[1]
t.is_(inv1, inv(1), 'it got the organisation\'s next invoice number of the year')
codes = t.su("SELECT n.id::text, n.code, n.status FROM startlijn.entitlements n WHERE n.order_id = %s::uuid "
             "ORDER BY n.unit", (first['order_id'],))
t.ok(len(codes) == 2 and all(c[1] and c[2] == 'valid' for c in codes), 'both entitlements are valid with signed codes')
v = t.su("SELECT (tokens.verify_code(%s, %s)).status", ('event:' + ev, codes[0][1]))[0][0]
t.is_(v, 'valid', 'a code verifies in the event\'s scope')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE order_id = %s::uuid AND status = 'paid'",
         first['order_id']), 2, 'the registrations are paid')
t.is_(q1("SELECT state FROM capacity.holds WHERE id = %s::uuid", first['hold_id']), 'confirmed', 'the hold is confirmed')
t.ok(q1("SELECT count(*)::int FROM trail.entries WHERE action = 'orders.paid'") == PAID0 + 1
     and q1("SELECT count(*)::int FROM trail.entries") > audit_before, 'the payment wrote one orders.paid audit entry')
t.is_(q1("SELECT count(*)::int FROM payments.ledger_problems()"), 0, 'the ledger is balanced')

snapshot = t.su1("""SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT to_jsonb(o)::text AS x FROM startlijn.orders o UNION ALL SELECT to_jsonb(n)::text FROM startlijn.entitlements n
    UNION ALL SELECT to_jsonb(r)::text FROM startlijn.registrations r
    UNION ALL SELECT to_jsonb(c)::text FROM startlijn.invoice_counters c
    UNION ALL SELECT to_jsonb(a)::text FROM capacity.allocations a) s""")
wr2 = api.post_raw('anon', 'stripe_webhook', wbody, stripe_headers(wbody))
t.is_(wr2['status'], 200, 'the same webhook again is answered 200')
t.is_(t.su1("""SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT to_jsonb(o)::text AS x FROM startlijn.orders o UNION ALL SELECT to_jsonb(n)::text FROM startlijn.entitlements n
    UNION ALL SELECT to_jsonb(r)::text FROM startlijn.registrations r
    UNION ALL SELECT to_jsonb(c)::text FROM startlijn.invoice_counters c
    UNION ALL SELECT to_jsonb(a)::text FROM capacity.allocations a) s"""), snapshot,
      'and changes nothing: orders, entitlements, registrations, invoice counter, allocations')
t.is_(q1("SELECT count(*)::int FROM trail.entries WHERE action = 'orders.paid'"), PAID0 + 1, 'no second orders.paid entry')

# the guest signs up later with that e-mail and claims the order and registrations
guest = {'sub': str(uuid.uuid4()), 'email': 'ouder.guest@example.nl'}
cl = t.call('claim', guest, 'claim_registrations')
t.is_(body(cl), {'registrations': 0, 'orders': 1}, 'the new account claims the guest order by its e-mail')
mine = body(t.call('claim', guest, 'my_orders'))
t.is_([o['order_id'] for o in mine], [first['order_id']], 'api.my_orders shows it')
regs = body(t.call('claim', guest, 'my_registrations'))
t.is_(sorted(r['first_name'] for r in regs), ['Lotte', 'Mees'], 'api.my_registrations shows both participants (bought by me)')
t.ok(all(r.get('code') for r in regs), 'with their codes')
t.is_(body(t.call('claim', guest, 'claim_registrations')), {'registrations': 0, 'orders': 0},
      'claiming again changes nothing')

# --- a participant who is a user: one entry per person per event -------------
r = reserve('kim', [{'ticket_type_id': tt, 'quantity': 1}])
kim_order = body(r)
c2 = t.call('duplicate person', 'kim', 'checkout', dict(order_id=kim_order['order_id'], buyer={},
                                                        participants=[person('Lotte', 'Ouder', '2008-03-01')]), want=409)
t.is_(code_of(c2), 'already_registered', 'the same person twice for the event: already_registered')
t.is_(q1("SELECT status FROM startlijn.orders WHERE id = %s::uuid", kim_order['order_id']), 'reserved',
      'and nothing was written (the order is still reserved)')
c3 = t.call('too young', 'kim', 'checkout', dict(order_id=kim_order['order_id'], buyer={},
                                                 participants=[person('Kim', 'Kind', '2017-01-01')]), want=422)
t.is_(code_of(c3), 'not_eligible', 'under the event\'s minimum age: not_eligible')
c4 = t.call('bad answers', 'kim', 'checkout', dict(order_id=kim_order['order_id'], buyer={},
                                                   participants=[person('Kim', 'de Vries', answers={})]), want=400)
t.is_(code_of(c4), 'invalid_answers', 'a required question unanswered: invalid_answers')
c5 = t.call('kim pays', 'kim', 'checkout', dict(order_id=kim_order['order_id'], buyer={},
                                                participants=[person('Kim', 'de Vries', '1991-02-02', self=True)]))
kim_order = body(c5)
t.is_(q1("SELECT buyer_email FROM startlijn.orders WHERE id = %s::uuid", kim_order['order_id']), 'kim@example.com',
      'a signed-in buyer\'s e-mail is their profile\'s')
pay(kim_order)
t.is_(order_row(kim_order['order_id'])[:2], ('paid', inv(2)), 'kim\'s order paid: the next invoice number')
kim_reg = q1("SELECT id::text FROM startlijn.registrations WHERE order_id = %s::uuid", kim_order['order_id'])

# --- invoice numbers stay gapless across a rolled-back payment -----------------
r = reserve('joost', [{'ticket_type_id': tt, 'quantity': 1}])
jo = body(r)
jo = body(t.call('joost', 'joost', 'checkout', dict(order_id=jo['order_id'], buyer={},
                                                   participants=[person('Joost', 'Bakker', '1985-05-05')])))
pid = jo['payment']['payment_id']
t.su("SELECT payments.set_provider_ref(%s::uuid, 'pi_rollback1')", (pid,))
conn = api.suconn
cur = conn.cursor()
cur.execute("BEGIN")
cur.execute("SELECT payments.record_status('stripe', 'pi_rollback1', 'paid', 2500, 'EUR')")
# the number is taken at commit (the deferred orders_invoice_number): run the
# deferred triggers now, as COMMIT would, then roll back instead
cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
cur.execute("SELECT invoice_number FROM startlijn.orders WHERE id = %s::uuid", (jo['order_id'],))
inside = cur.fetchone()[0]
cur.execute("ROLLBACK")
t.is_(inside, inv(3), 'inside the paying transaction the order had the next number')
t.is_(order_row(jo['order_id'])[:2], ('pending', None), 'the transaction rolled back: the order is pending again')
b = stripe_pi('evt_rb_paid', 'payment_intent.succeeded', 'pi_rollback1', 2500)
api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))
t.is_(order_row(jo['order_id'])[1], inv(3), 'paid for real: the same number again, no gap')
t.is_(q1("SELECT max(last_number) FROM startlijn.invoice_counters WHERE organization_id = %s::uuid", ORG1), BASE + 3,
      'the counter moved by 3')

# now the course is full: 2 (guest) + kim + joost = 4
t.is_(sold(tt), 4, 'the course is sold out: 4 of 4')

# --- the waitlist gets a place a cancellation frees -------------------------------
wl = t.call('waitlist', 'iris', 'join_ticket_waitlist', dict(ticket_type_id=tt))
t.is_(body(wl).get('state'), 'waiting', 'iris joins the sold-out ticket type\'s waitlist')
t.call('waitlist anon', 'anon', 'join_ticket_waitlist', dict(ticket_type_id=tt), want=401)

# kim cancels within the policy (80 % less 2.50 until June 2027)
cr = t.call('cancel', 'kim', 'cancel_registration', dict(registration_id=kim_reg, reason='blessure'))
t.is_(body(cr).get('refund'), 2500 * 80 // 100 - 250, 'kim cancels within the policy: 80 % of 25.00 less 2.50 = 17.50')
t.is_(q1("SELECT amount FROM payments.refunds WHERE payment_id = %s::uuid", kim_order['payment']['payment_id']), 1750,
      'the refund was requested in the payments ledger')
t.is_(q1("SELECT status FROM startlijn.orders WHERE id = %s::uuid", kim_order['order_id']), 'cancelled',
      'her order is cancelled (nothing valid left)')
t.is_(q1("SELECT count(*)::int FROM startlijn.entitlements WHERE registration_id = %s::uuid AND code IS NULL "
         "AND status = 'cancelled'", kim_reg), 1, 'her entitlement is cancelled and its code gone')
t.is_(q1("SELECT count(*)::int FROM tokens.revocations WHERE scope = %s", 'event:' + ev), 1, 'her code is revoked')
offer = t.su("SELECT state, hold_id::text FROM capacity.waitlist WHERE holder = %s", (t.api.claims('iris')['sub'],))[0]
t.is_(offer[0], 'offered', 'the freed place went to the waitlist first: iris has an offer')
t.call('cancel again', 'kim', 'cancel_registration', dict(registration_id=kim_reg), want=409)
t.call('steal offer', 'joost', 'checkout', dict(hold_id=offer[1], buyer={}, participants=[]), want=404)
io = body(t.call('offer', 'iris', 'checkout', dict(hold_id=offer[1], buyer={},
                                                     participants=[person('Iris', 'Visser', '1992-12-12')])))
t.is_((io.get('status'), io.get('total')), ('pending', 2500), 'iris checks out her offer (api.checkout with hold_id)')
pay(io)
t.is_(order_row(io['order_id'])[0], 'paid', 'and pays: she has the place')
t.is_(q1("SELECT state FROM capacity.waitlist WHERE holder = %s", t.api.claims('iris')['sub']), 'accepted',
      'her waitlist entry is accepted')

# --- a payment after its hold ran out: allocated, or refunded when sold out ----
t.call('capacity', 'anna', 'update_course', dict(course_id=course, capacity=6))
late = body(reserve('joost', [{'ticket_type_id': tt, 'quantity': 1}]))
late = body(t.call('late', 'joost', 'checkout', dict(order_id=late['order_id'], buyer={},
                                                     participants=[person('Jan', 'Laat', '1980-01-01')])))
lapse(late['hold_id'], late['order_id'])
pay(late)
t.is_(order_row(late['order_id'])[:3][0::2], ('paid', 'allocated'),
      'a payment 20 minutes late with places free: allocated anew and paid')
t.is_(q1("SELECT count(*)::int FROM startlijn.entitlements WHERE order_id = %s::uuid AND status = 'valid' "
         "AND code IS NOT NULL", late['order_id']), 1, 'its entry is valid with a code')
late2 = body(reserve('kim', [{'ticket_type_id': tt, 'quantity': 1}]))
late2 = body(t.call('late2', 'kim', 'checkout', dict(order_id=late2['order_id'], buyer={},
                                                     participants=[person('Kees', 'Laat', '1981-01-01')])))
lapse(late2['hold_id'], late2['order_id'])
filler = body(reserve('bram', [{'ticket_type_id': tt, 'quantity': 1}]))
t.ok(bool(filler.get('hold_id')), 'meanwhile someone else takes the last place')
wr, _ = pay(late2)
t.is_(wr['status'], 200, 'the late payment is still applied (200)')
t.is_(order_row(late2['order_id'])[0:4:2], ('failed', 'refunded'), 'sold out: the order failed, late_payment refunded')
t.is_(q1("SELECT amount FROM payments.refunds WHERE payment_id = %s::uuid", late2['payment']['payment_id']), 2500,
      'and a full refund was requested')
dash = body(t.call('revenue', 'daan', 'event_revenue', dict(event_id=ev)))
t.is_(dash.get('late_payments'), {'allocated': 1, 'refunded': 1}, 'both are visible to the organiser (event_revenue)')
t.is_((sold(tt), q1("SELECT count(*)::int FROM capacity.slots s JOIN startlijn.courses c ON c.pool_id = s.pool_id "
                   "WHERE c.id = %s::uuid AND s.held_until > now() AND s.held_until < 'infinity'", course)), (5, 1),
      'never oversold: 5 sold and the 6th held by the buyer who took it')

# --- a discount code with one use left and two buyers ---------------------------
t.call('capacity', 'anna', 'update_course', dict(course_id=course, capacity=20))
dc = body(t.call('discount', 'anna', 'create_discount_code', dict(event_id=ev, code='club10', kind='percentage',
                                                                   percentage=10, max_uses=1)))
t.is_(dc.get('code'), 'CLUB10', 'a discount code with one use')
t.call('discount', 'daan', 'create_discount_code', dict(event_id=ev, code='X123', kind='amount', amount=100), want=403)
d1 = reserve('joost', [{'ticket_type_id': tt, 'quantity': 2}], discount_code='club10')
t.status(d1, 200, 'the first buyer gets it')
t.is_((body(d1).get('discount_total'), body(d1).get('total')), (500, 4500), '10 % off each entry: 45.00')
d2 = reserve('kim', [{'ticket_type_id': tt, 'quantity': 1}], discount_code='CLUB10')
t.is_((d2['status'], code_of(d2)), (409, 'discount_code_used_up'), 'the second: discount_code_used_up')
d3 = reserve('kim', [{'ticket_type_id': tt, 'quantity': 1}], discount_code='nope')
t.is_((d3['status'], code_of(d3)), (404, 'discount_code_not_found'), 'an unknown code: discount_code_not_found')

# --- a changed cart: the buyer gives a reservation back, its places are free at once
rel = body(reserve('anon', [{'ticket_type_id': tt, 'quantity': 2}]))
held = q1("SELECT count(*)::int FROM capacity.slots WHERE hold_id = %s::uuid AND held_until > now()", rel['hold_id'])
t.is_(held, 2, 'a guest holds two places')
t.call('release', 'anon', 'release_reservation', dict(order_id=rel['order_id']), want=404)
t.is_(body(t.call('release', 'anon', 'release_reservation', dict(order_id=rel['order_id'], order_token=rel['order_token'])))
      .get('status'), 'expired', 'with the order token the guest gives the reservation back')
t.is_(q1("SELECT count(*)::int FROM capacity.slots WHERE hold_id = %s::uuid AND held_until > now()", rel['hold_id']), 0,
      'its places are free at once')
t.call('release again', 'anon', 'release_reservation', dict(order_id=rel['order_id'], order_token=rel['order_token']),
       want=409)

# --- a free order completes at once ---------------------------------------------
fr = body(reserve('anon', [{'ticket_type_id': free, 'quantity': 1}]))
fo = body(t.call('free', 'anon', 'checkout', dict(order_id=fr['order_id'], order_token=fr['order_token'],
                                                 buyer={'email': 'kid@example.nl'},
                                                 participants=[person('Kid', 'Snel', '2013-06-01', tid=free)])))
t.is_((fo.get('status'), fo.get('payment'), fo.get('invoice_number')), ('paid', None, None),
      'a free order is paid at once, without a payment or an invoice number')
t.ok(all(n['code'] for n in fo.get('entitlements', [])), 'its entry has its code')

# --- add-ons with stock ------------------------------------------------------------
ad = reserve('joost', [{'ticket_type_id': tt, 'quantity': 1}, {'variant_id': shirt_m, 'quantity': 2}])
t.is_((ad['status'], code_of(ad)), (400, 'invalid_quantity'), 'two shirts for one entry: invalid_quantity (1 per entry)')
ad = reserve('joost', [{'variant_id': shirt_m, 'quantity': 1}])
t.is_((ad['status'], code_of(ad)), (400, 'invalid_quantity'), 'a shirt without an entry: refused')
ad = body(reserve('joost', [{'ticket_type_id': tt, 'quantity': 1}, {'variant_id': shirt_m, 'quantity': 1}]))
t.is_((ad.get('total'), ad.get('vat_total')), (4000, 206 + 260), 'entry + shirt: 40.00 with VAT per item (2.06 + 2.60)')

# --- bad input: stable codes, nothing written ---------------------------------------
before = q1("SELECT count(*)::int FROM startlijn.orders")
for args, want, code, name in (
        (dict(event_id=ev, lines=[]), 400, 'invalid_lines', 'no lines'),
        (dict(event_id=ev, lines=[{'ticket_type_id': tt}]), 400, 'invalid_quantity', 'no quantity'),
        (dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 0}]), 400, 'invalid_quantity', 'quantity 0'),
        (dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 5}]), 400, 'invalid_quantity', 'above max per order'),
        (dict(event_id=ev, lines=[{'ticket_type_id': 'x', 'quantity': 1}]), 400, 'invalid_lines', 'not a uuid'),
        (dict(event_id=ev, lines=[{'ticket_type_id': str(uuid.uuid4()), 'quantity': 1}]), 404, 'ticket_type_not_found',
         'an unknown ticket type'),
        (dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}, {'ticket_type_id': tt, 'quantity': 1}]), 400,
         'duplicate_line', 'the same ticket type twice'),
        (dict(event_id=ev, lines={'a': 1}), 400, 'invalid_lines', 'lines not an array'),
        (dict(event_id=str(uuid.uuid4()), lines=[{'ticket_type_id': tt, 'quantity': 1}]), 404, 'event_not_found',
         'an unknown event'),
        (dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}], idempotency_key='short'), 400,
         'invalid_idempotency_key', 'a guest\'s short idempotency key')):
    r = t.api.call('anon', 'reserve', args)
    t.is_((r['status'], code_of(r)), (want, code), 'reserve, %s: %s (%d)' % (name, code, want))
t.is_(q1("SELECT count(*)::int FROM startlijn.orders"), before, 'no bad reservation wrote an order')
r = t.api.call('service', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}]))
t.is_((r['status'], code_of(r)), (403, 'insufficient_role'), 'the service role places no orders')

# another organisation's event cannot be reserved through this one's ids, nor read
r = t.api.call('eva', 'orders', dict(event_id=ev))
t.is_(r['status'], 404, 'another organisation\'s owner does not see the event\'s orders')
r = t.api.call('carla', 'cancel_order', dict(order_id=first['order_id']))
t.is_(r['status'], 403, 'support may not cancel orders')
lst = body(t.call('orders', 'daan', 'orders', dict(event_id=ev, status='paid')))
t.ok(len(lst) >= 4 and all(o['status'] == 'paid' for o in lst), 'finance lists the paid orders')
regs = body(t.call('regs', 'carla', 'registrations', dict(event_id=ev, status='paid')))
t.ok(any(r['first_name'] == 'Lotte' for r in regs), 'support lists the paid registrations')

# idempotency: the same reservation request replayed answers the same order
key = str(uuid.uuid4())
a1 = body(t.api.call('joost', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                              idempotency_key=key)))
a2 = body(t.api.call('joost', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                              idempotency_key=key)))
t.is_(a1.get('order_id'), a2.get('order_id'), 'a replayed reserve (same idempotency key) answers the same order')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE id = %s::uuid", a1.get('order_id')), 1, 'one order')

# organiser cancels a whole order with a partial refund
oc = t.call('cancel order', 'daan', 'cancel_order', dict(order_id=io['order_id'], refund_amount=1000,
                                                         reason='dubbel'))
t.is_((body(oc).get('status'), body(oc).get('refunded')), ('cancelled', 1000), 'finance cancels an order, refunding 10.00')
t.is_(q1("SELECT count(*)::int FROM payments.ledger_problems()"), 0, 'the ledger is balanced at the end')
t.is_(q1("SELECT count(*)::int FROM (SELECT o.id FROM startlijn.orders o JOIN startlijn.order_items i ON i.order_id = o.id "
         "GROUP BY o.id, o.total HAVING o.total <> sum(i.total)) x"), 0, 'every order total is the sum of its items')

# the start list as CSV (Accept: text/csv, PostgREST's media type handler)
r = api.request('GET', '/rpc/start_list?event_id=' + ev, who='carla', headers={'Accept': 'text/csv'})
lines = (r.get('body') or '').splitlines()
t.ok(r['status'] == 200 and r.get('content_type') == 'text/csv' and lines
     and lines[0].startswith('registration_id,course,wave,ticket_type,last_name'),
     'start_list answers text/csv with its header row', r)
t.is_(len(lines) - 1, q1("SELECT count(*)::int FROM startlijn.registrations WHERE event_id = %s::uuid AND status = 'paid'", ev),
      'one row per paid registration')
t.ok(any('"Ouder","Lotte"' in x for x in lines), 'names are quoted CSV fields')
r = api.call('carla', 'start_list', dict(event_id=ev))
t.ok(r['status'] == 200 and isinstance(r.get('body'), str) and r['body'].startswith('registration_id'),
     'without Accept: text/csv the same text comes as a JSON string')

# cancelling the event refunds everyone (the pg_cron job, in batches)
paid_before = t.su("SELECT id::text, total - refunded FROM startlijn.orders WHERE event_id = %s::uuid AND status = 'paid'", (ev,))
t.ok(len(paid_before) >= 3, 'the event has paid orders (%d)' % len(paid_before))
t.call('cancel event', 'anna', 'cancel_event', dict(event_id=ev, reason='Storm'))
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE event_id = %s::uuid AND status = 'paid'", ev), len(paid_before),
      'cancelling the event changes no order in its own transaction (the job does, in batches)')
job = json.loads(q1("SELECT startlijn.refund_cancelled_events(2)::text"))
t.is_(job, {'refunded': 2, 'failed': 0}, 'the job refunds at most max_rows orders per run')
job = json.loads(q1("SELECT startlijn.refund_cancelled_events(200)::text"))
t.is_(job, {'refunded': len(paid_before) - 2, 'failed': 0}, 'the next run the rest')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE event_id = %s::uuid AND status = 'paid'", ev), 0,
      'no paid order is left')
t.ok(all(q1("SELECT refunded = total FROM startlijn.orders WHERE id = %s::uuid", oid) for oid, _ in paid_before),
     'each is refunded in full')
t.is_(q1("SELECT count(*)::int FROM startlijn.entitlements WHERE event_id = %s::uuid AND status = 'valid'", ev), 0,
      'no valid entitlement is left, and their codes are revoked')
t.is_(q1("SELECT count(*)::int FROM payments.ledger_problems()"), 0, 'the ledger is balanced after the refunds')
t.is_(json.loads(q1("SELECT startlijn.refund_cancelled_events(200)::text")), {'refunded': 0, 'failed': 0},
      'a run with nothing left does nothing')

t.done()
