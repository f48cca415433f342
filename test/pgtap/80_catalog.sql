-- The catalog through the API (issue 24), called as PostgREST calls it: an
-- organiser builds, publishes and copies an event; publishing an incomplete
-- event lists what is missing; anon sees only published events and public
-- ticket types (hidden ones with their access code); who may call what;
-- changes that would break sales are refused; bad input writes nothing.
BEGIN;
SELECT plan(164);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES ('org1', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002');
-- status and code of a call, or status and one field of its body
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}', field text DEFAULT NULL) RETURNS text
  LANGUAGE sql AS $$
  SELECT r ->> 'status' || ' ' || CASE WHEN r ? 'code' THEN COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                        WHEN field IS NULL THEN 'ok' ELSE r -> 'body' ->> field END
    FROM pgrst.try(who, fn, args) r $$;
-- the details of a failed call
CREATE FUNCTION pg_temp.d(who text, fn text, args jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT r ->> 'details' FROM pgrst.try(who, fn, args) r $$;
CREATE FUNCTION pg_temp.e(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('event_id', pg_temp.v('event')) || extra $$;
CREATE FUNCTION pg_temp.tt(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('ticket_type_id', pg_temp.v('tt_10k')) || extra $$;
CREATE FUNCTION pg_temp.trail(action text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM trail.entries e WHERE e.action = trail.action $$;

-------------------------------------------------------------------------------
-- An organiser builds an event
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'create_event',
                    '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "Singelloop Utrecht 2027",
                      "slug": "singelloop-2027", "type": "running", "starts_at": "2027-10-03T10:00:00+02:00",
                      "ends_at": "2027-10-03T16:00:00+02:00"}', 'status'),
          '200 draft', 'the owner creates an event: a draft');
INSERT INTO k SELECT 'event', e.id::text FROM startlijn.events e WHERE e.slug = 'singelloop-2027';
SELECT is((SELECT time_zone FROM startlijn.events WHERE id = pg_temp.v('event')::uuid), 'Europe/Amsterdam',
          'the time zone defaults to Europe/Amsterdam');
SELECT is(pg_temp.trail('catalog.event_created'), 1::bigint, 'creating it is in the audit trail');
SELECT is(pg_temp.t('anna', 'create_event',
                    '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "Dubbel", "slug": "singelloop-2027",
                      "type": "running", "starts_at": "2027-10-03T10:00:00+02:00", "ends_at": "2027-10-03T16:00:00+02:00"}'),
          '409 slug_taken', 'the slug is unique within the organisation');
SELECT is(pg_temp.t('eva', 'create_event',
                    '{"organization_id": "00000000-0000-4000-b000-000000000002", "name": "Singelloop", "slug": "singelloop-2027",
                      "type": "cycling", "starts_at": "2027-10-03T10:00:00+02:00", "ends_at": "2027-10-03T16:00:00+02:00"}', 'slug'),
          '200 singelloop-2027', '... but another organisation may use the same slug');
INSERT INTO k SELECT 'event_eva', e.id::text FROM startlijn.events e
 WHERE e.slug = 'singelloop-2027' AND e.organization_id = pg_temp.v('org2')::uuid;

-- publishing an incomplete event lists exactly what is missing
SELECT is(pg_temp.t('anna', 'publish_event', pg_temp.e()), '422 event_incomplete', 'an empty event cannot be published');
SELECT is(pg_temp.d('anna', 'publish_event', pg_temp.e()),
          'event_incomplete: venue, contact_email, registration_window, course, ticket_type_on_sale',
          '... and the detail lists what is missing, by stable keys');
SELECT is((SELECT status FROM startlijn.events WHERE id = pg_temp.v('event')::uuid), 'draft', '... it stays a draft');

SELECT is(pg_temp.t('bram', 'update_event', pg_temp.e(
            '{"venue_name": "Stadsschouwburg Utrecht", "venue_address": "Lucasbolwerk 24, Utrecht", "venue_country": "NL",
              "latitude": 52.0929, "longitude": 5.1240, "contact_email": "info@singelloop.nl",
              "registration_opens_at": "2026-01-01T00:00:00+01:00", "registration_closes_at": "2027-10-01T00:00:00+02:00",
              "transfer_cutoff_at": "2027-09-25T00:00:00+02:00", "transfer_fee": 250, "minimum_age": 8,
              "cancellation_policy": [{"until": "2027-08-01T00:00:00+02:00", "refund_percent": 100, "fee": 250},
                                      {"until": "2027-09-15T00:00:00+02:00", "refund_percent": 50}]}'), 'contact_email'),
          '200 info@singelloop.nl', 'an admin completes the settings');
SELECT is(pg_temp.d('anna', 'publish_event', pg_temp.e()), 'event_incomplete: course, ticket_type_on_sale',
          'what is still missing: a course and a ticket type');

SELECT is(pg_temp.t('anna', 'create_course', pg_temp.e('{"name": "10 km", "distance_m": 10000, "capacity": 100}'), 'capacity'),
          '200 100', 'the owner adds a 10 km course with 100 places');
INSERT INTO k SELECT 'course_10k', c.id::text FROM startlijn.courses c WHERE c.event_id = pg_temp.v('event')::uuid;
SELECT is(pg_temp.t('bram', 'create_course', pg_temp.e('{"name": "Kidsrun", "distance_m": 1000}'), 'name'),
          '200 Kidsrun', 'an admin adds a course without its own capacity');
INSERT INTO k SELECT 'course_kids', c.id::text FROM startlijn.courses c WHERE c.name = 'Kidsrun';
SELECT is(pg_temp.t('anna', 'create_wave', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'name', 'Startvak A',
                                                              'starts_at', '2027-10-03T10:00:00+02:00', 'places', 40), 'places'),
          '200 40', 'a start wave with 40 places');
INSERT INTO k SELECT 'wave_a', w.id::text FROM startlijn.waves w WHERE w.name = 'Startvak A';
SELECT is(pg_temp.t('anna', 'create_wave', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'name', 'Te vroeg',
                                                              'starts_at', '2027-10-02T10:00:00+02:00', 'places', 40)),
          '400 invalid_period', 'a wave starts during its event');
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.e(jsonb_build_object('course_id', pg_temp.v('course_kids'),
                                                            'name', 'Kidsrun', 'price', 500))),
          '400 invalid_argument', 'a ticket type needs a capacity to draw from (a course without places, no wave)');
