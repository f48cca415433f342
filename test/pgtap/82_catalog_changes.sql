-- The catalog's later RPCs (issue 24) and issue 25's "one entry per person
-- per event unless the ticket type allows more", called as PostgREST calls
-- them: registration questions for some ticket types (validated, copied,
-- shown, answers judged by ticket type); deleting courses, waves, add-ons
-- and variants, refused while something depends on them; moving a ticket
-- type to another course or wave; one_entry_per_person; who may call what.
BEGIN;
SELECT plan(96);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}', field text DEFAULT NULL) RETURNS text
  LANGUAGE sql AS $$
  SELECT r ->> 'status' || ' ' || CASE WHEN r ? 'code' THEN COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                        WHEN field IS NULL THEN 'ok' ELSE r -> 'body' ->> field END
    FROM pgrst.try(who, fn, args) r $$;
CREATE FUNCTION pg_temp.d(who text, fn text, args jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT r ->> 'details' FROM pgrst.try(who, fn, args) r $$;
CREATE FUNCTION pg_temp.trail(action text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM trail.entries e WHERE e.action = trail.action $$;
-- replace "name" placeholders in args by the ids kept in k
CREATE FUNCTION pg_temp.a(args text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM k LOOP
    args := replace(args, '"' || r.k || '"', '"' || r.v || '"');
  END LOOP;
  RETURN args::jsonb;
END
$$;

-- an event of Loopgroep Utrecht: a 10 km (100 places) with waves A and B,
-- a 5 km without places of its own (wave C), three ticket types, a T-shirt
DO $$
DECLARE ev uuid; c10 uuid; c5 uuid; wa uuid; wb uuid; wc uuid;
BEGIN
  ev := (pgrst.call('anna', 'create_event', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001',
          'name', 'Wijkloop', 'slug', 'wijkloop-2027', 'type', 'running',
          'starts_at', '2027-06-06T09:00:00+02:00', 'ends_at', '2027-06-06T14:00:00+02:00',
          'venue_name', 'Park', 'venue_country', 'NL', 'contact_email', 'info@wijkloop.nl',
          'registration_opens_at', '2026-01-01T00:00:00+01:00', 'registration_closes_at', '2027-06-01T00:00:00+02:00'))
         ->> 'event_id')::uuid;
  c10 := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '10 km', 'distance_m', 10000,
          'capacity', 100)) ->> 'course_id')::uuid;
  c5 := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '5 km', 'distance_m', 5000))
         ->> 'course_id')::uuid;
  wa := (pgrst.call('anna', 'create_wave', jsonb_build_object('course_id', c10, 'name', 'A',
         'starts_at', '2027-06-06T09:00:00+02:00', 'places', 50)) ->> 'wave_id')::uuid;
  wb := (pgrst.call('anna', 'create_wave', jsonb_build_object('course_id', c10, 'name', 'B',
         'starts_at', '2027-06-06T09:30:00+02:00', 'places', 50)) ->> 'wave_id')::uuid;
  wc := (pgrst.call('anna', 'create_wave', jsonb_build_object('course_id', c5, 'name', 'C',
         'starts_at', '2027-06-06T10:00:00+02:00', 'places', 30)) ->> 'wave_id')::uuid;
  INSERT INTO k VALUES ('ev', ev), ('c10', c10), ('c5', c5), ('wa', wa), ('wb', wb), ('wc', wc);
END
$$;

-------------------------------------------------------------------------------
-- one_entry_per_person on ticket types
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.a('{"event_id": "ev", "course_id": "c10", "wave_id": "wa",
            "name": "10 km A", "price": 0}'), 'one_entry_per_person'), '200 true',
          'a ticket type allows one entry per person by default');
INSERT INTO k SELECT 'tt_a', id FROM startlijn.ticket_types WHERE name = '10 km A';
SELECT is(pg_temp.t('bram', 'create_ticket_type', pg_temp.a('{"event_id": "ev", "course_id": "c10", "name": "Estafetteloper",
            "price": 0, "one_entry_per_person": false}'), 'one_entry_per_person'), '200 false',
          'an admin creates one that allows several entries per person');
INSERT INTO k SELECT 'tt_relay', id FROM startlijn.ticket_types WHERE name = 'Estafetteloper';
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.a('{"event_id": "ev", "course_id": "c10", "name": "Club",
            "price": 0, "visibility": "hidden", "access_code": "CLUB-WIJK"}'), 'visibility'), '200 hidden',
          'a hidden club ticket');
