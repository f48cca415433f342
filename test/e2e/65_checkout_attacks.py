#!/usr/bin/python3
"""Attacks on the checkout (issue 25) through the PostgREST-exact driver, as
an outsider (anon), a guest buyer, a signed-in participant and a member of
another organisation. Each attack that was a defect has its fix's
regression check here; the attacks that held stay here so that they keep
holding. Effects are checked with superuser queries on what was committed.

Defects found and fixed (docs/checkout.md, docs/security.md):
- anyone could hold an event's places without bound: reserve again and again
  (a guest needs no account); now at most checkout_settings.max_open_reservations
  open reservations per caller (user, or a guest's client address) and event
  (too_many_reservations, 429);
- a reservation made before the event was cancelled could still be checked
  out and charged (and a waitlist offer accepted): now registration_closed."""

import uuid

from lib import ORG1, Tap, body, code_of, payments_fixture, stripe_headers, stripe_pi

t = Tap()
api = t.api


q1 = t.q1
expect = t.expect


acc = payments_fixture(t)
t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid", (acc['stripe'],))

# --- the organiser's event: starts at 00:30 Amsterdam time (22:30 UTC the day before)
ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Aanvalsloop 2027', slug='aanvalsloop-2027', type='running',
    starts_at='2027-09-05T00:30:00+02:00', ends_at='2027-09-05T06:00:00+02:00', time_zone='Europe/Amsterdam',
    venue_name='Maliebaan', venue_country='NL', contact_email='info@aanvalsloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00',
    cancellation_policy=[{'until': '2027-08-01T00:00:00+02:00', 'refund_percent': 50}],
    minimum_age=12))).get('event_id')
course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='5 km', distance_m=5000, capacity=200))
              ).get('course_id')
tt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=course, name='5 km', price=2000,
                                                               vat_rate=900, max_per_order=10))).get('ticket_type_id')
hidden = body(t.call('setup', 'anna', 'create_ticket_type', dict(
    event_id=ev, course_id=course, name='Sponsor', price=1000, visibility='hidden', access_code='SPONSOR2027')))
hidden_tt = hidden.get('ticket_type_id')
shirt = body(t.call('setup', 'anna', 'create_addon', dict(event_id=ev, name='Shirt'))).get('addon_id')
shirt_m = body(t.call('setup', 'anna', 'create_addon_variant', dict(addon_id=shirt, name='M', price=1500,
                                                                      vat_rate=2100))).get('variant_id')
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
# a second event of the same organisation, and one of another organisation, each with a code and a hidden type
ev2 = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Tweede loop 2027', slug='tweede-loop-2027', type='running',
    starts_at='2027-10-05T09:00:00+02:00', ends_at='2027-10-05T12:00:00+02:00', venue_name='Park',
    venue_country='NL', contact_email='info@aanvalsloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-10-01T00:00:00+02:00'))).get('event_id')
c2 = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev2, name='5 km', distance_m=5000, capacity=10))
          ).get('course_id')
tt2 = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev2, course_id=c2, name='5 km', price=2000,
                                                                visibility='hidden', access_code='OTHER2027'))
           ).get('ticket_type_id')
t.call('setup', 'anna', 'publish_event', dict(event_id=ev2))
t.call('setup', 'anna', 'create_discount_code', dict(event_id=ev2, code='HALF', kind='percentage', percentage=50))
t.call('setup', 'anna', 'create_discount_code', dict(event_id=ev, code='TIENER', kind='amount', amount=1000))
t.call('setup', 'anna', 'create_discount_code', dict(event_id=ev, code='PCT30', kind='percentage', percentage=30))
t.ok(all([ev, course, tt, hidden_tt, shirt_m, ev2, tt2]), 'the organiser built and published the events')


def person(first, last='Aanval', dob='1990-04-01', tid=None, **kw):
    p = dict(ticket_type_id=tid or tt, first_name=first, last_name=last, date_of_birth=dob, gender='x')
    p.update(kw)
    return p


def reserve(who, lines, event=None, headers=None, **kw):
    return api.call(who, 'reserve', dict(event_id=event or ev, lines=lines, **kw), headers)


def one(q=1):
    return [{'ticket_type_id': tt, 'quantity': q}]


def pay(order):
    pid = order['payment']['payment_id']
    pi = 'pi_' + pid.replace('-', '')[:20]
    if not q1("SELECT provider_ref FROM payments.payments WHERE id = %s::uuid", pid):
        t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (pid, pi))
    b = stripe_pi('evt_' + pi, 'payment_intent.succeeded', pi, order['total'])
    return api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b)), b


