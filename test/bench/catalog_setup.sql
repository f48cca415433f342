-- startlijn catalog benchmark (make bench part catalog): the public catalog
-- (api.events, api.event) as anon on 1,000 organisations and 20,000 events,
-- beside the same queries on the same tables with row level security
-- disabled, run by their owner (bench_k.events_plain, bench_k.event_plain).
--   psql -v built=<fully built events> (the rest are bare published or draft events)
CREATE EXTENSION IF NOT EXISTS startlijn CASCADE;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT NOT EXISTS (SELECT 1 FROM startlijn.organizations WHERE id = '00000000-0000-4000-b000-000000000001') AS need_demo \gset
\if :need_demo
\ir ../fixtures/demo.sql
\endif
DROP SCHEMA IF EXISTS bench_k CASCADE;
CREATE SCHEMA bench_k;
GRANT USAGE ON SCHEMA bench_k TO anon;

-- 1,000 organisations (the demo's three and 997 more), verified, each
-- with an owner (Anna of the demo; checked at commit)
BEGIN;
INSERT INTO startlijn.organizations (name, slug, country)
SELECT 'Sportvereniging ' || (ARRAY['De Snelle Hazen', 'Polderkracht', 'Dijkrunners', 'Trapkracht', 'Zwemlust',
                                    'De Wandelaars', 'Atletiek Noord', 'Triathlon Oost'])[1 + g % 8] || ' ' || g,
       'vereniging-' || g, (ARRAY['NL', 'NL', 'NL', 'BE', 'DE'])[1 + g % 5]
  FROM generate_series(1, 997) g;
INSERT INTO startlijn.organization_members (organization_id, user_id, role)
SELECT o.id, '00000000-0000-4000-a000-000000000001', 'owner' FROM startlijn.organizations o
 WHERE o.slug LIKE 'vereniging-%';
COMMIT;
UPDATE startlijn.organizations SET verified_at = now() WHERE verified_at IS NULL;
CREATE TABLE bench_k.orgs AS SELECT row_number() OVER (ORDER BY id) AS n, id, slug FROM startlijn.organizations WHERE deleted_at IS NULL;

-- fully built events, through the organiser RPCs (the platform superadmin acts):
-- three courses, two start waves, four ticket types (one hidden, one with an
-- early-bird tier), a T-shirt in three sizes, two questions; published
CREATE FUNCTION bench_k.build_event(org uuid, i integer) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  ev uuid; c5 uuid; c10 uuid; c21 uuid; wa uuid; wb uuid; tt uuid; ad uuid;
  d timestamptz := date_trunc('day', now()) + (30 + i % 500) * interval '1 day' + interval '9 hours';
  kind text := (ARRAY['running', 'running', 'cycling', 'triathlon', 'walking', 'swimming'])[1 + i % 6];
BEGIN
  PERFORM set_config('request.jwt.claims', '{"sub": "00000000-0000-4000-a000-000000000013", "role": "authenticated"}', true);
  ev := startlijn.create_event(org, (ARRAY['Singelloop', 'Dijkenrit', 'Polderduathlon', 'Stadsloop', 'Bossenwandeling', 'Grachtenzwem'])[1 + i % 6]
                                    || ' ' || (ARRAY['Utrecht', 'Amersfoort', 'Zwolle', 'Gent', 'Leiden', 'Delft', 'Arnhem'])[1 + i % 7] || ' ' || i,
          'built-' || i, kind, d, d + interval '6 hours', NULL, 'Een mooi evenement.', 'Start en finish ' || i, 'Markt 1',
          (ARRAY['NL', 'NL', 'BE', 'DE'])[1 + i % 4], 52.09, 5.12, now() - interval '10 days', d - interval '2 days',
          NULL, 0, '[]', NULL, 10, 'info@bench.nl', NULL) ->> 'event_id';
  c5 := startlijn.create_course(ev, '5 km', 5000, NULL, 300, 1) ->> 'course_id';
  c10 := startlijn.create_course(ev, '10 km', 10000, NULL, 500, 2) ->> 'course_id';
  c21 := startlijn.create_course(ev, 'Halve marathon', 21097, NULL, 400, 3) ->> 'course_id';
  wa := startlijn.create_wave(c10, 'Startvak A', d, 250) ->> 'wave_id';
  wb := startlijn.create_wave(c10, 'Startvak B', d + interval '20 minutes', 250) ->> 'wave_id';
  tt := startlijn.create_ticket_type(ev, c5, '5 km', 1500, NULL, NULL, 900, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1) ->> 'ticket_type_id';
  PERFORM startlijn.set_price_tiers(tt::uuid, '[{"name": "Early bird", "price": 1200, "until_sold": 100}]');
  PERFORM startlijn.create_ticket_type(ev, c10, '10 km A', 2200, wa, NULL, 900, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2);
  PERFORM startlijn.create_ticket_type(ev, c10, '10 km B', 2200, wb, NULL, 900, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3);
  PERFORM startlijn.create_ticket_type(ev, c21, 'Halve marathon', 3200, NULL, NULL, 900, NULL, NULL, NULL, NULL, 'hidden',
                                       'CLUB-' || i, 16, NULL, 4);
  ad := startlijn.create_addon(ev, 'T-shirt', 'Functioneel shirt', false, 2, NULL, 1) ->> 'addon_id';
  PERFORM startlijn.create_addon_variant(ad, s, 1500, NULL, 2100, 100, n::integer)
     FROM unnest(ARRAY['S', 'M', 'L']) WITH ORDINALITY AS x(s, n);
  PERFORM startlijn.set_questions(ev, '[{"key": "ice", "type": "emergency_contact", "label": "Noodcontact", "required": true},
    {"key": "club", "type": "club", "label": "Vereniging"}]');
  PERFORM startlijn.set_event_status(ev, 'published', NULL);
  RETURN ev;
END
$$;
CREATE TABLE bench_k.built AS
  SELECT i, o.slug AS org_slug, 'built-' || i AS event_slug, bench_k.build_event(o.id, i) AS event_id
    FROM generate_series(1, :built) i JOIN bench_k.orgs o ON o.n = 1 + (i * 7) % 1000;
-- sales, through the capacity engine (hold and confirm): on each built
-- event 30 orders of 1 to 3 places for the 5 km (its early bird, until 100
-- sold, still on: the page counts what is sold) and 10 for the 10 km A;
-- then the approximate figures, as the sweep would compute them
SELECT count(capacity.confirm((capacity.hold(t.organization_id,
         jsonb_build_array(jsonb_build_object('item_id', t.item_id, 'quantity', 1 + g % 3)), '15 minutes',
         'buyer-' || b.i || '-' || g) ->> 'hold_id')::uuid))
  FROM bench_k.built b JOIN startlijn.ticket_types t ON t.event_id = b.event_id AND t.name IN ('5 km', '10 km A')
 CROSS JOIN generate_series(1, 30) g
 WHERE t.name = '5 km' OR g <= 10;
SELECT capacity._refresh_approx(array_agg(id)) FROM capacity.pools;

-- the other events up to 20,000: 20 per organisation, 3 of 4 published
-- (bare: the list shows them; their pages have no courses yet). Written as
-- their owner would end up with them, triggers off for the bulk load.
SET session_replication_role = replica;
INSERT INTO startlijn.events (organization_id, name, slug, type, description, starts_at, ends_at, venue_name, venue_address,
                              venue_country, status, registration_opens_at, registration_closes_at, contact_email, published_at)
SELECT o.id,
       (ARRAY['Singelloop', 'Dijkenrit', 'Polderduathlon', 'Stadsloop', 'Bossenwandeling', 'Grachtenzwem', 'Kerstcross',
              'Nachtrit', 'Strandrace', 'Heuvelloop'])[1 + g % 10] || ' ' ||
       (ARRAY['Utrecht', 'Amersfoort', 'Zwolle', 'Gent', 'Leiden', 'Delft', 'Arnhem', 'Hoorn', 'Breda', 'Venlo', 'Keulen'])[1 + g % 11]
       || ' ' || g,
       'bare-' || g, (ARRAY['running', 'running', 'cycling', 'triathlon', 'walking', 'swimming', 'other'])[1 + g % 7],
       'Beschrijving van evenement ' || g,
       date_trunc('day', now()) + ((g * 37) % 730 - 30) * interval '1 day' + interval '9 hours',
       date_trunc('day', now()) + ((g * 37) % 730 - 30) * interval '1 day' + interval '15 hours',
       'Sportpark ' || g, 'Laan ' || g, (ARRAY['NL', 'NL', 'NL', 'BE', 'DE', 'NL'])[1 + g % 6],
       CASE WHEN g % 4 = 0 THEN 'draft' ELSE 'published' END,
       date_trunc('day', now()) + ((g * 37) % 730 - 150) * interval '1 day', date_trunc('day', now()) + ((g * 37) % 730 - 31) * interval '1 day',
       'info@bench.nl', CASE WHEN g % 4 = 0 THEN NULL ELSE now() - interval '20 days' END
  FROM generate_series(1, 20000 - :built) g JOIN bench_k.orgs o ON o.n = 1 + g % 1000;
SET session_replication_role = origin;
ANALYZE;

-- The same queries, on the same tables with row level security disabled,
-- run by the tables' owner: what api.events and api.event return, without
-- the API (no role, no RLS, no argument checks, no SECURITY DEFINER, no
-- SET search_path). PL/pgSQL like the API's functions, so both keep their
-- plans the same way (an SQL function with subqueries is not inlined and
-- would be planned anew on every call).
CREATE FUNCTION bench_k.events_plain(type text, q text, country text, starts_from timestamptz, page integer, page_size integer)
  RETURNS jsonb LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN COALESCE((
    SELECT jsonb_agg(startlijn.public_event_json(e, x.slug, x.name) ORDER BY x.starts_at, x.id)
      FROM (SELECT e.id, e.starts_at, o.slug, o.name
              FROM startlijn.events e
              JOIN startlijn.organizations o ON o.id = e.organization_id AND o.deleted_at IS NULL
             WHERE e.status = 'published' AND e.deleted_at IS NULL
               AND (events_plain.type IS NULL OR e.type = events_plain.type)
               AND e.starts_at >= COALESCE(starts_from, now())
               AND (events_plain.country IS NULL OR e.venue_country = events_plain.country)
               AND (q IS NULL OR strpos(lower(e.name || ' ' || COALESCE(e.venue_name, '') || ' ' || o.name), lower(q)) > 0)
             ORDER BY e.starts_at, e.id
             LIMIT page_size OFFSET (page - 1) * page_size) x
      JOIN startlijn.events e ON e.id = x.id), '[]');
END
$$;

CREATE FUNCTION bench_k.event_plain(org_slug text, event_slug text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  e startlijn.events;
  o startlijn.organizations;
BEGIN
  SELECT * INTO o FROM startlijn.organizations x WHERE x.slug = org_slug AND x.deleted_at IS NULL;
  SELECT * INTO e FROM startlijn.events x
   WHERE x.organization_id = o.id AND x.slug = event_slug AND x.deleted_at IS NULL
     AND x.status IN ('published', 'closed', 'cancelled') AND x.published_at IS NOT NULL;
  IF e.id IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN startlijn.public_event_json(e, o.slug, o.name) || jsonb_build_object(
    'status', e.status, 'questions', e.questions,
    'courses', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                   'course_id', c.id, 'name', c.name, 'distance_m', c.distance_m, 'legs', c.legs,
                   'waves', COALESCE((SELECT jsonb_agg(jsonb_build_object('wave_id', w.id, 'name', w.name, 'starts_at', w.starts_at)
                                        ORDER BY w.starts_at, w.id)
                                        FROM startlijn.waves w WHERE w.course_id = c.id AND w.deleted_at IS NULL), '[]'))
                   ORDER BY c.sort_order, c.name, c.id)
                 FROM startlijn.courses c WHERE c.event_id = e.id AND c.deleted_at IS NULL), '[]'),
    'ticket_types', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                   'ticket_type_id', t.id, 'course_id', t.course_id, 'wave_id', t.wave_id, 'name', t.name,
                   'price', pr.price, 'tier', pr.tier,
                   'currency', t.currency, 'vat_rate', t.vat_rate, 'sales_end', t.sales_end,
                   'min_per_order', t.min_per_order, 'max_per_order', t.max_per_order,
                   'min_age', t.min_age, 'max_age', t.max_age, 'hidden', t.visibility = 'hidden',
                   'one_entry_per_person', t.one_entry_per_person,
                   'available_approx', a.avail, 'sold_out', COALESCE(a.avail, 0) = 0)
                   ORDER BY t.sort_order, t.name, t.id)
                 FROM startlijn.ticket_types t
                 CROSS JOIN LATERAL startlijn.price_now(t.id, t.item_id, t.price) pr
                 LEFT JOIN LATERAL (SELECT min(COALESCE(p.approx_available, 0) / ip.units) AS avail
                                      FROM capacity.item_pools ip LEFT JOIN capacity.pools p ON p.id = ip.pool_id
                                     WHERE ip.item_id = t.item_id) a ON true
                WHERE t.event_id = e.id AND t.deleted_at IS NULL AND e.status = 'published'
                  AND COALESCE(e.registration_opens_at, '-infinity') <= now()
                  AND COALESCE(e.registration_closes_at, 'infinity') > now()
                  AND COALESCE(t.sales_start, '-infinity') <= now() AND COALESCE(t.sales_end, 'infinity') > now()
                  AND t.visibility = 'public'), '[]'),
    'addons', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                   'addon_id', a.id, 'name', a.name, 'description', a.description, 'standalone', a.standalone,
                   'max_per_entry', a.max_per_entry, 'text_max_length', a.text_max_length,
                   'variants', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                  'variant_id', v.id, 'name', v.name, 'price', v.price, 'currency', v.currency,
                                  'vat_rate', v.vat_rate, 'available_approx', p.approx_available,
                                  'sold_out', v.pool_id IS NOT NULL AND COALESCE(p.approx_available, 0) = 0)
                                  ORDER BY v.sort_order, v.name, v.id)
                                FROM startlijn.addon_variants v LEFT JOIN capacity.pools p ON p.id = v.pool_id
                               WHERE v.addon_id = a.id AND v.deleted_at IS NULL), '[]'))
                   ORDER BY a.sort_order, a.name, a.id)
                 FROM startlijn.addons a
                WHERE a.event_id = e.id AND a.deleted_at IS NULL AND e.status = 'published'
                  AND COALESCE(e.registration_opens_at, '-infinity') <= now()
                  AND COALESCE(e.registration_closes_at, 'infinity') > now()), '[]'));
