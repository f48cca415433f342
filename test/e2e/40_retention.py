#!/usr/bin/python3
"""Retention end to end through the PostgREST-exact driver: settings, erasure
requests (self and on behalf of a subject), legal holds and signals, each
mutating RPC committed as each kind of caller that may call it, its effect
checked by a superuser query."""

from lib import ORG1, ORG2, USER, Tap

t = Tap()


def o(org=ORG1, **kw):
    return dict(organization_id=org, **kw)


# configure_retention: owners and the superadmin
t.call('settings', 'anna', 'configure_retention', o(profile='provisa', grace='14 days'))
t.is_(tuple(t.su("SELECT profile, grace::text FROM retention.settings WHERE organization_id = %s::uuid", (ORG1,))[0]),
      ('provisa', '14 days'), 'configure_retention by the owner: committed')
t.call('settings', 'sanne', 'configure_retention', o(ORG2, strategy='remove', notify=False))
t.is_(tuple(t.su("SELECT strategy, notify FROM retention.settings WHERE organization_id = %s::uuid", (ORG2,))[0]),
      ('remove', False), 'configure_retention by the superadmin (a boolean argument): committed')
t.call('settings', 'bram', 'configure_retention', o(profile='vng_2020'), want=403)
r = t.call('settings', 'bram', 'retention_settings', o())
t.is_((r.get('body') or {}).get('profile'), 'provisa', 'retention_settings (read-only) reads it back')

# request_erasure: the person themselves; the only owner is refused
r = t.call('erasure', 'joost', 'request_erasure', {'reason': 'Ik stop met hardlopen.'})
q1 = (r.get('body') or {}).get('id')
t.is_(t.su1("SELECT status || ' ' || subject FROM retention.erasure_requests WHERE id = %s::uuid", (q1,)) if q1 else None,
      'received ' + USER['joost'], 'request_erasure by the person: committed')
t.call('erasure', 'lars', 'request_erasure', {}, want=409)
t.is_(t.su1("SELECT count(*) FROM retention.erasure_requests WHERE subject = %s::uuid", (USER['lars'],)), 0,
      'request_erasure by the only owner of an organisation: refused, nothing committed')
r = t.call('erasure', 'joost', 'my_erasure_requests')
t.is_([x.get('id') for x in (r.get('body') or [])], [q1], 'my_erasure_requests (read-only)')

# request_subject_erasure: owners, admins, the superadmin
for who, org, subject in (('anna', ORG1, 'carla'), ('bram', ORG1, 'iris'), ('sanne', ORG2, 'gijs')):
    r = t.call('erasure', who, 'request_subject_erasure', o(org, subject=USER[subject], reason='E-mail van 3 november'))
    qid = (r.get('body') or {}).get('id')
    t.is_(t.su1("SELECT organization_id || ' ' || subject FROM retention.erasure_requests WHERE id = %s::uuid", (qid,))
          if qid else None, '%s %s' % (org, USER[subject]), 'request_subject_erasure by %s: committed' % who)
t.call('erasure', 'carla', 'request_subject_erasure', o(subject=USER['iris'], reason='x'), want=403)
r = t.call('erasure', 'anna', 'erasure_requests', o(status='received'))
t.is_(len(r.get('body') or []), 2, 'erasure_requests (read-only): the organisation\'s two requests')

# legal holds: owners, admins, the superadmin place and lift
holds = {}
for who, org, subject in (('bram', ORG1, 'iris'), ('anna', ORG1, None), ('sanne', ORG2, None)):
    args = o(org, reason='Geschil 2026-17')
    if subject:
        args['subject'] = USER[subject]
    r = t.call('hold', who, 'place_legal_hold', args)
    holds[who] = (r.get('body') or {}).get('id')
    t.is_(t.su1("SELECT scope FROM retention.holds WHERE id = %s::uuid AND lifted_at IS NULL", (holds[who],))
          if holds[who] else None, 'subject' if subject else 'organization', 'place_legal_hold by %s: committed' % who)
for who, placed_by, org in (('anna', 'bram', ORG1), ('bram', 'anna', ORG1), ('sanne', 'sanne', ORG2)):
    t.call('hold', who, 'lift_legal_hold', o(org, hold_id=holds[placed_by], reason='Geschil geschikt'))
    t.is_(t.su1("SELECT lifted_by FROM retention.holds WHERE id = %s::uuid", (holds[placed_by],)), 'user:' + USER[who],
          'lift_legal_hold by %s: committed' % who)
t.call('hold', 'daan', 'place_legal_hold', o(reason='x'), want=403)
r = t.call('hold', 'anna', 'legal_holds', o(include_lifted=True))
t.is_(len(r.get('body') or []), 2, 'legal_holds (read-only, a boolean from the body)')

# signals: the job's notifications, acknowledged by owners, admins, the superadmin
ids = [t.su1("INSERT INTO retention.notifications (organization_id, relid, kind, record_count)"
             " VALUES (%s::uuid, 'startlijn.profiles'::regclass, 'retention_expired', %s) RETURNING id", (org, n))
       for org, n in ((ORG1, 3), (ORG1, 4), (ORG1, 5), (ORG2, 6))]
r = t.call('signals', 'bram', 'retention_notifications', o())
t.is_(sorted(x.get('id') for x in (r.get('body') or [])), ids[:3], 'retention_notifications (read-only)')
for who, org, mine in (('anna', ORG1, [ids[0]]), ('bram', ORG1, [ids[1], ids[3]]), ('sanne', ORG2, [ids[3]])):
    r = t.call('signals', who, 'acknowledge_retention_notifications', o(org, ids=mine))
t.is_(t.su("SELECT id, delivered_at IS NOT NULL FROM retention.notifications WHERE id = ANY (%s) ORDER BY id", (ids,)),
      [(ids[0], True), (ids[1], True), (ids[2], False), (ids[3], True)],
      'acknowledge_retention_notifications (a bigint[] argument): committed, only each organisation\'s own ids')
t.done()
