#!/usr/bin/python3
"""Retention of registrations and orders end to end (issue 25, item 11),
through the PostgREST-exact driver: a signed-in participant and a guest buy
and pay (signed Stripe webhooks as anon); the organiser finds the guest's
subject in the registrations and asks for an erasure, refused while the
event has not ended; another organisation's admin cannot erase or hold the
participant; the owner chooses the participant period; the event ends and
time passes (the event's dates moved back by the superuser, as the other
retention tests move time); the retention job runs as pg_cron runs it
(CALL retention.run(), committing per batch); the personal data is gone, the
books are intact (invoice numbers, amounts, VAT, the ledger, the audit
chain)."""

import uuid

from lib import ORG1, ORG2, USER, Tap, body, code_of, payments_fixture, stripe_headers, stripe_pi

t = Tap()
api = t.api


q1 = t.q1


acc = payments_fixture(t)
t.su("UPDATE startlijn.checkout_settings SET payment_account_id = %s::uuid", (acc['stripe'],))

ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Vergeetloop 2027', slug='vergeetloop-2027', type='running',
    starts_at='2027-09-05T09:00:00+02:00', ends_at='2027-09-05T14:00:00+02:00',
    venue_name='Maliebaan', venue_country='NL', contact_email='info@vergeetloop.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-01T00:00:00+02:00'))).get('event_id')
course = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='5 km', distance_m=5000, capacity=20))
              ).get('course_id')
tt = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=course, name='5 km', price=1800,
                                                               vat_rate=900))).get('ticket_type_id')
t.call('setup', 'anna', 'set_questions', dict(event_id=ev, questions=[
    {'key': 'ice', 'type': 'emergency_contact', 'label': 'Noodcontact', 'required': True},
    {'key': 'born', 'type': 'date', 'label': 'Geboortedatum kind'},
    {'key': 'shirt', 'type': 'single_select', 'label': 'Shirtmaat', 'options': [{'key': 'l', 'label': 'L'}]},
    {'key': 'bib', 'type': 'text', 'label': 'Naam op startnummer', 'personal': True},
    {'key': 'pace', 'type': 'text', 'label': 'Verwachte tijd', 'personal': False}]))
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
pub = body(t.call('public event', 'anon', 'event', dict(org_slug='loopgroep-utrecht', event_slug='vergeetloop-2027')))
t.ok('retention' not in str(pub) and 'pii:' not in str(pub),
     'the public event shows the questions, nothing of retention\'s internals')


def pay(order):
    pid = order['payment']['payment_id']
    pi = 'pi_' + pid.replace('-', '')[:20]
    t.su("SELECT payments.set_provider_ref(%s::uuid, %s)", (pid, pi))
    b = stripe_pi('evt_' + pi, 'payment_intent.succeeded', pi, order['total'])
    return api.post_raw('anon', 'stripe_webhook', b, stripe_headers(b))


ANS = {'ice': {'name': 'Pa Vos', 'phone': '+31612345678'}, 'born': '2015-02-03', 'shirt': 'l', 'bib': 'KIMMIE',
       'pace': '0:30'}
# a signed-in participant buys for herself
r = body(t.call('kim reserves', 'kim', 'reserve', dict(event_id=ev, lines=[dict(ticket_type_id=tt, quantity=1)])))
kim_order = body(t.call('kim checks out', 'kim', 'checkout', dict(
    order_id=r.get('order_id'), buyer={}, idempotency_key=str(uuid.uuid4()),
    participants=[dict(ticket_type_id=tt, self=True, first_name='Kim', last_name='Vos', date_of_birth='1990-01-01',
                       gender='female', phone='+31612345011', club='AV Fit', answers=ANS)])))
# a guest buys for himself
r = body(t.call('guest reserves', 'anon', 'reserve', dict(event_id=ev, lines=[dict(ticket_type_id=tt, quantity=1)])))
guest_order = body(t.call('guest checks out', 'anon', 'checkout', dict(
    order_id=r.get('order_id'), order_token=r.get('order_token'), idempotency_key=str(uuid.uuid4()),
    buyer={'email': 'Wim.Gast@Example.nl', 'name': 'Wim Gast'},
    participants=[dict(ticket_type_id=tt, first_name='Wim', last_name='Gast', date_of_birth='1980-08-08',
                       email='wim.gast@example.nl', answers={'ice': {'name': 'Ma Gast', 'phone': '+31612345679'},
                                                             'shirt': 'l', 'pace': '0:25'})])))
