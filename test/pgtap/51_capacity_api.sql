-- Capacity through the API (startlijn 0.5), called as PostgREST calls it:
-- organisers set up pools and items, the box office holds, confirms,
-- releases, extends and returns; participants join and leave waitlists and
-- get offers; who may call what; another organisation's ids are not found.
BEGIN;
SELECT plan(64);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES
  ('org1', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002'),
  ('anna', '00000000-0000-4000-a000-000000000001'), ('bram', '00000000-0000-4000-a000-000000000002'), ('iris', '00000000-0000-4000-a000-000000000009'),
  ('joost', '00000000-0000-4000-a000-000000000010'), ('kim', '00000000-0000-4000-a000-000000000011');
-- status and code of a call, or status and one field of its body
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}', field text DEFAULT NULL) RETURNS text
  LANGUAGE sql AS $$
  SELECT r ->> 'status' || ' ' || CASE WHEN r ? 'code' THEN COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                        WHEN field IS NULL THEN 'ok' ELSE r -> 'body' ->> field END
    FROM pgrst.try(who, fn, args) r $$;
-- the organisation (Loopgroep Utrecht) plus extra
CREATE FUNCTION pg_temp.o(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('organization_id', pg_temp.v('org1')) || extra $$;
CREATE FUNCTION pg_temp.pool(who text DEFAULT 'carla') RETURNS jsonb LANGUAGE sql AS $$
  SELECT p FROM jsonb_array_elements(pgrst.call(who, 'capacity_pools', pg_temp.o())) p
   WHERE p ->> 'pool_id' = pg_temp.v('pool') $$;
CREATE FUNCTION pg_temp.line(n int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_array(jsonb_build_object('item_id', pg_temp.v('item'), 'quantity', n)) $$;
CREATE FUNCTION pg_temp.entry(who text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pgrst.call(who, 'my_waitlist') -> 0 $$;

-------------------------------------------------------------------------------
-- Organisers: pools and items
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'create_capacity_pool', pg_temp.o('{"name": "Marathon", "capacity": 3}'), 'capacity'),
          '200 3', 'the owner creates a pool of 3 places');
INSERT INTO k SELECT 'pool', p ->> 'pool_id' FROM jsonb_array_elements(pgrst.call('anna', 'capacity_pools', pg_temp.o())) p;
SELECT is(pg_temp.t('carla', 'create_capacity_pool', pg_temp.o('{"name": "10 km", "capacity": 3}')),
          '403 insufficient_role', 'support cannot create a pool');
SELECT is(pg_temp.t('bram', 'create_capacity_item',
                    pg_temp.o(jsonb_build_object('name', 'Marathon inschrijving',
                                                 'pools', jsonb_build_array(jsonb_build_object('pool_id', pg_temp.v('pool'))))),
                    'name'),
          '200 Marathon inschrijving', 'an admin creates an item drawing from the pool');
INSERT INTO k SELECT 'item', i ->> 'item_id' FROM jsonb_array_elements(pgrst.call('bram', 'capacity_items', pg_temp.o())) i;
SELECT is(pg_temp.pool('carla') ->> 'free', '3', 'support reads the pool''s exact figures');
SELECT is(jsonb_array_length(pgrst.call('daan', 'capacity_items', pg_temp.o())), 1, 'finance reads the items');
SELECT is(pgrst.call('daan', 'capacity_items', pg_temp.o()) -> 0 ->> 'available', '3', '... with what is available');
SELECT is(pg_temp.pool('sanne') ->> 'capacity', '3', 'the superadmin reads the pools');
SELECT is(pg_temp.pool('lars') ->> 'capacity', '3', 'a partner with a granted role reads the pools');
SELECT is(pg_temp.t('eva', 'capacity_pools', pg_temp.o()), '404 organization_not_found',
          'another organisation''s owner does not see them');
SELECT is(pg_temp.t('kim', 'capacity_items', pg_temp.o()), '404 organization_not_found',
          'a participant does not read the organiser''s items');
SELECT is(jsonb_array_length(pgrst.call('eva', 'capacity_pools', jsonb_build_object('organization_id', pg_temp.v('org2')))), 0,
          'and Eva''s own organisation has no pools');

-------------------------------------------------------------------------------
-- The box office: hold, replay, confirm, sold out
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('bram', 'hold_capacity',
                    pg_temp.o(jsonb_build_object('lines', pg_temp.line(2), 'holder', pg_temp.v('joost'),
                                                 'idempotency_key', 'balie-1')), 'state'),
          '200 held', 'an admin holds two places for a participant');
