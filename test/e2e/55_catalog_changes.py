#!/usr/bin/python3
"""The catalog's later RPCs end to end through the PostgREST-exact driver
(issue 24, and issue 25's "one entry per person per event unless the ticket
type allows more"): registration questions for some ticket types, answered
at checkout and judged by the entry's ticket type; one_entry_per_person
both ways through reserve and checkout; moving a ticket type to another
course and wave; deleting courses, waves, add-ons and variants (by the
owner, an admin and the superadmin; support and finance refused), refused
while something depends on them; copying with the questions mapped. Every
effect is checked by a superuser query on what was committed."""

from lib import ORG1, Tap, body, code_of

t = Tap()


q1 = t.q1


# --- the organiser builds an event ------------------------------------------
ev = body(t.call('setup', 'anna', 'create_event', dict(
    organization_id=ORG1, name='Estafetteloop 2027', slug='estafetteloop-2027', type='running',
    starts_at='2027-09-12T09:00:00+02:00', ends_at='2027-09-12T14:00:00+02:00',
    venue_name='Griftpark', venue_country='NL', contact_email='info@estafette.nl',
    registration_opens_at='2026-01-01T00:00:00+01:00', registration_closes_at='2027-09-10T00:00:00+02:00'))).get('event_id')
c10 = body(t.call('setup', 'anna', 'create_course', dict(event_id=ev, name='10 km', distance_m=10000, capacity=50))).get('course_id')
c5 = body(t.call('setup', 'bram', 'create_course', dict(event_id=ev, name='5 km', distance_m=5000))).get('course_id')
wa = body(t.call('setup', 'anna', 'create_wave', dict(course_id=c10, name='A', starts_at='2027-09-12T09:00:00+02:00',
                                                      places=20))).get('wave_id')
w5 = body(t.call('setup', 'anna', 'create_wave', dict(course_id=c5, name='5 km', starts_at='2027-09-12T10:00:00+02:00',
                                                      places=20))).get('wave_id')
solo = body(t.call('setup', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=c10, wave_id=wa, name='10 km',
                                                                 price=0))).get('ticket_type_id')
relay = body(t.call('setup', 'bram', 'create_ticket_type', dict(event_id=ev, course_id=c10, name='Estafette', price=0,
                                                                  one_entry_per_person=False, max_per_order=4))
             ).get('ticket_type_id')
t.is_(q1('SELECT string_agg(name || \':\' || one_entry_per_person, \',\' ORDER BY name) FROM startlijn.ticket_types '
         'WHERE event_id = %s::uuid', ev), '10 km:true,Estafette:false',
      'one_entry_per_person committed through create_ticket_type (default true, and false)')
t.call('setup', 'anna', 'set_questions', dict(event_id=ev, questions=[
    {'key': 'ice', 'type': 'emergency_contact', 'label': 'Noodcontact', 'required': True},
    {'key': 'team', 'type': 'text', 'label': 'Teamnaam', 'required': True, 'ticket_types': [relay]},
    {'key': 'pace', 'type': 'number', 'label': 'Tempo (min/km)', 'min': 3, 'max': 12, 'ticket_types': [solo]}]))
t.is_(q1('SELECT questions -> 1 -> \'ticket_types\' ->> 0 FROM startlijn.events WHERE id = %s::uuid', ev), relay,
      'set_questions: a question for the relay only, committed')
t.call('setup', 'anna', 'publish_event', dict(event_id=ev))
pub = body(t.call('public', 'anon', 'event', dict(org_slug='loopgroep-utrecht', event_slug='estafetteloop-2027')))
t.is_([(q['key'], q.get('ticket_types')) for q in pub.get('questions', [])],
      [('ice', None), ('team', [relay]), ('pace', [solo])], 'api.event: each question with the ticket types it is for')
t.is_(sorted((x['name'], x['one_entry_per_person']) for x in pub.get('ticket_types', [])),
      [('10 km', True), ('Estafette', False)], 'api.event: the ticket types say whether one entry per person applies')

ICE = {'ice': {'name': 'Piet Ouder', 'phone': '+31612345678'}}


def buy(who, lines, participants, want=200, name='buy'):
    """reserve and check out as who; returns (reserve result, checkout result or None)"""
    r = t.api.call(who, 'reserve', dict(event_id=ev, lines=lines))
    if r['status'] != 200:
        t.status(r, want, name + ': reserve')
        return r, None
    o = body(r)
    c = t.api.call(who, 'checkout', dict(order_id=o['order_id'], order_token=o.get('order_token'),
                                         buyer={'email': 'koper@example.nl', 'name': 'Koper'}, participants=participants))
    t.status(c, want, name + ': checkout')
    if c['status'] != 200:
        t.api.call(who, 'release_reservation', dict(order_id=o['order_id'], order_token=o.get('order_token')))
    return r, c


def person(tt, first, answers):
    return dict(ticket_type_id=tt, first_name=first, last_name='de Vries', date_of_birth='1988-04-01', answers=answers)


