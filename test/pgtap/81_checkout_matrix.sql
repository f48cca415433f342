-- Checkout (issue 25): the role matrix of its tables and RPCs, as PostgREST
-- calls them. Tables: every caller x every checkout table x select, insert,
-- update, delete (row level security and privileges; nobody writes
-- directly, members of the organisation read, the service role reads).
-- RPCs: who may cancel, refund, read and manage discount codes.
BEGIN;
SELECT plan(338);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
  SELECT r ->> 'status' || CASE WHEN r ? 'code' THEN ' ' || COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                ELSE '' END
    FROM pgrst.try(who, fn, args) r $$;

-- a published event of Loopgroep Utrecht (org A) with a paid order of kim's
DO $$
DECLARE ev uuid; course uuid; tt uuid; o jsonb; acc uuid;
BEGIN
  acc := payments.create_account('stripe', 'matrix');
  UPDATE startlijn.checkout_settings SET payment_account_id = acc;
  ev := (pgrst.call('anna', 'create_event', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001',
          'name', 'Matrixloop', 'slug', 'matrixloop', 'type', 'running',
          'starts_at', '2027-09-05T09:00:00+02:00', 'ends_at', '2027-09-05T14:00:00+02:00',
          'venue_name', 'Maliebaan', 'venue_country', 'NL', 'contact_email', 'info@matrix.nl',
          'registration_opens_at', '2026-01-01T00:00:00+01:00', 'registration_closes_at', '2027-09-01T00:00:00+02:00',
          'cancellation_policy', '[{"until": "2027-08-01T00:00:00+02:00", "refund_percent": 100}]'::jsonb))
         ->> 'event_id')::uuid;
  course := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '10 km',
             'distance_m', 10000, 'capacity', 50)) ->> 'course_id')::uuid;
  tt := (pgrst.call('anna', 'create_ticket_type', jsonb_build_object('event_id', ev, 'course_id', course,
         'name', '10 km', 'price', 2500)) ->> 'ticket_type_id')::uuid;
  PERFORM pgrst.call('anna', 'publish_event', jsonb_build_object('event_id', ev));
  o := pgrst.call('kim', 'reserve', jsonb_build_object('event_id', ev,
         'lines', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'quantity', 1))));
  o := pgrst.call('kim', 'checkout', jsonb_build_object('order_id', o ->> 'order_id', 'buyer', '{}'::jsonb,
         'participants', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'first_name', 'Kim',
           'last_name', 'Matrix', 'date_of_birth', '1990-01-01'))));
  PERFORM payments.set_provider_ref((o -> 'payment' ->> 'payment_id')::uuid, 'pi_matrix_1');
  PERFORM payments.record_status('stripe', 'pi_matrix_1', 'paid', 2500, 'EUR');
  PERFORM pgrst.call('anna', 'create_discount_code', jsonb_build_object('event_id', ev, 'code', 'MATRIX',
            'kind', 'amount', 'amount', 100));
  INSERT INTO k VALUES ('ev', ev), ('tt', tt), ('order', o ->> 'order_id'),
    ('reg', (SELECT r.id FROM startlijn.registrations r WHERE r.order_id = (o ->> 'order_id')::uuid)),
    ('code', (SELECT d.id FROM startlijn.discount_codes d WHERE d.event_id = ev));
END
$$;

