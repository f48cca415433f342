#!/usr/bin/python3
"""Capacity end to end through the PostgREST-exact driver: pools, items, the
box office (hold, confirm, release, extend, return) and the waitlist, each
mutating RPC committed as the owner, an admin, the superadmin or the
participant themselves, its effect checked by a superuser query."""

from lib import ORG1, USER, Tap

t = Tap()


def o(**kw):
    return dict(organization_id=ORG1, **kw)


def hold_state(hid):
    return t.su1('SELECT state FROM capacity.holds WHERE id = %s::uuid', (hid,))


# pools: owner and admin create, the superadmin changes a capacity
r = t.call('capacity', 'anna', 'create_capacity_pool', o(name='Marathon', capacity=3))
pool = (r.get('body') or {}).get('pool_id')
t.is_(t.su1('SELECT capacity FROM capacity.pools WHERE id = %s::uuid', (pool,)) if pool else None, 3,
      'create_capacity_pool by the owner: committed')
r = t.call('capacity', 'bram', 'create_capacity_pool', o(name='10 km', capacity=100))
pool2 = (r.get('body') or {}).get('pool_id')
t.is_(t.su1('SELECT name FROM capacity.pools WHERE id = %s::uuid', (pool2,)) if pool2 else None, '10 km',
      'create_capacity_pool by an admin: committed')
t.call('capacity', 'carla', 'create_capacity_pool', o(name='Nope', capacity=1), want=403)
t.call('capacity', 'sanne', 'set_pool_capacity', o(pool_id=pool2, capacity=150, reason='Extra startvak'))
t.is_(t.su1('SELECT capacity FROM capacity.pools WHERE id = %s::uuid', (pool2,)), 150,
      'set_pool_capacity by the superadmin: committed')
t.call('capacity', 'bram', 'set_pool_capacity', o(pool_id=pool2, capacity=120))
t.is_(t.su1('SELECT capacity FROM capacity.pools WHERE id = %s::uuid', (pool2,)), 120, 'set_pool_capacity by an admin: committed')

# items
r = t.call('capacity', 'bram', 'create_capacity_item', o(name='Marathon inschrijving', pools=[{'pool_id': pool}]))
item = (r.get('body') or {}).get('item_id')
t.is_(t.su1('SELECT count(*) FROM capacity.item_pools WHERE item_id = %s::uuid', (item,)) if item else None, 1,
      'create_capacity_item by an admin (a jsonb argument): committed')
r = t.call('capacity', 'anna', 'create_capacity_item', o(name='10 km', pools=[{'pool_id': pool2, 'units': 1}]))
item2 = (r.get('body') or {}).get('item_id')
t.ok(item2 is not None, 'create_capacity_item by the owner')

# the box office: hold, extend, confirm, return; hold and release
r = t.call('box office', 'bram', 'hold_capacity', o(lines=[{'item_id': item, 'quantity': 2}], holder=USER['joost'],
                                                   idempotency_key='e2e-balie-1'))
h1 = (r.get('body') or {}).get('hold_id')
t.is_(hold_state(h1) if h1 else None, 'held', 'hold_capacity by an admin: committed')
t.call('box office', 'anna', 'extend_hold', o(hold_id=h1, ttl='30 minutes'))
t.ok(t.su1("SELECT expires_at > now() + interval '25 minutes' FROM capacity.holds WHERE id = %s::uuid", (h1,)) is True,
     'extend_hold by the owner (an interval argument): committed')
r = t.call('box office', 'anna', 'confirm_hold', o(hold_id=h1))
alloc = (((r.get('body') or {}).get('allocations') or [{}])[0]).get('allocation_id')
t.is_((hold_state(h1), t.su1('SELECT sum(quantity) FROM capacity.allocations WHERE hold_id = %s::uuid', (h1,))),
      ('confirmed', 2), 'confirm_hold by the owner: committed, two places allocated')