SELECT is(pg_temp.t('bram', 'create_ticket_type', pg_temp.e(jsonb_build_object(
            'course_id', pg_temp.v('course_10k'), 'wave_id', pg_temp.v('wave_a'), 'name', '10 km startvak A',
            'price', 2500, 'vat_rate', 900, 'sales_end', '2027-09-30T00:00:00+02:00', 'max_per_order', 4)), 'price'),
          '200 2500', 'an admin creates a ticket type on the 10 km in wave A');
INSERT INTO k SELECT 'tt_10k', t.id::text FROM startlijn.ticket_types t WHERE t.name = '10 km startvak A';
SELECT is((SELECT array_agg(ip.pool_id ORDER BY ip.pool_id) FROM capacity.item_pools ip
            WHERE ip.item_id = (SELECT item_id FROM startlijn.ticket_types WHERE id = pg_temp.v('tt_10k')::uuid)),
          (SELECT array_agg(p ORDER BY p) FROM (SELECT pool_id AS p FROM startlijn.courses WHERE id = pg_temp.v('course_10k')::uuid
                                                UNION ALL SELECT pool_id FROM startlijn.waves WHERE id = pg_temp.v('wave_a')::uuid) x),
          'its capacity item draws from the course pool and the wave pool');
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.e(jsonb_build_object(
            'course_id', pg_temp.v('course_10k'), 'name', 'Clubinschrijving', 'price', 2000,
            'visibility', 'hidden', 'access_code', 'CLUB-2027')), 'visibility'),
          '200 hidden', 'a hidden club ticket behind an access code');
SELECT ok((SELECT access_code_hash IS NOT NULL AND position('CLUB-2027'::bytea IN access_code_hash) = 0
             FROM startlijn.ticket_types WHERE name = 'Clubinschrijving'),
          '... only a salted hash of the code is stored');
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.e(jsonb_build_object(
            'course_id', pg_temp.v('course_10k'), 'name', 'Te laat', 'price', 2000, 'sales_end', '2027-10-02T00:00:00+02:00')), 'name'),
          '200 Te laat', 'a ticket type selling after registration closes');
SELECT is(pg_temp.d('anna', 'publish_event', pg_temp.e()),
          'event_incomplete: sales_window:' || (SELECT id FROM startlijn.ticket_types WHERE name = 'Te laat'),
          'publishing names the ticket type whose sales window lies outside registration');
SELECT is(pg_temp.t('anna', 'update_ticket_type', jsonb_build_object('ticket_type_id', (SELECT id FROM startlijn.ticket_types WHERE name = 'Te laat'),
                                                                     'sales_end', '2027-09-30T00:00:00+02:00', 'visibility', 'hidden',
                                                                     'access_code', 'SPONSOR-27'), 'visibility'),
          '200 hidden', 'the owner fixes its window and hides it behind a sponsor code');
SELECT is(pg_temp.t('bram', 'set_price_tiers', pg_temp.tt(
            '{"tiers": [{"name": "Early bird", "price": 1900, "until_sold": 2}, {"name": "Vroeg", "price": 2200, "until_at": "2027-06-01T00:00:00+02:00"}]}'),
            'current_price'),
          '200 1900', 'an admin sets an early-bird tier: the current price is the early-bird price');