INSERT INTO k SELECT 'hold_joost', r ->> 'hold_id'
  FROM pgrst.call('bram', 'hold_capacity', pg_temp.o(jsonb_build_object('lines', pg_temp.line(2), 'holder', pg_temp.v('joost'),
                                                                         'idempotency_key', 'balie-1'))) r;
SELECT is((SELECT count(*) FROM capacity.holds h WHERE h.organization_id = pg_temp.v('org1')::uuid), 1::bigint,
          'the same idempotency key returns the same hold');
SELECT ok((SELECT h.expires_at - h.created_at = interval '15 minutes' FROM capacity.holds h
            WHERE h.id = pg_temp.v('hold_joost')::uuid), 'the TTL defaults to 15 minutes (an iDEAL payment)');
SELECT is(pg_temp.pool() ->> 'held', '2', 'the pool shows the held places');
SELECT is(pg_temp.t('bram', 'hold_capacity',
                    pg_temp.o(jsonb_build_object('lines', pg_temp.line(1), 'holder', pg_temp.v('joost'),
                                                 'idempotency_key', 'balie-1'))),
          '422 idempotency_key_reused', 'the same key with other lines is refused');
SELECT is(pg_temp.t('eva', 'confirm_hold', jsonb_build_object('organization_id', pg_temp.v('org2'),
                                                                'hold_id', pg_temp.v('hold_joost'))),
          '404 hold_not_found', 'another organisation cannot confirm the hold through its own organisation');
SELECT is(pg_temp.t('daan', 'confirm_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold_joost')))),
          '403 insufficient_role', 'finance cannot confirm');
SELECT is(pg_temp.t('anna', 'confirm_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold_joost'))), 'state'),
          '200 confirmed', 'the owner confirms the hold');
SELECT is(pgrst.call('anna', 'confirm_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold_joost')))) -> 'allocations' -> 0 ->> 'quantity',
          '2', 'confirming again returns the same allocation');
INSERT INTO k SELECT 'alloc_joost', a.id::text FROM capacity.allocations a WHERE a.hold_id = pg_temp.v('hold_joost')::uuid;
SELECT is((SELECT count(*) FROM capacity.allocations a WHERE a.hold_id = pg_temp.v('hold_joost')::uuid), 1::bigint,
          '... and writes no second one');
SELECT is(pg_temp.t('anna', 'hold_capacity', pg_temp.o(jsonb_build_object('lines', pg_temp.line(2)))),
          '409 sold_out', 'two more places than are left: sold out, nothing held');
SELECT is(pg_temp.t('anna', 'hold_capacity', pg_temp.o(jsonb_build_object('lines', pg_temp.line(1), 'ttl', '30 minutes')), 'holder'),
          '200 ' || pg_temp.v('anna'), 'without a holder, the hold is the caller''s (a card payment: 30 minutes)');
INSERT INTO k SELECT 'hold_last', h.id::text FROM capacity.holds h WHERE h.holder = pg_temp.v('anna');
SELECT is(pg_temp.t('bram', 'extend_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold_last'), 'ttl', '45 minutes')), 'state'),
          '200 held', 'an admin extends the hold');
SELECT ok((SELECT h.expires_at > h.created_at + interval '44 minutes' FROM capacity.holds h WHERE h.id = pg_temp.v('hold_last')::uuid),
          '... to 45 minutes from now');
SELECT is(pg_temp.pool() ->> 'free', '0', 'nothing is free');

-------------------------------------------------------------------------------
-- Participants: the waitlist, offers, declining
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('kim', 'join_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item'))), 'position'),
          '200 1', 'a participant joins the waitlist of the sold-out item');