INSERT INTO k SELECT 'tt_club', id FROM startlijn.ticket_types WHERE name = 'Club';
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_relay", "one_entry_per_person": true}'),
                    'one_entry_per_person'), '200 true', 'update_ticket_type changes it');
SELECT is(pg_temp.t('bram', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_relay", "one_entry_per_person": false}'),
                    'one_entry_per_person'), '200 false', '... both ways');
SELECT is((SELECT count(*) FROM trail.entries WHERE action = 'catalog.ticket_type_updated'
             AND strpos(body, '"one_entry_per_person"') > 0), 2::bigint, '... in the audit trail');

-------------------------------------------------------------------------------
-- Registration questions for some ticket types
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'set_questions', pg_temp.a('{"event_id": "ev", "questions": [
            {"key": "ice", "type": "emergency_contact", "label": "Noodcontact", "required": true},
            {"key": "team", "type": "text", "label": "Teamnaam", "required": true, "ticket_types": ["tt_relay"]},
            {"key": "club", "type": "club", "label": "Vereniging", "required": true, "ticket_types": ["tt_club", "tt_a"]}]}')),
          '200 ok', 'questions restricted to ticket types of the event');
SELECT is((SELECT questions -> 1 -> 'ticket_types' ->> 0 FROM startlijn.events WHERE id = pg_temp.v('ev')::uuid), pg_temp.v('tt_relay'),
          '... stored as given');
