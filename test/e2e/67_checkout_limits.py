#!/usr/bin/python3
"""What one caller may make the checkout do (issue 25, the checkout's known
gaps 2 to 4), through the PostgREST-exact driver; effects checked afterwards
with superuser queries on what was committed.

2. Guessing codes: a caller (the signed-in user; a guest by the client
   address in X-Forwarded-For) gets checkout_settings.max_code_failures
   wrong access or discount codes per event and window, then
   too_many_attempts (429) for any code, the right one included, until the
   window passes; a reservation without a code is not held up; right codes
   do not count; another caller, and the same caller at another event, are
   not held up; the count survives the failed calls' rollbacks and is one
   row per caller, event and window, keeping no address; tokens.prune
   sweeps old windows.
3. Guests without a client address: one caller 'guest:unknown' with its own
   bound (max_unaddressed_reservations); 0 refuses them.
4. The order token of an idempotent reservation: nowhere in
   payments.idempotency_keys (neither the token nor the key as sent); the
   replay with the key answers the same token, which works."""

import json
import uuid

from lib import ORG1, Tap, body, code_of, payments_fixture

t = Tap()
api = t.api


q1 = t.q1
expect = t.expect


acc = payments_fixture(t)
t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid, max_code_failures = 4", (acc['stripe'],))

ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Codeloop 2027', slug='codeloop-2027', type='running',
    starts_at='2027-09-05T09:00:00+02:00', ends_at='2027-09-05T14:00:00+02:00',
    venue_name='Maliebaan', venue_country='NL', contact_email='info@codeloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00'))
           ).get('event_id')
course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='5 km', distance_m=5000, capacity=500))
              ).get('course_id')
tt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=course, name='5 km', price=2000,
                                                               vat_rate=900, max_per_order=4))).get('ticket_type_id')
hidden = body(t.call('setup', 'anna', 'create_ticket_type', dict(
    event_id=ev, course_id=course, name='Sponsor', price=1000, visibility='hidden', access_code='SPONSOR2027'))
              ).get('ticket_type_id')
t.call('setup', 'anna', 'create_discount_code', dict(event_id=ev, code='KORTING', kind='amount', amount=500))
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
ev2 = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Tweede codeloop 2027', slug='tweede-codeloop-2027', type='running',
    starts_at='2027-10-05T09:00:00+02:00', ends_at='2027-10-05T12:00:00+02:00', venue_name='Park',
    venue_country='NL', contact_email='info@codeloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-10-01T00:00:00+02:00'))
            ).get('event_id')
c2 = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev2, name='5 km', distance_m=5000, capacity=50))
          ).get('course_id')
tt2 = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev2, course_id=c2, name='5 km', price=2000))
           ).get('ticket_type_id')
t.call('setup', 'anna', 'create_discount_code', dict(event_id=ev2, code='KORTING', kind='amount', amount=500))
t.call('setup', 'anna', 'publish_event', dict(event_id=ev2))
t.ok(all([ev, course, tt, hidden, ev2, tt2]), 'the organiser built and published two events with codes')


def ip(n):
    return {'X-Forwarded-For': '198.51.100.%d' % n}


def reserve(who, headers=None, event=None, tid=None, **kw):
    return api.call(who, 'reserve', dict(event_id=event or ev, lines=[{'ticket_type_id': tid or tt, 'quantity': 1}], **kw),
                    headers)


def release(r):
    b = body(r)
    if b.get('order_id'):
        api.call('anon', 'release_reservation', dict(order_id=b['order_id'], order_token=b.get('order_token')))


def failure_rows():
    return q1("SELECT count(*)::int FROM tokens.failures")


# === 2. guessing codes ===========================================================
rows0 = failure_rows()
for i in range(4):
    expect(reserve('anon', ip(10), discount_code='GOK%d' % i), 404, 'discount_code_not_found',
           'guest A, wrong discount code %d of 4' % (i + 1))
t.is_(failure_rows(), rows0 + 1, 'the four failures (each call rolled back) are counted in one row: caller, event, window')
t.is_(q1("SELECT max(failures)::int FROM tokens.failures"), 4, 'the row counts four')
t.is_(q1("""SELECT count(*)::int FROM tokens.failures f
             WHERE strpos(encode(f.bucket, 'escape'), '198.51.100') > 0 OR octet_length(f.bucket) <> 16"""), 0,
      'the row keeps a 16-byte keyed hash, no address')
expect(reserve('anon', ip(10), discount_code='KORTING'), 429, 'too_many_attempts',
       'guest A, the right discount code now')