-- one transaction: now() does not move, so Kim joined a minute earlier
UPDATE capacity.waitlist w SET created_at = w.created_at - interval '1 minute' WHERE w.holder = pg_temp.v('kim');
SELECT is(pg_temp.t('iris', 'join_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item'), 'quantity', 1)), 'position'),
          '200 2', 'a second participant is second');
SELECT is(pg_temp.t('kim', 'join_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item'), 'quantity', 2))),
          '409 already_on_waitlist', 'joining twice is refused');
SELECT is((SELECT w.holder FROM capacity.waitlist w WHERE w.id = (pg_temp.entry('kim') ->> 'entry_id')::uuid),
          pg_temp.v('kim'), 'the entry is in the participant''s own name');
SELECT is(pg_temp.entry('kim') ->> 'organization_name', 'Loopgroep Utrecht', 'my_waitlist names the organisation');
SELECT is(jsonb_array_length(pgrst.call('joost', 'my_waitlist')), 0, 'someone else''s entries are not in my list');
SELECT is(jsonb_array_length(pgrst.call('carla', 'capacity_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item'))))), 2,
          'support reads the queue');
SELECT is(pgrst.call('carla', 'capacity_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item')))) -> 0 ->> 'holder',
          pg_temp.v('kim'), '... in serving order');
SELECT is(pg_temp.t('daan', 'capacity_waitlist', pg_temp.o(jsonb_build_object('item_id', pg_temp.v('item')))),
          '403 insufficient_role', 'finance does not read who is waiting');
SELECT is(pg_temp.t('kim', 'leave_waitlist', jsonb_build_object('entry_id', pg_temp.entry('iris') ->> 'entry_id')),
          '404 waitlist_entry_not_found', 'a participant cannot take someone else off the waitlist');

SELECT is(pg_temp.t('bram', 'release_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold_last'), 'reason', 'Betaling afgebroken'))
                    , 'state'),
          '200 released', 'the box office releases a hold');
SELECT is(pg_temp.entry('kim') ->> 'state', 'offered', 'the freed place is offered to the first on the waitlist');
SELECT ok((pg_temp.entry('kim') ->> 'offer_expires_at')::timestamptz > now() + interval '47 hours',
          '... for 48 hours');
SELECT is(pg_temp.t('anna', 'hold_capacity', pg_temp.o(jsonb_build_object('lines', pg_temp.line(1)))),
          '409 sold_out', 'while the offer stands the public cannot take the place');
SELECT is(pg_temp.t('kim', 'leave_waitlist', jsonb_build_object('entry_id', pg_temp.entry('kim') ->> 'entry_id', 'reason', 'Geblesseerd'), 'state'),
          '200 declined', 'the participant declines the offer');
SELECT is((SELECT h.state FROM capacity.holds h JOIN capacity.waitlist w ON w.hold_id = h.id WHERE w.holder = pg_temp.v('kim')),
          'released', '... and the offer''s hold is released');
SELECT is(pg_temp.entry('iris') ->> 'state', 'offered', 'the place passes to the next on the waitlist');
SELECT is(pg_temp.t('anna', 'confirm_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.entry('iris') ->> 'hold_id')), 'state'),
          '200 confirmed', 'the box office confirms the offer');
SELECT is(pg_temp.entry('iris') ->> 'state', 'accepted', 'the entry is accepted');
SELECT is(pg_temp.pool() ->> 'allocated', '3', 'all three places are allocated');

-------------------------------------------------------------------------------
-- Cancellations and capacity changes
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('bram', 'return_capacity_units',
                    pg_temp.o(jsonb_build_object('allocation_id', pg_temp.v('alloc_joost'), 'quantity', 1, 'reason', 'Annulering')),
                    'returned'),
          '200 1', 'an admin returns one of two places after a cancellation');
SELECT is(pg_temp.t('bram', 'return_capacity_units',
                    pg_temp.o(jsonb_build_object('allocation_id', pg_temp.v('alloc_joost'), 'quantity', 2))),
          '409 return_exceeds_allocation', 'more than is left cannot be returned');
