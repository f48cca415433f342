-- The checkout helpers 5c5913c rewrote (SQL with a SET clause -> PL/pgSQL,
-- random_salt and bytes_equal -> C on libsodium) keep what callers rely on:
-- their volatility and strictness, NULL and empty input, the set of one
-- row of the OUT-parameter functions; and the amount checks of orders
-- (orders_totals now fires only on an update that sets an amount).
BEGIN;
SELECT plan(24);

-- volatility and strictness as before the rewrite (an IMMUTABLE helper in a
-- CHECK constraint stays IMMUTABLE; a STRICT one still answers NULL for NULL)
SELECT is((SELECT string_agg(p.proname || ':' || p.provolatile::text || ':' || p.proisstrict::text, ' ' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'startlijn'::regnamespace
              AND p.proname IN ('vat_of', 'guest_subject', 'event_scope', 'order_token_hash', 'access_code_hash',
                                'items_totals', 'bytes_equal', 'current_price', 'new_order_token', 'random_salt')),
          'access_code_hash:i:true bytes_equal:i:false current_price:s:false event_scope:i:true guest_subject:s:true '
          'items_totals:i:false new_order_token:v:false order_token_hash:i:true random_salt:v:false vat_of:i:true',
          'volatility and strictness of the rewritten helpers');

-- NULL in, NULL out (STRICT)
SELECT is(startlijn.vat_of(NULL, 900), NULL, 'vat_of(NULL) is NULL');
SELECT is(startlijn.guest_subject(NULL), NULL, 'guest_subject(NULL) is NULL');
SELECT is(startlijn.event_scope(NULL), NULL, 'event_scope(NULL) is NULL');
SELECT is(startlijn.order_token_hash(NULL), NULL, 'order_token_hash(NULL) is NULL');
SELECT is(startlijn.access_code_hash(NULL, 'X'), NULL, 'access_code_hash(NULL, code) is NULL');

-- the arithmetic
SELECT is(startlijn.vat_of(10900, 900), 900::bigint, 'vat_of: 9 % contained in 109.00 is 9.00');
SELECT is(startlijn.vat_of(5, 2100), 1::bigint, 'vat_of rounds half up (0.87 -> 1)');
SELECT is(startlijn.guest_subject(' Kim@Example.NL '), startlijn.guest_subject('kim@example.nl'),
          'guest_subject: the normalised address');
SELECT is(startlijn.event_scope('00000000-0000-4000-b000-000000000001'), 'event:00000000-0000-4000-b000-000000000001',
          'event_scope');

-- items_totals: one row, zeros for no items (NULL or [])
SELECT is((SELECT row(x.*)::text FROM startlijn.items_totals(NULL) x), '(0,0,0,0)', 'items_totals(NULL): one row of zeros');
SELECT is((SELECT row(x.*)::text FROM startlijn.items_totals('[]') x), '(0,0,0,0)', 'items_totals([]): one row of zeros');
SELECT is((SELECT row(x.*)::text FROM startlijn.items_totals(
             '[{"quantity": 2, "unit_price": 2500, "unit_discount": 500, "vat_rate": 900},
               {"quantity": 1, "unit_price": 1500, "unit_discount": 0, "vat_rate": 2100}]') x),
          '(6500,1000,5500,590)', 'items_totals: subtotal, discount, total and VAT of two lines');

-- current_price: one row; a NULL ticket type gives NULLs, not no row
SELECT is((SELECT count(*)::int FROM startlijn.current_price(NULL::startlijn.ticket_types)), 1,
          'current_price(NULL): one row');
SELECT is((SELECT row(x.*)::text FROM startlijn.current_price(NULL::startlijn.ticket_types) x), '(,)',
          'current_price(NULL): price and tier NULL');

-- bytes_equal: false (not NULL) for NULL or different lengths
SELECT is(startlijn.bytes_equal(NULL, '\x01'), false, 'bytes_equal(NULL, b) is false');
SELECT is(startlijn.bytes_equal('\x01', NULL), false, 'bytes_equal(a, NULL) is false');
SELECT is(startlijn.bytes_equal('\x0102', '\x01'), false, 'bytes_equal of different lengths is false');
SELECT is(startlijn.bytes_equal('\x0102', '\x0103'), false, 'bytes_equal of different bytes is false');
SELECT is(startlijn.bytes_equal(startlijn.order_token_hash('t'), startlijn.order_token_hash('t')), true,
          'bytes_equal of equal hashes is true');

-- random_salt: 16 bytes, never the same twice; new_order_token: 64 hex digits
SELECT is((SELECT count(DISTINCT s)::int FROM (SELECT startlijn.random_salt() AS s FROM generate_series(1, 1000)) x
            WHERE length(s) = 16), 1000, 'random_salt: 1000 salts of 16 bytes, all different');
SELECT matches(startlijn.new_order_token(), '^[0-9a-f]{64}$', 'new_order_token: 64 hex digits');

-- orders_totals still checks an update that sets an amount (at commit: here, at once)
CREATE TEMP TABLE o1 (id uuid);
DO $$
DECLARE ev uuid; course uuid; tt uuid;
BEGIN
  ev := (pgrst.call('anna', 'create_event', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001',
          'name', 'Helperloop', 'slug', 'helperloop', 'type', 'running',
          'starts_at', '2027-09-05T09:00:00+02:00', 'ends_at', '2027-09-05T14:00:00+02:00',
          'venue_name', 'Maliebaan', 'venue_country', 'NL', 'contact_email', 'info@helper.nl',
          'registration_opens_at', '2026-01-01T00:00:00+01:00', 'registration_closes_at', '2027-09-01T00:00:00+02:00'))
         ->> 'event_id')::uuid;
  course := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '10 km',
             'distance_m', 10000, 'capacity', 50)) ->> 'course_id')::uuid;
  tt := (pgrst.call('anna', 'create_ticket_type', jsonb_build_object('event_id', ev, 'course_id', course,
         'name', '10 km', 'price', 2500)) ->> 'ticket_type_id')::uuid;
  PERFORM pgrst.call('anna', 'publish_event', jsonb_build_object('event_id', ev));
  INSERT INTO o1 SELECT (pgrst.call('kim', 'reserve', jsonb_build_object('event_id', ev,
    'lines', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'quantity', 1)))) ->> 'order_id')::uuid;
END
$$;
SELECT is((SELECT count(*)::int FROM o1), 1, 'a reserved order with an item');
SET CONSTRAINTS startlijn.orders_totals IMMEDIATE;
SELECT throws_ok($$UPDATE startlijn.orders SET subtotal = subtotal + 100, total = total + 100
                   WHERE id = (SELECT id FROM o1)$$,
                 '23514', 'order totals differ from the sum of its items',
                 'an update that sets an amount of a reservation is checked against its items');

SELECT * FROM finish();
ROLLBACK;