expect(reserve('anon', ip(10), tid=hidden, access_code='SPONSOR2027'), 429, 'too_many_attempts',
       'guest A, the right access code now')
r = reserve('anon', ip(10))
t.status(r, 200, 'guest A reserves without a code: not held up')
release(r)
t.is_(failure_rows(), rows0 + 1, 'refused calls do not add rows')
r = reserve('anon', ip(10), event=ev2, tid=tt2, discount_code='KORTING')
t.is_((r['status'], body(r).get('discount_total')), (200, 500), 'guest A uses the other event\'s code: per event, not held up')
release(r)
r = reserve('anon', ip(11), discount_code='KORTING')
t.is_((r['status'], body(r).get('discount_total')), (200, 500), 'guest B (another address) uses the code: not held up')
release(r)

# right codes do not count
for i in range(6):
    r = reserve('anon', ip(12), discount_code='korting')
    release(r)
t.status(r, 200, 'guest C uses the right code six times')
for i in range(3):
    expect(reserve('anon', ip(12), discount_code='FOUT%d' % i), 404, 'discount_code_not_found',
           'guest C, wrong code %d' % (i + 1))
r = reserve('anon', ip(12), discount_code='KORTING')
t.status(r, 200, 'after six right and three wrong codes guest C is not held up (right codes do not count)')
release(r)
expect(reserve('anon', ip(12), discount_code='FOUT3'), 404, 'discount_code_not_found', 'guest C, the fourth wrong code')
expect(reserve('anon', ip(12), discount_code='KORTING'), 429, 'too_many_attempts', 'guest C is now held up')

# wrong access codes count
for i in range(4):
    expect(reserve('anon', ip(13), tid=hidden, access_code='SPONSOR%d' % i), 404, 'ticket_type_not_found',
           'guest D, wrong access code %d' % (i + 1))
expect(reserve('anon', ip(13), tid=hidden, access_code='SPONSOR2027'), 429, 'too_many_attempts',
       'guest D, the right access code after four wrong ones')

# a signed-in caller is counted by account, whatever the address; the waitlist's access code counts too
for i in range(2):
    expect(reserve('kim', ip(20 + i), discount_code='NEE%d' % i), 404, 'discount_code_not_found',
           'kim, wrong code %d (from address %d)' % (i + 1, 20 + i))
for i in range(2):
    r = api.call('kim', 'join_ticket_waitlist', dict(ticket_type_id=hidden, quantity=1, access_code='WACHT%d' % i),
                 ip(30 + i))
    expect(r, 404, 'ticket_type_not_found', 'kim, wrong access code %d joining the waitlist' % (i + 1))
expect(reserve('kim', ip(40), discount_code='KORTING'), 429, 'too_many_attempts',
       'kim, from a new address with the right code: held up (reserve and the waitlist share the count)')
r = api.call('kim', 'join_ticket_waitlist', dict(ticket_type_id=hidden, quantity=1, access_code='SPONSOR2027'), ip(41))
expect(r, 429, 'too_many_attempts', 'kim joining the waitlist with the right code: held up')
r = reserve('joost', ip(40), discount_code='KORTING')
t.status(r, 200, 'joost from kim\'s address: not held up (signed-in callers are their accounts)')
release(r)
t.is_(q1("SELECT count(*)::int FROM startlijn.orders WHERE event_id = %s::uuid AND discount_code_id IS NOT NULL "
         "AND status = 'reserved'", ev), 0, 'no refused call left a reservation')

# the window passes
t.su("UPDATE tokens.failures SET window_start = window_start - interval '1 hour'")
r = reserve('anon', ip(10), discount_code='KORTING')
t.status(r, 200, 'when the window has passed guest A uses the code again')
release(r)
t.su("UPDATE tokens.failures SET window_start = window_start - interval '2 days'")
n = failure_rows()
t.ok(n >= 3, 'the windows of guests A, C, D and kim are there (%d)' % n)
t.is_(json.loads(q1("SELECT tokens.prune()::text")).get('failure_windows'), n,
      'tokens.prune (the tokens\' hourly housekeeping) sweeps the windows older than a day')
t.is_(failure_rows(), 0, 'none left: storage stays bounded')

# === 3. guests without a client address ===========================================
t.su("UPDATE startlijn.checkout_settings SET max_unaddressed_reservations = 2")
u1, u2 = reserve('anon'), reserve('anon')
t.ok(u1['status'] == 200 and u2['status'] == 200, 'two guests without X-Forwarded-For reserve')
t.is_(q1("SELECT count(*)::int FROM capacity.holds h JOIN startlijn.orders o ON o.hold_id = h.id "
         "WHERE o.id IN (%s::uuid, %s::uuid) AND h.holder LIKE 'guest:unknown:%%'", body(u1)['order_id'],
         body(u2)['order_id']), 2, 'their holds are held by the one caller guest:unknown')
