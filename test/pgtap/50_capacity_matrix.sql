-- startlijn_capacity: the rules, every bad input (a clear code and nothing
-- written), the waitlist order, the audit trail, and that no client role
-- can read or write the tables directly.
BEGIN;
SELECT plan(57);


-- two organisations; pools event (10), 5k (4); items: early bird (event + 5k), team of 2 (event x2)
CREATE TEMP TABLE k (k text PRIMARY KEY, id uuid);
INSERT INTO k VALUES ('org', '00000000-0000-4000-a000-0000000000a1'), ('other', '00000000-0000-4000-a000-0000000000b2');
INSERT INTO k SELECT 'event', (capacity.create_pool((SELECT id FROM k WHERE k = 'org'), 'Event', 10) ->> 'pool_id')::uuid;
INSERT INTO k SELECT '5k', (capacity.create_pool((SELECT id FROM k WHERE k = 'org'), '5 km', 4) ->> 'pool_id')::uuid;
INSERT INTO k SELECT 'foreign', (capacity.create_pool((SELECT id FROM k WHERE k = 'other'), 'Not yours', 5) ->> 'pool_id')::uuid;
CREATE FUNCTION pg_temp.id(name text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM k WHERE k.k = name $$;
INSERT INTO k SELECT 'early', (capacity.create_item(pg_temp.id('org'), 'Early bird 5 km',
  jsonb_build_array(jsonb_build_object('pool_id', pg_temp.id('event')), jsonb_build_object('pool_id', pg_temp.id('5k')))) ->> 'item_id')::uuid;
INSERT INTO k SELECT 'team', (capacity.create_item(pg_temp.id('org'), 'Duo',
  jsonb_build_array(jsonb_build_object('pool_id', pg_temp.id('event'), 'units', 2))) ->> 'item_id')::uuid;
CREATE FUNCTION pg_temp.hold(lines jsonb, holder text DEFAULT 'anna', ttl interval DEFAULT '15 minutes', key text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql AS $$ SELECT capacity.hold(pg_temp.id('org'), lines, ttl, holder, key) $$;
CREATE FUNCTION pg_temp.line(what text, qty integer) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_array(jsonb_build_object(CASE WHEN what IN ('early', 'team') THEN 'item_id' ELSE 'pool_id' END,
                                              pg_temp.id(what), 'quantity', qty)) $$;
CREATE FUNCTION pg_temp.avail(p text) RETURNS integer LANGUAGE sql AS $$ SELECT capacity.available(pg_temp.id(p)) $$;

-- bad input: a clear code, nothing held
SELECT is(pgrst.err($$ SELECT pg_temp.hold(NULL) $$), 'PT400 missing_argument', 'hold: no lines');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('{}') $$), 'PT400 invalid_lines', 'hold: lines not an array');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('[]') $$), 'PT400 invalid_lines', 'hold: no line');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('[1]') $$), 'PT400 invalid_lines', 'hold: a line that is not an object');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('[{"quantity": 1}]') $$), 'PT400 invalid_lines', 'hold: no item or pool');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('[{"pool_id": "nope", "quantity": 1}]') $$), 'PT400 invalid_lines', 'hold: id not a uuid');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1) -> 0 || '{"item_id": "00000000-0000-4000-a000-000000000001"}') $$),
          'PT400 invalid_lines', 'hold: both item_id and pool_id');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(jsonb_build_array(jsonb_build_object('pool_id', pg_temp.id('event'), 'quantity', 1, 'price', 0))) $$),
          'PT400 invalid_lines', 'hold: unknown key');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 0)) $$), 'PT400 invalid_quantity', 'hold: quantity 0');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', -2)) $$), 'PT400 invalid_quantity', 'hold: negative quantity');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 101)) $$), 'PT400 invalid_quantity', 'hold: quantity above the maximum');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(('[{"pool_id": "' || pg_temp.id('event')::text || '", "quantity": 1.5}]')::jsonb) $$), 'PT400 invalid_quantity', 'hold: fractional quantity');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(('[{"pool_id": "' || pg_temp.id('event')::text || '", "quantity": "1"}]')::jsonb) $$), 'PT400 invalid_lines', 'hold: quantity as a string');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1) || pg_temp.line('event', 2)) $$), 'PT400 duplicate_line', 'hold: the same pool twice');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('foreign', 1)) $$), 'PT404 pool_not_found', 'hold: a pool of another organisation');