def bought(who, participants, lines=None, token_kw=None, **kw):
    """reserve + checkout + pay; returns (order as checked out, reservation)."""
    rs = body(reserve(who, lines or one(len(participants)), **kw))
    co = body(t.call('buy', who, 'checkout', dict(order_id=rs['order_id'], buyer={'email': 'koper@example.nl'},
                                                  participants=participants,
                                                  **({'order_token': rs['order_token']} if who == 'anon' else {}))))
    if co.get('payment'):
        pay(co)
    return co, rs


def orders_count():
    return q1("SELECT count(*)::int FROM startlijn.orders")


# === 1. paying less than the price ==========================================
n0 = orders_count()
expect(reserve('anon', [{'ticket_type_id': tt, 'quantity': 1, 'unit_price': 1}]), 400, 'invalid_lines',
       'a client-supplied unit_price')
for qv, name in ((-1, 'a negative quantity'), (0, 'quantity 0'), (2 ** 31, 'an overflowing quantity'),
                 (1.5, 'a fractional quantity'), ('1', 'a quantity as a string'), (1e300, 'quantity 1e300')):
    expect(reserve('anon', [{'ticket_type_id': tt, 'quantity': qv}]), 400, 'invalid_quantity', 'reserve, ' + name)
expect(reserve('anon', [{'ticket_type_id': tt, 'quantity': 1}], discount_code='HALF'), 404, 'discount_code_not_found',
       'a discount code of another event of the same organisation')
expect(reserve('anon', one(), discount_code='TIENER,PCT30'), 404, 'discount_code_not_found',
       'two codes in one (stacking)')
expect(reserve('anon', [{'ticket_type_id': tt2, 'quantity': 1}], access_code='OTHER2027'), 404, 'ticket_type_not_found',
       'a hidden ticket type of another event with its own access code')
expect(reserve('anon', [{'ticket_type_id': hidden_tt, 'quantity': 1}], access_code='OTHER2027'), 404,
       'ticket_type_not_found', 'an access code of another event on this event\'s hidden type')
expect(reserve('anon', [{'ticket_type_id': hidden_tt, 'quantity': 1}], access_code='sponsor2027 '), 404,
       'ticket_type_not_found', 'the access code with other case and a space')
t.is_(orders_count(), n0, 'none of these wrote an order')
rs = body(reserve('anon', [{'ticket_type_id': tt, 'quantity': 1}, {'variant_id': shirt_m, 'quantity': 1}],
                  discount_code='pct30'))
t.is_((rs.get('subtotal'), rs.get('discount_total'), rs.get('total')), (3500, 600, 2900),
      'a percentage code takes 30 % of the entry only, never of the add-on (35.00 - 6.00)')
t.is_([i['unit_discount'] for i in rs.get('items', [])], [600, 0], 'per item: 6.00 off the entry, 0 off the shirt')
api.call('anon', 'release_reservation', dict(order_id=rs['order_id'], order_token=rs['order_token']))
rs = body(reserve('anon', [{'ticket_type_id': hidden_tt, 'quantity': 1}], access_code='SPONSOR2027',
                  discount_code='TIENER'))
t.is_((rs.get('discount_total'), rs.get('total')), (1000, 0),
      'an amount code larger than the price takes the price, never below 0')
api.call('anon', 'release_reservation', dict(order_id=rs['order_id'], order_token=rs['order_token']))

# === 2. reading another buyer's order or client secret ======================
a_co, a_rs = None, body(reserve('anon', one()))
a_co = body(t.call('guest A', 'anon', 'checkout', dict(order_id=a_rs['order_id'], order_token=a_rs['order_token'],
                                                       buyer={'email': 'gast.a@example.nl'},
                                                       participants=[person('Anne')])))
pid = a_co['payment']['payment_id']
t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (pid, 'pi_attackA00000000000'))
t.call('relay', 'service', 'record_provider_payment', dict(payment_id=pid, provider_ref='pi_attackA00000000000',
                                                           client_secret='pi_attackA00000000000_secret_xyz'))
b_rs = body(reserve('anon', one()))
unknown = api.call('anon', 'order', dict(order_id=str(uuid.uuid4()), order_token=a_rs['order_token']))
cross = api.call('anon', 'order', dict(order_id=a_rs['order_id'], order_token=b_rs['order_token']))
t.ok(unknown['status'] == cross['status'] == 404 and code_of(unknown) == code_of(cross) == 'order_not_found'
     and unknown.get('message') == cross.get('message') and unknown.get('hint') == cross.get('hint'),
     'another order\'s token answers exactly as an order that does not exist (no existence leak)', [unknown, cross])
for tok, name in ((a_rs['order_token'].upper(), 'the token in upper case'), (a_rs['order_token'][:63], 'a prefix'),
                  (a_rs['order_token'] + '0', 'the token with a character more'), ('', 'an empty token'),
                  ('x' * 10000, 'a huge token')):
    expect(api.call('anon', 'order', dict(order_id=a_rs['order_id'], order_token=tok)), 404, 'order_not_found',
           'api.order with ' + name)
