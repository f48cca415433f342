"""The storm's fixture, built the way production builds it: the operator's
payment account (superuser, as docs/operations.md does it), then the
organiser's event, courses, ticket types and capacity pools through the API
(PostgREST-exact driver, as Anna, owner of Loopgroep Utrecht). storm.people
and the token purpose come from test/storm/setup.sql."""

import uuid

from common import ANNA, ORG1, Driver, su, su1
from lib import STRIPE_SECRET

FUNCTIONS = ('hold_capacity', 'confirm_hold', 'release_hold', 'return_capacity_units', 'join_waitlist',
             'my_waitlist', 'leave_waitlist', 'reserve', 'checkout', 'release_reservation',
             'record_provider_payment', 'stripe_webhook', 'cancel_order', 'update_my_profile', 'order')


def body(r):
    return r.get('body') if isinstance(r.get('body'), dict) else {}


def need(r, what):
    if r.get('status') != 200:
        raise SystemExit('fixture: %s failed: %r' % (what, r))
    return body(r)


def build(clients):
    api = Driver()
    c = api.suconn
    acc = su1(c, "SELECT payments.create_account('stripe', 'storm')::text")
    su(c, 'SELECT payments.add_secret(%s::uuid, %s)', (acc, STRIPE_SECRET))
    su(c, "SELECT payments.set_fee_rule(%s::uuid, 'platform', 'platform_fee_revenue', 600, 0)", (ORG1,))
    su(c, 'UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid', (acc,))

    ev = need(api.call(ANNA, 'create_event', dict(
        organization_id=ORG1, name='Stormloop 2027', slug='stormloop-2027', type='running',
        starts_at='2027-10-03T09:00:00+02:00', ends_at='2027-10-03T14:00:00+02:00',
        venue_name='Maliebaan', venue_country='NL', contact_email='info@stormloop.nl',
        registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-30T00:00:00+02:00',
        cancellation_policy=[{'until': '2027-09-01T00:00:00+02:00', 'refund_percent': 100}])), 'create_event')['event_id']
    f = {'event': ev, 'account': acc}
    # a small course that sells out (contention, sold_out, try_again) and a large one
    for key, cap, price in (('small', 150, 2500), ('large', 100000, 1500)):
        course = need(api.call(ANNA, 'create_course', dict(event_id=ev, name='storm ' + key, distance_m=5000,
                                                           capacity=cap)), 'create_course')['course_id']
        f['tt_' + key] = need(api.call(ANNA, 'create_ticket_type', dict(
            event_id=ev, course_id=course, name='storm ' + key, price=price, vat_rate=900, max_per_order=4)),
            'create_ticket_type')['ticket_type_id']
        f['course_' + key] = course
    need(api.call(ANNA, 'publish_event', dict(event_id=ev)), 'publish_event')
    # box-office pools: two that sell out (holds, waitlists), one that does not
    f['pools'] = []
    for name, cap in (('storm A', 60), ('storm B', 60), ('storm C', 5000)):
        f['pools'].append(need(api.call(ANNA, 'create_capacity_pool', dict(organization_id=ORG1, name=name,
                                                                          capacity=cap)), 'pool')['pool_id'])
    # one signed-in user per client for its audited profile writes
    f['users'] = []
    for i in range(clients):
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, 'startlijn-storm-user-%d' % i))
        su(c, "INSERT INTO startlijn.profiles (id, full_name, email) VALUES (%s::uuid, %s, %s)",
           (uid, 'Storm Loper %d' % i, 'storm%d@example.nl' % i))
        f['users'].append({'sub': uid, 'email': 'storm%d@example.nl' % i})
    # the schema cache every client shares (PostgREST loads it once)
    for fn in FUNCTIONS:
        api.routines(fn)
    for role in ('anon', 'authenticated', 'service_role'):
        api.role_settings(role)
    f['cache'] = {'routines': api._routines, 'roles': api._role_settings}
    api.suconn.close()
    return f