SELECT lives_ok($$ SELECT pgrst.call('eva', 'create_event', '{"organization_id": "00000000-0000-4000-b000-000000000002",
                     "name": "Tijdrit", "slug": "tijdrit", "type": "cycling", "starts_at": "2027-07-01T10:00:00+02:00",
                     "ends_at": "2027-07-01T16:00:00+02:00"}') $$, 'another organiser''s event');
DO $$
DECLARE ev uuid := (SELECT id FROM startlijn.events WHERE slug = 'tijdrit'); c uuid;
BEGIN
  c := (pgrst.call('eva', 'create_course', jsonb_build_object('event_id', ev, 'name', '40 km', 'distance_m', 40000, 'capacity', 10))
        ->> 'course_id')::uuid;
  INSERT INTO k VALUES ('ev_eva', ev), ('c_eva', c), ('tt_eva',
    (pgrst.call('eva', 'create_ticket_type', jsonb_build_object('event_id', ev, 'course_id', c, 'name', 'Tijdrit', 'price', 1000))
     ->> 'ticket_type_id'));
END
$$;
SELECT is(pg_temp.t('anna', 'set_questions', pg_temp.a('{"event_id": "ev", "questions": [
            {"key": "x", "type": "text", "label": "X", "ticket_types": ["tt_eva"]}]}')),
          '400 invalid_questions', 'a ticket type of another organisation''s event is refused');
SELECT is(pg_temp.d('anna', 'set_questions', pg_temp.a('{"event_id": "ev", "questions": [
            {"key": "x", "type": "text", "label": "X", "ticket_types": ["tt_a", "tt_eva"]}]}')),
          'invalid_questions: question x: ' || pg_temp.v('tt_eva') || ' is no ticket type of this event',
          '... and the detail names the question and the id');
SELECT is(pg_temp.t('anna', 'set_questions', pg_temp.a('{"event_id": "ev", "questions": [
            {"key": "x", "type": "text", "label": "X", "ticket_types": ["tt_a", "tt_a"]}]}')),
          '400 invalid_questions', 'an id twice is refused by the C validator');
SELECT is(jsonb_array_length((SELECT questions FROM startlijn.events WHERE id = pg_temp.v('ev')::uuid)), 3,
          '... and the refused calls changed nothing');

-- answers by ticket type
CREATE TEMP TABLE q AS SELECT questions FROM startlijn.events WHERE id = pg_temp.v('ev')::uuid;
SELECT ok(startlijn.validate_answers((SELECT questions FROM q), '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "De Hazen"}',
                                     pg_temp.v('tt_relay')::uuid), 'the relay runner answers the team question');
SELECT throws_ok(format($$ SELECT startlijn.validate_answers((SELECT questions FROM q), '{"ice": {"name": "M", "phone": "+31612345678"}}', %L) $$,
                        pg_temp.v('tt_relay')), 'PT400', 'invalid answers', '... which is required for the relay');
SELECT ok(startlijn.validate_answers((SELECT questions FROM q), '{"ice": {"name": "M", "phone": "+31612345678"}, "club": "AV"}',
                                     pg_temp.v('tt_a')::uuid), 'a 10 km runner is not asked for a team');
SELECT is(startlijn.answers_problem((SELECT questions FROM q)::text, '{"ice": {"name": "M", "phone": "+31612345678"}, "club": "AV", "team": "X"}',
                                    pg_temp.v('tt_a')::uuid),
          'answer team: the question is not for this ticket type', '... and may not answer it');
SELECT is(startlijn.answers_problem((SELECT questions FROM q)::text, '{"ice": {"name": "M", "phone": "+31612345678"}}', NULL),
          NULL, 'without a ticket type only the questions for every ticket type apply');
SELECT is(startlijn.answers_problem((SELECT questions FROM q)::text, NULL, NULL), NULL, 'NULL answers: NULL');

-- every writer: the registrations guard judges by the registration's ticket type
SELECT is(pg_temp.t('anna', 'publish_event', pg_temp.a('{"event_id": "ev"}'), 'status'), '200 published', 'published');
CREATE FUNCTION pg_temp.buy(who text, tt text, first text, answers jsonb, code text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE o jsonb; r jsonb;
BEGIN
  o := pgrst.try(who, 'reserve', jsonb_build_object('event_id', pg_temp.v('ev'), 'access_code', code,
         'lines', jsonb_build_array(jsonb_build_object('ticket_type_id', pg_temp.v(tt), 'quantity', 1))));
  IF o ? 'code' THEN RETURN o ->> 'status' || ' ' || split_part(o ->> 'details', ':', 1); END IF;
  r := pgrst.try(who, 'checkout', jsonb_build_object('order_id', o -> 'body' ->> 'order_id', 'order_token', o -> 'body' ->> 'order_token',
         'buyer', '{"email": "koper@example.nl", "name": "Koper"}'::jsonb,
         'participants', jsonb_build_array(jsonb_build_object('ticket_type_id', pg_temp.v(tt), 'first_name', first,
           'last_name', 'Jansen', 'date_of_birth', '1990-01-01', 'answers', answers))));
  IF r ? 'code' THEN
    PERFORM pgrst.try(who, 'release_reservation', jsonb_build_object('order_id', o -> 'body' ->> 'order_id',
              'order_token', o -> 'body' ->> 'order_token'));
    RETURN r ->> 'status' || ' ' || split_part(r ->> 'details', ':', 1);
  END IF;
  RETURN r ->> 'status' || ' ' || (r -> 'body' ->> 'status');
END
$$;
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Piet', '{"ice": {"name": "M", "phone": "+31612345678"}}'), '400 invalid_answers',
          'checkout: the relay''s required team question');
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Piet', '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "De Hazen"}'), '200 paid',
          '... answered: a free entry, paid at once');
SELECT is(pg_temp.buy('anon', 'tt_a', 'Joke', '{"ice": {"name": "M", "phone": "+31612345678"}, "club": "AV", "team": "X"}'), '400 invalid_answers',
          'checkout: an answer to another ticket type''s question is refused');
SELECT is(pg_temp.buy('anon', 'tt_a', 'Joke', '{"ice": {"name": "M", "phone": "+31612345678"}, "club": "AV"}'), '200 paid',
          '... without it the entry is made');
SELECT throws_ok(format($$ UPDATE startlijn.registrations SET ticket_type_id = %L WHERE first_name = 'Joke' $$, pg_temp.v('tt_relay')),
                 'PT400', 'invalid answers', 'the guard judges a changed ticket type''s questions too, for every writer');