for who in ('eva', 'kim', 'lars'):
    r = api.call(who, 'order', dict(order_id=a_rs['order_id']))
    t.ok(r['status'] == 404 or 'client_secret' not in (body(r).get('payment') or {}),
         'the client secret is not readable by %s (another organisation / a stranger / a relationship member)' % who, r)
t.is_(api.call('eva', 'order', dict(order_id=a_rs['order_id']))['status'], 404,
      'another organisation\'s owner gets 404 for the order')
t.ok('client_secret' not in (body(api.call('lars', 'order', dict(order_id=a_rs['order_id']))).get('payment') or {}),
     'a member through a relationship (support) reads the order without the client secret')
t.ok(not any('pi_attackA00000000000_secret' in str(x) for x in
             t.su("SELECT to_jsonb(e)::text FROM trail.entries e")),
     'the client secret is in no audit entry')
t.is_(api.call('kim', 'checkout', dict(order_id=b_rs['order_id'], buyer={}, participants=[]))['status'], 404,
      'a signed-in stranger cannot check out a guest\'s reservation without its token')
t.is_(api.call('anon', 'release_reservation', dict(order_id=b_rs['order_id'], order_token=a_rs['order_token']))['status'],
      404, 'nor release it with another order\'s token')
t.is_(q1("SELECT status FROM startlijn.orders WHERE id = %s::uuid", b_rs['order_id']), 'reserved',
      'the reservation is untouched')
api.call('anon', 'release_reservation', dict(order_id=b_rs['order_id'], order_token=b_rs['order_token']))

# idempotency keys are per caller: another user's key answers a reservation of one's own
key = str(uuid.uuid4())
k1 = body(reserve('kim', one(), idempotency_key=key))
k2 = reserve('joost', one(), idempotency_key=key)
t.ok(k2['status'] == 200 and body(k2).get('order_id') != k1.get('order_id'),
     'the same idempotency key from another user makes that user\'s own reservation, not a read of kim\'s')
k3 = reserve('anon', one(), idempotency_key=key)
t.ok(k3['status'] == 200 and body(k3).get('order_id') not in (k1.get('order_id'), body(k2).get('order_id')),
     'and from a guest a guest\'s own')
for r in (k1, body(k2), body(k3)):
    if r.get('order_token'):
        api.call('anon', 'release_reservation', dict(order_id=r['order_id'], order_token=r['order_token']))

# === 3. relay RPCs and service-only functions ==================================
for who, want in (('anon', 401), ('kim', 403), ('anna', 403)):
    t.is_(api.call(who, 'payments_to_create', dict(max_rows=5))['status'], want,
          'payments_to_create as %s -> %d' % (who, want))
    t.is_(api.call(who, 'record_provider_payment', dict(payment_id=pid, provider_ref='pi_evil',
                                                        client_secret='pi_evil_secret_1'))['status'], want,
          'record_provider_payment as %s -> %d' % (who, want))
t.is_(q1("SELECT provider_ref FROM payments.payments WHERE id = %s::uuid", pid), 'pi_attackA00000000000',
      'the provider reference is unchanged')
for fn in ('complete_order', 'fail_order', 'expire_orders', 'refund_cancelled_events', 'cancel_order_units',
           'payment_changed', 'checkout_body', 'reserve_body', 'buyer_order'):
    t.is_(api.call('kim', fn, {})['status'], 404, 'startlijn.%s is not reachable through the API (404)' % fn)
t.ok(not t.su("""SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'startlijn' AND p.proname IN ('complete_order', 'fail_order', 'expire_orders',
                        'refund_cancelled_events', 'cancel_order_units', 'payment_changed', 'checkout_body',
                        'reserve_body', 'refund_order', 'cancel_entitlement', 'next_invoice', 'issue_code')
                    AND (has_function_privilege('anon', p.oid, 'EXECUTE')
                         OR has_function_privilege('authenticated', p.oid, 'EXECUTE')
                         OR has_function_privilege('service_role', p.oid, 'EXECUTE'))"""),
     'the internals that move money or status are executable by no API role')

# === 4. eligibility: the age on the event day, in the event's time zone ====
er = body(reserve('kim', one(2)))
r = api.call('kim', 'checkout', dict(order_id=er['order_id'], buyer={},
                                     participants=[person('Jarig', dob='2015-09-06')]))
expect(r, 422, 'not_eligible', 'a child turning 12 the day after the event (Amsterdam) is not eligible')
r = api.call('kim', 'checkout', dict(order_id=er['order_id'], buyer={},
                                     participants=[person('Jarig', dob='2015-09-05'), person('Toekomst', dob='2999-01-01')]))