END
$$;

-- the catalog tables, RLS on (as installed) or off (the plain runs)
CREATE FUNCTION bench_k.rls(enabled boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['startlijn.organizations', 'startlijn.events', 'startlijn.courses', 'startlijn.waves',
                           'startlijn.ticket_types', 'startlijn.price_tiers', 'startlijn.addons', 'startlijn.addon_variants',
                           'capacity.pools', 'capacity.item_pools', 'capacity.allocations'] LOOP
    EXECUTE format('ALTER TABLE %s %s ROW LEVEL SECURITY', t, CASE WHEN enabled THEN 'ENABLE' ELSE 'DISABLE' END);
  END LOOP;
END
$$;

-- both give the same answer (checked before the runs)
CREATE FUNCTION bench_k.same() RETURNS text LANGUAGE sql AS $$
  SELECT format('events %s, event %s',
    CASE WHEN (SELECT bool_and(api.events(ty, NULL, NULL, q, c, 1, 20) = bench_k.events_plain(ty, q, c, NULL, 1, 20))
                 FROM (VALUES (NULL, NULL, NULL), ('cycling', NULL, NULL), (NULL, 'zwolle', NULL), (NULL, NULL, 'BE')) v(ty, q, c))
         THEN 'same' ELSE 'DIFFERENT' END,
    CASE WHEN (SELECT bool_and(api.event(b.org_slug, b.event_slug) = bench_k.event_plain(b.org_slug, b.event_slug))
                 FROM bench_k.built b WHERE b.i <= 20) THEN 'same' ELSE 'DIFFERENT' END)
$$;
GRANT SELECT ON bench_k.built TO anon;