for who, o in (('kim', kim_order), ('guest', guest_order)):
    t.status(pay(o), 200, 'the signed webhook pays %s\'s order' % who)
KO, GO = kim_order.get('order_id'), guest_order.get('order_id')
BOOKS = """SELECT o.id::text, o.status, o.invoice_number, o.total, o.vat_total, o.refunded,
                  (SELECT array_agg(i.total || '/' || i.vat_amount ORDER BY i.position) FROM startlijn.order_items i
                    WHERE i.order_id = o.id)::text,
                  (SELECT p.captured FROM payments.payments p WHERE p.id = o.payment_id)
             FROM startlijn.orders o WHERE o.event_id = %s::uuid ORDER BY o.id"""
books = t.su(BOOKS, (ev,))
t.is_([b[1] for b in books], ['paid', 'paid'], 'both orders are paid')
t.ok(all(b[2] for b in books), 'both have an invoice number')

# the organiser finds the guest's subject in the registrations
regs = body(t.call('organiser reads', 'bram', 'registrations', dict(event_id=ev))) or []
regs = regs.get('registrations', regs) if isinstance(regs, dict) else regs
guest_subject = next((x.get('subject') for x in regs if x.get('first_name') == 'Wim'), None)
t.is_(guest_subject, q1("SELECT startlijn.guest_subject('wim.gast@example.nl')::text"),
      'api.registrations shows the guest\'s subject (derived from the e-mail, not the e-mail)')
t.is_(next((x.get('subject') for x in regs if x.get('first_name') == 'Kim'), None), USER['kim'],
      '... and the signed-in participant\'s (their user id)')

# live: refused, nothing written
r = t.call('live', 'bram', 'request_subject_erasure', dict(organization_id=ORG1, subject=guest_subject,
                                                            reason='E-mail van de deelnemer'), want=409)
t.is_(code_of(r), 'registration_in_use', 'erasing a participant before the event ends is refused: registration_in_use')
t.is_(q1("SELECT count(*)::int FROM retention.erasure_requests WHERE subject = %s::uuid", guest_subject), 0,
      '... nothing committed')

# the cross-tenant attack: org B's admin
for org, want, code in ((ORG2, 404, 'subject_not_found'), (ORG1, 404, 'organization_not_found')):
    r = t.call('attack', 'floris', 'request_subject_erasure', dict(organization_id=org, subject=guest_subject,
                                                                    reason='x'), want=want)
    t.is_(code_of(r), code, 'org B\'s admin cannot erase org A\'s participant (in %s\'s name): %s'
          % ('B' if org == ORG2 else 'A', code))
    r = t.call('attack', 'floris', 'place_legal_hold', dict(organization_id=org, subject=guest_subject, reason='x'),
               want=want)
    t.is_(code_of(r), code, '... nor place a legal hold on them: %s' % code)
t.is_(q1("SELECT count(*)::int FROM retention.erasure_requests WHERE subject = %s::uuid", guest_subject)
      + q1("SELECT count(*)::int FROM retention.holds WHERE subject = %s::uuid", guest_subject), 0,
      '... nothing committed')

# the owner chooses the participant period (profiles participants_3m, _6m, _12m)
t.call('profile', 'anna', 'configure_retention', dict(organization_id=ORG1, profile='participants_12m', grace='0'))
t.ok(q1("SELECT bool_and(retention_until = event_ends_at + interval '12 months') FROM startlijn.registrations "
        "WHERE event_id = %s::uuid", ev), 'participants_12m: the registrations are kept 12 months after the event')
t.call('profile', 'anna', 'configure_retention', dict(organization_id=ORG1, profile='participants_6m'))
t.ok(q1("SELECT bool_and(retention_until = event_ends_at + interval '6 months') FROM startlijn.registrations "
        "WHERE event_id = %s::uuid", ev), 'participants_6m: 6 months')
t.ok(q1("SELECT bool_and(retention_until = event_ends_at + interval '7 years') FROM startlijn.orders "
        "WHERE event_id = %s::uuid", ev), 'the orders stay 7 years whatever the participant period')