expect(r, 400, 'invalid_date_of_birth', 'a date of birth in the future')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE order_id = %s::uuid", er['order_id']), 0,
      'and the refused checkout wrote no registration (not even the valid first one)')
r = api.call('kim', 'checkout', dict(order_id=er['order_id'], buyer={},
                                     participants=[person('Jarig', dob='2015-09-05'),
                                                   person('Dubbel', tid=hidden_tt)]))
expect(r, 400, 'invalid_participants', 'a participant for a ticket type the order does not have')
r = api.call('kim', 'checkout', dict(order_id=er['order_id'], buyer={},
                                     participants=[person('Jarig', dob='2015-09-05'), person('Drie'), person('Vier')]))
expect(r, 400, 'invalid_participants', 'more participants than entries')
co = api.call('kim', 'checkout', dict(order_id=er['order_id'], buyer={},
                                      participants=[person('Jarig', dob='2015-09-05')]))
t.is_(co['status'], 200, 'turning 12 on the event day itself (00:30 Amsterdam, 22:30 UTC the day before) is eligible')
kim_co = body(co)
pay(kim_co)
unnamed = [n for n in body(api.call('kim', 'order', dict(order_id=er['order_id']))).get('entitlements', [])
           if not n.get('registration')]
t.is_(len(unnamed), 1, 'one entry stays unnamed')
expect(api.call('joost', 'assign_entry', dict(entitlement_id=unnamed[0]['entitlement_id'],
                                              participant=person('Inbreker'))), 404, 'entitlement_not_found',
       'another user cannot name kim\'s unnamed entry')
expect(api.call('kim', 'assign_entry', dict(entitlement_id=unnamed[0]['entitlement_id'],
                                            participant=person('Klein', dob='2016-01-01'))), 422, 'not_eligible',
       'naming an entry checks eligibility too')

# === 5. cancelling and refunding someone else's registration ===================
jo, jrs = bought('joost', [person('Joost', 'Bos', '2001-05-30', self=True), person('Maat', 'Bos', '2001-06-01')])
jregs = dict(t.su("SELECT first_name, id::text FROM startlijn.registrations WHERE order_id = %s::uuid", (jrs['order_id'],)))
for who, want, code, name in (('kim', 404, 'registration_not_found', 'another participant'),
                              ('eva', 404, 'registration_not_found', 'another organisation\'s owner'),
                              ('hanna', 404, 'registration_not_found', 'another organisation\'s finance'),
                              ('carla', 403, 'insufficient_role', 'support of the organisation'),
                              ('lars', 403, 'insufficient_role', 'a support member through a relationship'),
                              ('anon', 404, 'registration_not_found', 'anon without a token')):
    expect(api.call(who, 'cancel_registration', dict(registration_id=jregs['Joost'])), want, code,
           'cancel joost\'s registration as ' + name)
expect(api.call('anon', 'cancel_registration', dict(registration_id=jregs['Joost'], order_token=a_rs['order_token'])),
       404, 'registration_not_found', 'with another order\'s token')
expect(api.call('joost', 'cancel_registration', dict(registration_id=jregs['Maat'], refund_amount=2000)), 403,
       'insufficient_role', 'the buyer choosing the refund amount')
for who in ('eva', 'hanna'):
    expect(api.call(who, 'cancel_order', dict(order_id=jrs['order_id'])), 404, 'order_not_found',
           'cancel_order by another organisation (%s)' % who)
expect(api.call('daan', 'cancel_registration', dict(registration_id=jregs['Maat'], refund_amount=2001)), 400,
       'invalid_amount', 'finance refunding more than the entry cost')
expect(api.call('daan', 'cancel_registration', dict(registration_id=jregs['Maat'], refund_amount=-1)), 400,
       'invalid_amount', 'a negative refund')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE order_id = %s::uuid AND status = 'paid'",
         jrs['order_id']), 2, 'both registrations are still paid')
r = body(t.call('partial', 'daan', 'cancel_registration', dict(registration_id=jregs['Maat'], refund_amount=2000)))
t.is_(r.get('refund'), 2000, 'finance cancels one entry, refunding what it cost')
expect(api.call('daan', 'cancel_order', dict(order_id=jrs['order_id'], refund_amount=2001)), 400, 'invalid_amount',
       'then cancelling the order for more than what is left')
r = body(t.call('rest', 'daan', 'cancel_order', dict(order_id=jrs['order_id'])))
t.is_((r.get('status'), r.get('refunded'), r.get('refund')), ('cancelled', 4000, 2000),
      'cancelling the order refunds only the rest: 40.00 in all, never more than paid')