-- one entry per person, unless the ticket type allows more
SELECT is(pg_temp.buy('anon', 'tt_a', 'Joke', '{"ice": {"name": "M", "phone": "+31612345678"}, "club": "AV"}'), '409 already_registered',
          'the same person twice on a one-entry ticket type: already_registered');
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Piet', '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "De Schildpadden"}'), '200 paid',
          'a ticket type that allows more: the same person again');
SELECT is((SELECT string_agg(single_entry::text, ',' ORDER BY created_at) FROM startlijn.registrations
            WHERE event_id = pg_temp.v('ev')::uuid AND first_name = 'Piet'), 'false,false', '... entries not counted by the rule');
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Joke', '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "De Hazen"}'), '200 paid',
          'with an entry of a one-entry type, the same person may still take a type that allows more');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_relay", "one_entry_per_person": true}'),
                    'one_entry_per_person'), '200 true', 'the organiser switches the relay to one entry per person');
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Klaas', '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "X"}'), '200 paid',
          '... a new person registers');
SELECT is(pg_temp.buy('anon', 'tt_relay', 'Klaas', '{"ice": {"name": "M", "phone": "+31612345678"}, "team": "Y"}'), '409 already_registered',
          '... and cannot again: the setting applies to the entries made after the change');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_relay", "one_entry_per_person": false}'),
                    'one_entry_per_person'), '200 false', 'and back');

-- the public catalog: questions for the ticket types the caller sees
CREATE TEMP TABLE pub AS SELECT pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "wijkloop-2027"}') AS j;
SELECT is((SELECT string_agg(x ->> 'key', ',') FROM pub, jsonb_array_elements(j -> 'questions') x), 'ice,team,club',
          'anon sees the questions of the ticket types on sale');
SELECT is((SELECT x -> 'ticket_types' FROM pub, jsonb_array_elements(j -> 'questions') x WHERE x ->> 'key' = 'club'),
          jsonb_build_array(pg_temp.v('tt_a')), '... a hidden ticket type''s id only with its access code');
SELECT is((SELECT string_agg(x ->> 'one_entry_per_person', ',' ORDER BY x ->> 'name') FROM pub, jsonb_array_elements(j -> 'ticket_types') x),
          'true,false', 'the public ticket types say whether one entry per person applies');
SELECT is((SELECT x -> 'ticket_types' FROM jsonb_array_elements(pgrst.call('anon', 'event',
             '{"org_slug": "loopgroep-utrecht", "event_slug": "wijkloop-2027", "access_code": "CLUB-WIJK"}') -> 'questions') x
            WHERE x ->> 'key' = 'club'),
          jsonb_build_array(pg_temp.v('tt_club'), pg_temp.v('tt_a')), '... with the code, the club ticket''s id too');

-------------------------------------------------------------------------------
-- Deleting a ticket type: its id leaves the questions; the last one stays
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'delete_ticket_type', pg_temp.a('{"ticket_type_id": "tt_club"}'), 'deleted'), '200 true',
          'the club ticket (nothing sold) is deleted');
SELECT is((SELECT questions -> 2 -> 'ticket_types' FROM startlijn.events WHERE id = pg_temp.v('ev')::uuid),
          jsonb_build_array(pg_temp.v('tt_a')), '... and leaves the club question''s ticket types');
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.a('{"event_id": "ev", "course_id": "c10", "wave_id": "wb",
            "name": "10 km B", "price": 1000}'), 'name'), '200 10 km B', 'a ticket type in wave B');
INSERT INTO k SELECT 'tt_b', id FROM startlijn.ticket_types WHERE name = '10 km B';
SELECT is(pg_temp.t('anna', 'set_questions', pg_temp.a('{"event_id": "ev", "questions": [
            {"key": "ice", "type": "emergency_contact", "label": "Noodcontact", "required": true},
            {"key": "team", "type": "text", "label": "Teamnaam", "required": true, "ticket_types": ["tt_relay"]},
            {"key": "club", "type": "club", "label": "Vereniging", "required": true, "ticket_types": ["tt_a"]},
            {"key": "b", "type": "boolean", "label": "Startvak B?", "ticket_types": ["tt_b"]}]}')),
          '200 ok', 'a question for wave B only');