-- add-ons: a T-shirt in sizes with their own stock, medal engraving with a free text
SELECT is(pg_temp.t('anna', 'create_addon', pg_temp.e('{"name": "T-shirt", "max_per_entry": 2}'), 'max_per_entry'),
          '200 2', 'the owner adds a T-shirt add-on, at most two per entry');
INSERT INTO k SELECT 'addon_shirt', a.id::text FROM startlijn.addons a WHERE a.name = 'T-shirt';
SELECT is(pg_temp.t('bram', 'create_addon_variant', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'M',
                                                                       'price', 1500, 'vat_rate', 2100, 'stock', 50), 'stock'),
          '200 50', 'an admin adds size M with a stock of 50');
SELECT is(pg_temp.t('anna', 'create_addon_variant', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'L',
                                                                       'price', 1500, 'vat_rate', 2100, 'stock', 1), 'stock'),
          '200 1', '... and the owner size L with a stock of 1');
INSERT INTO k SELECT 'variant_l', v.id::text FROM startlijn.addon_variants v WHERE v.name = 'L';
SELECT ok((SELECT v.item_id IS NOT NULL AND (SELECT count(*) FROM capacity.item_pools ip WHERE ip.item_id = v.item_id AND ip.pool_id = v.pool_id) = 1
             FROM startlijn.addon_variants v WHERE v.name = 'L'),
          'a variant with stock sells a capacity item drawing from its own pool');
SELECT is(pg_temp.t('anna', 'create_addon', pg_temp.e('{"name": "Medaillegravure", "text_max_length": 20}'), 'text_max_length'),
          '200 20', 'medal engraving: a free text of at most 20 characters');
INSERT INTO k SELECT 'addon_engraving', a.id::text FROM startlijn.addons a WHERE a.name = 'Medaillegravure';
SELECT is(pg_temp.t('anna', 'create_addon_variant', jsonb_build_object('addon_id', pg_temp.v('addon_engraving'), 'name', 'Gravure',
                                                                       'price', 500), 'stock'),
          NULL, 'a variant without stock is not limited');
SELECT is(pg_temp.t('bram', 'update_addon', jsonb_build_object('addon_id', pg_temp.v('addon_engraving'), 'standalone', true,
                                                               'description', 'Naam en tijd op je medaille'), 'standalone'),
          '200 true', 'an admin makes it available on its own');
SELECT is(pg_temp.t('anna', 'create_addon', pg_temp.e('{"name": "Parkeren", "text_max_length": 0}')), '400 invalid_argument',
          'a free text has at least one character');
SELECT is(pg_temp.trail('catalog.addon_variant_created'), 3::bigint, 'variants are in the audit trail');


-- registration questions, one conditional on another
CREATE TEMP TABLE qs AS SELECT '[
  {"key": "club_member", "type": "boolean", "label": "Lid van een atletiekvereniging?", "required": true},
  {"key": "club", "type": "club", "label": "Vereniging", "required": true, "condition": {"question": "club_member", "equals": true}},
  {"key": "shirt_name", "type": "text", "label": "Naam op je startnummer", "max": 12, "help": "Maximaal 12 tekens"},
  {"key": "ice", "type": "emergency_contact", "label": "Noodcontact", "required": true}]'::jsonb AS q;
SELECT is(pg_temp.t('bram', 'set_questions', pg_temp.e(jsonb_build_object('questions', (SELECT q FROM qs)))),
          '200 ok', 'an admin sets the registration questions, one conditional');
SELECT is(pg_temp.d('anna', 'set_questions', pg_temp.e('{"questions": [{"key": "club", "type": "club", "label": "Club",
                                                        "condition": {"question": "member", "equals": true}}]}')),
          'invalid_questions: question club: its condition names no earlier question',
          'a condition on no earlier question is refused by the C validator, which says why');
SELECT is(pg_temp.t('anna', 'set_questions', pg_temp.e('{"questions": [{"key": "x", "type": "colour", "label": "X"}]}')),
          '400 invalid_questions', 'an unknown type is refused');
SELECT throws_ok($$ UPDATE startlijn.events SET questions = '[{"key": "X"}]' WHERE slug = 'singelloop-2027'
                     AND organization_id = '00000000-0000-4000-b000-000000000001' $$, '23514', NULL,
                 'the CHECK holds for every writer');