# the event ended 7 months ago
t.su("UPDATE startlijn.events SET registration_opens_at = now() - interval '2 years', "
     "registration_closes_at = now() - interval '7 months 2 days', starts_at = now() - interval '7 months 1 day', "
     "ends_at = now() - interval '7 months 1 day' + interval '4 hours' WHERE id = %s::uuid", (ev,))

r = t.call('erasure', 'bram', 'request_subject_erasure', dict(organization_id=ORG1, subject=guest_subject,
                                                               reason='E-mail van de deelnemer'))
req = body(r).get('id')
t.is_(body(r).get('status'), 'received', 'after the event the request is taken')

# the job, as pg_cron runs it: one run expires and erases, the next anonymises
t.su("CALL retention.run()")
t.su("CALL retention.run()")
t.is_(q1("SELECT status FROM retention.runs ORDER BY id DESC LIMIT 1"), 'completed', 'the job completed')
r = body(t.call('receipt', 'anna', 'erasure_requests', dict(organization_id=ORG1, status='completed')))
mine = next((x for x in (r or []) if x.get('id') == req), {})
t.is_(sorted((x.get('table'), x.get('erased_records'), x.get('kept_records'))
             for x in (mine.get('receipt') or {}).get('tables', [])),
      [('startlijn.orders', 0, 1), ('startlijn.registrations', 1, 0)],
      'the receipt: the registration erased, the order kept for the books with the buyer pseudonymised')

row = t.su("SELECT first_name, last_name, email, date_of_birth, gender, phone, club, answers::text, erased_at IS NOT NULL, "
           "archive_status, status FROM startlijn.registrations WHERE event_id = %s::uuid ORDER BY first_name", (ev,))
t.ok(all(x[0].startswith('Persoon ') and x[1].startswith('Persoon ') and x[2].endswith('@anoniem.invalid')
         and x[3] is None and x[4] is None and x[6] is None and x[8] and x[9] == 'anonymized' and x[10] == 'paid'
         for x in row) and len(row) == 2,
     'both registrations: names, e-mail, date of birth, gender, club gone; still paid', row)
t.is_(sorted(x[7] for x in row), ['{"pace": "0:25", "shirt": "l"}', '{"pace": "0:30", "shirt": "l"}'],
      'personal answers (emergency contact, date, the name on the bib) gone; shirt size and pace kept')
t.ok(q1("SELECT count(*) FROM startlijn.registrations WHERE event_id = %s::uuid AND (answers::text ~* 'gast|vos|kimmie|2015')",
        ev) == 0, 'nothing of the answers names anyone')
buyers = t.su("SELECT COALESCE(buyer_name, '-'), buyer_email, personal_cleared_at IS NOT NULL, archive_status "
              "FROM startlijn.orders WHERE event_id = %s::uuid", (ev,))
t.ok(all(b[1].endswith('@anoniem.invalid') and b[2] and b[3] == 'active' and (b[0] == '-' or b[0].startswith('Persoon '))
         for b in buyers), 'the buyers\' names and e-mails are pseudonymised; the orders stay for the books', buyers)
t.is_(t.su(BOOKS, (ev,)), books, 'invoice numbers, amounts, VAT, items and the captured payments are unchanged')
t.is_(q1("SELECT count(*)::int FROM payments.ledger_problems()"), 0, 'the ledger balances')
t.is_(q1("SELECT trail.verify() ->> 'ok'"), 'true', 'the audit chain verifies')
t.ok(q1("SELECT count(*) FROM startlijn.orders WHERE event_id = %s::uuid AND retention_until > now() + interval '6 years'",
        ev) == 2, 'the orders are kept until 7 years after the event')

# the organiser's and the buyer's views still work on the anonymised rows
r = body(t.call('revenue', 'anna', 'event_revenue', dict(event_id=ev)))
t.ok(bool(r), 'the revenue report still answers')
mo = body(t.call('kim reads', 'kim', 'my_orders'))
t.ok(any(x.get('order_id') == KO for x in (mo or [])), 'kim still sees her order (her account stays)')
t.is_(q1("SELECT count(*)::int FROM startlijn.profiles WHERE id = %s::uuid AND deleted_at IS NULL", USER['kim']), 1,
      'the retention period ends the registration, not the account')
t.done()