SELECT is(pg_temp.pool() ->> 'free', '1', 'the returned place is free');
SELECT is(pg_temp.t('anna', 'set_pool_capacity', pg_temp.o(jsonb_build_object('pool_id', pg_temp.v('pool'), 'capacity', 1))),
          '409 capacity_in_use', 'capacity cannot drop below what is allocated');
SELECT is(pg_temp.t('anna', 'set_pool_capacity', pg_temp.o(jsonb_build_object('pool_id', pg_temp.v('pool'), 'capacity', 5,
                                                                                'reason', 'Extra startvak')), 'capacity'),
          '200 5', 'the owner raises the capacity');
SELECT is(pg_temp.pool() ->> 'free', '3', 'the new places are free');

-------------------------------------------------------------------------------
-- Staff on the waitlist; the holds list
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'join_waitlist', pg_temp.o(jsonb_build_object('pool_id', pg_temp.v('pool'), 'holder', 'team-7',
                                                                            'quantity', 20, 'priority', 5)), 'priority'),
          '200 5', 'the owner puts a team on the waitlist with a priority');
SELECT is(pgrst.call('carla', 'capacity_waitlist', pg_temp.o(jsonb_build_object('pool_id', pg_temp.v('pool')))) -> 0 ->> 'holder',
          'team-7', 'the queue shows it');
SELECT is(pg_temp.t('bram', 'leave_waitlist',
                    jsonb_build_object('entry_id', pgrst.call('carla', 'capacity_waitlist', pg_temp.o(jsonb_build_object('pool_id', pg_temp.v('pool')))) -> 0 ->> 'entry_id'),
                    'state'),
          '200 left', 'an admin takes an entry off the waitlist');
SELECT is(pg_temp.t('eva', 'leave_waitlist', jsonb_build_object('entry_id', pg_temp.entry('iris') ->> 'entry_id')),
          '404 waitlist_entry_not_found', 'another organisation''s owner cannot touch the entry');
SELECT is(jsonb_array_length(pgrst.call('carla', 'capacity_holds', pg_temp.o())), 4,
          'support lists the holds (two at the box office, two offers)');
SELECT is((SELECT string_agg(h ->> 'hold_id', ',' ORDER BY h ->> 'hold_id')
             FROM jsonb_array_elements(pgrst.call('carla', 'capacity_holds', pg_temp.o('{"state": "released"}'))) h),
          (SELECT string_agg(h.id::text, ',' ORDER BY h.id::text) FROM capacity.holds h WHERE h.state = 'released'),
          'filtered by state: the released hold and the declined offer');
SELECT is(jsonb_array_length(pgrst.call('carla', 'capacity_holds', pg_temp.o(jsonb_build_object('holder', pg_temp.v('joost'))))), 1,
          'filtered by holder');
SELECT is(jsonb_array_length(pgrst.call('carla', 'capacity_holds',
            pg_temp.o(jsonb_build_object('before', (SELECT max(h.created_at) FROM capacity.holds h), 'max_rows', 10)))), 0,
          'paged by time (one transaction: every hold has the same created_at)');
SELECT is(pg_temp.t('daan', 'capacity_holds', pg_temp.o()), '403 insufficient_role', 'finance does not list holds');

-------------------------------------------------------------------------------
-- Explainable: the trail names who did it
-------------------------------------------------------------------------------
SELECT is((SELECT e.actor_uid::text FROM trail.entries e WHERE e.action = 'capacity.confirmed' ORDER BY e.id LIMIT 1),
          pg_temp.v('anna'), 'the trail records the owner as the actor of the confirmation');
SELECT is((SELECT e.data_subject::text FROM trail.entries e WHERE e.action = 'capacity.waitlist_joined'
            ORDER BY e.id LIMIT 1), NULL, 'a waitlist entry''s trail record carries no holder in clear');
SELECT is((SELECT string_agg(DISTINCT e.action, ',' ORDER BY e.action) FROM trail.entries e
            WHERE e.action LIKE 'capacity.%' AND e.actor_uid = pg_temp.v('bram')::uuid),
          'capacity.extended,capacity.held,capacity.item_created,capacity.offered,capacity.released,capacity.returned,capacity.waitlist_left',
          'every step of the admin is in the trail under their name, the offer their release made too');

SELECT * FROM finish();
ROLLBACK;