SELECT ok(startlijn.validate_answers((SELECT q FROM qs), '{"club_member": true, "club": "AV Phoenix",
            "ice": {"name": "Marie de Vries", "phone": "+31612345678"}}'), 'validate_answers accepts a complete registration');
SELECT ok(startlijn.validate_answers((SELECT q FROM qs), '{"club_member": false, "ice": {"name": "Marie", "phone": "+31612345678"}}'),
          '... and one whose conditional question was not asked');
SELECT throws_ok($$ SELECT startlijn.validate_answers((SELECT q FROM qs), '{"club_member": true, "ice": {"name": "M", "phone": "+31612345678"}}') $$,
                 'PT400', 'invalid answers', 'a required conditional question left out: invalid_answers');
SELECT is(startlijn.answers_problem((SELECT q FROM qs)::text, '{"club_member": false, "club": "AV", "ice": {"name": "M", "phone": "+31612345678"}}'),
          'answer club: the question was not asked (its condition is not met)', '... an answer to a question not asked');
SELECT is(startlijn.answers_problem((SELECT q FROM qs)::text, '{"club_member": false, "shirt_name": "Veel te lange naam", "ice": {"name": "M", "phone": "+31612345678"}}'),
          'answer shirt_name: a text of 0 to 12 characters', '... a text longer than its max');
SELECT is(startlijn.answers_problem((SELECT q FROM qs)::text, '{"club_member": false, "ice": {"name": "M", "phone": "0612"}}'),
          'answer ice: {"name": a name, "phone": a phone number}', '... an emergency contact without a valid phone');

SELECT is(pg_temp.t('anna', 'publish_event', pg_temp.e(), 'status'), '200 published', 'the complete event is published');
SELECT is(pg_temp.trail('catalog.event_published'), 1::bigint, '... in the audit trail');

-------------------------------------------------------------------------------
-- The public catalog
-------------------------------------------------------------------------------
SELECT is((SELECT string_agg(x ->> 'slug', ',') FROM jsonb_array_elements(pgrst.call('anon', 'events')) x),
          'singelloop-2027', 'anon lists published events only (Eva''s draft is not there)');
SELECT is(jsonb_array_length(pgrst.call('kim', 'events', '{"type": "cycling"}')), 0, 'filter by type');
SELECT is(jsonb_array_length(pgrst.call('anon', 'events', '{"q": "singel", "country": "NL"}')), 1, 'filter by text and country');
SELECT is(jsonb_array_length(pgrst.call('anon', 'events', '{"starts_from": "2027-11-01T00:00:00Z"}')), 0, 'filter by date');
SELECT is(jsonb_array_length(pgrst.call('anon', 'events', '{"page": 2, "page_size": 1}')), 0, 'paging');
SELECT is(pgrst.call('anon', 'events') -> 0 -> 'organization' ->> 'slug', 'loopgroep-utrecht', 'an event names its organiser''s slug');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(pgrst.call('anon', 'events') -> 0) k)
            && ARRAY['created_by', 'pool_id', 'organization_id', 'status', 'copied_from'], false,
          'no internal field in the list');
CREATE TEMP TABLE pub AS SELECT pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}') AS j;
SELECT is((SELECT string_agg(x ->> 'name', ',') FROM pub, jsonb_array_elements(j -> 'ticket_types') x), '10 km startvak A',
          'anon sees the public ticket type only');
SELECT is((SELECT (j -> 'ticket_types' -> 0 ->> 'price') || ' ' || (j -> 'ticket_types' -> 0 ->> 'tier') FROM pub), '1900 Early bird',
          '... at the early-bird price');
SELECT is((SELECT (j -> 'ticket_types' -> 0 ->> 'available_approx') || ' ' || (j -> 'ticket_types' -> 0 ->> 'sold_out') FROM pub), '40 false',
          '... with its approximate availability (the wave''s 40 places)');
SELECT is((SELECT jsonb_array_length(j -> 'courses') FROM pub), 2, '... and the courses');
SELECT is((SELECT j -> 'courses' -> 0 -> 'waves' -> 0 ->> 'name' FROM pub), 'Startvak A', '... with their waves');
SELECT is((SELECT string_agg(a ->> 'name' || ':' || (SELECT string_agg(v ->> 'name', '/' ORDER BY v ->> 'name')
                                                       FROM jsonb_array_elements(a -> 'variants') v), ',' ORDER BY a ->> 'name')
             FROM pub, jsonb_array_elements(j -> 'addons') a),
          'Medaillegravure:Gravure,T-shirt:L/M', '... and the add-ons with their variants');
SELECT is((SELECT v ->> 'available_approx' FROM pub, jsonb_array_elements(j -> 'addons') a, jsonb_array_elements(a -> 'variants') v
            WHERE v ->> 'name' = 'L'), '1', '... a variant''s approximate stock');
SELECT is((SELECT string_agg(x ->> 'key', ',') FROM pub, jsonb_array_elements(j -> 'questions') x), 'club_member,club,shirt_name,ice',
          '... and the registration questions');