SELECT is(pg_temp.d('anna', 'delete_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b"}')),
          'item_in_use: Question b is asked for this ticket type only.',
          'a ticket type a question is asked for only cannot be deleted: item_in_use');

-------------------------------------------------------------------------------
-- Moving a ticket type to another course or wave
-------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.pools(tt text) RETURNS uuid[] LANGUAGE sql AS $$
  SELECT array_agg(ip.pool_id ORDER BY ip.pool_id) FROM capacity.item_pools ip
   WHERE ip.item_id = (SELECT item_id FROM startlijn.ticket_types WHERE id = pg_temp.v(tt)::uuid) $$;
CREATE FUNCTION pg_temp.want(VARIADIC p uuid[]) RETURNS uuid[] LANGUAGE sql AS $$
  SELECT array_agg(x ORDER BY x) FROM unnest(p) x WHERE x IS NOT NULL $$;
INSERT INTO k SELECT 'item_b', item_id FROM startlijn.ticket_types WHERE id = pg_temp.v('tt_b')::uuid;
SELECT is(pg_temp.t('bram', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "wave_id": "wa"}'), 'wave_id'),
          '200 ' || pg_temp.v('wa'), 'an admin moves a ticket type without sales to wave A');
SELECT is(pg_temp.pools('tt_b'), pg_temp.want((SELECT pool_id FROM startlijn.courses WHERE id = pg_temp.v('c10')::uuid),
                                              (SELECT pool_id FROM startlijn.waves WHERE id = pg_temp.v('wa')::uuid)),
          '... it sells a capacity item drawing from the course and wave A');
SELECT isnt((SELECT item_id::text FROM startlijn.ticket_types WHERE id = pg_temp.v('tt_b')::uuid), pg_temp.v('item_b'),
            '... a new item (the old one, with nothing sold, is no longer sold)');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "course_id": "c5"}')),
          '400 invalid_argument', 'to the 5 km without a wave (the 5 km has no places of its own): nothing to draw from');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "course_id": "c5", "wave_id": "wc"}'), 'wave_id'),
          '200 ' || pg_temp.v('wc'), 'to the 5 km in wave C');
SELECT is(pg_temp.pools('tt_b'), pg_temp.want((SELECT pool_id FROM startlijn.waves WHERE id = pg_temp.v('wc')::uuid)),
          '... drawing from wave C only');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_a", "course_id": "c5"}')),
          '409 has_sales', 'a ticket type with sales cannot move');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_a", "wave_id": "wb"}')),
          '409 has_sales', '... not even to another wave of its course');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "course_id": "c10", "wave_id": "wc"}')),
          '404 wave_not_found', 'a wave of another course is refused');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "course_id": "c_eva"}')),
          '404 course_not_found', 'another organisation''s course: not found');
SELECT is(pg_temp.t('anna', 'update_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b", "course_id": "c10", "wave_id": "wb"}'), 'course_id'),
          '200 ' || pg_temp.v('c10'), 'back to the 10 km in wave B');
SELECT is(pg_temp.pools('tt_b'), pg_temp.want((SELECT pool_id FROM startlijn.courses WHERE id = pg_temp.v('c10')::uuid),
                                              (SELECT pool_id FROM startlijn.waves WHERE id = pg_temp.v('wb')::uuid)),
          '... drawing from the course and wave B');
SELECT is((SELECT count(*) FROM trail.entries WHERE action = 'catalog.ticket_type_updated' AND strpos(body, '"moved"') > 0), 3::bigint,
          'each move is in the audit trail, with the old and the new item');

-------------------------------------------------------------------------------
-- Deleting courses and waves
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'delete_wave', pg_temp.a('{"wave_id": "wb"}')), '409 has_ticket_types',
          'a wave a ticket type sells from cannot be deleted');
SELECT is(pg_temp.d('anna', 'delete_course', pg_temp.a('{"course_id": "c10"}')), 'has_ticket_types: 3 ticket types sell this course.',
          '... nor a course: has_ticket_types, with how many');