-------------------------------------------------------------------------------
-- Tables: read by the organisation's members and the service role, written by nobody
-------------------------------------------------------------------------------
-- what a caller sees or does with one statement (rolled back)
CREATE FUNCTION pg_temp.as_sql(who text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; st text;
BEGIN
  BEGIN
    PERFORM pgrst.begin_request(who, 'GET', '/matrix', '{}');
    EXECUTE 'WITH x AS (' || sql || ') SELECT count(*) FROM x' INTO n;
    PERFORM pgrst.end_request();
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'rows=' || n;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = MESSAGE_TEXT;
    IF SQLSTATE = 'P0001' THEN
      RETURN st;
    END IF;
    RETURN 'error=' || SQLSTATE;
  END;
END
$$;
CREATE TEMP TABLE tbls (tbl text, sel text, ins text, upd text, del text);
INSERT INTO tbls VALUES
 ('orders', 'SELECT id FROM startlijn.orders WHERE event_id = ''%ev%''',
  'INSERT INTO startlijn.orders (organization_id, event_id, expires_at, token_hash, currency) VALUES (''00000000-0000-4000-b000-000000000001'', ''%ev%'', now(), sha256(''x''), ''EUR'') RETURNING id',
  'UPDATE startlijn.orders SET status = ''cancelled'' WHERE event_id = ''%ev%'' RETURNING id',
  'DELETE FROM startlijn.orders WHERE event_id = ''%ev%'' RETURNING id'),
 ('order_items', 'SELECT i.id FROM startlijn.order_items i JOIN startlijn.orders o ON o.id = i.order_id WHERE o.event_id = ''%ev%''',
  'INSERT INTO startlijn.order_items (organization_id, order_id, kind, ticket_type_id, name, quantity, unit_price, vat_rate, total, vat_amount, position) VALUES (''00000000-0000-4000-b000-000000000001'', ''%order%'', ''entry'', ''%tt%'', ''x'', 1, 0, 0, 0, 0, 9) RETURNING id',
  'UPDATE startlijn.order_items SET unit_price = 1 WHERE order_id = ''%order%'' RETURNING id',
  'DELETE FROM startlijn.order_items WHERE order_id = ''%order%'' RETURNING id'),
 ('registrations', 'SELECT id FROM startlijn.registrations WHERE event_id = ''%ev%''',
  'INSERT INTO startlijn.registrations (organization_id, event_id, ticket_type_id, order_id, first_name, last_name, date_of_birth) VALUES (''00000000-0000-4000-b000-000000000001'', ''%ev%'', ''%tt%'', ''%order%'', ''A'', ''B'', ''1990-01-01'') RETURNING id',
  'UPDATE startlijn.registrations SET first_name = ''X'' WHERE event_id = ''%ev%'' RETURNING id',
  'DELETE FROM startlijn.registrations WHERE event_id = ''%ev%'' RETURNING id'),
 ('entitlements', 'SELECT id FROM startlijn.entitlements WHERE event_id = ''%ev%''',
  'INSERT INTO startlijn.entitlements (organization_id, event_id, order_id, order_item_id, kind, unit) SELECT organization_id, ''%ev%'', order_id, id, ''entry'', 9 FROM startlijn.order_items WHERE order_id = ''%order%'' RETURNING id',
  'UPDATE startlijn.entitlements SET status = ''valid'' WHERE event_id = ''%ev%'' RETURNING id',
  'DELETE FROM startlijn.entitlements WHERE event_id = ''%ev%'' RETURNING id'),
 ('discount_codes', 'SELECT id FROM startlijn.discount_codes WHERE event_id = ''%ev%''',
  'INSERT INTO startlijn.discount_codes (organization_id, event_id, code, kind, amount) VALUES (''00000000-0000-4000-b000-000000000001'', ''%ev%'', ''FREE'', ''amount'', 2500) RETURNING id',
  'UPDATE startlijn.discount_codes SET amount = 2500 WHERE event_id = ''%ev%'' RETURNING id',
  'DELETE FROM startlijn.discount_codes WHERE event_id = ''%ev%'' RETURNING id'),
 ('invoice_counters', 'SELECT year FROM startlijn.invoice_counters WHERE organization_id = ''00000000-0000-4000-b000-000000000001''',
  'INSERT INTO startlijn.invoice_counters VALUES (''00000000-0000-4000-b000-000000000001'', 2099, 1) RETURNING year',
  'UPDATE startlijn.invoice_counters SET last_number = 1 RETURNING year',
  'DELETE FROM startlijn.invoice_counters RETURNING year'),
 ('checkout_settings', 'SELECT singleton FROM startlijn.checkout_settings',
  'INSERT INTO startlijn.checkout_settings DEFAULT VALUES RETURNING singleton',
  'UPDATE startlijn.checkout_settings SET payment_ttl = ''1 day'' RETURNING singleton',
  'DELETE FROM startlijn.checkout_settings RETURNING singleton');
CREATE FUNCTION pg_temp.fill(sql text) RETURNS text LANGUAGE sql AS $$
  SELECT replace(replace(replace(sql, '%ev%', pg_temp.v('ev')), '%tt%', pg_temp.v('tt')), '%order%', pg_temp.v('order')) $$;

-- callers: anna owner, bram admin, carla support, daan finance of A; lars in A through a
-- relationship; eva owner of B; kim the buyer (no organisation); sanne superadmin; service
CREATE TEMP TABLE callers (who text, member boolean);
INSERT INTO callers VALUES ('anon', NULL), ('anna', true), ('bram', true), ('carla', true), ('daan', true),
  ('lars', NULL), ('eva', false), ('kim', false), ('sanne', true), ('service', true);
-- lars: what the catalog's own policy gives him (the same policy shape)
UPDATE callers SET member = (pg_temp.as_sql('lars', pg_temp.fill('SELECT id FROM startlijn.events WHERE id = ''%ev%''')) = 'rows=1')
 WHERE who = 'lars';

SELECT is(pg_temp.as_sql(c.who, pg_temp.fill(CASE a.action WHEN 'select' THEN t.sel WHEN 'insert' THEN t.ins
                                                                  WHEN 'update' THEN t.upd ELSE t.del END)),
          -- one row of each in the fixture; the counters and settings are nobody's to touch
          CASE WHEN c.who = 'anon' OR a.action <> 'select' OR t.tbl IN ('invoice_counters', 'checkout_settings')
               THEN 'error=42501'
               WHEN c.member THEN 'rows=1'
               ELSE 'rows=0' END,
          format('%s %s %s', c.who, a.action, t.tbl))
  FROM tbls t, callers c, (VALUES ('select'), ('insert'), ('update'), ('delete')) a(action)
 ORDER BY t.tbl, c.who, a.action;

-------------------------------------------------------------------------------
-- RPCs: who may do what
-------------------------------------------------------------------------------
-- reading the organisation's orders, registrations, revenue, start list, codes: every member role
SELECT is(pg_temp.t(c.who, f.fn, jsonb_build_object('event_id', pg_temp.v('ev'))),
          CASE WHEN c.who IN ('anon', 'service') THEN '401 not_authenticated' WHEN c.member THEN '200'
               ELSE '404 event_not_found' END,
          format('%s reads %s', c.who, f.fn))
  FROM callers c, (VALUES ('orders'), ('registrations'), ('event_revenue'), ('start_list'), ('discount_codes')) f(fn)
 WHERE c.who NOT IN ('service', 'kim', 'eva') OR f.fn = 'orders'
 ORDER BY f.fn, c.who;

-- discount codes: owners and admins create them
SELECT is(pg_temp.t(c.who, 'create_discount_code', jsonb_build_object('event_id', pg_temp.v('ev'), 'code', 'C' || c.who,
                                                                      'kind', 'percentage', 'percentage', 5)),
          CASE c.who WHEN 'anon' THEN '401 not_authenticated' WHEN 'anna' THEN '200' WHEN 'bram' THEN '200'
                     WHEN 'sanne' THEN '200' WHEN 'eva' THEN '404 event_not_found' WHEN 'kim' THEN '404 event_not_found'
                     ELSE '403 insufficient_role' END,
          format('%s creates a discount code', c.who))
  FROM callers c WHERE c.who NOT IN ('service', 'lars') ORDER BY c.who;

-- cancelling someone's order: owners and finance (the superadmin too); the buyer may not refund at will
SELECT is(pg_temp.t(c.who, 'cancel_order', jsonb_build_object('order_id', pg_temp.v('order'), 'refund_amount', 0)),
          CASE c.who WHEN 'anon' THEN '401 not_authenticated' WHEN 'bram' THEN '403 insufficient_role'
                     WHEN 'carla' THEN '403 insufficient_role' WHEN 'kim' THEN '404 order_not_found'
                     WHEN 'eva' THEN '404 order_not_found' END,
          format('%s may not cancel the order', c.who))
  FROM callers c WHERE c.who IN ('anon', 'bram', 'carla', 'kim', 'eva') ORDER BY c.who;
SELECT is(pg_temp.t('kim', 'cancel_registration', jsonb_build_object('registration_id', pg_temp.v('reg'), 'refund_amount', 2500)),
          '403 insufficient_role', 'the participant may not choose her refund');
SELECT is(pg_temp.t('eva', 'cancel_registration', jsonb_build_object('registration_id', pg_temp.v('reg'))),
          '404 registration_not_found', 'another organisation''s owner does not find the registration');
SELECT is(pg_temp.t('carla', 'cancel_registration', jsonb_build_object('registration_id', pg_temp.v('reg'))),
          '403 insufficient_role', 'support may not cancel a registration');
SELECT is(pg_temp.t('daan', 'cancel_order', jsonb_build_object('order_id', pg_temp.v('order'), 'refund_amount', 500)),
          '200', 'finance cancels the order with a partial refund');
SELECT is((SELECT status || ' ' || refunded FROM startlijn.orders WHERE id = pg_temp.v('order')::uuid), 'cancelled 500',
          '... the order is cancelled and 5.00 refunded');
SELECT is((SELECT amount FROM payments.refunds r JOIN startlijn.orders o ON o.payment_id = r.payment_id
            WHERE o.id = pg_temp.v('order')::uuid), 500::bigint, '... one refund of 5.00 in the payments ledger');
SELECT is((SELECT count(*) FROM payments.ledger_problems()), 0::bigint, '... and the ledger is balanced');

SELECT * FROM finish();
ROLLBACK;