SELECT ok((SELECT NOT (j::text ~ '(pool_id|item_id|access_code|created_by|organization_id)') FROM pub),
          'no pool, item, access code, creator or organisation id in the public event');
SELECT is((SELECT string_agg(x ->> 'name', ',' ORDER BY x ->> 'name')
             FROM jsonb_array_elements(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027",
                                                                     "access_code": "CLUB-2027"}') -> 'ticket_types') x),
          '10 km startvak A,Clubinschrijving', 'with the club''s access code the hidden club ticket appears');
SELECT is((SELECT string_agg(x ->> 'name', ',' ORDER BY x ->> 'name')
             FROM jsonb_array_elements(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027",
                                                                     "access_code": "club-2027"}') -> 'ticket_types') x),
          '10 km startvak A', 'a wrong access code shows nothing hidden');
SELECT is(pg_temp.t('anon', 'event', '{"org_slug": "kromme-rijn", "event_slug": "singelloop-2027"}'), '404 event_not_found',
          'a draft is not in the public catalog');
SELECT is(pg_temp.t('anon', 'event', '{"org_slug": "nope", "event_slug": "singelloop-2027"}'), '404 event_not_found',
          'an unknown organiser: not found');
SELECT is(pgrst.sql_as('anon', 'SELECT * FROM startlijn.events'), 'error=42501', 'anon cannot read the tables');
SELECT is(pgrst.sql_as('kim', 'SELECT * FROM startlijn.events'), 'rows=0', 'a participant reads no table rows');
SELECT is(pgrst.sql_as('eva', 'SELECT id FROM startlijn.ticket_types'), 'rows=0', 'another organiser reads none of ours');
SELECT is(pgrst.sql_as('carla', 'SELECT id FROM startlijn.ticket_types'), 'rows=3', 'support reads its organisation''s rows');
SELECT is(pgrst.sql_as('eva', 'SELECT id FROM startlijn.addon_variants'), 'rows=0', 'another organiser reads none of our add-ons');
SELECT is(pgrst.sql_as('carla', 'SELECT access_code_hash FROM startlijn.ticket_types'), 'error=42501',
          '... but never an access code hash');
SELECT is(pgrst.sql_as('anna', 'UPDATE startlijn.events SET name = ''x'''), 'error=42501', 'nobody writes the tables directly');

-------------------------------------------------------------------------------
-- Reporting, sales, and changes that would break them
-------------------------------------------------------------------------------
-- two places sold (the checkout of the next issue: a hold, confirmed), one held
SELECT lives_ok($$ SELECT capacity.confirm((capacity.hold(o.id, jsonb_build_array(jsonb_build_object('item_id', t.item_id, 'quantity', 2)),
                                                          '10 minutes', 'order-1') ->> 'hold_id')::uuid),
                          capacity.hold(o.id, jsonb_build_array(jsonb_build_object('item_id', t.item_id, 'quantity', 1)),
                                        '10 minutes', 'order-2')
                     FROM startlijn.ticket_types t, startlijn.organizations o
                    WHERE t.name = '10 km startvak A' AND o.id = t.organization_id $$, 'two entries sold, one held');
CREATE TEMP TABLE dash AS SELECT x AS j FROM jsonb_array_elements(pgrst.call('daan', 'event_dashboard', pg_temp.e()) -> 'ticket_types') x
 WHERE x ->> 'name' = '10 km startvak A';
SELECT is((SELECT format('%s %s %s %s %s', j ->> 'capacity', j ->> 'sold', j ->> 'held', j ->> 'available', j ->> 'waitlisted') FROM dash),
          '40 2 1 37 0', 'finance reads the dashboard: capacity, sold, held, available, waitlisted (exact)');
SELECT is(pgrst.call('carla', 'event_dashboard', pg_temp.e()) -> 'ticket_types' -> 0 ->> 'current_price', '2200',
          'after two sales the early bird is over: the next tier');
-- "until 2 sold" counts what is sold now: units given back do not count,
-- and an allocation given back in full is passed over, not counted as a row
SELECT lives_ok($$ SELECT capacity.return_units(a.id, 2, 'cancelled') FROM capacity.allocations a
                     JOIN startlijn.ticket_types t ON t.item_id = a.item_id WHERE t.name = '10 km startvak A' $$,
                'both sold places given back');
SELECT is(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}') -> 'ticket_types' -> 0 ->> 'tier',
          'Early bird', '... the early bird is on again on the public page');
SELECT lives_ok($$ SELECT capacity.confirm((capacity.hold(t.organization_id, jsonb_build_array(jsonb_build_object('item_id', t.item_id, 'quantity', 1)),
                                                          '10 minutes', 'order-' || g) ->> 'hold_id')::uuid)
                     FROM startlijn.ticket_types t, generate_series(3, 4) g WHERE t.name = '10 km startvak A' $$,
                'two more places sold, one per order');
SELECT is(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}') -> 'ticket_types' -> 0 ->> 'tier',
          'Vroeg', '... two sold again: the next tier on the public page');