# --- answers judged by the entry's ticket type --------------------------------
_, c = buy('anon', [dict(ticket_type_id=relay, quantity=1)], [person(relay, 'Ans', ICE)], want=400,
           name='relay without its team')
t.is_(code_of(c) if c else None, 'invalid_answers', 'checkout: the relay''s required team question is demanded')
_, c = buy('anon', [dict(ticket_type_id=solo, quantity=1)], [person(solo, 'Ans', dict(ICE, team='De Hazen'))], want=400,
           name='10 km with a team')
t.is_(code_of(c) if c else None, 'invalid_answers', 'checkout: an answer to the relay''s question is refused on the 10 km')
t.is_(q1('SELECT count(*)::int FROM startlijn.registrations WHERE event_id = %s::uuid', ev), 0,
      '... and neither refused checkout committed a registration')
_, c = buy('anon', [dict(ticket_type_id=solo, quantity=1)], [person(solo, 'Ans', dict(ICE, pace=5.5))], name='10 km')
t.is_(body(c).get('status') if c else None, 'paid', 'checkout: the 10 km runner answers her own questions; the free order is paid')

# --- one entry per person, unless the ticket type allows more ----------------
_, c = buy('anon', [dict(ticket_type_id=solo, quantity=1)], [person(solo, 'Ans', ICE)], want=409, name='10 km again')
t.is_(code_of(c) if c else None, 'already_registered', 'the same person on the 10 km again: already_registered')
_, c = buy('anon', [dict(ticket_type_id=relay, quantity=2)],
           [person(relay, 'Ans', dict(ICE, team='De Hazen')), person(relay, 'Ans', dict(ICE, team='De Snelle Slakken'))],
           name='relay twice in one order')
t.is_(body(c).get('status') if c else None, 'paid', 'the relay allows more: the same person twice in one order')
_, c = buy('anon', [dict(ticket_type_id=relay, quantity=1)], [person(relay, 'Ans', dict(ICE, team='Team 3'))],
           name='relay a third time')
t.is_(body(c).get('status') if c else None, 'paid', '... and again in another order')
t.is_(q1("SELECT string_agg(t.name || ':' || r.single_entry, ',' ORDER BY r.created_at, t.name) FROM startlijn.registrations r "
         "JOIN startlijn.ticket_types t ON t.id = r.ticket_type_id WHERE r.event_id = %s::uuid AND r.first_name = 'Ans'", ev),
      '10 km:true,Estafette:false,Estafette:false,Estafette:false',
      'committed: one single entry and three the rule does not count')
t.call('setting', 'bram', 'update_ticket_type', dict(ticket_type_id=relay, one_entry_per_person=True))
t.is_(q1('SELECT one_entry_per_person FROM startlijn.ticket_types WHERE id = %s::uuid', relay), True,
      'update_ticket_type: the relay becomes one entry per person, committed')
_, c = buy('anon', [dict(ticket_type_id=relay, quantity=2)],
           [person(relay, 'Bob', dict(ICE, team='A')), person(relay, 'Bob', dict(ICE, team='B'))], want=409,
           name='relay twice after the change')
t.is_(code_of(c) if c else None, 'already_registered', '... now the same new person twice is refused')
t.is_(q1("SELECT count(*)::int FROM startlijn.registrations WHERE event_id = %s::uuid AND first_name = 'Bob'", ev), 0,
      '... and nothing of that order was committed')

# --- moving a ticket type -------------------------------------------------------
mover = body(t.call('move', 'anna', 'create_ticket_type', dict(event_id=ev, course_id=c10, wave_id=wa, name='Wisselaar',
                                                                 price=0))).get('ticket_type_id')
old_item = q1('SELECT item_id::text FROM startlijn.ticket_types WHERE id = %s::uuid', mover)
t.call('move', 'sanne', 'update_ticket_type', dict(ticket_type_id=mover, course_id=c5, wave_id=w5))
t.is_(q1('SELECT course_id::text || \' \' || wave_id::text FROM startlijn.ticket_types WHERE id = %s::uuid', mover),
      '%s %s' % (c5, w5), 'update_ticket_type by the superadmin: moved to the 5 km wave, committed')
t.is_(q1('SELECT array_agg(ip.pool_id::text) FROM capacity.item_pools ip JOIN startlijn.ticket_types x ON x.item_id = ip.item_id '
         'WHERE x.id = %s::uuid', mover),
      [q1('SELECT pool_id::text FROM startlijn.waves WHERE id = %s::uuid', w5)],
      '... its new capacity item draws from the 5 km wave only')
t.ok(q1('SELECT item_id::text FROM startlijn.ticket_types WHERE id = %s::uuid', mover) != old_item, '... a new item')
r = t.call('move', 'anna', 'update_ticket_type', dict(ticket_type_id=solo, course_id=c5, wave_id=w5), want=409)
t.is_(code_of(r), 'has_sales', 'the 10 km (sold) cannot move')
t.call('move', 'carla', 'update_ticket_type', dict(ticket_type_id=mover, course_id=c10), want=403)

