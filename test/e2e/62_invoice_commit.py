#!/usr/bin/python3
"""Invoice numbers taken at COMMIT (the deferred orders_invoice_number) and
the signing key taken FOR KEY SHARE: every path that makes an order paid,
checked on what was committed (review of 5c5913c and 40c06fd).

Each paid priced order has exactly one gapless invoice number and exactly
one orders.paid entry that carries it; a free order none and one entry:
  - two orders of one organisation paid in one transaction: consecutive numbers
  - two orders of two organisations in one transaction: each its own counter
  - a payment whose commit fails after the number was taken (an unbalanced
    ledger entry, checked after orders_invoice_number): nothing is kept, the
    number is given back and taken by the next payment
  - an order paid and cancelled in one transaction: its number, one
    orders.paid entry, and that entry before orders.cancelled in the trail
  - a late payment (the hold ran out) and a free order
  - the organiser's manual record_payment_status (service role)
Signing keys: publishing creates the event's key; an event published without
one (before 40c06fd, or by an operator) gets it at its first sale; another
organisation is refused on the fast path too."""

import psycopg2

from lib import ORG1, ORG2, Tap, body, payments_fixture, stripe_headers, stripe_pi

t = Tap()
api = t.api


q1 = t.q1


acc = payments_fixture(t)
t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid", (acc['stripe'],))
YEAR = q1("SELECT date_part('year', now() AT TIME ZONE 'Europe/Amsterdam')::int")


def counter(org):
    return q1("SELECT COALESCE((SELECT last_number FROM startlijn.invoice_counters WHERE organization_id = %s::uuid "
              "AND year = %s), 0)", org, YEAR)


def inv(k):
    return '%s-%06d' % (YEAR, k)


def event(who, org, slug, price=2500):
    ev = body(t.call('setup', who, 'create_event', dict(
        organization_id=org, name='Factuurloop ' + slug, slug=slug, type='running',
        starts_at='2027-09-05T09:00:00+02:00', ends_at='2027-09-05T14:00:00+02:00',
        venue_name='Maliebaan', venue_country='NL', contact_email='info@factuurloop.nl',
        registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00',
        cancellation_policy=[{'until': '2027-08-01T00:00:00+02:00', 'refund_percent': 100}]))).get('event_id')
    course = body(t.call('setup', who, 'create_course', dict(event_id=ev, name='10 km', distance_m=10000,
                                                             capacity=100))).get('course_id')
    tt = body(t.call('setup', who, 'create_ticket_type', dict(event_id=ev, course_id=course, name='10 km',
                                                              price=price))).get('ticket_type_id')
    return ev, tt


PEOPLE = iter(range(1, 200))