SELECT is(pgrst.call('carla', 'event_dashboard', pg_temp.e()) -> 'ticket_types' -> 0 ->> 'current_price', '2200',
          '... and on the organiser''s dashboard');
SELECT lives_ok($$ SELECT capacity.confirm((capacity.hold(v.organization_id, jsonb_build_array(jsonb_build_object('item_id', v.item_id, 'quantity', 1)),
                                                          '10 minutes', 'order-1') ->> 'hold_id')::uuid)
                     FROM startlijn.addon_variants v WHERE v.name = 'L' $$, 'the one T-shirt in L is sold');
SELECT is((SELECT format('%s %s %s %s', x ->> 'capacity', x ->> 'sold', x ->> 'available', x ->> 'waitlisted')
             FROM jsonb_array_elements(pgrst.call('daan', 'event_dashboard', pg_temp.e()) -> 'addons') a,
                  jsonb_array_elements(a -> 'variants') x WHERE x ->> 'name' = 'L'),
          '1 1 0 0', 'the dashboard shows the variant''s stock, sold, available and waitlisted');
SELECT is(pg_temp.t('anna', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'price', 1700)), '409 has_sales',
          'changing the price of a sold variant is refused');
SELECT is(pg_temp.t('anna', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'stock', 0)), '409 capacity_in_use',
          'lowering its stock below what is sold is refused');
SELECT is(pg_temp.t('bram', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'stock', 5, 'name', 'Large'), 'stock'),
          '200 5', 'raising the stock and renaming work');
SELECT is(pg_temp.t('anna', 'update_addon_variant', jsonb_build_object('variant_id', (SELECT id FROM startlijn.addon_variants WHERE name = 'Gravure'),
                                                                       'stock', 100, 'price', 600), 'stock'),
          '200 100', 'a variant without sales gets a stock (a pool and an item) and a new price');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.tt('{"price": 2700}')), '409 has_sales',
          'changing the price of a ticket type with sales is refused');
SELECT is(pg_temp.t('anna', 'set_price_tiers', pg_temp.tt('{"tiers": []}')), '409 has_sales', '... and so is changing its tiers');
SELECT is(pg_temp.t('anna', 'delete_ticket_type', pg_temp.tt()), '409 has_sales', 'deleting a ticket type with sales is refused');
SELECT is(pg_temp.t('anna', 'update_wave', jsonb_build_object('wave_id', pg_temp.v('wave_a'), 'places', 2)), '409 capacity_in_use',
          'lowering a wave below what is sold and held is refused');
SELECT is(pg_temp.t('anna', 'update_course', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'capacity', 1)), '409 capacity_in_use',
          'lowering a course below what is sold is refused');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.tt('{"name": "10 km A", "max_per_order": 6}'), 'name'), '200 10 km A',
          'a name and order limits can still change');
SELECT is(pg_temp.t('bram', 'update_wave', jsonb_build_object('wave_id', pg_temp.v('wave_a'), 'places', 60), 'places'), '200 60',
          'raising the places works');
SELECT is(pg_temp.t('anna', 'update_course', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'capacity', 3)), '200 ok',
          'lowering to exactly what is sold and held works');
SELECT is(pg_temp.t('anna', 'delete_ticket_type', jsonb_build_object('ticket_type_id', (SELECT id FROM startlijn.ticket_types WHERE name = 'Clubinschrijving')), 'deleted'),
          '200 true', 'a ticket type without sales is deleted (softly)');
SELECT is((SELECT deleted_at IS NOT NULL FROM startlijn.ticket_types WHERE name = 'Clubinschrijving'), true, '... the row stays');

-------------------------------------------------------------------------------
-- Copying: next year's edition
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('bram', 'copy_event', pg_temp.e(), 'slug'), '200 singelloop-2028', 'an admin copies the event: the slug''s year moves on');
INSERT INTO k SELECT 'event_2028', e.id::text FROM startlijn.events e WHERE e.slug = 'singelloop-2028';
SELECT is((SELECT format('%s %s %s', status, (starts_at = '2028-10-03T10:00:00+02:00')::text, (copied_from = pg_temp.v('event')::uuid)::text)
             FROM startlijn.events WHERE id = pg_temp.v('event_2028')::uuid),
          'draft true true', 'a draft, a year later, linked to last year''s');