t.call('box office', 'bram', 'return_capacity_units', o(allocation_id=alloc, quantity=1, reason='Annulering'))
t.is_(t.su1('SELECT returned FROM capacity.allocations WHERE id = %s::uuid', (alloc,)), 1,
      'return_capacity_units by an admin: committed')
r = t.call('box office', 'sanne', 'hold_capacity', o(lines=[{'item_id': item2, 'quantity': 1}]))
h2 = (r.get('body') or {}).get('hold_id')
t.is_(hold_state(h2) if h2 else None, 'held', 'hold_capacity by the superadmin: committed')
t.call('box office', 'bram', 'release_hold', o(hold_id=h2, reason='Betaling afgebroken'))
t.is_(hold_state(h2), 'released', 'release_hold by an admin: committed')
r = t.call('box office', 'anna', 'hold_capacity', o(lines=[{'pool_id': pool2, 'quantity': 1}]))
h3 = (r.get('body') or {}).get('hold_id')
t.call('box office', 'anna', 'release_hold', o(hold_id=h3))
t.is_(hold_state(h3) if h3 else None, 'released', 'release_hold by the owner: committed')
t.call('box office', 'carla', 'hold_capacity', o(lines=[{'item_id': item, 'quantity': 1}]), want=403)
# sold out: 3 places, 1 allocated (2 - 1 returned); hold the other 2, then a third is refused
r = t.call('box office', 'bram', 'hold_capacity', o(lines=[{'item_id': item, 'quantity': 2}]))
h4 = (r.get('body') or {}).get('hold_id')
t.call('box office', 'bram', 'hold_capacity', o(lines=[{'item_id': item, 'quantity': 1}]), want=409)

# the waitlist: a participant for themselves, the owner for someone else with a priority
r = t.call('waitlist', 'kim', 'join_waitlist', o(item_id=item, quantity=1))
e1 = (r.get('body') or {}).get('entry_id')
t.is_(t.su1('SELECT state || \' \' || holder FROM capacity.waitlist WHERE id = %s::uuid', (e1,)) if e1 else None,
      'waiting ' + USER['kim'], 'join_waitlist by a participant for themselves: committed')
r = t.call('waitlist', 'anna', 'join_waitlist', o(item_id=item, quantity=1, holder=USER['iris'], priority=10))
e2 = (r.get('body') or {}).get('entry_id')
t.is_(t.su1('SELECT priority FROM capacity.waitlist WHERE id = %s::uuid', (e2,)) if e2 else None, 10,
      'join_waitlist by the owner with a holder and a priority: committed')
t.call('waitlist', 'carla', 'join_waitlist', o(item_id=item, quantity=1, priority=5), want=403)
r = t.call('waitlist', 'kim', 'my_waitlist')
t.is_([e.get('entry_id') for e in (r.get('body') or [])], [e1], 'my_waitlist (read-only): the participant sees their entry')
t.call('waitlist', 'kim', 'leave_waitlist', {'entry_id': e1, 'reason': 'Geblesseerd'})
t.is_(t.su1('SELECT state FROM capacity.waitlist WHERE id = %s::uuid', (e1,)), 'left',
      'leave_waitlist by the participant: committed')
# freed places go to the waitlist first: releasing h4 offers Iris a hold in her name
t.call('box office', 'bram', 'release_hold', o(hold_id=h4))
t.is_(t.su1('SELECT state FROM capacity.waitlist WHERE id = %s::uuid', (e2,)), 'offered',
      'release_hold: committed, the freed place is offered to the waitlist')
t.call('waitlist', 'bram', 'leave_waitlist', {'entry_id': e2})
t.ok(t.su1('SELECT state FROM capacity.waitlist WHERE id = %s::uuid', (e2,)) in ('left', 'declined'),
     'leave_waitlist by an admin for someone else: committed')

# reads
for fn, args in (('capacity_pools', o()), ('capacity_items', o()), ('capacity_holds', o(state='held')),
                 ('capacity_waitlist', o(item_id=item, include_closed=True))):
    t.call('read', 'carla', fn, args)
t.done()