SELECT is(pgrst.err($$ SELECT pg_temp.hold('[{"item_id": "00000000-0000-4000-a000-000000000009", "quantity": 1}]') $$), 'PT404 item_not_found', 'hold: unknown item');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1), ttl => '0 seconds') $$), 'PT400 invalid_ttl', 'hold: ttl zero');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1), ttl => '-5 minutes') $$), 'PT400 invalid_ttl', 'hold: negative ttl');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1), ttl => '2 hours') $$), 'PT400 invalid_ttl', 'hold: ttl above the maximum');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('event', 1), holder => '') $$), 'PT400 invalid_argument', 'hold: empty holder');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('5k', 5)) $$), 'PT409 sold_out', 'hold: more than the pool has');
SELECT is((SELECT count(*) FROM capacity.holds), 0::bigint, 'refused holds stored nothing');
SELECT is(pg_temp.avail('event'), 10, 'refused holds took no unit');
SELECT is((SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE relid = 'capacity.holds'::regclass), 0::bigint,
          'a sold-out hold never wrote its row, not even one rolled back (units are claimed first)');

-- all or nothing across pools; items draw from every pool they name
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('team', 5) || pg_temp.line('early', 1)) $$), 'PT409 sold_out',
          'hold: 10 event units for the duos plus 1 for the early bird do not fit');
SELECT is(pg_temp.avail('event') || '/' || pg_temp.avail('5k'), '10/4', 'a refused multi-pool hold left both pools whole');
CREATE TEMP TABLE h AS SELECT 'a' AS k, pg_temp.hold(pg_temp.line('early', 2), 'anna', key => 'cart-1') AS j;
SELECT is(pg_temp.avail('event') || '/' || pg_temp.avail('5k'), '8/2', 'an early bird takes a unit of the event and of the 5 km');
INSERT INTO h SELECT 'b', pg_temp.hold(pg_temp.line('team', 1), 'bram');
SELECT is(pg_temp.avail('event'), 6, 'a duo takes two event units');

-- idempotency
SELECT is(pg_temp.hold(pg_temp.line('early', 2), 'anna', key => 'cart-1') ->> 'hold_id', (SELECT j ->> 'hold_id' FROM h WHERE k = 'a'),
          'hold: the same key and lines return the same hold');
SELECT is(pgrst.err($$ SELECT pg_temp.hold(pg_temp.line('early', 1), 'anna', key => 'cart-1') $$), 'PT422 idempotency_key_reused',
          'hold: the same key with other lines');
SELECT is(pg_temp.avail('event'), 6, 'a replay took nothing');

-- confirm, extend, release, return
CREATE FUNCTION pg_temp.h(name text) RETURNS uuid LANGUAGE sql AS $$ SELECT (j ->> 'hold_id')::uuid FROM h WHERE h.k = name $$;
SELECT is(capacity.confirm(pg_temp.h('a')) -> 'allocations' -> 0 ->> 'quantity', '2', 'confirm: allocations per line');
SELECT is(jsonb_array_length(capacity.confirm(pg_temp.h('a')) -> 'allocations'), 1, 'confirm twice: the same allocations');
SELECT is((SELECT count(*) FROM capacity.allocations WHERE hold_id = pg_temp.h('a')), 1::bigint, 'confirm twice: one set stored');
SELECT is(pgrst.err($$ SELECT capacity.release(pg_temp.h('a')) $$), 'PT409 hold_confirmed', 'release: a confirmed hold');
SELECT is(pgrst.err($$ SELECT capacity.extend(pg_temp.h('b'), '3 hours') $$), 'PT400 invalid_ttl', 'extend: above the maximum ttl');
SELECT is(pgrst.err($$ SELECT capacity.extend(pg_temp.h('b'), '50 minutes') $$), 'ok', 'extend: within the lifetime');
UPDATE capacity.holds SET created_at = created_at - interval '100 minutes' WHERE id = pg_temp.h('b');
SELECT is(pgrst.err($$ SELECT capacity.extend(pg_temp.h('b'), '55 minutes') $$), 'PT409 hold_extension_limit', 'extend: beyond the hold lifetime cap');
SELECT is(capacity.release(pg_temp.h('b'), 'changed my mind') ->> 'state', 'released', 'release');
SELECT is(pgrst.err($$ SELECT capacity.confirm(pg_temp.h('b')) $$), 'PT409 hold_released', 'confirm: a released hold');
SELECT is(pgrst.err($$ SELECT capacity.confirm('00000000-0000-4000-a000-000000000009') $$), 'PT404 hold_not_found', 'confirm: unknown hold');
SELECT is(pg_temp.avail('event'), 8, 'release gave the duo''s two units back');
CREATE FUNCTION pg_temp.alloc() RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM capacity.allocations WHERE hold_id = pg_temp.h('a') $$;
SELECT is(pgrst.err($$ SELECT capacity.return_units(pg_temp.alloc(), 3) $$), 'PT409 return_exceeds_allocation', 'return: more than allocated');
SELECT is(pgrst.err($$ SELECT capacity.return_units(pg_temp.alloc(), 0) $$), 'PT400 invalid_quantity', 'return: zero');
SELECT is(capacity.return_units(pg_temp.alloc(), 1, 'cancelled') ->> 'returned', '1', 'return: one unit back');
SELECT is(pg_temp.avail('event') || '/' || pg_temp.avail('5k'), '9/3', 'return: the unit is back in both pools');