# --- deleting courses, waves, add-ons, variants ---------------------------------
r = t.call('delete', 'anna', 'delete_course', dict(course_id=c5), want=409)
t.is_(code_of(r), 'has_ticket_types', 'delete_course: a ticket type sells from it')
t.call('delete', 'bram', 'delete_ticket_type', dict(ticket_type_id=mover))
t.call('delete', 'daan', 'delete_wave', dict(wave_id=w5), want=403)
t.call('delete', 'carla', 'delete_course', dict(course_id=c5), want=403)
t.call('delete', 'eva', 'delete_course', dict(course_id=c5), want=404)
t.call('delete', 'bram', 'delete_wave', dict(wave_id=w5, reason='Samengevoegd'))
t.ok(q1('SELECT deleted_at IS NOT NULL FROM startlijn.waves WHERE id = %s::uuid', w5), 'delete_wave by an admin: committed')
t.call('delete', 'sanne', 'delete_course', dict(course_id=c5))
t.ok(q1('SELECT deleted_at IS NOT NULL FROM startlijn.courses WHERE id = %s::uuid', c5), 'delete_course by the superadmin: committed')
t.is_(q1("SELECT count(*)::int FROM trail.entries WHERE action IN ('catalog.course_deleted', 'catalog.wave_deleted')"), 2,
      '... both in the audit trail')

shirt = body(t.call('addons', 'anna', 'create_addon', dict(event_id=ev, name='Shirt'))).get('addon_id')
m = body(t.call('addons', 'anna', 'create_addon_variant', dict(addon_id=shirt, name='M', price=0, stock=5))).get('variant_id')
xl = body(t.call('addons', 'anna', 'create_addon_variant', dict(addon_id=shirt, name='XL', price=0, stock=5))).get('variant_id')
_, c = buy('kim', [dict(ticket_type_id=relay, quantity=1), dict(variant_id=m, quantity=1)],
           [person(relay, 'Kim', dict(ICE, team='Kim'))], name='kim buys a shirt')
r = t.call('addons', 'anna', 'delete_addon_variant', dict(variant_id=m), want=409)
t.is_(code_of(r), 'item_in_use', 'delete_addon_variant: a sold variant stays')
r = t.call('addons', 'bram', 'delete_addon', dict(addon_id=shirt), want=409)
t.is_(code_of(r), 'item_in_use', 'delete_addon: an add-on with a sold variant stays')
t.call('addons', 'carla', 'delete_addon_variant', dict(variant_id=xl), want=403)
t.call('addons', 'bram', 'delete_addon_variant', dict(variant_id=xl))
t.ok(q1('SELECT deleted_at IS NOT NULL FROM startlijn.addon_variants WHERE id = %s::uuid', xl),
     'delete_addon_variant by an admin: the unsold XL, committed')
pasta = body(t.call('addons', 'anna', 'create_addon', dict(event_id=ev, name='Pasta'))).get('addon_id')
body(t.call('addons', 'anna', 'create_addon_variant', dict(addon_id=pasta, name='Bord', price=0)))
t.call('addons', 'daan', 'delete_addon', dict(addon_id=pasta), want=403)
t.call('addons', 'anna', 'delete_addon', dict(addon_id=pasta))
t.is_(q1('SELECT count(*)::int FROM startlijn.addon_variants WHERE addon_id = %s::uuid AND deleted_at IS NULL', pasta), 0,
      'delete_addon by the owner: the add-on and its variant, committed')
t.is_(sorted(a['name'] for a in body(t.call('public', 'anon', 'event', dict(org_slug='loopgroep-utrecht',
                                                                             event_slug='estafetteloop-2027'))).get('addons', [])),
      ['Shirt'], 'api.event: the deleted add-on is gone')

# --- copying: the questions follow the new edition's ticket types --------------
ev28 = body(t.call('copy', 'anna', 'copy_event', dict(event_id=ev))).get('event_id')
t.is_(q1("SELECT (SELECT jsonb_agg(q -> 'ticket_types') FROM jsonb_array_elements(e.questions) q WHERE q ? 'ticket_types') = "
         "(SELECT jsonb_agg(jsonb_build_array(t.id) ORDER BY t.name DESC) FROM startlijn.ticket_types t WHERE t.event_id = e.id "
         "AND t.deleted_at IS NULL) FROM startlijn.events e WHERE e.id = %s::uuid", ev28), True,
      'copy_event: each question is for the new edition''s ticket type (team: Estafette, pace: 10 km)')
t.is_(q1("SELECT string_agg(name || ':' || one_entry_per_person, ',' ORDER BY name) FROM startlijn.ticket_types "
         "WHERE event_id = %s::uuid", ev28), '10 km:true,Estafette:true', 'copy_event: one_entry_per_person copied')

t.done()