SELECT is(pg_temp.t('carla', 'delete_wave', pg_temp.a('{"wave_id": "wc"}')), '403 insufficient_role', 'support cannot delete a wave');
SELECT is(pg_temp.t('daan', 'delete_course', pg_temp.a('{"course_id": "c5"}')), '403 insufficient_role', 'finance cannot delete a course');
SELECT is(pg_temp.t('eva', 'delete_wave', pg_temp.a('{"wave_id": "wc"}')), '404 wave_not_found', 'another organiser: not found');
SELECT is(pg_temp.t('anon', 'delete_course', pg_temp.a('{"course_id": "c5"}')), '401 not_authenticated', 'anon: not authenticated');
SELECT is(pg_temp.t('bram', 'delete_wave', pg_temp.a('{"wave_id": "wc", "reason": "Te weinig lopers"}'), 'deleted'), '200 true',
          'an admin deletes the unused wave C');
SELECT ok((SELECT strpos(body, 'Te weinig lopers') > 0 FROM trail.entries WHERE action = 'catalog.wave_deleted'), '... audited with the reason');
SELECT is(pg_temp.t('anna', 'create_wave', pg_temp.a('{"course_id": "c5", "name": "D", "starts_at": "2027-06-06T10:00:00+02:00", "places": 5}'), 'name'),
          '200 D', 'a new wave D on the 5 km');
SELECT is(pg_temp.t('anna', 'delete_course', pg_temp.a('{"course_id": "c5"}'), 'deleted'), '200 true',
          'the owner deletes the 5 km, no ticket types on it');
SELECT is((SELECT count(*) FROM startlijn.waves WHERE course_id = pg_temp.v('c5')::uuid AND deleted_at IS NULL), 0::bigint,
          '... with its waves');
SELECT is(pg_temp.t('anna', 'update_course', pg_temp.a('{"course_id": "c5", "name": "X"}')), '404 course_not_found',
          'a deleted course is gone from the API');
SELECT is(jsonb_array_length(pgrst.call('anon', 'event', '{"org_slug": "loopgroep-utrecht", "event_slug": "wijkloop-2027"}') -> 'courses'), 1,
          '... and from the public event');
SELECT is(pg_temp.trail('catalog.course_deleted'), 1::bigint, 'deleting the course is in the audit trail');

-------------------------------------------------------------------------------
-- Deleting add-ons and variants
-------------------------------------------------------------------------------
DO $$
DECLARE a uuid; b uuid;
BEGIN
  a := (pgrst.call('anna', 'create_addon', jsonb_build_object('event_id', pg_temp.v('ev'), 'name', 'T-shirt')) ->> 'addon_id')::uuid;
  INSERT INTO k VALUES ('shirt', a),
    ('shirt_m', pgrst.call('anna', 'create_addon_variant', jsonb_build_object('addon_id', a, 'name', 'M', 'price', 0, 'stock', 10)) ->> 'variant_id'),
    ('shirt_l', pgrst.call('anna', 'create_addon_variant', jsonb_build_object('addon_id', a, 'name', 'L', 'price', 0, 'stock', 10)) ->> 'variant_id');
  b := (pgrst.call('anna', 'create_addon', jsonb_build_object('event_id', pg_temp.v('ev'), 'name', 'Pasta')) ->> 'addon_id')::uuid;
  INSERT INTO k VALUES ('pasta', b),
    ('pasta_v', pgrst.call('anna', 'create_addon_variant', jsonb_build_object('addon_id', b, 'name', 'Bord', 'price', 0)) ->> 'variant_id');
END
$$;
-- kim reserves size M and a pasta plate (no stock: only the open order holds it)
CREATE TEMP TABLE res AS SELECT pgrst.call('kim', 'reserve', pg_temp.a('{"event_id": "ev", "lines": [
  {"ticket_type_id": "tt_b", "quantity": 1}, {"variant_id": "shirt_m", "quantity": 1}, {"variant_id": "pasta_v", "quantity": 1}]}')) AS o;