expect(api.call('daan', 'cancel_registration', dict(registration_id=jregs['Joost'])), 409, 'invalid_transition',
       'a registration of the cancelled order again')
t.is_(q1("SELECT sum(amount)::int FROM payments.refunds WHERE payment_id = %s::uuid", jo['payment']['payment_id']),
      4000, 'the ledger holds refunds of exactly 40.00')

# a late webhook for a cancelled order changes nothing
snap = "SELECT status, refunded, invoice_number, paid_at FROM startlijn.orders WHERE id = %s::uuid"
before = t.su(snap, (jrs['order_id'],))
pi = q1("SELECT provider_ref FROM payments.payments WHERE id = %s::uuid", jo['payment']['payment_id'])
b = stripe_pi('evt_late_again_' + pi, 'payment_intent.succeeded', pi, jo['total'])
wr = api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))
t.is_((wr['status'], t.su(snap, (jrs['order_id'],))), (200, before),
      'a late "succeeded" webhook for the cancelled order is answered 200 and changes nothing')
t.is_(q1("SELECT count(*)::int FROM startlijn.entitlements WHERE order_id = %s::uuid AND status = 'valid'",
         jrs['order_id']), 0, 'no entitlement came back to life')

# === 6. claiming registrations by e-mail ======================================
g_co, g_rs = bought('anon', [person('Gast', 'Claim', email='Gast.Claim@Example.NL')])
other = {'sub': str(uuid.uuid4()), 'email': 'gast.claim+x@example.nl'}
t.is_(body(t.call('claim', other, 'claim_registrations')), {'registrations': 0, 'orders': 0},
      'a plus-addressed variant of the e-mail claims nothing')
look = {'sub': str(uuid.uuid4()), 'email': 'gast.c1aim@example.nl'}
t.is_(body(t.call('claim', look, 'claim_registrations')), {'registrations': 0, 'orders': 0},
      'a look-alike address claims nothing')
bad = api.call({'sub': str(uuid.uuid4()), 'email': 'gast.cl\u0430im@example.nl'}, 'claim_registrations')
t.is_(bad['status'], 400, 'an address with a Cyrillic look-alike letter is not an e-mail address here (invalid_email)')
same = {'sub': str(uuid.uuid4()), 'email': 'GAST.CLAIM@example.nl'}
t.is_(body(t.call('claim', same, 'claim_registrations')).get('registrations'), 1,
      'the same address in other case claims the registration (e-mail addresses are case-insensitive here)')

# === 7. CSV formula injection in the start list ================================
evil = ['=HYPERLINK("http://x")', '+31 1', '-2+3', '@SUM(A1)']
ev_rs = body(reserve('anon', one(4)))
t.call('csv', 'anon', 'checkout', dict(order_id=ev_rs['order_id'], order_token=ev_rs['order_token'],
                                       buyer={'email': 'csv@example.nl'},
                                       participants=[person(x, 'Formule%d' % i, club=x, email='=cmd%d@example.nl' % i)
                                                     for i, x in enumerate(evil)]))
pay(body(api.call('anon', 'order', dict(order_id=ev_rs['order_id'], order_token=ev_rs['order_token']))))
r = api.request('GET', '/rpc/start_list?event_id=' + ev, who='carla', headers={'Accept': 'text/csv'})
rows = [x for x in (r.get('body') or '').splitlines() if 'Formule' in x]
cells = [c.strip('"') for x in rows for c in x.split('","')]
t.is_(len(rows), 4, 'the four participants are on the start list')
t.ok(rows and not any(c[:1] in ('=', '+', '-', '@', '\t', '\r') for c in (c.split(',')[-1] for c in cells)),
     'no cell starts with = + - @ tab or CR: each is prefixed with \'', rows)
t.ok(all(('"\'%s"' % x.replace('"', '""')) in r['body'] for x in evil), 'the names and clubs are kept, with a leading \'')
r = api.call('anon', 'checkout', dict(order_id=body(reserve('anon', one()))['order_id'], buyer={'email': 'x@example.nl'},
                                      participants=[person('\tTab')]))
t.ok(r['status'] == 404 or code_of(r) == 'invalid_name', 'a name with a tab never gets in (control characters)', r)
t.ok(q1("SELECT count(*)::int FROM startlijn.registrations WHERE first_name ~ '[\\t\\r\\n]'") == 0,
     'no stored name has a tab, CR or LF')