SELECT is((SELECT format('%s courses, %s waves, %s ticket types, %s tiers',
                         (SELECT count(*) FROM startlijn.courses WHERE event_id = e.id),
                         (SELECT count(*) FROM startlijn.waves WHERE event_id = e.id),
                         (SELECT count(*) FROM startlijn.ticket_types WHERE event_id = e.id),
                         (SELECT count(*) FROM startlijn.price_tiers p JOIN startlijn.ticket_types t ON t.id = p.ticket_type_id
                           WHERE t.event_id = e.id AND p.deleted_at IS NULL))
             FROM startlijn.events e WHERE e.id = pg_temp.v('event_2028')::uuid),
          '2 courses, 1 waves, 2 ticket types, 2 tiers', 'with its courses, waves, live ticket types and tiers');
SELECT is((SELECT format('%s add-ons, %s variants, %s with stock', count(DISTINCT a.id), count(v.id), count(v.pool_id))
             FROM startlijn.addons a JOIN startlijn.addon_variants v ON v.addon_id = a.id
            WHERE a.event_id = pg_temp.v('event_2028')::uuid),
          '2 add-ons, 3 variants, 3 with stock', 'with its add-ons and variants, each stock a pool of its own');
SELECT is((SELECT jsonb_array_length(questions) FROM startlijn.events WHERE id = pg_temp.v('event_2028')::uuid), 4,
          'with its registration questions');
SELECT is((SELECT count(*) FROM startlijn.ticket_types a JOIN startlijn.ticket_types b ON a.item_id = b.item_id
            WHERE a.event_id = pg_temp.v('event')::uuid AND b.event_id = pg_temp.v('event_2028')::uuid), 0::bigint,
          'the copy sells from capacity items of its own');
SELECT is((pgrst.call('anna', 'event_dashboard', jsonb_build_object('event_id', pg_temp.v('event_2028'))) -> 'ticket_types' -> 0 ->> 'sold'),
          '0', '... with nothing sold');
SELECT is(pg_temp.t('bram', 'copy_event', pg_temp.e()), '409 slug_taken', 'copying twice needs another slug');

-------------------------------------------------------------------------------
-- The status machine
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'delete_event', pg_temp.e()), '409 invalid_transition', 'a published event cannot be deleted');
SELECT is(pg_temp.t('anna', 'publish_event', pg_temp.e()), '409 invalid_transition', 'publishing twice is refused');
SELECT is(pg_temp.t('bram', 'close_event', pg_temp.e('{"reason": "Inschrijving vol"}'), 'status'), '200 closed', 'an admin closes it');
SELECT is(pg_temp.t('anna', 'cancel_event', pg_temp.e()), '409 invalid_transition', 'a closed event cannot be cancelled');
SELECT is(pg_temp.t('anna', 'update_event', pg_temp.e('{"name": "Anders"}')), '409 invalid_transition', 'nor changed');
SELECT is(pg_temp.t('anna', 'create_course', pg_temp.e('{"name": "5 km", "distance_m": 5000}')), '409 invalid_transition',
          'nor given a course');
SELECT is(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}') ->> 'status', 'closed',
          'the public page says it is closed ...');
SELECT is(jsonb_array_length(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}') -> 'ticket_types'), 0,
          '... and sells nothing');
SELECT is(pg_temp.t('anna', 'cancel_event', jsonb_build_object('event_id', pg_temp.v('event_2028'), 'reason', 'Geen vergunning'), 'status'),
          '200 cancelled', 'a draft can be cancelled');
SELECT is(pg_temp.t('anna', 'delete_event', jsonb_build_object('event_id', pg_temp.v('event_2028')), 'deleted'), '200 true',
          'a cancelled event can be deleted (softly)');
SELECT is(pg_temp.t('anna', 'event_dashboard', jsonb_build_object('event_id', pg_temp.v('event_2028'))), '404 event_not_found',
          'a deleted event is gone from the API');
SELECT is(pgrst.sql_as('anna', 'SELECT 1 FROM startlijn.events WHERE slug = ''singelloop-2028'''), 'rows=0', '... and from RLS');
SELECT throws_ok($$ UPDATE startlijn.events SET status = 'published' WHERE slug = 'singelloop-2027' AND organization_id = '00000000-0000-4000-b000-000000000001' $$, 'PT409', 'invalid state transition',
                 'the status machine holds for every writer, not only the API');