SELECT is(pg_temp.t('anna', 'delete_addon_variant', pg_temp.a('{"variant_id": "shirt_m"}')), '409 item_in_use',
          'a variant held by a reservation cannot be deleted');
SELECT is(pg_temp.t('anna', 'delete_addon_variant', pg_temp.a('{"variant_id": "pasta_v"}')), '409 item_in_use',
          '... nor one without stock in an open order');
SELECT is(pg_temp.d('anna', 'delete_addon', pg_temp.a('{"addon_id": "shirt"}')),
          'item_in_use: T-shirt (M) is sold, held, waited for or in an open order.', '... nor its add-on, which names the variant');
SELECT is(pg_temp.t('anna', 'delete_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b"}')), '409 has_sales',
          'the reserved ticket type cannot be deleted');
SELECT is(pg_temp.t('carla', 'delete_addon_variant', pg_temp.a('{"variant_id": "shirt_l"}')), '403 insufficient_role', 'support cannot delete a variant');
SELECT is(pg_temp.t('daan', 'delete_addon', pg_temp.a('{"addon_id": "shirt"}')), '403 insufficient_role', 'finance cannot delete an add-on');
SELECT is(pg_temp.t('eva', 'delete_addon_variant', pg_temp.a('{"variant_id": "shirt_l"}')), '404 addon_variant_not_found', 'another organiser: not found');
SELECT is(pg_temp.t('anon', 'delete_addon', pg_temp.a('{"addon_id": "shirt"}')), '401 not_authenticated', 'anon: not authenticated');
SELECT is(pg_temp.t('bram', 'delete_addon_variant', pg_temp.a('{"variant_id": "shirt_l"}'), 'deleted'), '200 true',
          'an admin deletes size L, never sold');
SELECT is((SELECT string_agg(v ->> 'name', ',') FROM jsonb_array_elements(pgrst.call('anna', 'event_dashboard', pg_temp.a('{"event_id": "ev"}')) -> 'addons') a,
                  jsonb_array_elements(a -> 'variants') v WHERE a ->> 'name' = 'T-shirt'), 'M', '... gone from the dashboard');
SELECT is(pg_temp.t('kim', 'release_reservation', jsonb_build_object('order_id', (SELECT o ->> 'order_id' FROM res))), '200 ok',
          'kim gives the reservation back');
SELECT is(pg_temp.t('anna', 'delete_addon', pg_temp.a('{"addon_id": "pasta", "reason": "Geen pasta dit jaar"}'), 'deleted'), '200 true',
          'now the pasta add-on is deleted');
SELECT is((SELECT count(*) FROM startlijn.addon_variants WHERE addon_id = pg_temp.v('pasta')::uuid AND deleted_at IS NULL), 0::bigint,
          '... with its variants');
SELECT is(pg_temp.t('anna', 'delete_addon_variant', pg_temp.a('{"variant_id": "shirt_m"}'), 'deleted'), '200 true',
          '... and size M');
SELECT is(pg_temp.t('anna', 'update_addon', pg_temp.a('{"addon_id": "pasta", "name": "X"}')), '404 addon_not_found',
          'a deleted add-on is gone from the API');
SELECT is(pg_temp.trail('catalog.addon_deleted') || ' ' || pg_temp.trail('catalog.addon_variant_deleted'), '1 2',
          'deleting add-ons and variants is in the audit trail');
SELECT is(pg_temp.t('anna', 'delete_ticket_type', pg_temp.a('{"ticket_type_id": "tt_b"}')), '409 item_in_use',
          'tt_b is free again, but question b is for it only');