-- expiry needs no job
INSERT INTO h SELECT 'c', pg_temp.hold(pg_temp.line('5k', 3), 'carla');
SELECT is(pg_temp.avail('5k'), 0, 'held: the 5 km is full');
UPDATE capacity.slots SET held_until = now() - interval '1 second' WHERE hold_id = pg_temp.h('c');
UPDATE capacity.holds SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 second' WHERE id = pg_temp.h('c');
SELECT is(pg_temp.avail('5k'), 3, 'an expired hold frees its units before any sweep');
SELECT is(pgrst.err($$ SELECT capacity.confirm(pg_temp.h('c')) $$), 'PT410 hold_expired', 'confirm: an expired hold');

-- capacity changes
SELECT is(pgrst.err($$ SELECT capacity.set_capacity(pg_temp.id('5k'), -1) $$), 'PT400 invalid_capacity', 'capacity: negative');
SELECT is(pgrst.err($$ SELECT capacity.set_capacity(pg_temp.id('event'), 0) $$), 'PT409 capacity_in_use', 'capacity: below what is allocated');

-- the trail explains every step
SELECT is((SELECT string_agg(DISTINCT e.action, ',' ORDER BY e.action) FROM trail.entries e WHERE e.action LIKE 'capacity.%'),
          'capacity.capacity_changed,capacity.confirmed,capacity.extended,capacity.held,capacity.item_created,capacity.pool_created,capacity.released,capacity.returned',
          'trail: every kind of change is recorded');

-- a text holder is kept as given; a uuid holder is the data subject (shreddable)
SELECT ok((SELECT bool_and(e.data_subject IS NULL AND position('"holder":"bram"' IN e.body::text) > 0)
             FROM trail.entries e WHERE e.action = 'capacity.held' AND position('bram' IN e.body::text) > 0),
          'trail: a text holder is recorded in the details');
SELECT pg_temp.hold(pg_temp.line('event', 1), '00000000-0000-4000-a000-0000000000d5');
SELECT is((SELECT count(*) FROM trail.entries e
            WHERE e.action = 'capacity.held' AND e.data_subject = '00000000-0000-4000-a000-0000000000d5'), 1::bigint,
          'trail: a uuid holder is the entry''s data subject');

-- no client role reads or writes the tables directly
SELECT is((SELECT count(*) FROM information_schema.role_table_grants g
            WHERE g.table_schema = 'capacity' AND g.grantee IN ('PUBLIC', 'anon', 'authenticated', 'service_role')), 0::bigint,
          'no table grants to client roles');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'capacity'::regnamespace AND c.relkind = 'r'
             AND NOT (c.relrowsecurity AND c.relforcerowsecurity)), 0::bigint, 'RLS enabled and forced on every table');

SELECT is(ARRAY[pgrst.sql_as('anon', 'SELECT * FROM capacity.pools'), pgrst.sql_as('kim', 'SELECT * FROM capacity.holds'),
                pgrst.sql_as('service', 'SELECT * FROM capacity.slots'),
                pgrst.sql_as('kim', $$ SELECT capacity.hold('00000000-0000-4000-a000-0000000000a1', '[]', '1 minute', 'kim') $$),
                pgrst.sql_as('anon', $$ SELECT capacity.available('00000000-0000-4000-a000-0000000000a1') $$)],
          ARRAY['error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501'],
          'privileges: no API role reads the tables or calls the functions directly');

SELECT * FROM finish();
ROLLBACK;