# === 7b. an unpaid checkout squatting a person (defect, fixed) ===============
# checkout writes the participants as pending registrations, and "one entry per person" counts pending ones;
# an order whose payer never pays stays pending (a Stripe PaymentIntent does not expire), so anyone who
# knows a runner's name and date of birth could keep them out of the event for good
victim = dict(first='Vera', last='Slachtoffer', dob='1988-08-08')
sq = body(reserve('anon', one()))
sq = body(t.call('squat', 'anon', 'checkout', dict(order_id=sq['order_id'], order_token=sq['order_token'],
                                                   buyer={'email': 'squatter@example.nl'},
                                                   participants=[person(victim['first'], victim['last'], victim['dob'])])))
vr = body(reserve('kim', one()))
r = api.call('kim', 'checkout', dict(order_id=vr['order_id'], buyer={},
                                     participants=[person(victim['first'], victim['last'], victim['dob'])]))
expect(r, 409, 'already_registered', 'within the squatter\'s payment window the person is taken (already_registered)')
# the payment window ends unpaid (30 minutes pass: set up by the superuser)
t.su("UPDATE capacity.holds SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' "
     "WHERE id = %s::uuid", (sq['hold_id'],))
t.su("UPDATE capacity.slots SET held_until = now() - interval '1 second' "
     "WHERE hold_id = %s::uuid AND held_until > now() AND held_until < 'infinity'", (sq['hold_id'],))
t.su("UPDATE startlijn.orders SET expires_at = now() - interval '1 second' WHERE id = %s::uuid", (sq['order_id'],))
vr = body(reserve('kim', one()))
r = api.call('kim', 'checkout', dict(order_id=vr['order_id'], buyer={},
                                     participants=[person(victim['first'].upper(), victim['last'], victim['dob'])]))
t.is_(r['status'], 200, 'after the payment window ended unpaid, the person registers (the stale order no longer blocks)')
t.is_(t.su("SELECT o.status, r.status FROM startlijn.orders o JOIN startlijn.registrations r ON r.order_id = o.id "
           "WHERE o.id = %s::uuid", (sq['order_id'],)), [('failed', 'cancelled')],
      'the stale order failed and its registration is cancelled')
wr, _ = pay(sq)
t.is_((wr['status'],) + tuple(t.su("SELECT status, late_payment, refunded FROM startlijn.orders WHERE id = %s::uuid",
                                     (sq['order_id'],))[0]), (200, 'failed', 'refunded', 2000),
      'the squatter\'s payment arriving after all is refunded in full; the person keeps the new entry')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE event_id = %s::uuid AND last_name = %s "
         "AND status IN ('pending', 'paid')", ev, victim['last']), 1, 'one entry for the person')

# === 7c. more that held: underpaying through the webhook, other tenants, bounds =========
up = body(reserve('anon', one()))
up = body(t.call('underpay', 'anon', 'checkout', dict(order_id=up['order_id'], order_token=up['order_token'],
                                                      buyer={'email': 'krap@example.nl'},
                                                      participants=[person('Krap', 'Betaler', '1977-07-07')])))
upi = 'pi_' + up['payment']['payment_id'].replace('-', '')[:20]
t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (up['payment']['payment_id'], upi))
b = stripe_pi('evt_under_' + upi, 'payment_intent.succeeded', upi, up['total'] - 1)
api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))
t.is_(t.su("SELECT o.status, p.captured FROM startlijn.orders o JOIN payments.payments p ON p.id = o.payment_id "
           "WHERE o.id = %s::uuid", (up['order_id'],)), [('pending', 0)],
      'a signed webhook reporting one cent less than the total pays nothing: the order stays pending')
t.is_(q1("SELECT count(*)::int FROM startlijn.entitlements WHERE order_id = %s::uuid AND status = 'valid'",
         up['order_id']), 0, 'and no entitlement is valid')
for fn, args in (('orders', dict(event_id=ev)), ('registrations', dict(event_id=ev)), ('start_list', dict(event_id=ev)),
                 ('event_revenue', dict(event_id=ev)), ('discount_codes', dict(event_id=ev)),
                 ('create_discount_code', dict(event_id=ev, code='EVIL100', kind='percentage', percentage=100))):
    for who, want in (('eva', 404), ('kim', 404), ('anon', 401)):
        t.is_(api.call(who, fn, args)['status'], want, '%s of another organisation\'s event as %s -> %d' % (fn, who, want))
t.is_(q1("SELECT count(*)::int FROM startlijn.discount_codes WHERE code = 'EVIL100'"), 0, 'no code was created')
pct = q1("SELECT id::text FROM startlijn.discount_codes WHERE event_id = %s::uuid AND code = 'PCT30'", ev)
expect(api.call('eva', 'delete_discount_code', dict(discount_code_id=pct)), 404, 'discount_code_not_found',
       'another organisation deleting a code')
draft = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Concept 2027', slug='concept-2027', type='running',
    starts_at='2027-11-05T09:00:00+01:00', ends_at='2027-11-05T12:00:00+01:00', venue_name='Park',
    venue_country='NL', contact_email='info@aanvalsloop.nl'))).get('event_id')