-------------------------------------------------------------------------------
-- A published event keeps a ticket type; a waitlist keeps its ticket type
-------------------------------------------------------------------------------
DO $$
DECLARE ev uuid; c uuid;
BEGIN
  ev := (pgrst.call('anna', 'create_event', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001',
          'name', 'Solo', 'slug', 'solo-2027', 'type', 'running',
          'starts_at', '2027-06-06T09:00:00+02:00', 'ends_at', '2027-06-06T14:00:00+02:00',
          'venue_name', 'Park', 'venue_country', 'NL', 'contact_email', 'info@solo.nl',
          'registration_opens_at', '2026-01-01T00:00:00+01:00', 'registration_closes_at', '2027-06-01T00:00:00+02:00'))
         ->> 'event_id')::uuid;
  c := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '5 km', 'distance_m', 5000, 'capacity', 1))
        ->> 'course_id')::uuid;
  INSERT INTO k VALUES ('ev_solo', ev), ('tt_solo',
    pgrst.call('anna', 'create_ticket_type', jsonb_build_object('event_id', ev, 'course_id', c, 'name', '5 km', 'price', 0)) ->> 'ticket_type_id');
  PERFORM pgrst.call('anna', 'publish_event', jsonb_build_object('event_id', ev));
END
$$;
SELECT is(pg_temp.d('anna', 'delete_ticket_type', pg_temp.a('{"ticket_type_id": "tt_solo"}')),
          'event_incomplete: ticket_type_on_sale: a published event keeps at least one ticket type.',
          'the last ticket type of a published event cannot be deleted');
SELECT lives_ok($$ SELECT capacity.hold('00000000-0000-4000-b000-000000000001',
                     jsonb_build_array(jsonb_build_object('item_id', (SELECT item_id FROM startlijn.ticket_types WHERE id = pg_temp.v('tt_solo')::uuid), 'quantity', 1)),
                     '10 minutes', 'someone') $$, 'its one place is held');
SELECT is(pg_temp.t('kim', 'join_ticket_waitlist', pg_temp.a('{"ticket_type_id": "tt_solo"}'), 'state'), '200 waiting',
          'kim joins its waitlist');
SELECT is(pg_temp.t('anna', 'create_ticket_type', pg_temp.a('{"event_id": "ev_solo", "course_id": "c10", "name": "X", "price": 0}')),
          '404 course_not_found', '(a course of another event is refused)');
UPDATE capacity.holds SET state = 'released', closed_at = now() WHERE holder = 'someone';
UPDATE capacity.slots SET held_until = '1999-01-01', hold_id = NULL, item_id = NULL
 WHERE hold_id IN (SELECT id FROM capacity.holds WHERE holder = 'someone');
SELECT is(startlijn.item_busy((SELECT item_id FROM startlijn.ticket_types WHERE id = pg_temp.v('tt_solo')::uuid)), true,
          'nothing held, but the waitlist still waits for it');

-------------------------------------------------------------------------------
-- copy_event: questions follow the new edition's ticket types
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'copy_event', pg_temp.a('{"event_id": "ev"}'), 'slug'), '200 wijkloop-2028', 'next year''s edition');
INSERT INTO k SELECT 'ev28', id FROM startlijn.events WHERE slug = 'wijkloop-2028';
SELECT is((SELECT questions -> 1 -> 'ticket_types' FROM startlijn.events WHERE id = pg_temp.v('ev28')::uuid),
          (SELECT jsonb_build_array(id) FROM startlijn.ticket_types WHERE event_id = pg_temp.v('ev28')::uuid AND name = 'Estafetteloper'),
          'a question for the relay is for the new edition''s relay');
SELECT is((SELECT count(*) FROM startlijn.events e, jsonb_array_elements(e.questions) q, jsonb_array_elements_text(q -> 'ticket_types') x
            WHERE e.id = pg_temp.v('ev28')::uuid
              AND NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t WHERE t.id = x::uuid AND t.event_id = e.id)), 0::bigint,
          '... every id in the copy is a ticket type of the copy');
SELECT is((SELECT string_agg(name || ':' || one_entry_per_person, ',' ORDER BY name) FROM startlijn.ticket_types
            WHERE event_id = pg_temp.v('ev28')::uuid), '10 km A:true,10 km B:true,Estafetteloper:false',
          'one_entry_per_person is copied');
SELECT is(pg_temp.t('anna', 'set_questions', jsonb_build_object('event_id', pg_temp.v('ev28'),
            'questions', (SELECT questions FROM startlijn.events WHERE id = pg_temp.v('ev28')::uuid))), '200 ok',
          'the copied questions pass set_questions'' checks');

SELECT * FROM finish();
ROLLBACK;