r = reserve('anon')
expect(r, 429, 'too_many_reservations', 'a third guest without an address: the shared bound (2)')
t.ok('client address' in (r.get('details') or ''), 'the detail says why', r)
r = reserve('anon', ip(50))
t.status(r, 200, 'a guest with an address is not held up')
release(r)
r = reserve('kim')
t.status(r, 200, 'nor a signed-in caller')
release(r)
release(u1)
r = reserve('anon')
t.status(r, 200, 'one released: a guest without an address reserves again')
release(r)
release(u2)
t.su("UPDATE startlijn.checkout_settings SET max_unaddressed_reservations = 0")
r = reserve('anon')
expect(r, 429, 'too_many_reservations', 'max_unaddressed_reservations 0: no reservation without a client address')
t.ok('no X-Forwarded-For' in (r.get('details') or ''), 'the detail says so', r)
r = reserve('anon', ip(51))
t.status(r, 200, 'with an address it works')
release(r)
t.su("UPDATE startlijn.checkout_settings SET max_unaddressed_reservations = 100")

# === 4. the order token of an idempotent reservation ===============================
key = str(uuid.uuid4())
g1 = body(t.call('reserve with a key', 'anon', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                                                idempotency_key=key), headers=ip(60)))
tok = g1.get('order_token')
t.ok(tok and len(tok) == 64, 'the guest gets an order token (64 hex digits)')
t.is_(q1("SELECT count(*)::int FROM payments.idempotency_keys k WHERE strpos(k.response::text, %s) > 0", tok), 0,
      'the stored answer does not hold the token')
t.is_(q1("SELECT count(*)::int FROM payments.idempotency_keys k WHERE k.key = %s OR strpos(k.response::text, %s) > 0",
         key, key), 0, 'nor is the key stored as sent')
t.is_(q1("SELECT count(*)::int FROM payments.idempotency_keys k WHERE k.key = 'sha256:' || encode(sha256(convert_to(%s, 'UTF8')), 'hex')",
         key), 1, 'the key is stored as its SHA-256')
t.ok(q1("SELECT response ? 'order_token_salt' FROM payments.idempotency_keys k "
        "WHERE k.key = 'sha256:' || encode(sha256(convert_to(%s, 'UTF8')), 'hex')", key),
     'the stored answer keeps the salt the token is derived from')
g2 = body(t.call('replay', 'anon', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                                   idempotency_key=key), headers=ip(60)))
t.is_((g2.get('order_id'), g2.get('order_token')), (g1.get('order_id'), tok),
      'the replay with the key answers the same order and the same token')
t.ok('order_token_salt' not in g2 and 'order_token_salt' not in g1, 'the salt is never answered')
t.is_(body(t.call('order', 'anon', 'order', dict(order_id=g1['order_id'], order_token=tok))).get('order_id'),
      g1['order_id'], 'the token opens the order')
t.is_(q1("SELECT encode(token_hash, 'hex') FROM startlijn.orders WHERE id = %s::uuid", g1['order_id']),
      q1("SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex')", tok), 'the order keeps the token\'s SHA-256, as before')
other = str(uuid.uuid4())
g3 = body(t.call('another key', 'anon', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                                        idempotency_key=other), headers=ip(60)))
t.ok(g3.get('order_token') not in (None, tok) and g3.get('order_id') != g1.get('order_id'),
     'another key: another order, another token')
k = body(t.call('signed in', 'kim', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                                    idempotency_key=key)))
k2 = body(t.call('signed in replay', 'kim', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}],
                                                            idempotency_key=key)))
t.ok(k.get('order_token') and k.get('order_token') == k2.get('order_token') and k.get('order_token') != tok,
     'a signed-in caller with the same key: their own order and token, the same on replay')
expect(api.call('kim', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}], idempotency_key='kort-1')),
       400, 'invalid_idempotency_key', 'a reservation key of fewer than 20 characters, signed in too')
r = api.call('anon', 'reserve', dict(event_id=ev, lines=[{'ticket_type_id': tt, 'quantity': 1}]), ip(61))
t.ok(r['status'] == 200 and len(body(r).get('order_token') or '') == 64, 'without a key: a random token, as before')
for x in (g1, g3, k, body(r)):
    api.call('anon', 'release_reservation', dict(order_id=x['order_id'], order_token=x['order_token']))
t.done()