expect(reserve('anon', one(), event=draft), 404, 'event_not_found', 'reserving for an unpublished event')
expect(api.call('kim', 'join_ticket_waitlist', dict(ticket_type_id=hidden_tt)), 404, 'ticket_type_not_found',
       'the waitlist of a hidden ticket type without its access code')
_, brs = bought('kim', [person('Groot', 'Bedrag', '1966-06-06')])
breg = q1("SELECT id::text FROM startlijn.registrations WHERE order_id = %s::uuid", brs['order_id'])
expect(api.call('daan', 'cancel_registration', dict(registration_id=breg, refund_amount=2 ** 63 - 1)), 400,
       'invalid_amount', 'a refund of 2^63-1')
r = api.call('daan', 'cancel_registration', dict(registration_id=breg, refund_amount=2 ** 63))
t.ok(r['status'] == 400 and q1("SELECT status FROM startlijn.registrations WHERE id = %s::uuid", breg) == 'paid',
     'a refund past bigint is refused (400) and nothing changes', r)
expect(api.call('daan', 'cancel_registration', dict(registration_id=breg, reason='x' * 501)), 400, 'invalid_argument',
       'a reason of 501 characters')

# === 7d. the waitlist past a ticket type's sales window (defect, fixed) ==========
# a sold-out ticket type sold until a moment: after it, nobody joins its waitlist, and an offer
# (a place freed later) is not sold past it either
vc = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='Vroeg', distance_m=1000, capacity=1))
          ).get('course_id')
vt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=vc, name='Vroeg', price=900))
          ).get('ticket_type_id')
_, vrs = bought('bram', [person('Bram', 'Vroeg', '1990-07-01', tid=vt)], lines=[{'ticket_type_id': vt, 'quantity': 1}])
t.is_(body(t.call('wait', 'iris', 'join_ticket_waitlist', dict(ticket_type_id=vt))).get('state'), 'waiting',
      'iris joins the waitlist while the ticket type is on sale')
t.su("UPDATE startlijn.ticket_types SET sales_end = now() - interval '1 second' WHERE id = %s::uuid", (vt,))
expect(api.call('kim', 'join_ticket_waitlist', dict(ticket_type_id=vt)), 409, 'not_on_sale',
       'after its sales ended, joining its waitlist')
t.call('free a place', 'daan', 'cancel_registration', dict(
    registration_id=q1("SELECT id::text FROM startlijn.registrations WHERE order_id = %s::uuid", vrs['order_id'])))
voffer = q1("SELECT hold_id::text FROM capacity.waitlist WHERE holder = %s AND state = 'offered'", api.claims('iris')['sub'])
expect(api.call('iris', 'checkout', dict(hold_id=voffer, buyer={}, participants=[person('Iris', 'Vroeg', '1992-12-12', tid=vt)])),
       409, 'not_on_sale', 'a place freed after the sales ended is not sold through the waitlist offer')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE hold_id = %s::uuid", voffer), 0, 'no order was made of it')
t.su("UPDATE startlijn.ticket_types SET sales_end = NULL WHERE id = %s::uuid", (vt,))
closes = q1("SELECT registration_closes_at::text FROM startlijn.events WHERE id = %s::uuid", ev)
t.su("UPDATE startlijn.events SET registration_closes_at = now() - interval '1 second' WHERE id = %s::uuid", (ev,))
expect(api.call('iris', 'accept_offer', dict(hold_id=voffer)), 409, 'registration_closed',
       'nor after the event\'s registration closed')
t.su("UPDATE startlijn.events SET registration_closes_at = %s::timestamptz WHERE id = %s::uuid", (closes, ev))

# === 8. holding capacity without bound (defect, fixed) ==========================
t.su("UPDATE startlijn.checkout_settings SET max_open_reservations = 3")
xff = {'X-Forwarded-For': '203.0.113.7'}
guest_holds = "SELECT count(*)::int FROM capacity.holds WHERE state = 'held' AND holder LIKE 'guest:%%' AND expires_at > now()"
g0 = q1(guest_holds)
held = [reserve('anon', one(10), headers=xff) for _ in range(3)]
t.ok(all(h['status'] == 200 for h in held), 'a guest (one client address) holds three reservations of 10 places', held)
r = reserve('anon', one(10), headers=xff)
expect(r, 429, 'too_many_reservations', 'the fourth open reservation from that address')
r = reserve('anon', one(10), headers={'X-Forwarded-For': '203.0.113.7'}, idempotency_key=str(uuid.uuid4()))
expect(r, 429, 'too_many_reservations', 'also with a fresh idempotency key')
t.is_(q1(guest_holds) - g0, 3, 'only three guest holds were made')
t.ok(not t.su("SELECT 1 FROM capacity.holds WHERE holder LIKE %s", ('%203.0.113.7%',)),
     'the client address itself is not stored (only a short hash in the holder)')