-------------------------------------------------------------------------------
-- Who may call what (owners and admins write; support and finance read)
-------------------------------------------------------------------------------
CREATE TEMP TABLE roles (who text, fn text, args jsonb, want text);
INSERT INTO roles VALUES
 ('carla', 'create_event', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "X", "slug": "x", "type": "other",
                            "starts_at": "2027-01-01T10:00:00Z", "ends_at": "2027-01-01T12:00:00Z"}', '403 insufficient_role'),
 ('daan', 'create_event', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "X", "slug": "x", "type": "other",
                            "starts_at": "2027-01-01T10:00:00Z", "ends_at": "2027-01-01T12:00:00Z"}', '403 insufficient_role'),
 ('kim', 'create_event', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "X", "slug": "x", "type": "other",
                            "starts_at": "2027-01-01T10:00:00Z", "ends_at": "2027-01-01T12:00:00Z"}', '404 organization_not_found'),
 ('anon', 'create_event', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', '401 not_authenticated'),
 ('carla', 'update_event', pg_temp.e('{"name": "X"}'), '403 insufficient_role'),
 ('eva', 'update_event', pg_temp.e('{"name": "X"}'), '404 event_not_found'),
 ('daan', 'publish_event', pg_temp.e(), '403 insufficient_role'),
 ('carla', 'close_event', pg_temp.e(), '403 insufficient_role'),
 ('daan', 'cancel_event', pg_temp.e(), '403 insufficient_role'),
 ('eva', 'cancel_event', pg_temp.e(), '404 event_not_found'),
 ('carla', 'delete_event', pg_temp.e(), '403 insufficient_role'),
 ('daan', 'copy_event', pg_temp.e(), '403 insufficient_role'),
 ('eva', 'copy_event', pg_temp.e(), '404 event_not_found'),
 ('carla', 'create_course', pg_temp.e('{"name": "X", "distance_m": 1}'), '403 insufficient_role'),
 ('carla', 'update_course', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'name', 'X'), '403 insufficient_role'),
 ('eva', 'update_course', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'name', 'X'), '404 course_not_found'),
 ('daan', 'create_wave', jsonb_build_object('course_id', pg_temp.v('course_10k'), 'name', 'X'), '403 insufficient_role'),
 ('carla', 'update_wave', jsonb_build_object('wave_id', pg_temp.v('wave_a'), 'places', 1), '403 insufficient_role'),
 ('kim', 'update_wave', jsonb_build_object('wave_id', pg_temp.v('wave_a'), 'places', 1), '404 wave_not_found'),
 ('daan', 'create_ticket_type', pg_temp.e(), '403 insufficient_role'),
 ('carla', 'update_ticket_type', pg_temp.tt('{"name": "X"}'), '403 insufficient_role'),
 ('eva', 'update_ticket_type', pg_temp.tt('{"name": "X"}'), '404 ticket_type_not_found'),
 ('daan', 'delete_ticket_type', pg_temp.tt(), '403 insufficient_role'),
 ('carla', 'set_price_tiers', pg_temp.tt('{"tiers": []}'), '403 insufficient_role'),
 ('carla', 'create_addon', pg_temp.e('{"name": "X"}'), '403 insufficient_role'),
 ('daan', 'update_addon', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'X'), '403 insufficient_role'),
 ('eva', 'update_addon', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'X'), '404 addon_not_found'),
 ('carla', 'create_addon_variant', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'XL', 'price', 1), '403 insufficient_role'),
 ('kim', 'create_addon_variant', jsonb_build_object('addon_id', pg_temp.v('addon_shirt'), 'name', 'XL', 'price', 1), '404 addon_not_found'),
 ('daan', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'name', 'X'), '403 insufficient_role'),
 ('eva', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'name', 'X'), '404 addon_variant_not_found'),
 ('anon', 'update_addon_variant', jsonb_build_object('variant_id', pg_temp.v('variant_l'), 'name', 'X'), '401 not_authenticated'),
 ('carla', 'set_questions', pg_temp.e('{"questions": []}'), '403 insufficient_role'),
 ('daan', 'set_questions', pg_temp.e('{"questions": []}'), '403 insufficient_role'),
 ('eva', 'set_questions', pg_temp.e('{"questions": []}'), '404 event_not_found'),
 ('anon', 'set_questions', pg_temp.e('{"questions": []}'), '401 not_authenticated'),
 ('carla', 'event_dashboard', pg_temp.e(), '200 ok'),
 ('daan', 'event_dashboard', pg_temp.e(), '200 ok'),
 ('lars', 'event_dashboard', pg_temp.e(), '200 ok'),
 ('sanne', 'event_dashboard', pg_temp.e(), '200 ok'),
 ('eva', 'event_dashboard', pg_temp.e(), '404 event_not_found'),
 ('kim', 'event_dashboard', pg_temp.e(), '404 event_not_found'),
 ('anon', 'event_dashboard', pg_temp.e(), '401 not_authenticated'),
 ('daan', 'organization_events', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', '200 ok'),
 ('kim', 'organization_events', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', '404 organization_not_found'),
 ('anon', 'events', '{}', '200 ok'),
 ('service', 'events', '{}', '200 ok'),
 ('kim', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "singelloop-2027"}', '200 ok');
SELECT is(pg_temp.t(who, fn, args), want, format('%s %s -> %s', who, fn, want)) FROM roles;

SELECT * FROM finish();
ROLLBACK;
