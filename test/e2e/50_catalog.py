#!/usr/bin/python3
"""The catalog end to end through the PostgREST-exact driver: every mutating
catalog RPC committed as each role that may call it (the owner, an admin,
the superadmin), its effect checked by a superuser query afterwards; support
and finance refused; anon reads the committed public catalog."""

from lib import ORG1, Tap

t = Tap()


def body(r):
    return r.get('body') or {}


def ev_status(eid):
    return t.su1('SELECT status FROM startlijn.events WHERE id = %s::uuid', (eid,))


def new_event(who, slug, **kw):
    args = dict(organization_id=ORG1, name='Singelloop ' + slug, slug=slug, type='running',
                starts_at='2027-10-03T10:00:00+02:00', ends_at='2027-10-03T16:00:00+02:00')
    args.update(kw)
    return body(t.call('events', who, 'create_event', args)).get('event_id')


complete = dict(venue_name='Stadsschouwburg', venue_country='NL', contact_email='info@singelloop.nl',
                registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-10-01T00:00:00+02:00')

# events: created by the owner, an admin and the superadmin; support and finance may not
ev = {}
for who in ('anna', 'bram', 'sanne'):
    ev[who] = new_event(who, 'e2e-' + who + '-2027', capacity=500 if who == 'anna' else None)
    t.is_(ev_status(ev[who]) if ev[who] else None, 'draft', 'create_event by %s: committed as a draft' % who)
t.is_(t.su1('SELECT capacity FROM capacity.pools p JOIN startlijn.events e ON e.pool_id = p.id WHERE e.id = %s::uuid',
            (ev['anna'],)), 500, 'create_event with an overall capacity: its pool committed')
t.call('events', 'carla', 'create_event', dict(organization_id=ORG1, name='X', slug='x', type='other',
                                               starts_at='2027-01-01T10:00:00Z', ends_at='2027-01-01T12:00:00Z'), want=403)
t.call('events', 'daan', 'update_event', dict(event_id=ev['anna'], name='X'), want=403)
for who in ('anna', 'bram', 'sanne'):
    t.call('events', who, 'update_event', dict(event_id=ev[who], **complete))
    t.is_(t.su1('SELECT contact_email FROM startlijn.events WHERE id = %s::uuid', (ev[who],)), 'info@singelloop.nl',
          'update_event by %s: committed' % who)
t.call('events', 'bram', 'update_event', dict(event_id=ev['anna'], capacity=600))
t.is_(t.su1('SELECT capacity FROM capacity.pools p JOIN startlijn.events e ON e.pool_id = p.id WHERE e.id = %s::uuid',
            (ev['anna'],)), 600, 'update_event raises the overall capacity: committed')

# courses and waves
courses = {}
for who in ('anna', 'bram', 'sanne'):
    courses[who] = body(t.call('courses', who, 'create_course', dict(event_id=ev[who], name='10 km', distance_m=10000,
                                                                      capacity=100))).get('course_id')
    t.is_(t.su1('SELECT distance_m FROM startlijn.courses WHERE id = %s::uuid', (courses[who],)) if courses[who] else None,
          10000, 'create_course by %s: committed' % who)
t.call('courses', 'carla', 'create_course', dict(event_id=ev['anna'], name='5 km', distance_m=5000), want=403)
r = t.call('courses', 'anna', 'create_course', dict(event_id=ev['anna'], name='Kwart triathlon', distance_m=51500,
                                                    legs=[{'sport': 'swim', 'distance_m': 1000},
                                                          {'sport': 'bike', 'distance_m': 40000},
                                                          {'sport': 'run', 'distance_m': 10500}]))
tri = body(r).get('course_id')
t.is_(t.su1("SELECT jsonb_array_length(legs) FROM startlijn.courses WHERE id = %s::uuid", (tri,)), 3,
      'create_course with legs (a jsonb array): committed')
for who in ('anna', 'bram', 'sanne'):
    t.call('courses', who, 'update_course', dict(course_id=courses[who], capacity=120, sort_order=1))
    t.is_(t.su1('SELECT p.capacity FROM capacity.pools p JOIN startlijn.courses c ON c.pool_id = p.id WHERE c.id = %s::uuid',
                (courses[who],)), 120, 'update_course by %s: committed' % who)
waves = {}
for who in ('anna', 'bram', 'sanne'):
    waves[who] = body(t.call('waves', who, 'create_wave', dict(course_id=courses[who], name='Startvak A',
                                                               starts_at='2027-10-03T10:00:00+02:00', places=40))).get('wave_id')
    t.is_(t.su1('SELECT p.capacity FROM capacity.pools p JOIN startlijn.waves w ON w.pool_id = p.id WHERE w.id = %s::uuid',
                (waves[who],)) if waves[who] else None, 40, 'create_wave by %s: committed' % who)
    t.call('waves', who, 'update_wave', dict(wave_id=waves[who], places=50, starts_at='2027-10-03T10:15:00+02:00'))
    t.is_(t.su1('SELECT p.capacity FROM capacity.pools p JOIN startlijn.waves w ON w.pool_id = p.id WHERE w.id = %s::uuid',
                (waves[who],)), 50, 'update_wave by %s: committed' % who)
t.call('waves', 'daan', 'update_wave', dict(wave_id=waves['anna'], places=1), want=403)

# ticket types and price tiers
tts = {}
for who in ('anna', 'bram', 'sanne'):
    tts[who] = body(t.call('ticket types', who, 'create_ticket_type',
                           dict(event_id=ev[who], course_id=courses[who], wave_id=waves[who], name='10 km', price=2500,
                                vat_rate=900, sales_end='2027-09-30T00:00:00+02:00'))).get('ticket_type_id')
    t.is_(t.su1('SELECT price FROM startlijn.ticket_types WHERE id = %s::uuid', (tts[who],)) if tts[who] else None, 2500,
          'create_ticket_type by %s: committed' % who)
    t.call('ticket types', who, 'set_price_tiers',
           dict(ticket_type_id=tts[who], tiers=[{'name': 'Early bird', 'price': 1900, 'until_sold': 100}]))
    t.is_(t.su1('SELECT price FROM startlijn.price_tiers WHERE ticket_type_id = %s::uuid AND deleted_at IS NULL',
                (tts[who],)), 1900, 'set_price_tiers by %s: committed' % who)
    t.call('ticket types', who, 'update_ticket_type', dict(ticket_type_id=tts[who], max_per_order=4, min_age=12))
    t.is_(t.su1('SELECT max_per_order || \' \' || min_age FROM startlijn.ticket_types WHERE id = %s::uuid', (tts[who],)),
          '4 12', 'update_ticket_type by %s: committed' % who)
r = t.call('ticket types', 'anna', 'create_ticket_type',
           dict(event_id=ev['anna'], course_id=courses['anna'], name='Club', price=2000, visibility='hidden',
                access_code='CLUB-E2E-27'))
club = body(r).get('ticket_type_id')
t.ok(t.su1('SELECT access_code_hash IS NOT NULL FROM startlijn.ticket_types WHERE id = %s::uuid', (club,)) is True,
     'a hidden ticket type: its access code hash committed')
t.call('ticket types', 'carla', 'update_ticket_type', dict(ticket_type_id=club, name='X'), want=403)
for who in ('anna', 'bram', 'sanne'):
    extra = body(t.call('ticket types', who, 'create_ticket_type',
                        dict(event_id=ev[who], course_id=courses[who], name='Extra', price=100))).get('ticket_type_id')
    t.call('ticket types', who, 'delete_ticket_type', dict(ticket_type_id=extra, reason='Dubbel'))
    t.ok(t.su1('SELECT deleted_at IS NOT NULL FROM startlijn.ticket_types WHERE id = %s::uuid', (extra,)) is True,
         'delete_ticket_type by %s: committed (soft)' % who)

# add-ons and variants
addons, variants = {}, {}
for who in ('anna', 'bram', 'sanne'):
    addons[who] = body(t.call('add-ons', who, 'create_addon', dict(event_id=ev[who], name='T-shirt', max_per_entry=2))).get('addon_id')
    t.is_(t.su1('SELECT max_per_entry FROM startlijn.addons WHERE id = %s::uuid', (addons[who],)) if addons[who] else None, 2,
          'create_addon by %s: committed' % who)
    t.call('add-ons', who, 'update_addon', dict(addon_id=addons[who], description='Funktioneel shirt', standalone=True))
    t.is_(t.su1('SELECT standalone FROM startlijn.addons WHERE id = %s::uuid', (addons[who],)), True,
          'update_addon by %s: committed' % who)
    variants[who] = body(t.call('add-ons', who, 'create_addon_variant',
                                dict(addon_id=addons[who], name='M', price=1500, vat_rate=2100, stock=30))).get('variant_id')
    t.is_(t.su1('SELECT p.capacity FROM capacity.pools p JOIN startlijn.addon_variants v ON v.pool_id = p.id WHERE v.id = %s::uuid',
                (variants[who],)) if variants[who] else None, 30, 'create_addon_variant by %s: its stock committed' % who)
    t.call('add-ons', who, 'update_addon_variant', dict(variant_id=variants[who], stock=40, price=1600))
    t.is_(t.su1('SELECT p.capacity || \' \' || v.price FROM capacity.pools p JOIN startlijn.addon_variants v ON v.pool_id = p.id '
                'WHERE v.id = %s::uuid', (variants[who],)), '40 1600', 'update_addon_variant by %s: committed' % who)
t.call('add-ons', 'carla', 'create_addon', dict(event_id=ev['anna'], name='Parkeren'), want=403)
t.call('add-ons', 'daan', 'update_addon_variant', dict(variant_id=variants['anna'], price=1), want=403)

# registration questions
questions = [{'key': 'club_member', 'type': 'boolean', 'label': 'Lid van een vereniging?', 'required': True},
             {'key': 'club', 'type': 'club', 'label': 'Vereniging', 'required': True,
              'condition': {'question': 'club_member', 'equals': True}},
             {'key': 'ice', 'type': 'emergency_contact', 'label': 'Noodcontact', 'required': True}]
for who in ('anna', 'bram', 'sanne'):
    t.call('questions', who, 'set_questions', dict(event_id=ev[who], questions=questions[:3 if who == 'anna' else 1]))
    t.is_(t.su1('SELECT jsonb_array_length(questions) FROM startlijn.events WHERE id = %s::uuid', (ev[who],)),
          3 if who == 'anna' else 1, 'set_questions by %s: committed' % who)
t.call('questions', 'carla', 'set_questions', dict(event_id=ev['anna'], questions=[]), want=403)
t.call('questions', 'anna', 'set_questions', dict(event_id=ev['anna'], questions=[{'key': 'x', 'type': 'colour', 'label': 'X'}]),
       want=400)
t.is_(t.su1('SELECT jsonb_array_length(questions) FROM startlijn.events WHERE id = %s::uuid', (ev['anna'],)), 3,
      '... a refused definition changes nothing')

# publishing, the public catalog, copying, closing, cancelling, deleting
t.call('publish', 'daan', 'publish_event', dict(event_id=ev['anna']), want=403)
for who in ('anna', 'bram', 'sanne'):
    t.call('publish', who, 'publish_event', dict(event_id=ev[who]))
    t.is_(ev_status(ev[who]), 'published', 'publish_event by %s: committed' % who)
r = t.call('public', 'anon', 'events', dict(q='e2e'))
t.is_(sorted(e['slug'] for e in body(r) or []), ['e2e-anna-2027', 'e2e-bram-2027', 'e2e-sanne-2027'],
      'anon lists the committed published events')
r = t.call('public', 'anon', 'event', dict(org_slug='loopgroep-utrecht', event_slug='e2e-anna-2027'))
t.is_([x['name'] for x in body(r).get('ticket_types', [])], ['10 km'], 'anon sees the public ticket type only')
t.is_(body(r).get('ticket_types', [{}])[0].get('price'), 1900, '... at the early-bird price')
t.is_([(a['name'], [v['name'] for v in a['variants']]) for a in body(r).get('addons', [])], [('T-shirt', ['M'])],
      '... and the add-ons with their variants')
t.is_([q['key'] for q in body(r).get('questions', [])], ['club_member', 'club', 'ice'], '... and the registration questions')
r = t.call('public', 'anon', 'event', dict(org_slug='loopgroep-utrecht', event_slug='e2e-anna-2027', access_code='CLUB-E2E-27'))
t.is_(sorted(x['name'] for x in body(r).get('ticket_types', [])), ['10 km', 'Club'], 'with the access code the club ticket too')
r = t.call('dashboard', 'daan', 'event_dashboard', dict(event_id=ev['anna']))
t.is_([(x['name'], x['capacity'], x['sold']) for x in body(r).get('ticket_types', [])], [('10 km', 50, 0), ('Club', 120, 0)],
      'finance reads the dashboard')
t.call('dashboard', 'carla', 'organization_events', dict(organization_id=ORG1))

copies = {}
for who in ('anna', 'bram', 'sanne'):
    copies[who] = body(t.call('copy', who, 'copy_event', dict(event_id=ev[who]))).get('event_id')
    t.is_(t.su1('SELECT slug || \' \' || status FROM startlijn.events WHERE id = %s::uuid', (copies[who],)) if copies[who] else None,
          'e2e-%s-2028 draft' % who, 'copy_event by %s: committed as next year\'s draft' % who)
t.is_(t.su1('SELECT count(*) FROM startlijn.ticket_types WHERE event_id = %s::uuid', (copies['anna'],)), 2,
      '... with its ticket types')
t.is_(t.su1('SELECT count(*) FROM startlijn.addon_variants WHERE event_id = %s::uuid', (copies['anna'],)), 1,
      '... and its add-on variants')
t.call('copy', 'carla', 'copy_event', dict(event_id=ev['anna']), want=403)

t.call('close', 'anna', 'close_event', dict(event_id=ev['anna'], reason='Vol'))
t.is_(ev_status(ev['anna']), 'closed', 'close_event by the owner: committed')
t.call('close', 'bram', 'close_event', dict(event_id=ev['bram']))
t.is_(ev_status(ev['bram']), 'closed', 'close_event by an admin: committed')
t.call('cancel', 'sanne', 'cancel_event', dict(event_id=ev['sanne'], reason='Storm'))
t.is_(ev_status(ev['sanne']), 'cancelled', 'cancel_event by the superadmin: committed')
t.call('cancel', 'anna', 'cancel_event', dict(event_id=copies['anna']))
t.call('cancel', 'bram', 'cancel_event', dict(event_id=copies['bram']))
t.is_((ev_status(copies['anna']), ev_status(copies['bram'])), ('cancelled', 'cancelled'),
      'cancel_event by the owner and an admin: committed')
for who in ('anna', 'bram', 'sanne'):
    t.call('delete', who, 'delete_event', dict(event_id=copies[who], reason='Opruimen'))
    t.ok(t.su1('SELECT deleted_at IS NOT NULL FROM startlijn.events WHERE id = %s::uuid', (copies[who],)) is True,
         'delete_event by %s: committed (soft)' % who)
t.call('delete', 'anna', 'delete_event', dict(event_id=copies['anna']), want=404)
t.is_(t.su1("SELECT count(*) FROM trail.entries WHERE action LIKE 'catalog.%%'") >= 40, True,
      'every change is in the audit trail')
t.done()