def checked_out(who, ev, tt, ref, first='Loper'):
    """A checked-out order waiting for its Stripe payment ref (NULL ref: a free order, paid at checkout)."""
    k = next(PEOPLE)
    o = body(t.api.call(who, 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}])))
    t.ok('order_id' in o, 'reserved (%s)' % (ref or 'free'), o)
    o = body(t.api.call(who, 'checkout', dict(order_id=o['order_id'], buyer={}, participants=[dict(
        ticket_type_id=tt, first_name=first, last_name='Factuur', date_of_birth='19%02d-04-%02d' % (50 + k // 28, 1 + k % 28), gender='x')])))
    t.ok('order_id' in o, 'checked out (%s)' % (ref or 'free'), o)
    if ref:
        t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (o['payment']['payment_id'], ref))
    return o


def row(oid):
    return t.su("SELECT status, invoice_number FROM startlijn.orders WHERE id = %s::uuid", (oid,))[0]


def paid_entries(oid):
    """The orders.paid entries of an order: their invoice_number (JSON text) in trail order."""
    return [r[0] for r in t.su("SELECT (body::jsonb -> 'details' ->> 'invoice_number') FROM trail.entries "
                               "WHERE action = 'orders.paid' AND body::jsonb -> 'details' ->> 'order_id' = %s "
                               "ORDER BY id", (oid,))]


def in_one_transaction(*sqls):
    """Run statements in one superuser transaction; returns None or the error of COMMIT."""
    cur = api.suconn.cursor()
    cur.execute("BEGIN")
    try:
        for s in sqls:
            cur.execute(*s) if isinstance(s, tuple) else cur.execute(s)
        cur.execute("COMMIT")
        return None
    except psycopg2.Error as e:
        cur.execute("ROLLBACK")
        return e


def paid_sql(ref, amount=2500):
    return ("SELECT payments.record_status('stripe', %s, 'paid', %s, 'EUR')", (ref, amount))


ev1, tt1 = event('anna', ORG1, 'factuur-a')
ev2, tt2 = event('eva', ORG2, 'factuur-b')
for ev, who in ((ev1, 'anna'), (ev2, 'eva')):
    t.call('publish', who, 'publish_event', dict(event_id=ev))

# --- publishing created the key ------------------------------------------------
t.is_(q1("SELECT count(*)::int FROM tokens.signing_keys WHERE scope = 'event:' || %s AND state = 'active'", ev1), 1,
      'publishing the event created its active signing key')
t.is_(q1("SELECT organization_id::text FROM tokens.scopes WHERE scope = 'event:' || %s", ev1), ORG1,
      'the key\'s scope belongs to the event\'s organisation')

# --- two orders of one organisation, one transaction -----------------------------
a1 = checked_out('kim', ev1, tt1, 'pi_inv_a1')
a2 = checked_out('joost', ev1, tt1, 'pi_inv_a2')
base1 = counter(ORG1)
err = in_one_transaction(paid_sql('pi_inv_a1'), paid_sql('pi_inv_a2'))
t.is_(err, None, 'two payments of one organisation commit in one transaction')
t.is_(sorted([row(a1['order_id']), row(a2['order_id'])]),
      sorted([('paid', inv(base1 + 1)), ('paid', inv(base1 + 2))]), 'they have the next two numbers, consecutive')
t.is_((paid_entries(a1['order_id']), paid_entries(a2['order_id'])),
      ([row(a1['order_id'])[1]], [row(a2['order_id'])[1]]), 'each has one orders.paid entry with its number')

# --- two organisations, one transaction -----------------------------------------
a3 = checked_out('kim', ev1, tt1, 'pi_inv_a3')
b1 = checked_out('kim', ev2, tt2, 'pi_inv_b1')
base1, base2 = counter(ORG1), counter(ORG2)
err = in_one_transaction(paid_sql('pi_inv_a3'), paid_sql('pi_inv_b1'))
t.is_(err, None, 'payments of two organisations commit in one transaction')
t.is_((row(a3['order_id']), row(b1['order_id'])), (('paid', inv(base1 + 1)), ('paid', inv(base2 + 1))),
      'each order has its own organisation\'s next number')
t.is_((counter(ORG1), counter(ORG2)), (base1 + 1, base2 + 1), 'each counter moved by one')
t.is_((paid_entries(a3['order_id']), paid_entries(b1['order_id'])), ([inv(base1 + 1)], [inv(base2 + 1)]),
      'one orders.paid entry each, with the number')

# --- the commit fails after the number was taken ----------------------------------
a4 = checked_out('kim', ev1, tt1, 'pi_inv_a4')
base1 = counter(ORG1)
audit0 = q1("SELECT count(*)::int FROM trail.entries")
# an unbalanced ledger entry written after the payment: its deferred
# postings_balanced check runs after orders_invoice_number and raises
err = in_one_transaction(
    paid_sql('pi_inv_a4'),
    ("WITH j AS (INSERT INTO payments.journal (organization_id, kind, payment_id, currency) "
     "SELECT organization_id, 'sale', id, 'EUR' FROM payments.payments WHERE provider_ref = 'pi_inv_a4' RETURNING *) "
     "INSERT INTO payments.postings SELECT j.id, 1, j.organization_id, 'receivable', 'EUR', 1 FROM j", None),
    # (the number was taken before the failing check: show it was)
    "SET CONSTRAINTS startlijn.orders_invoice_number IMMEDIATE",
    ("SELECT 1 FROM startlijn.orders WHERE id = %s::uuid AND invoice_number = %s", (a4['order_id'], inv(base1 + 1))))
t.ok(err is not None and err.pgcode == '23514' and 'unbalanced' in str(err),
     'the commit fails on the ledger check (after the number was taken)', str(err))
t.is_((row(a4['order_id']), counter(ORG1), q1("SELECT count(*)::int FROM trail.entries")),
      (('pending', None), base1, audit0), 'nothing was kept: the order is pending, the counter and the trail unchanged')
err = in_one_transaction(paid_sql('pi_inv_a4'))
t.is_((err, row(a4['order_id'])), (None, ('paid', inv(base1 + 1))), 'paid for real: the number given back, no gap')
t.is_(paid_entries(a4['order_id']), [inv(base1 + 1)], 'and one orders.paid entry')

# --- paid and cancelled in one transaction ------------------------------------------
a5 = checked_out('kim', ev1, tt1, 'pi_inv_a5')
base1 = counter(ORG1)
err = in_one_transaction(paid_sql('pi_inv_a5'),
                         ("SELECT startlijn.cancel_order_units(%s::uuid, NULL, 'paid and cancelled', 'review')",
                          (a5['order_id'],)))
t.is_((err, row(a5['order_id'])), (None, ('cancelled', inv(base1 + 1))),
      'paid and cancelled in one transaction: cancelled, with the next number')
t.is_(paid_entries(a5['order_id']), [inv(base1 + 1)], 'one orders.paid entry, with the number')
actions = [r[0] for r in t.su("SELECT action FROM trail.entries WHERE action IN ('orders.paid', 'orders.cancelled') "
                              "AND body::jsonb -> 'details' ->> 'order_id' = %s ORDER BY id", (a5['order_id'],))]
t.is_(actions, ['orders.paid', 'orders.cancelled'], 'the trail says paid, then cancelled (in that order)')

# --- a late payment: the hold ran out, places are still free -----------------------
a6 = checked_out('kim', ev1, tt1, 'pi_inv_a6')
hold = q1("SELECT hold_id::text FROM startlijn.orders WHERE id = %s::uuid", a6['order_id'])
t.su("UPDATE capacity.holds SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' "
     "WHERE id = %s::uuid", (hold,))
t.su("UPDATE capacity.slots SET held_until = now() - interval '1 second' "
     "WHERE hold_id = %s::uuid AND held_until > now() AND held_until < 'infinity'", (hold,))
t.su("UPDATE startlijn.orders SET expires_at = now() - interval '1 second' WHERE id = %s::uuid", (a6['order_id'],))
base1 = counter(ORG1)
b = stripe_pi('evt_inv_a6', 'payment_intent.succeeded', 'pi_inv_a6', 2500)
t.status(api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b)), 200, 'the late webhook is applied (as anon)')
t.is_(row(a6['order_id']), ('paid', inv(base1 + 1)), 'the late payment is allocated: paid, with the next number')
t.is_(q1("SELECT count(*)::int FROM trail.entries WHERE action = 'orders.paid' "
         "AND body::jsonb -> 'details' ->> 'order_id' = %s AND (body::jsonb -> 'details' -> 'late')::boolean",
         a6['order_id']), 1, 'one orders.paid entry, marked late')

# --- the organiser's manual status (service role) ------------------------------------
a7 = checked_out('kim', ev1, tt1, 'pi_inv_a7')
base1 = counter(ORG1)
t.call('manual', 'service', 'record_payment_status', dict(provider='stripe', provider_ref='pi_inv_a7', status='paid',
                                                          amount=2500, currency='EUR'))
t.is_((row(a7['order_id']), paid_entries(a7['order_id'])), (('paid', inv(base1 + 1)), [inv(base1 + 1)]),
      'record_payment_status: paid, the next number, one orders.paid entry')

# --- a free order -------------------------------------------------------------------
evf, ttf = event('anna', ORG1, 'factuur-gratis', price=0)
t.call('publish', 'anna', 'publish_event', dict(event_id=evf))
base1 = counter(ORG1)
f = checked_out('kim', evf, ttf, None)
t.is_((row(f['order_id']), counter(ORG1)), (('paid', None), base1), 'a free order is paid without a number')
t.is_(paid_entries(f['order_id']), [None], 'one orders.paid entry, without a number')

# --- an event published without a key (before 40c06fd, or by the operator) ----------
evk, ttk = event('anna', ORG1, 'factuur-sleutel')
t.su("UPDATE startlijn.events SET status = 'published' WHERE id = %s::uuid", (evk,))
t.is_(q1("SELECT count(*)::int FROM tokens.scopes WHERE scope = 'event:' || %s", evk), 0, 'the event has no key yet')
k1 = checked_out('kim', evk, ttk, 'pi_inv_k1')
t.is_(in_one_transaction(paid_sql('pi_inv_k1')), None, 'its first sale is paid')
t.is_(q1("SELECT count(*)::int FROM tokens.signing_keys WHERE scope = 'event:' || %s AND state = 'active'", evk), 1,
      'and created the key')
t.is_(q1("SELECT (tokens.verify_code('event:' || n.event_id, n.code)).status FROM startlijn.entitlements n "
         "WHERE n.order_id = %s::uuid", k1['order_id']), 'valid', 'the entry\'s code verifies')

# --- another organisation is refused on the fast path (the key exists) ----------------
err = in_one_transaction(("SELECT tokens.signing_key('event:' || %s, %s::uuid)", (ev1, ORG2)))
t.ok(err is not None and 'scope_not_found' in (err.diag.message_detail or '') + str(err),
     'tokens.signing_key of an existing key for another organisation is refused', str(err))

t.done()