t.is_(reserve('anon', one(1), headers={'X-Forwarded-For': '198.51.100.9'})['status'], 200,
      'another address still reserves')
t.is_(reserve('anon', [{'ticket_type_id': tt2, 'quantity': 1}], event=ev2, access_code='OTHER2027',
              headers=xff)['status'], 200, 'and the same address reserves for another event')
rel = body(held[0])
t.call('release', 'anon', 'release_reservation', dict(order_id=rel['order_id'], order_token=rel['order_token']))
t.is_(reserve('anon', one(10), headers=xff)['status'], 200, 'after releasing one, it may reserve again')
kims = [reserve('kim', one(1)) for _ in range(4)]
open_kim = q1("SELECT count(*)::int FROM startlijn.orders o JOIN capacity.holds h ON h.id = o.hold_id "
              "WHERE o.event_id = %s::uuid AND o.buyer_user_id = %s::uuid AND o.status = 'reserved' "
              "AND h.state = 'held'", ev, api.claims('kim')['sub'])
t.is_(open_kim, 3, 'kim holds at most three open reservations for the event')
t.is_(code_of(kims[-1]), 'too_many_reservations', 'her next one is refused')
noaddr = [reserve('anon', one(1)) for _ in range(4)]
t.ok(all(r['status'] == 200 for r in noaddr),
     'guests without a client address (no X-Forwarded-For) are not one caller: not bounded (docs/security.md)')
t.su("UPDATE startlijn.checkout_settings SET max_open_reservations = DEFAULT")

# === 9. a cancelled event: no checkout, no offer accepted (defect, fixed) =======
cz = body(reserve('joost', one(1)))
# a waitlist offer on a sold-out ticket type (capacity 1): kim waits, finance cancels the holder's entry
small_c = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='Mini', distance_m=500, capacity=1))
               ).get('course_id')
small = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=small_c, name='Mini',
                                                                  price=500))).get('ticket_type_id')
_, srs = bought('bram', [person('Bram', 'Mini', '1990-07-01', tid=small)], lines=[{'ticket_type_id': small, 'quantity': 1}])
t.is_(body(t.call('wait', 'kim', 'join_ticket_waitlist', dict(ticket_type_id=small))).get('state'), 'waiting',
      'kim joins the sold-out ticket type\'s waitlist')
t.call('free a place', 'daan', 'cancel_registration', dict(
    registration_id=q1("SELECT id::text FROM startlijn.registrations WHERE order_id = %s::uuid", srs['order_id'])))
offer = q1("SELECT hold_id::text FROM capacity.waitlist WHERE holder = %s AND state = 'offered'", api.claims('kim')['sub'])
t.ok(offer is not None, 'kim has an offer')
t.call('cancel event', 'anna', 'cancel_event', dict(event_id=ev, reason='Storm'))
r = api.call('joost', 'checkout', dict(order_id=cz['order_id'], buyer={}, participants=[person('Joost', 'Laat', '2001-05-30')]))
expect(r, 409, 'registration_closed', 'checking out a reservation of an event cancelled meanwhile')
t.is_(q1("SELECT count(*)::int FROM payments.payments WHERE payable_ref = %s", 'order:' + cz['order_id']), 0,
      'no payment was created for it')
expect(api.call('kim', 'accept_offer', dict(hold_id=offer)), 409, 'registration_closed',
       'accepting a waitlist offer of the cancelled event')
expect(api.call('kim', 'checkout', dict(hold_id=offer, buyer={}, participants=[person('Kim', 'Vos', '1991-02-02')])),
       409, 'registration_closed', 'or checking it out directly')
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE hold_id = %s::uuid", offer), 0, 'no order was made of it')

# (by design, docs/checkout.md: a guest's idempotency key is the guest's claim to the answer; another
# request with the same key but other lines is refused and learns nothing)
gk = str(uuid.uuid4())
g1 = body(api.call('anon', 'reserve', dict(event_id=ev2, lines=[{'ticket_type_id': tt2, 'quantity': 1}],
                                           access_code='OTHER2027', idempotency_key=gk)))
g2 = api.call('anon', 'reserve', dict(event_id=ev2, lines=[{'ticket_type_id': tt2, 'quantity': 2}],
                                      access_code='OTHER2027', idempotency_key=gk))
t.ok(code_of(g2) == 'idempotency_key_reused' and g1.get('order_token', '') not in str(g2),
     'a guest key replayed with other lines: idempotency_key_reused, without the first answer\'s token', g2)

t.done()
