-- startlijn/catalog_api.sql: the catalog through the API (issue 24).
--
-- Organisers (owners and admins write; support and finance read) build
-- events, courses, start waves, ticket types and price tiers; anon and
-- participants read published events through api.events and api.event.
-- Every change is a trail.log entry in the organisation's log. Another
-- organisation's ids are reported as not found. See docs/catalog.md and
-- docs/api.md (section Catalog).

-------------------------------------------------------------------------------
-- Who may act, and whose ids these are
-------------------------------------------------------------------------------

-- 'write': owners, admins (and the superadmin); 'read': every member role.
CREATE FUNCTION startlijn.require_catalog_role(organization_id uuid, need text) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT CASE need
    WHEN 'write' THEN startlijn.require_org_roles(organization_id, '{owner,admin,superadmin}',
                                                  'Only owners and admins change the catalog.')
    ELSE startlijn.require_org_roles(organization_id, '{owner,admin,support,finance,superadmin}', NULL) END
$$;

-- The live event with this id when the caller may act on it with need;
-- event_not_found for another organisation's event (no existence leak).
CREATE FUNCTION startlijn.catalog_event(event_id uuid, need text) RETURNS startlijn.events
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  IF event_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument event_id is required.');
  END IF;
  SELECT * INTO e FROM startlijn.events x WHERE x.id = catalog_event.event_id AND x.deleted_at IS NULL;
  IF e.id IS NULL OR startlijn.caller_role(e.organization_id) IS NULL THEN
    PERFORM startlijn.raise('event_not_found');
  END IF;
  PERFORM startlijn.require_catalog_role(e.organization_id, need);
  RETURN e;
END
$$;

-- The event locked FOR UPDATE (its catalog changes one at a time, and
-- against reservations, which take what they sell FOR SHARE), if it may
-- still be changed: draft or published. The status is read from the
-- locked row.
CREATE FUNCTION startlijn.lock_changeable_event(event_id uuid) RETURNS startlijn.events
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events;
BEGIN
  SELECT * INTO e FROM startlijn.events x WHERE x.id = lock_changeable_event.event_id FOR UPDATE;
  IF e.status NOT IN ('draft', 'published') THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('A %s event cannot be changed.', e.status));
  END IF;
  RETURN e;
END
$$;

CREATE FUNCTION startlijn.catalog_course(course_id uuid, need text) RETURNS startlijn.courses
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT x.* FROM startlijn.courses x
   WHERE x.id = startlijn.catalog_child('startlijn.courses', catalog_course.course_id, 'course_id', 'course_not_found', catalog_course.need)
$$;

CREATE FUNCTION startlijn.catalog_wave(wave_id uuid, need text) RETURNS startlijn.waves
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT x.* FROM startlijn.waves x
   WHERE x.id = startlijn.catalog_child('startlijn.waves', catalog_wave.wave_id, 'wave_id', 'wave_not_found', catalog_wave.need)
$$;

CREATE FUNCTION startlijn.catalog_ticket_type(ticket_type_id uuid, need text) RETURNS startlijn.ticket_types
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT x.* FROM startlijn.ticket_types x
   WHERE x.id = startlijn.catalog_child('startlijn.ticket_types', catalog_ticket_type.ticket_type_id, 'ticket_type_id', 'ticket_type_not_found', catalog_ticket_type.need)
$$;

-- A refused write (CHECK, NOT NULL, UNIQUE) as the stable code of its column.
CREATE FUNCTION startlijn.catalog_refuse(state text, constraint_name text, column_name text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c text := COALESCE(NULLIF(constraint_name, ''), '');
BEGIN
  IF state = '23502' THEN
    PERFORM startlijn.raise('missing_argument', pg_catalog.format('The argument %s is required.', column_name));
  ELSIF state = '23505' THEN
    PERFORM startlijn.raise('slug_taken', 'Another event of this organization already uses this slug.',
                            'Choose another slug.');
  END IF;
  CASE
    WHEN c = '' THEN
      PERFORM startlijn.raise('invalid_argument', 'A value is out of range (docs/catalog.md).');
    WHEN c ~ '_(venue_)?name_check$' THEN
      PERFORM startlijn.raise('invalid_name', NULL, 'Use 1 to 200 characters without leading or trailing spaces.');
    WHEN c ~ '_slug_check$' THEN
      PERFORM startlijn.raise('invalid_slug', NULL, 'Use lowercase letters, digits and hyphens, for example "singelloop-2027".');
    WHEN c ~ '_time_zone_check$' THEN
      PERFORM startlijn.raise('invalid_time_zone', NULL, 'Use a name such as Europe/Amsterdam.');
    WHEN c ~ '_venue_country_check$' THEN
      PERFORM startlijn.raise('invalid_country');
    WHEN c ~ '_contact_email_check$' THEN
      PERFORM startlijn.raise('invalid_email');
    WHEN c ~ '_currency_check$' THEN
      PERFORM startlijn.raise('invalid_currency');
    WHEN c ~ '_(price|transfer_fee)_check$' THEN
      PERFORM startlijn.raise('invalid_amount', 'Amounts are whole minor units (cents) from 0 to 100000000.');
    WHEN c ~ '_questions_check$' THEN
      PERFORM startlijn.raise('invalid_questions');
    WHEN c ~ '_cancellation_policy_check$' THEN
      PERFORM startlijn.raise('invalid_cancellation_policy');
    WHEN c ~ '_moments$' THEN
      PERFORM startlijn.raise('invalid_period', 'Dates and times lie between the years 1900 and 9999.',
                              'Send an ISO 8601 timestamp such as 2027-05-01T10:00:00+02:00.');
    WHEN c ~ '(_period|_registration_period|_registration_before_end|_transfer_cutoff|_sales_window)$' THEN
      PERFORM startlijn.raise('invalid_period', pg_catalog.format('%s: a period ends after it starts, inside the event.', c));
    ELSE
      PERFORM startlijn.raise('invalid_argument', pg_catalog.format('The value does not satisfy %s (docs/catalog.md).', c));
  END CASE;
END
$$;

CREATE FUNCTION startlijn.check_event_type(value text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF value IS NOT NULL AND value NOT IN ('running', 'cycling', 'triathlon', 'walking', 'swimming', 'other') THEN
    PERFORM startlijn.raise('invalid_argument', 'type is one of running, cycling, triathlon, walking, swimming, other.');
  END IF;
  RETURN value;
END
$$;

CREATE FUNCTION startlijn.access_code_hash(salt bytea, code text) RETURNS bytea
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.sha256(salt OPERATOR(pg_catalog.||) pg_catalog.convert_to(code, 'UTF8')); END $$;

-- a constant-time comparison (libsodium's sodium_memcmp); false when either
-- is NULL or the lengths differ (src/startlijn/sl_bytes_sql.c)
CREATE FUNCTION startlijn.bytes_equal(a bytea, b bytea) RETURNS boolean
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_bytes_equal';

CREATE FUNCTION startlijn.check_access_code(visibility text, access_code text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF visibility IS NOT NULL AND visibility NOT IN ('public', 'hidden') THEN
    PERFORM startlijn.raise('invalid_argument', 'visibility is public or hidden.');
  END IF;
  IF visibility = 'hidden' AND access_code IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'A hidden ticket type needs an access_code.');
  END IF;
  IF access_code IS NOT NULL AND (pg_catalog.length(access_code) NOT BETWEEN 6 AND 64
                                  OR access_code !~ '^[A-Za-z0-9_-]+$') THEN
    PERFORM startlijn.raise('invalid_argument', 'An access code has 6 to 64 letters, digits, hyphens or underscores.');
  END IF;
END
$$;

-- The questions with a ticket type taken out of every ticket_types list
-- (a list it was the only member of is the caller's to refuse first).
CREATE FUNCTION startlijn.questions_without_ticket_type(questions jsonb, ticket_type_id uuid) RETURNS jsonb
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(pg_catalog.jsonb_agg(CASE WHEN q ? 'ticket_types' THEN
           pg_catalog.jsonb_set(q, '{ticket_types}', (SELECT pg_catalog.jsonb_agg(x ORDER BY o2)
             FROM pg_catalog.jsonb_array_elements(q OPERATOR(pg_catalog.->) 'ticket_types') WITH ORDINALITY AS b(x, o2)
            WHERE x OPERATOR(pg_catalog.<>) pg_catalog.to_jsonb(ticket_type_id::text)))
           ELSE q END ORDER BY o), '[]')
    FROM pg_catalog.jsonb_array_elements(questions) WITH ORDINALITY AS a(q, o)
$$;

-- The questions with every ticket type id mapped (copy_event: last year's
-- ticket types to the new edition's), ids without a mapping dropped.
CREATE FUNCTION startlijn.questions_map_ticket_types(questions jsonb, map jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(pg_catalog.jsonb_agg(CASE WHEN q ? 'ticket_types' THEN
           pg_catalog.jsonb_set(q, '{ticket_types}', COALESCE((SELECT pg_catalog.jsonb_agg(map OPERATOR(pg_catalog.->) x ORDER BY o2)
             FROM pg_catalog.jsonb_array_elements_text(q OPERATOR(pg_catalog.->) 'ticket_types') WITH ORDINALITY AS b(x, o2)
            WHERE map ? x), '[]'))
           ELSE q END ORDER BY o), '[]')
    FROM pg_catalog.jsonb_array_elements(questions) WITH ORDINALITY AS a(q, o)
$$;

-- The questions anon may see: those for every ticket type, and those for a
-- ticket type the caller sees (visible), listing only the visible ones (a
-- hidden ticket type's id shows only with its access code). PL/pgSQL: its
-- query keeps one plan per session, where an SQL function with a SET clause
-- is planned again on every event page.
CREATE FUNCTION startlijn.public_questions(questions jsonb, visible uuid[]) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN (
    SELECT COALESCE(pg_catalog.jsonb_agg(CASE WHEN q ? 'ticket_types' THEN
             pg_catalog.jsonb_set(q, '{ticket_types}', (SELECT pg_catalog.jsonb_agg(x ORDER BY o2)
               FROM pg_catalog.jsonb_array_elements_text(q OPERATOR(pg_catalog.->) 'ticket_types') WITH ORDINALITY AS b(x, o2)
              WHERE x::uuid OPERATOR(pg_catalog.=) ANY (visible)))
             ELSE q END ORDER BY o), '[]')
      FROM pg_catalog.jsonb_array_elements(questions) WITH ORDINALITY AS a(q, o)
     WHERE NOT q ? 'ticket_types'
        OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements_text(q OPERATOR(pg_catalog.->) 'ticket_types') x
                    WHERE x::uuid OPERATOR(pg_catalog.=) ANY (visible)));
END
$$;

-------------------------------------------------------------------------------
-- JSON of the catalog (organisers)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.event_json(e startlijn.events) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'event_id', e.id, 'organization_id', e.organization_id, 'name', e.name, 'slug', e.slug, 'type', e.type,
    'description', e.description, 'starts_at', e.starts_at, 'ends_at', e.ends_at, 'time_zone', e.time_zone,
    'venue', pg_catalog.jsonb_build_object('name', e.venue_name, 'address', e.venue_address,
                                           'country', e.venue_country, 'latitude', e.latitude,
                                           'longitude', e.longitude),
    'status', e.status, 'registration_opens_at', e.registration_opens_at,
    'registration_closes_at', e.registration_closes_at, 'transfer_cutoff_at', e.transfer_cutoff_at,
    'transfer_fee', e.transfer_fee, 'cancellation_policy', e.cancellation_policy, 'minimum_age', e.minimum_age,
    'max_entries_per_order', e.max_entries_per_order, 'contact_email', e.contact_email,
    'questions', e.questions, 'pool_id', e.pool_id, 'capacity', (SELECT p.capacity FROM capacity.pools p WHERE p.id = e.pool_id),
    'copied_from', e.copied_from, 'published_at', e.published_at,
    'created_at', e.created_at, 'updated_at', e.updated_at)
$$;

CREATE FUNCTION startlijn.course_json(c startlijn.courses) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'course_id', c.id, 'event_id', c.event_id, 'name', c.name, 'distance_m', c.distance_m, 'legs', c.legs,
    'sort_order', c.sort_order, 'pool_id', c.pool_id,
    'capacity', (SELECT p.capacity FROM capacity.pools p WHERE p.id = c.pool_id))
$$;

CREATE FUNCTION startlijn.wave_json(w startlijn.waves) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'wave_id', w.id, 'course_id', w.course_id, 'event_id', w.event_id, 'name', w.name, 'starts_at', w.starts_at,
    'pool_id', w.pool_id, 'places', (SELECT p.capacity FROM capacity.pools p WHERE p.id = w.pool_id))
$$;

CREATE FUNCTION startlijn.ticket_type_json(t startlijn.ticket_types) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'ticket_type_id', t.id, 'event_id', t.event_id, 'course_id', t.course_id, 'wave_id', t.wave_id,
    'name', t.name, 'price', t.price, 'current_price', (startlijn.current_price(t)).price,
    'current_tier', (startlijn.current_price(t)).tier, 'currency', t.currency, 'vat_rate', t.vat_rate,
    'sales_start', t.sales_start, 'sales_end', t.sales_end, 'min_per_order', t.min_per_order,
    'max_per_order', t.max_per_order, 'visibility', t.visibility, 'min_age', t.min_age, 'max_age', t.max_age,
    'sort_order', t.sort_order, 'one_entry_per_person', t.one_entry_per_person, 'item_id', t.item_id,
    'tiers', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'position', p.position, 'name', p.name, 'price', p.price,
                         'until_at', p.until_at, 'until_sold', p.until_sold) ORDER BY p.position)
                         FROM startlijn.price_tiers p WHERE p.ticket_type_id = t.id AND p.deleted_at IS NULL), '[]'))
$$;

-------------------------------------------------------------------------------
-- Events (owners and admins write)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.create_event(
    organization_id uuid, name text, slug text, type text, starts_at timestamptz, ends_at timestamptz,
    time_zone text, description text, venue_name text, venue_address text, venue_country text,
    latitude numeric, longitude numeric, registration_opens_at timestamptz, registration_closes_at timestamptz,
    transfer_cutoff_at timestamptz, transfer_fee bigint, cancellation_policy jsonb, minimum_age integer,
    max_entries_per_order integer, contact_email text, capacity integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid;
  e startlijn.events;
  st text; con text; col text;
BEGIN
  PERFORM startlijn.require_catalog_role(organization_id, 'write');
  uid := startlijn.require_user();
  PERFORM startlijn.check_name(name);
  PERFORM startlijn.check_slug(slug);
  PERFORM startlijn.check_event_type(type);
  IF capacity IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(organization_id, NULL, capacity);
  END IF;
  BEGIN
    INSERT INTO startlijn.events AS x (organization_id, name, slug, type, starts_at, ends_at, time_zone, description,
        venue_name, venue_address, venue_country, latitude, longitude, registration_opens_at,
        registration_closes_at, transfer_cutoff_at, transfer_fee, cancellation_policy, minimum_age,
        max_entries_per_order, contact_email, created_by)
    VALUES (create_event.organization_id, create_event.name, create_event.slug, create_event.type,
        create_event.starts_at, create_event.ends_at, COALESCE(create_event.time_zone, 'Europe/Amsterdam'),
        create_event.description, create_event.venue_name, create_event.venue_address,
        create_event.venue_country, create_event.latitude, create_event.longitude,
        create_event.registration_opens_at, create_event.registration_closes_at, create_event.transfer_cutoff_at,
        COALESCE(create_event.transfer_fee, 0), COALESCE(create_event.cancellation_policy, '[]'),
        create_event.minimum_age, COALESCE(create_event.max_entries_per_order, 10), create_event.contact_email, uid)
    RETURNING x.* INTO e;
  EXCEPTION WHEN check_violation OR not_null_violation OR unique_violation OR numeric_value_out_of_range THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  IF capacity IS NOT NULL THEN
    UPDATE startlijn.events x
       SET pool_id = (capacity.create_pool(e.organization_id, e.name, create_event.capacity) OPERATOR(pg_catalog.->>) 'pool_id')::uuid
     WHERE x.id = e.id RETURNING x.* INTO e;
  END IF;
  PERFORM trail.log(e.organization_id, 'catalog.event_created', 'event:' OPERATOR(pg_catalog.||) e.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'name', e.name, 'slug', e.slug, 'capacity', capacity));
  RETURN startlijn.event_json(e);
END
$$;
CREATE FUNCTION api.create_event(
    organization_id uuid, name text DEFAULT NULL, slug text DEFAULT NULL, type text DEFAULT NULL,
    starts_at timestamptz DEFAULT NULL, ends_at timestamptz DEFAULT NULL, time_zone text DEFAULT NULL,
    description text DEFAULT NULL, venue_name text DEFAULT NULL, venue_address text DEFAULT NULL,
    venue_country text DEFAULT NULL, latitude numeric DEFAULT NULL, longitude numeric DEFAULT NULL,
    registration_opens_at timestamptz DEFAULT NULL, registration_closes_at timestamptz DEFAULT NULL,
    transfer_cutoff_at timestamptz DEFAULT NULL, transfer_fee bigint DEFAULT NULL,
    cancellation_policy jsonb DEFAULT NULL, minimum_age integer DEFAULT NULL,
    max_entries_per_order integer DEFAULT NULL, contact_email text DEFAULT NULL, capacity integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_event(organization_id, name, slug, type, starts_at, ends_at, time_zone, description, venue_name, venue_address, venue_country, latitude, longitude, registration_opens_at, registration_closes_at, transfer_cutoff_at, transfer_fee, cancellation_policy, minimum_age, max_entries_per_order, contact_email, capacity) $$;

-- Change what is given; clear lists the optional fields to empty.
CREATE FUNCTION startlijn.update_event(
    event_id uuid, name text, slug text, type text, starts_at timestamptz, ends_at timestamptz,
    time_zone text, description text, venue_name text, venue_address text, venue_country text,
    latitude numeric, longitude numeric, registration_opens_at timestamptz, registration_closes_at timestamptz,
    transfer_cutoff_at timestamptz, transfer_fee bigint, cancellation_policy jsonb, minimum_age integer,
    max_entries_per_order integer, contact_email text, capacity integer, clear text[])
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  cl text[];
  st text; con text; col text;
BEGIN
  PERFORM 1 FROM startlijn.events x WHERE x.id = e.id FOR UPDATE;
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  IF slug IS NOT NULL THEN PERFORM startlijn.check_slug(slug); END IF;
  PERFORM startlijn.check_event_type(type);
  cl := startlijn.check_clear(clear, ARRAY['description', 'venue_name', 'venue_address', 'venue_country',
                                           'coordinates', 'registration_opens_at', 'registration_closes_at',
                                           'transfer_cutoff_at', 'minimum_age', 'contact_email']);
  IF capacity IS NOT NULL THEN
    IF e.pool_id IS NULL AND EXISTS (SELECT 1 FROM startlijn.ticket_types t WHERE t.event_id = e.id) THEN
      PERFORM startlijn.raise('invalid_argument', 'An overall capacity can be added only before the first ticket type.',
                              'Limit the courses or waves instead.');
    END IF;
    PERFORM startlijn.check_capacity_limit(e.organization_id, e.pool_id, capacity);
  END IF;
  BEGIN
    UPDATE startlijn.events x SET
      name = COALESCE(update_event.name, x.name),
      slug = COALESCE(update_event.slug, x.slug),
      type = COALESCE(update_event.type, x.type),
      starts_at = COALESCE(update_event.starts_at, x.starts_at),
      ends_at = COALESCE(update_event.ends_at, x.ends_at),
      time_zone = COALESCE(update_event.time_zone, x.time_zone),
      description = CASE WHEN 'description' = ANY (cl) THEN NULL ELSE COALESCE(update_event.description, x.description) END,
      venue_name = CASE WHEN 'venue_name' = ANY (cl) THEN NULL ELSE COALESCE(update_event.venue_name, x.venue_name) END,
      venue_address = CASE WHEN 'venue_address' = ANY (cl) THEN NULL ELSE COALESCE(update_event.venue_address, x.venue_address) END,
      venue_country = CASE WHEN 'venue_country' = ANY (cl) THEN NULL ELSE COALESCE(update_event.venue_country, x.venue_country) END,
      latitude = CASE WHEN 'coordinates' = ANY (cl) THEN NULL ELSE COALESCE(update_event.latitude, x.latitude) END,
      longitude = CASE WHEN 'coordinates' = ANY (cl) THEN NULL ELSE COALESCE(update_event.longitude, x.longitude) END,
      registration_opens_at = CASE WHEN 'registration_opens_at' = ANY (cl) THEN NULL
                                   ELSE COALESCE(update_event.registration_opens_at, x.registration_opens_at) END,
      registration_closes_at = CASE WHEN 'registration_closes_at' = ANY (cl) THEN NULL
                                    ELSE COALESCE(update_event.registration_closes_at, x.registration_closes_at) END,
      transfer_cutoff_at = CASE WHEN 'transfer_cutoff_at' = ANY (cl) THEN NULL
                                ELSE COALESCE(update_event.transfer_cutoff_at, x.transfer_cutoff_at) END,
      transfer_fee = COALESCE(update_event.transfer_fee, x.transfer_fee),
      cancellation_policy = COALESCE(update_event.cancellation_policy, x.cancellation_policy),
      minimum_age = CASE WHEN 'minimum_age' = ANY (cl) THEN NULL ELSE COALESCE(update_event.minimum_age, x.minimum_age) END,
      max_entries_per_order = COALESCE(update_event.max_entries_per_order, x.max_entries_per_order),
      contact_email = CASE WHEN 'contact_email' = ANY (cl) THEN NULL ELSE COALESCE(update_event.contact_email, x.contact_email) END
     WHERE x.id = e.id RETURNING x.* INTO e;
  EXCEPTION WHEN check_violation OR not_null_violation OR unique_violation OR numeric_value_out_of_range THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  IF capacity IS NOT NULL THEN
    IF e.pool_id IS NULL THEN
      UPDATE startlijn.events x
         SET pool_id = (capacity.create_pool(e.organization_id, e.name, update_event.capacity) OPERATOR(pg_catalog.->>) 'pool_id')::uuid
       WHERE x.id = e.id RETURNING x.* INTO e;
    ELSE
      PERFORM capacity.set_capacity(e.pool_id, capacity, 'event capacity changed');
    END IF;
  END IF;
  PERFORM trail.log(e.organization_id, 'catalog.event_updated', 'event:' OPERATOR(pg_catalog.||) e.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'event_id', e.id, 'name', name, 'slug', slug, 'type', type, 'starts_at', starts_at,
                      'ends_at', ends_at, 'registration_opens_at', registration_opens_at,
                      'registration_closes_at', registration_closes_at, 'capacity', capacity,
                      'cleared', pg_catalog.to_jsonb(cl))));
  RETURN startlijn.event_json(e);
END
$$;
CREATE FUNCTION api.update_event(
    event_id uuid, name text DEFAULT NULL, slug text DEFAULT NULL, type text DEFAULT NULL,
    starts_at timestamptz DEFAULT NULL, ends_at timestamptz DEFAULT NULL, time_zone text DEFAULT NULL,
    description text DEFAULT NULL, venue_name text DEFAULT NULL, venue_address text DEFAULT NULL,
    venue_country text DEFAULT NULL, latitude numeric DEFAULT NULL, longitude numeric DEFAULT NULL,
    registration_opens_at timestamptz DEFAULT NULL, registration_closes_at timestamptz DEFAULT NULL,
    transfer_cutoff_at timestamptz DEFAULT NULL, transfer_fee bigint DEFAULT NULL,
    cancellation_policy jsonb DEFAULT NULL, minimum_age integer DEFAULT NULL,
    max_entries_per_order integer DEFAULT NULL, contact_email text DEFAULT NULL, capacity integer DEFAULT NULL,
    clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_event(event_id, name, slug, type, starts_at, ends_at, time_zone, description, venue_name, venue_address, venue_country, latitude, longitude, registration_opens_at, registration_closes_at, transfer_cutoff_at, transfer_fee, cancellation_policy, minimum_age, max_entries_per_order, contact_email, capacity, clear) $$;

-- publish, close, cancel, delete: the status machine of events_guard
CREATE FUNCTION startlijn.set_event_status(event_id uuid, status text, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  was text := e.status;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  IF status = e.status THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('The event is %s already.', status));
  END IF;
  IF status = 'deleted' THEN
    UPDATE startlijn.events x SET deleted_at = pg_catalog.now() WHERE x.id = e.id RETURNING x.* INTO e;
  ELSE
    UPDATE startlijn.events x SET status = set_event_status.status WHERE x.id = e.id RETURNING x.* INTO e;
  END IF;
  IF status = 'published' THEN
    -- the key that will sign the event's tickets exists before the first
    -- sale: a ticket drop's first payments then never wait to create it
    PERFORM tokens.signing_key(startlijn.event_scope(e.id), e.organization_id);
  END IF;
  PERFORM trail.log(e.organization_id, 'catalog.event_' OPERATOR(pg_catalog.||) status,
                    'event:' OPERATOR(pg_catalog.||) e.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'from', was, 'to', status),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN startlijn.event_json(e) OPERATOR(pg_catalog.||)
         pg_catalog.jsonb_build_object('deleted', e.deleted_at IS NOT NULL);
END
$$;
CREATE FUNCTION api.publish_event(event_id uuid) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_event_status(event_id, 'published', NULL) $$;
CREATE FUNCTION api.close_event(event_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_event_status(event_id, 'closed', reason) $$;
CREATE FUNCTION api.cancel_event(event_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_event_status(event_id, 'cancelled', reason) $$;
CREATE FUNCTION api.delete_event(event_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_event_status(event_id, 'deleted', reason) $$;

-- The organisation's events, drafts included (every member role).
CREATE FUNCTION startlijn.organization_events(organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_catalog_role(organization_id, 'read');
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.event_json(e) ORDER BY e.starts_at, e.id)
                     FROM startlijn.events e
                    WHERE e.organization_id = organization_events.organization_id AND e.deleted_at IS NULL), '[]');
END
$$;
CREATE FUNCTION api.organization_events(organization_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.organization_events(organization_id) $$;

-------------------------------------------------------------------------------
-- Courses and start waves
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.create_course(event_id uuid, name text, distance_m integer, legs jsonb,
                                        capacity integer, sort_order integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  c startlijn.courses;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(e.id);
  PERFORM startlijn.check_name(name);
  IF legs IS NOT NULL AND NOT startlijn.valid_legs(legs) THEN
    PERFORM startlijn.raise('invalid_argument',
      'legs is an array of at most 10 objects {"sport": swim|bike|run|walk|paddle|other, "distance_m": 1..1000000}.');
  END IF;
  IF capacity IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(e.organization_id, NULL, capacity);
  END IF;
  BEGIN
    INSERT INTO startlijn.courses AS x (organization_id, event_id, name, distance_m, legs, sort_order)
    VALUES (e.organization_id, e.id, create_course.name, create_course.distance_m, COALESCE(create_course.legs, '[]'),
            COALESCE(create_course.sort_order, 0))
    RETURNING x.* INTO c;
  EXCEPTION WHEN check_violation OR not_null_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  IF capacity IS NOT NULL THEN
    UPDATE startlijn.courses x
       SET pool_id = (capacity.create_pool(e.organization_id, e.name || ' ' || c.name, create_course.capacity)
                      OPERATOR(pg_catalog.->>) 'pool_id')::uuid
     WHERE x.id = c.id RETURNING x.* INTO c;
  END IF;
  PERFORM trail.log(e.organization_id, 'catalog.course_created', 'course:' OPERATOR(pg_catalog.||) c.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'course_id', c.id, 'name', c.name,
                                                  'distance_m', c.distance_m, 'capacity', capacity));
  RETURN startlijn.course_json(c);
END
$$;
CREATE FUNCTION api.create_course(event_id uuid, name text DEFAULT NULL, distance_m integer DEFAULT NULL,
                                  legs jsonb DEFAULT NULL, capacity integer DEFAULT NULL, sort_order integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_course(event_id, name, distance_m, legs, capacity, sort_order) $$;

CREATE FUNCTION startlijn.update_course(course_id uuid, name text, distance_m integer, legs jsonb,
                                        capacity integer, sort_order integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c startlijn.courses := startlijn.catalog_course(course_id, 'write');
  e startlijn.events;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(c.event_id);
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  IF legs IS NOT NULL AND NOT startlijn.valid_legs(legs) THEN
    PERFORM startlijn.raise('invalid_argument',
      'legs is an array of at most 10 objects {"sport": swim|bike|run|walk|paddle|other, "distance_m": 1..1000000}.');
  END IF;
  IF capacity IS NOT NULL THEN
    IF c.pool_id IS NULL THEN
      PERFORM startlijn.raise('invalid_argument', 'This course has no capacity of its own; it was created without one.',
                              'Limit its waves, or the event, instead.');
    END IF;
    PERFORM startlijn.check_capacity_limit(c.organization_id, c.pool_id, capacity);
  END IF;
  BEGIN
    UPDATE startlijn.courses x SET
      name = COALESCE(update_course.name, x.name),
      distance_m = COALESCE(update_course.distance_m, x.distance_m),
      legs = COALESCE(update_course.legs, x.legs),
      sort_order = COALESCE(update_course.sort_order, x.sort_order)
     WHERE x.id = c.id RETURNING x.* INTO c;
  EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  IF capacity IS NOT NULL THEN
    -- lowering below what is sold or held: capacity_in_use (the engine)
    PERFORM capacity.set_capacity(c.pool_id, capacity, 'course capacity changed');
  END IF;
  PERFORM trail.log(c.organization_id, 'catalog.course_updated', 'course:' OPERATOR(pg_catalog.||) c.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'course_id', c.id, 'name', name, 'distance_m', distance_m, 'legs', legs,
                      'capacity', capacity, 'sort_order', sort_order)));
  RETURN startlijn.course_json(c);
END
$$;
CREATE FUNCTION api.update_course(course_id uuid, name text DEFAULT NULL, distance_m integer DEFAULT NULL,
                                  legs jsonb DEFAULT NULL, capacity integer DEFAULT NULL, sort_order integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_course(course_id, name, distance_m, legs, capacity, sort_order) $$;

CREATE FUNCTION startlijn.create_wave(course_id uuid, name text, starts_at timestamptz, places integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c startlijn.courses := startlijn.catalog_course(course_id, 'write');
  e startlijn.events;
  w startlijn.waves;
  pool uuid;
BEGIN
  e := startlijn.lock_changeable_event(c.event_id);
  PERFORM startlijn.check_name(name);
  IF starts_at IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument starts_at is required.');
  END IF;
  IF starts_at < e.starts_at OR starts_at > e.ends_at THEN
    PERFORM startlijn.raise('invalid_period', 'A wave starts between the start and the end of its event.');
  END IF;
  IF places IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument places is required.');
  END IF;
  PERFORM startlijn.check_capacity_limit(c.organization_id, NULL, places);
  pool := (capacity.create_pool(c.organization_id, e.name || ' ' || c.name || ' ' || name, places)
           OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
  INSERT INTO startlijn.waves AS x (organization_id, event_id, course_id, name, starts_at, pool_id)
  VALUES (c.organization_id, c.event_id, c.id, create_wave.name, create_wave.starts_at, pool)
  RETURNING x.* INTO w;
  PERFORM trail.log(c.organization_id, 'catalog.wave_created', 'wave:' OPERATOR(pg_catalog.||) w.id::text,
                    pg_catalog.jsonb_build_object('course_id', c.id, 'wave_id', w.id, 'name', w.name,
                                                  'starts_at', w.starts_at, 'places', places));
  RETURN startlijn.wave_json(w);
END
$$;
CREATE FUNCTION api.create_wave(course_id uuid, name text DEFAULT NULL, starts_at timestamptz DEFAULT NULL,
                                places integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_wave(course_id, name, starts_at, places) $$;

CREATE FUNCTION startlijn.update_wave(wave_id uuid, name text, starts_at timestamptz, places integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w startlijn.waves := startlijn.catalog_wave(wave_id, 'write');
  e startlijn.events;
BEGIN
  e := startlijn.lock_changeable_event(w.event_id);
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  IF starts_at IS NOT NULL AND (starts_at < e.starts_at OR starts_at > e.ends_at) THEN
    PERFORM startlijn.raise('invalid_period', 'A wave starts between the start and the end of its event.');
  END IF;
  IF places IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(w.organization_id, w.pool_id, places);
  END IF;
  UPDATE startlijn.waves x SET name = COALESCE(update_wave.name, x.name),
                               starts_at = COALESCE(update_wave.starts_at, x.starts_at)
   WHERE x.id = w.id RETURNING x.* INTO w;
  IF places IS NOT NULL THEN
    PERFORM capacity.set_capacity(w.pool_id, places, 'wave places changed');
  END IF;
  PERFORM trail.log(w.organization_id, 'catalog.wave_updated', 'wave:' OPERATOR(pg_catalog.||) w.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'wave_id', w.id, 'name', name, 'starts_at', starts_at, 'places', places)));
  RETURN startlijn.wave_json(w);
END
$$;
CREATE FUNCTION api.update_wave(wave_id uuid, name text DEFAULT NULL, starts_at timestamptz DEFAULT NULL,
                                places integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_wave(wave_id, name, starts_at, places) $$;

-- Delete a course (with its start waves) or a start wave, softly: refused
-- (has_ticket_types) while a live ticket type sells from it; a deleted
-- ticket type sold nothing (delete_ticket_type), so nothing sold draws
-- from their pools. The event's row lock orders this against
-- create_ticket_type and update_ticket_type.
CREATE FUNCTION startlijn.delete_course(course_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c startlijn.courses := startlijn.catalog_course(course_id, 'write');
  e startlijn.events;
  n bigint;
  waves uuid[];
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  e := startlijn.lock_changeable_event(c.event_id);
  SELECT pg_catalog.count(*) INTO n FROM startlijn.ticket_types t WHERE t.course_id = c.id AND t.deleted_at IS NULL;
  IF n > 0 THEN
    PERFORM startlijn.raise('has_ticket_types', pg_catalog.format('%s ticket types sell this course.', n),
                            'Delete them or move them to another course first (update_ticket_type: course_id).');
  END IF;
  UPDATE startlijn.waves w SET deleted_at = pg_catalog.now() WHERE w.course_id = c.id AND w.deleted_at IS NULL;
  SELECT pg_catalog.array_agg(w.id ORDER BY w.id) INTO waves FROM startlijn.waves w WHERE w.course_id = c.id;
  UPDATE startlijn.courses x SET deleted_at = pg_catalog.now() WHERE x.id = c.id RETURNING x.* INTO c;
  PERFORM trail.log(c.organization_id, 'catalog.course_deleted', 'course:' OPERATOR(pg_catalog.||) c.id::text,
                    pg_catalog.jsonb_build_object('event_id', c.event_id, 'course_id', c.id, 'name', c.name,
                                                  'wave_ids', pg_catalog.to_jsonb(waves)),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN pg_catalog.jsonb_build_object('course_id', c.id, 'deleted', true);
END
$$;
CREATE FUNCTION api.delete_course(course_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_course(course_id, reason) $$;

CREATE FUNCTION startlijn.delete_wave(wave_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w startlijn.waves := startlijn.catalog_wave(wave_id, 'write');
  e startlijn.events;
  n bigint;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  e := startlijn.lock_changeable_event(w.event_id);
  SELECT pg_catalog.count(*) INTO n FROM startlijn.ticket_types t WHERE t.wave_id = w.id AND t.deleted_at IS NULL;
  IF n > 0 THEN
    PERFORM startlijn.raise('has_ticket_types', pg_catalog.format('%s ticket types sell this start wave.', n),
                            'Delete them or move them to another wave first (update_ticket_type: wave_id).');
  END IF;
  UPDATE startlijn.waves x SET deleted_at = pg_catalog.now() WHERE x.id = w.id RETURNING x.* INTO w;
  PERFORM trail.log(w.organization_id, 'catalog.wave_deleted', 'wave:' OPERATOR(pg_catalog.||) w.id::text,
                    pg_catalog.jsonb_build_object('event_id', w.event_id, 'course_id', w.course_id, 'wave_id', w.id,
                                                  'name', w.name),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN pg_catalog.jsonb_build_object('wave_id', w.id, 'deleted', true);
END
$$;
CREATE FUNCTION api.delete_wave(wave_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_wave(wave_id, reason) $$;

-------------------------------------------------------------------------------
-- Ticket types and price tiers
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.create_ticket_type(
    event_id uuid, course_id uuid, name text, price bigint, wave_id uuid, currency text, vat_rate integer,
    sales_start timestamptz, sales_end timestamptz, min_per_order integer, max_per_order integer,
    visibility text, access_code text, min_age integer, max_age integer, sort_order integer,
    one_entry_per_person boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  c startlijn.courses;
  w startlijn.waves;
  t startlijn.ticket_types;
  pools jsonb;
  item uuid;
  salt bytea;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(e.id);
  c := startlijn.catalog_course(course_id, 'write');
  IF c.event_id <> e.id THEN
    PERFORM startlijn.raise('course_not_found', 'The course belongs to another event.');
  END IF;
  IF wave_id IS NOT NULL THEN
    w := startlijn.catalog_wave(wave_id, 'write');
    IF w.course_id <> c.id THEN
      PERFORM startlijn.raise('wave_not_found', 'The wave belongs to another course.');
    END IF;
  END IF;
  PERFORM startlijn.check_name(name);
  PERFORM startlijn.check_access_code(COALESCE(visibility, 'public'), access_code);
  IF access_code IS NOT NULL AND COALESCE(visibility, 'public') <> 'hidden' THEN
    PERFORM startlijn.raise('invalid_argument', 'Only a hidden ticket type has an access code.');
  END IF;
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pool_id', p)) INTO pools
    FROM pg_catalog.unnest(ARRAY[e.pool_id, c.pool_id, w.pool_id]) p WHERE p IS NOT NULL;
  IF pools IS NULL THEN
    PERFORM startlijn.raise('invalid_argument', 'A ticket type draws from a capacity: the event, its course or its wave needs one.',
                            'Give the course a capacity, or create a start wave with places.');
  END IF;
  IF COALESCE(visibility, 'public') = 'hidden' THEN
    salt := startlijn.random_salt();
  END IF;
  item := (capacity.create_item(e.organization_id, e.name || ' ' || name, pools) OPERATOR(pg_catalog.->>) 'item_id')::uuid;
  BEGIN
    INSERT INTO startlijn.ticket_types AS x (organization_id, event_id, course_id, wave_id, name, price, currency,
        vat_rate, sales_start, sales_end, min_per_order, max_per_order, visibility, access_code_salt,
        access_code_hash, min_age, max_age, sort_order, one_entry_per_person, item_id)
    VALUES (e.organization_id, e.id, c.id, w.id, create_ticket_type.name, create_ticket_type.price,
        COALESCE(create_ticket_type.currency, 'EUR'), COALESCE(create_ticket_type.vat_rate, 0),
        create_ticket_type.sales_start, create_ticket_type.sales_end,
        COALESCE(create_ticket_type.min_per_order, 1), COALESCE(create_ticket_type.max_per_order, 10),
        COALESCE(create_ticket_type.visibility, 'public'), salt, startlijn.access_code_hash(salt, access_code),
        create_ticket_type.min_age, create_ticket_type.max_age, COALESCE(create_ticket_type.sort_order, 0),
        COALESCE(create_ticket_type.one_entry_per_person, true), item)
    RETURNING x.* INTO t;
  EXCEPTION WHEN check_violation OR not_null_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  PERFORM trail.log(e.organization_id, 'catalog.ticket_type_created', 'ticket_type:' OPERATOR(pg_catalog.||) t.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'ticket_type_id', t.id, 'name', t.name,
                                                  'price', t.price, 'currency', t.currency, 'item_id', item,
                                                  'visibility', t.visibility,
                                                  'one_entry_per_person', t.one_entry_per_person));
  RETURN startlijn.ticket_type_json(t);
END
$$;
CREATE FUNCTION api.create_ticket_type(
    event_id uuid, course_id uuid DEFAULT NULL, name text DEFAULT NULL, price bigint DEFAULT NULL,
    wave_id uuid DEFAULT NULL, currency text DEFAULT NULL, vat_rate integer DEFAULT NULL,
    sales_start timestamptz DEFAULT NULL, sales_end timestamptz DEFAULT NULL, min_per_order integer DEFAULT NULL,
    max_per_order integer DEFAULT NULL, visibility text DEFAULT NULL, access_code text DEFAULT NULL,
    min_age integer DEFAULT NULL, max_age integer DEFAULT NULL, sort_order integer DEFAULT NULL,
    one_entry_per_person boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_ticket_type(event_id, course_id, name, price, wave_id, currency, vat_rate, sales_start, sales_end, min_per_order, max_per_order, visibility, access_code, min_age, max_age, sort_order, one_entry_per_person) $$;

CREATE FUNCTION startlijn.update_ticket_type(
    ticket_type_id uuid, name text, price bigint, currency text, vat_rate integer,
    sales_start timestamptz, sales_end timestamptz, min_per_order integer, max_per_order integer,
    visibility text, access_code text, min_age integer, max_age integer, sort_order integer, clear text[],
    course_id uuid DEFAULT NULL, wave_id uuid DEFAULT NULL, one_entry_per_person boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t startlijn.ticket_types := startlijn.catalog_ticket_type(ticket_type_id, 'write');
  e startlijn.events;
  cl text[];
  vis text;
  salt bytea;
  c startlijn.courses;
  w startlijn.waves;
  new_wave uuid;
  moved boolean;
  pools jsonb;
  old_item uuid := t.item_id;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(t.event_id);
  -- the ticket type's row lock: reserve takes it FOR SHARE before it
  -- prices and holds, so a move or a delete waits for (and then sees) it
  SELECT * INTO t FROM startlijn.ticket_types x WHERE x.id = t.id FOR UPDATE;
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  cl := startlijn.check_clear(clear, ARRAY['sales_start', 'sales_end', 'min_age', 'max_age', 'wave_id']);
  IF wave_id IS NOT NULL AND 'wave_id' = ANY (cl) THEN
    PERFORM startlijn.raise('invalid_argument', 'Give a wave_id or clear it, not both.');
  END IF;
  -- another course or wave: the new pools, all or nothing
  c := startlijn.catalog_course(COALESCE(course_id, t.course_id), 'write');
  IF c.event_id <> t.event_id THEN
    PERFORM startlijn.raise('course_not_found', 'The course belongs to another event.');
  END IF;
  new_wave := CASE WHEN 'wave_id' = ANY (cl) THEN NULL
                   WHEN wave_id IS NOT NULL THEN wave_id
                   WHEN c.id <> t.course_id THEN NULL
                   ELSE t.wave_id END;
  IF new_wave IS NOT NULL THEN
    w := startlijn.catalog_wave(new_wave, 'write');
    IF w.course_id <> c.id THEN
      PERFORM startlijn.raise('wave_not_found', 'The wave belongs to another course.');
    END IF;
  END IF;
  moved := c.id <> t.course_id OR new_wave IS DISTINCT FROM t.wave_id;
  IF moved THEN
    IF startlijn.item_busy(t.item_id) OR EXISTS (
         SELECT 1 FROM startlijn.order_items i JOIN startlijn.orders o ON o.id = i.order_id
          WHERE i.ticket_type_id = t.id AND o.status IN ('reserved', 'pending', 'paid')) THEN
      PERFORM startlijn.raise('has_sales',
        'A ticket type with places sold, held, waitlisted or in an open order cannot move to another course or wave.',
        'Create a ticket type on the other course or wave and end this one''s sales: sales_end.');
    END IF;
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pool_id', p)) INTO pools
      FROM pg_catalog.unnest(ARRAY[e.pool_id, c.pool_id, w.pool_id]) p WHERE p IS NOT NULL;
    IF pools IS NULL THEN
      PERFORM startlijn.raise('invalid_argument', 'A ticket type draws from a capacity: the event, its course or its wave needs one.',
                              'Give the course a capacity, or choose a start wave with places.');
    END IF;
  END IF;
  vis := COALESCE(visibility, t.visibility);
  PERFORM startlijn.check_access_code(vis, CASE WHEN vis = 'hidden' AND t.visibility = 'hidden'
                                                THEN COALESCE(access_code, 'unchanged') ELSE access_code END);
  IF access_code IS NOT NULL AND vis <> 'hidden' THEN
    PERFORM startlijn.raise('invalid_argument', 'Only a hidden ticket type has an access code.');
  END IF;
  -- what is paid keeps its price
  IF ((price IS NOT NULL AND price <> t.price) OR (currency IS NOT NULL AND currency <> t.currency)
      OR (vat_rate IS NOT NULL AND vat_rate <> t.vat_rate))
     AND startlijn.item_sold(t.item_id) + startlijn.item_held(t.item_id) > 0 THEN
    PERFORM startlijn.raise('has_sales', 'The price, currency and VAT of a ticket type with sales cannot change.',
                            'Create a new ticket type (or a price tier) for the new price.');
  END IF;
  IF access_code IS NOT NULL THEN
    salt := startlijn.random_salt();
  END IF;
  BEGIN
    UPDATE startlijn.ticket_types x SET
      name = COALESCE(update_ticket_type.name, x.name),
      price = COALESCE(update_ticket_type.price, x.price),
      currency = COALESCE(update_ticket_type.currency, x.currency),
      vat_rate = COALESCE(update_ticket_type.vat_rate, x.vat_rate),
      sales_start = CASE WHEN 'sales_start' = ANY (cl) THEN NULL ELSE COALESCE(update_ticket_type.sales_start, x.sales_start) END,
      sales_end = CASE WHEN 'sales_end' = ANY (cl) THEN NULL ELSE COALESCE(update_ticket_type.sales_end, x.sales_end) END,
      min_per_order = COALESCE(update_ticket_type.min_per_order, x.min_per_order),
      max_per_order = COALESCE(update_ticket_type.max_per_order, x.max_per_order),
      visibility = vis,
      access_code_salt = CASE WHEN vis = 'public' THEN NULL WHEN salt IS NOT NULL THEN salt ELSE x.access_code_salt END,
      access_code_hash = CASE WHEN vis = 'public' THEN NULL
                              WHEN salt IS NOT NULL THEN startlijn.access_code_hash(salt, update_ticket_type.access_code)
                              ELSE x.access_code_hash END,
      min_age = CASE WHEN 'min_age' = ANY (cl) THEN NULL ELSE COALESCE(update_ticket_type.min_age, x.min_age) END,
      max_age = CASE WHEN 'max_age' = ANY (cl) THEN NULL ELSE COALESCE(update_ticket_type.max_age, x.max_age) END,
      sort_order = COALESCE(update_ticket_type.sort_order, x.sort_order),
      one_entry_per_person = COALESCE(update_ticket_type.one_entry_per_person, x.one_entry_per_person),
      course_id = c.id,
      wave_id = new_wave,
      -- moved: a new capacity item drawing from the new pools (the old one,
      -- with nothing sold, held or waitlisted, is no longer sold)
      item_id = CASE WHEN moved THEN (capacity.create_item(e.organization_id, e.name OPERATOR(pg_catalog.||) ' '
                                        OPERATOR(pg_catalog.||) COALESCE(update_ticket_type.name, x.name), pools)
                                      OPERATOR(pg_catalog.->>) 'item_id')::uuid
                     ELSE x.item_id END
     WHERE x.id = t.id RETURNING x.* INTO t;
  EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  PERFORM trail.log(t.organization_id, 'catalog.ticket_type_updated', 'ticket_type:' OPERATOR(pg_catalog.||) t.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'ticket_type_id', t.id, 'name', name, 'price', price, 'currency', currency,
                      'vat_rate', vat_rate, 'sales_start', sales_start, 'sales_end', sales_end,
                      'visibility', visibility, 'access_code_changed', access_code IS NOT NULL,
                      'one_entry_per_person', one_entry_per_person,
                      'moved', CASE WHEN moved THEN pg_catalog.jsonb_build_object(
                                 'course_id', t.course_id, 'wave_id', t.wave_id, 'item_id', t.item_id,
                                 'old_item_id', old_item) END,
                      'cleared', pg_catalog.to_jsonb(cl))));
  RETURN startlijn.ticket_type_json(t);
END
$$;
CREATE FUNCTION api.update_ticket_type(
    ticket_type_id uuid, name text DEFAULT NULL, price bigint DEFAULT NULL, currency text DEFAULT NULL,
    vat_rate integer DEFAULT NULL, sales_start timestamptz DEFAULT NULL, sales_end timestamptz DEFAULT NULL,
    min_per_order integer DEFAULT NULL, max_per_order integer DEFAULT NULL, visibility text DEFAULT NULL,
    access_code text DEFAULT NULL, min_age integer DEFAULT NULL, max_age integer DEFAULT NULL,
    sort_order integer DEFAULT NULL, clear text[] DEFAULT '{}', course_id uuid DEFAULT NULL,
    wave_id uuid DEFAULT NULL, one_entry_per_person boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_ticket_type(ticket_type_id, name, price, currency, vat_rate, sales_start, sales_end, min_per_order, max_per_order, visibility, access_code, min_age, max_age, sort_order, clear, course_id, wave_id, one_entry_per_person) $$;

CREATE FUNCTION startlijn.delete_ticket_type(ticket_type_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t startlijn.ticket_types := startlijn.catalog_ticket_type(ticket_type_id, 'write');
  e startlijn.events;
  sold bigint;
  q text;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  SELECT * INTO e FROM startlijn.events x WHERE x.id = t.event_id FOR UPDATE;
  -- the row lock reserve's FOR SHARE waits for (and a reserve holding it makes us wait)
  PERFORM 1 FROM startlijn.ticket_types x WHERE x.id = t.id FOR UPDATE;
  sold := startlijn.item_sold(t.item_id) + startlijn.item_held(t.item_id);
  IF sold > 0 THEN
    PERFORM startlijn.raise('has_sales', pg_catalog.format('%s places of this ticket type are sold or held.', sold),
                            'End its sales window instead: sales_end.');
  END IF;
  IF startlijn.item_busy(t.item_id) OR EXISTS (
       SELECT 1 FROM startlijn.order_items i JOIN startlijn.orders o ON o.id = i.order_id
        WHERE i.ticket_type_id = t.id AND o.status IN ('reserved', 'pending', 'paid')) THEN
    PERFORM startlijn.raise('has_sales', 'People wait for this ticket type, or an open order holds it.',
                            'End its sales window instead: sales_end.');
  END IF;
  IF e.status = 'published' AND NOT EXISTS (SELECT 1 FROM startlijn.ticket_types x
                                             WHERE x.event_id = e.id AND x.deleted_at IS NULL AND x.id <> t.id) THEN
    PERFORM startlijn.raise('event_incomplete', 'ticket_type_on_sale: a published event keeps at least one ticket type.',
                            'Create its replacement first, or close or cancel the event.');
  END IF;
  -- questions for this ticket type only would apply to nobody
  SELECT q0 OPERATOR(pg_catalog.->>) 'key' INTO q FROM pg_catalog.jsonb_array_elements(e.questions) q0
   WHERE q0 OPERATOR(pg_catalog.->) 'ticket_types' = pg_catalog.jsonb_build_array(t.id::text) LIMIT 1;
  IF q IS NOT NULL THEN
    PERFORM startlijn.raise('item_in_use', pg_catalog.format('Question %s is asked for this ticket type only.', q),
                            'Change the registration questions first: set_questions.');
  END IF;
  UPDATE startlijn.events x SET questions = startlijn.questions_without_ticket_type(x.questions, t.id)
   WHERE x.id = e.id AND pg_catalog.strpos(x.questions::text, t.id::text) > 0;
  UPDATE startlijn.price_tiers p SET deleted_at = pg_catalog.now() WHERE p.ticket_type_id = t.id AND p.deleted_at IS NULL;
  UPDATE startlijn.ticket_types x SET deleted_at = pg_catalog.now() WHERE x.id = t.id RETURNING x.* INTO t;
  PERFORM trail.log(t.organization_id, 'catalog.ticket_type_deleted', 'ticket_type:' OPERATOR(pg_catalog.||) t.id::text,
                    pg_catalog.jsonb_build_object('ticket_type_id', t.id, 'name', t.name),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN pg_catalog.jsonb_build_object('ticket_type_id', t.id, 'deleted', true);
END
$$;
CREATE FUNCTION api.delete_ticket_type(ticket_type_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_ticket_type(ticket_type_id, reason) $$;

-- Replace the price tiers: [{"name", "price", "until_at"?, "until_sold"?}],
-- in order (position 1 first). Refused once the ticket type has sales.
CREATE FUNCTION startlijn.set_price_tiers(ticket_type_id uuid, tiers jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t startlijn.ticket_types := startlijn.catalog_ticket_type(ticket_type_id, 'write');
  x jsonb;
  i integer := 0;
  st text; con text; col text;
BEGIN
  PERFORM 1 FROM startlijn.events ev WHERE ev.id = t.event_id FOR UPDATE;
  IF tiers IS NULL OR pg_catalog.jsonb_typeof(tiers) <> 'array' OR pg_catalog.jsonb_array_length(tiers) > 10 THEN
    PERFORM startlijn.raise('invalid_argument', 'tiers is an array of at most 10 objects {"name", "price", "until_at", "until_sold"}.');
  END IF;
  IF startlijn.item_sold(t.item_id) + startlijn.item_held(t.item_id) > 0 THEN
    PERFORM startlijn.raise('has_sales', 'The price tiers of a ticket type with sales cannot change.',
                            'Create a new ticket type for new prices.');
  END IF;
  UPDATE startlijn.price_tiers p SET deleted_at = pg_catalog.now() WHERE p.ticket_type_id = t.id AND p.deleted_at IS NULL;
  FOR x IN SELECT v FROM pg_catalog.jsonb_array_elements(tiers) v LOOP
    i := i + 1;
    IF pg_catalog.jsonb_typeof(x) <> 'object'
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(x) k WHERE k NOT IN ('name', 'price', 'until_at', 'until_sold')) THEN
      PERFORM startlijn.raise('invalid_argument', 'Each tier is an object {"name", "price", "until_at", "until_sold"}.');
    END IF;
    IF x OPERATOR(pg_catalog.->>) 'name' IS NULL THEN
      PERFORM startlijn.raise('missing_argument', 'Each tier has a name.');
    END IF;
    BEGIN
      INSERT INTO startlijn.price_tiers (organization_id, ticket_type_id, position, name, price, until_at, until_sold)
      VALUES (t.organization_id, t.id, i, x OPERATOR(pg_catalog.->>) 'name', (x OPERATOR(pg_catalog.->>) 'price')::bigint,
              (x OPERATOR(pg_catalog.->>) 'until_at')::timestamptz, (x OPERATOR(pg_catalog.->>) 'until_sold')::integer);
    EXCEPTION
      WHEN check_violation OR not_null_violation THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
        IF con = 'price_tiers_limit' THEN
          PERFORM startlijn.raise('invalid_argument', 'A tier ends at a moment (until_at), after a number sold (until_sold), or both.');
        END IF;
        PERFORM startlijn.catalog_refuse(st, con, col);
      WHEN invalid_text_representation OR invalid_datetime_format OR numeric_value_out_of_range
           OR datetime_field_overflow THEN
        PERFORM startlijn.raise('invalid_argument', 'price and until_sold are whole numbers, until_at a timestamp.');
    END;
  END LOOP;
  PERFORM trail.log(t.organization_id, 'catalog.price_tiers_set', 'ticket_type:' OPERATOR(pg_catalog.||) t.id::text,
                    pg_catalog.jsonb_build_object('ticket_type_id', t.id, 'tiers', tiers));
  RETURN startlijn.ticket_type_json(t);
END
$$;
CREATE FUNCTION api.set_price_tiers(ticket_type_id uuid, tiers jsonb DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_price_tiers(ticket_type_id, tiers) $$;

-------------------------------------------------------------------------------
-- Registration questions: the event's whole list at once, judged by the C
-- validator (invalid_questions names the problem)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.set_questions(event_id uuid, questions jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  problem text;
BEGIN
  PERFORM 1 FROM startlijn.events x WHERE x.id = e.id FOR UPDATE;
  IF questions IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument questions is required (an empty array removes them).');
  END IF;
  problem := startlijn.questions_problem(questions::text);
  IF problem IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_questions', problem, 'docs/catalog.md, "Registration questions", lists the fields.');
  END IF;
  -- ticket_types: live ticket types of this event
  SELECT pg_catalog.format('question %s: %s is no ticket type of this event', q OPERATOR(pg_catalog.->>) 'key', x)
    INTO problem
    FROM pg_catalog.jsonb_array_elements(questions) q,
         pg_catalog.jsonb_array_elements_text(COALESCE(q OPERATOR(pg_catalog.->) 'ticket_types', '[]')) x
   WHERE NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t
                      WHERE t.id = x::uuid AND t.event_id = e.id AND t.deleted_at IS NULL)
   LIMIT 1;
  IF problem IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_questions', problem, 'ticket_types lists ticket_type_id values of this event''s ticket types.');
  END IF;
  UPDATE startlijn.events x SET questions = set_questions.questions WHERE x.id = e.id RETURNING x.* INTO e;
  PERFORM trail.log(e.organization_id, 'catalog.questions_set', 'event:' OPERATOR(pg_catalog.||) e.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'questions', questions));
  RETURN pg_catalog.jsonb_build_object('event_id', e.id, 'questions', e.questions);
END
$$;
CREATE FUNCTION api.set_questions(event_id uuid, questions jsonb DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_questions(event_id, questions) $$;

-------------------------------------------------------------------------------
-- copy_event: next year's edition, as a draft, with its courses, waves,
-- ticket types (new pools and items of the same sizes) and price tiers
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.copy_event(event_id uuid, slug text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  n startlijn.events;
  yr interval := interval '1 year';
  new_slug text;
  c record; w record; t record;
  cmap jsonb := '{}';
  wmap jsonb := '{}';
  pool uuid;
  nt startlijn.ticket_types;
  pools jsonb;
  uid uuid := startlijn.require_user();
  total bigint;
  y integer;
  a record; v record;
  new_addon uuid;
  tmap jsonb := '{}';
BEGIN
  y := pg_catalog.date_part('year', e.starts_at AT TIME ZONE e.time_zone)::integer;
  new_slug := COALESCE(slug, CASE
    WHEN pg_catalog.strpos(e.slug, y::text) > 0 THEN pg_catalog.replace(e.slug, y::text, (y + 1)::text)
    ELSE pg_catalog.left(e.slug, 58) || '-' || (y + 1)::text END);
  PERFORM startlijn.check_slug(new_slug);
  -- every pool of the edition again, within the organisation's limit
  SELECT COALESCE(pg_catalog.sum(p.capacity), 0) INTO total FROM capacity.pools p
   WHERE p.id IN (SELECT e.pool_id UNION ALL SELECT x.pool_id FROM startlijn.courses x WHERE x.event_id = e.id AND x.deleted_at IS NULL
                  UNION ALL SELECT x.pool_id FROM startlijn.waves x WHERE x.event_id = e.id AND x.deleted_at IS NULL
                  UNION ALL SELECT x.pool_id FROM startlijn.addon_variants x WHERE x.event_id = e.id AND x.deleted_at IS NULL);
  PERFORM startlijn.check_capacity_limit(e.organization_id, NULL, total::integer);
  BEGIN
    INSERT INTO startlijn.events AS x (organization_id, name, slug, type, starts_at, ends_at, time_zone, description,
        venue_name, venue_address, venue_country, latitude, longitude, registration_opens_at, registration_closes_at,
        transfer_cutoff_at, transfer_fee, cancellation_policy, minimum_age, max_entries_per_order, contact_email,
        questions, copied_from, created_by)
    VALUES (e.organization_id, e.name, new_slug, e.type, e.starts_at + yr, e.ends_at + yr, e.time_zone, e.description,
        e.venue_name, e.venue_address, e.venue_country, e.latitude, e.longitude, e.registration_opens_at + yr,
        e.registration_closes_at + yr, e.transfer_cutoff_at + yr, e.transfer_fee,
        COALESCE((SELECT pg_catalog.jsonb_agg(p OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('until',
                    ((p OPERATOR(pg_catalog.->>) 'until')::timestamptz + yr)) ORDER BY o)
                    FROM pg_catalog.jsonb_array_elements(e.cancellation_policy) WITH ORDINALITY AS a(p, o)), '[]'),
        e.minimum_age, e.max_entries_per_order, e.contact_email, e.questions, e.id, uid)
    RETURNING x.* INTO n;
  EXCEPTION WHEN unique_violation THEN
    PERFORM startlijn.raise('slug_taken', 'Another event of this organization already uses this slug.',
                            'Pass the new edition''s slug: slug.');
  END;
  IF e.pool_id IS NOT NULL THEN
    UPDATE startlijn.events x
       SET pool_id = (capacity.create_pool(n.organization_id, n.name,
                        (SELECT p.capacity FROM capacity.pools p WHERE p.id = e.pool_id)) OPERATOR(pg_catalog.->>) 'pool_id')::uuid
     WHERE x.id = n.id RETURNING x.* INTO n;
  END IF;
  FOR c IN SELECT * FROM startlijn.courses x WHERE x.event_id = e.id AND x.deleted_at IS NULL ORDER BY x.sort_order, x.id LOOP
    pool := NULL;
    IF c.pool_id IS NOT NULL THEN
      pool := (capacity.create_pool(n.organization_id, n.name || ' ' || c.name,
                 (SELECT p.capacity FROM capacity.pools p WHERE p.id = c.pool_id)) OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
    END IF;
    INSERT INTO startlijn.courses (organization_id, event_id, name, distance_m, legs, sort_order, pool_id)
    VALUES (n.organization_id, n.id, c.name, c.distance_m, c.legs, c.sort_order, pool)
    RETURNING pg_catalog.jsonb_build_object(c.id::text, id) OPERATOR(pg_catalog.||) cmap INTO cmap;
  END LOOP;
  FOR w IN SELECT * FROM startlijn.waves x WHERE x.event_id = e.id AND x.deleted_at IS NULL ORDER BY x.starts_at, x.id LOOP
    pool := (capacity.create_pool(n.organization_id, n.name || ' ' || w.name,
               (SELECT p.capacity FROM capacity.pools p WHERE p.id = w.pool_id)) OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
    INSERT INTO startlijn.waves (organization_id, event_id, course_id, name, starts_at, pool_id)
    VALUES (n.organization_id, n.id, (cmap OPERATOR(pg_catalog.->>) w.course_id::text)::uuid, w.name, w.starts_at + yr, pool)
    RETURNING pg_catalog.jsonb_build_object(w.id::text, id) OPERATOR(pg_catalog.||) wmap INTO wmap;
  END LOOP;
  FOR t IN SELECT * FROM startlijn.ticket_types x WHERE x.event_id = e.id AND x.deleted_at IS NULL ORDER BY x.sort_order, x.id LOOP
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pool_id', p)) INTO pools
      FROM pg_catalog.unnest(ARRAY[n.pool_id,
             (SELECT x.pool_id FROM startlijn.courses x WHERE x.id = (cmap OPERATOR(pg_catalog.->>) t.course_id::text)::uuid),
             (SELECT x.pool_id FROM startlijn.waves x WHERE x.id = (wmap OPERATOR(pg_catalog.->>) t.wave_id::text)::uuid)]) p
     WHERE p IS NOT NULL;
    INSERT INTO startlijn.ticket_types AS x (organization_id, event_id, course_id, wave_id, name, price, currency, vat_rate,
        sales_start, sales_end, min_per_order, max_per_order, visibility, access_code_salt, access_code_hash,
        min_age, max_age, sort_order, one_entry_per_person, item_id)
    VALUES (n.organization_id, n.id, (cmap OPERATOR(pg_catalog.->>) t.course_id::text)::uuid,
        (wmap OPERATOR(pg_catalog.->>) t.wave_id::text)::uuid, t.name, t.price, t.currency, t.vat_rate,
        t.sales_start + yr, t.sales_end + yr, t.min_per_order, t.max_per_order, t.visibility, t.access_code_salt,
        t.access_code_hash, t.min_age, t.max_age, t.sort_order, t.one_entry_per_person,
        (capacity.create_item(n.organization_id, n.name || ' ' || t.name, pools) OPERATOR(pg_catalog.->>) 'item_id')::uuid)
    RETURNING x.* INTO nt;
    tmap := tmap OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t.id::text, nt.id);
    INSERT INTO startlijn.price_tiers (organization_id, ticket_type_id, position, name, price, until_at, until_sold)
    SELECT nt.organization_id, nt.id, p.position, p.name, p.price, p.until_at + yr, p.until_sold
      FROM startlijn.price_tiers p WHERE p.ticket_type_id = t.id AND p.deleted_at IS NULL;
  END LOOP;
  FOR a IN SELECT * FROM startlijn.addons x WHERE x.event_id = e.id AND x.deleted_at IS NULL ORDER BY x.sort_order, x.id LOOP
    INSERT INTO startlijn.addons AS x (organization_id, event_id, name, description, standalone, max_per_entry,
                                       text_max_length, sort_order)
    VALUES (n.organization_id, n.id, a.name, a.description, a.standalone, a.max_per_entry, a.text_max_length, a.sort_order)
    RETURNING x.id INTO new_addon;
    FOR v IN SELECT * FROM startlijn.addon_variants x WHERE x.addon_id = a.id AND x.deleted_at IS NULL ORDER BY x.sort_order, x.id LOOP
      pool := NULL;
      IF v.pool_id IS NOT NULL THEN
        pool := (capacity.create_pool(n.organization_id, n.name || ' ' || a.name || ' ' || v.name,
                   (SELECT p.capacity FROM capacity.pools p WHERE p.id = v.pool_id)) OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
      END IF;
      INSERT INTO startlijn.addon_variants (organization_id, event_id, addon_id, name, price, currency, vat_rate,
                                            pool_id, item_id, sort_order)
      VALUES (n.organization_id, n.id, new_addon, v.name, v.price, v.currency, v.vat_rate, pool,
              CASE WHEN pool IS NOT NULL THEN
                (capacity.create_item(n.organization_id, n.name || ' ' || a.name || ' ' || v.name,
                   pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('pool_id', pool))) OPERATOR(pg_catalog.->>) 'item_id')::uuid END,
              v.sort_order);
    END LOOP;
  END LOOP;
  -- questions for some ticket types: for the new edition's
  IF pg_catalog.jsonb_path_exists(n.questions, '$[*].ticket_types') THEN
    UPDATE startlijn.events x SET questions = startlijn.questions_map_ticket_types(x.questions, tmap)
     WHERE x.id = n.id RETURNING x.* INTO n;
  END IF;
  PERFORM trail.log(n.organization_id, 'catalog.event_copied', 'event:' OPERATOR(pg_catalog.||) n.id::text,
                    pg_catalog.jsonb_build_object('event_id', n.id, 'copied_from', e.id, 'slug', n.slug));
  RETURN startlijn.event_json(n);
END
$$;
CREATE FUNCTION api.copy_event(event_id uuid, slug text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.copy_event(event_id, slug) $$;

-------------------------------------------------------------------------------
-- Reporting for organisers: exact figures from the capacity engine
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.event_dashboard(event_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  RETURN startlijn.event_json(e) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
    'missing', pg_catalog.to_jsonb(startlijn.event_missing(e.id)),
    -- money from paid orders (orders_api.sql): totals, per ticket type and variant, per day
    'revenue', startlijn.event_revenue(e.id),
    'courses', COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.course_json(c) OPERATOR(pg_catalog.||)
                                 pg_catalog.jsonb_build_object('waves', COALESCE((
                                   SELECT pg_catalog.jsonb_agg(startlijn.wave_json(w) ORDER BY w.starts_at, w.id)
                                     FROM startlijn.waves w WHERE w.course_id = c.id AND w.deleted_at IS NULL), '[]'))
                                 ORDER BY c.sort_order, c.name, c.id)
                           FROM startlijn.courses c WHERE c.event_id = e.id AND c.deleted_at IS NULL), '[]'),
    'ticket_types', COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.ticket_type_json(t) OPERATOR(pg_catalog.||)
                                 pg_catalog.jsonb_build_object(
                                   'capacity', (SELECT pg_catalog.min(p.capacity / ip.units) FROM capacity.item_pools ip
                                                  JOIN capacity.pools p ON p.id = ip.pool_id WHERE ip.item_id = t.item_id),
                                   'sold', startlijn.item_sold(t.item_id),
                                   'held', startlijn.item_held(t.item_id),
                                   'available', capacity.item_json(t.item_id) OPERATOR(pg_catalog.->) 'available',
                                   'waitlisted', (SELECT COALESCE(pg_catalog.sum(wl.quantity), 0) FROM capacity.waitlist wl
                                                   WHERE wl.item_id = t.item_id AND wl.state IN ('waiting', 'offered')))
                                 ORDER BY t.sort_order, t.name, t.id)
                           FROM startlijn.ticket_types t WHERE t.event_id = e.id AND t.deleted_at IS NULL), '[]'),
    'addons', COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.addon_json(a) OPERATOR(pg_catalog.||)
                          pg_catalog.jsonb_build_object('variants', COALESCE((
                            SELECT pg_catalog.jsonb_agg(startlijn.variant_json(v) OPERATOR(pg_catalog.||)
                                     pg_catalog.jsonb_build_object(
                                       'capacity', (SELECT p.capacity FROM capacity.pools p WHERE p.id = v.pool_id),
                                       'sold', CASE WHEN v.item_id IS NOT NULL THEN startlijn.item_sold(v.item_id) END,
                                       'held', CASE WHEN v.item_id IS NOT NULL THEN startlijn.item_held(v.item_id) END,
                                       'available', capacity.item_json(v.item_id) OPERATOR(pg_catalog.->) 'available',
                                       'waitlisted', CASE WHEN v.item_id IS NOT NULL THEN
                                                       (SELECT COALESCE(pg_catalog.sum(wl.quantity), 0) FROM capacity.waitlist wl
                                                         WHERE wl.item_id = v.item_id AND wl.state IN ('waiting', 'offered')) END)
                                     ORDER BY v.sort_order, v.name, v.id)
                              FROM startlijn.addon_variants v WHERE v.addon_id = a.id AND v.deleted_at IS NULL), '[]'))
                          ORDER BY a.sort_order, a.name, a.id)
                        FROM startlijn.addons a WHERE a.event_id = e.id AND a.deleted_at IS NULL), '[]'));
END
$$;
CREATE FUNCTION api.event_dashboard(event_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.event_dashboard(event_id) $$;

-------------------------------------------------------------------------------
-- The public catalog (anon and participants): published events only, no
-- personal or internal field (no ids of pools or items, no creator, no
-- access code), approximate availability
-------------------------------------------------------------------------------
-- (no SECURITY DEFINER, no SET clause: the planner inlines it into the
-- list's query; a function with a SET clause costs a call per row)
CREATE FUNCTION startlijn.public_event_json(e startlijn.events, org_slug text, org_name text) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'event_id', e.id, 'organization', pg_catalog.jsonb_build_object('slug', org_slug, 'name', org_name),
    'name', e.name, 'slug', e.slug, 'type', e.type, 'description', e.description,
    'starts_at', e.starts_at, 'ends_at', e.ends_at, 'time_zone', e.time_zone,
    'venue', pg_catalog.jsonb_build_object('name', e.venue_name, 'address', e.venue_address,
                                           'country', e.venue_country, 'latitude', e.latitude,
                                           'longitude', e.longitude),
    'registration_opens_at', e.registration_opens_at, 'registration_closes_at', e.registration_closes_at,
    'minimum_age', e.minimum_age, 'max_entries_per_order', e.max_entries_per_order,
    'contact_email', e.contact_email)
$$;

-- plan_cache_mode: the list's query is the same for every filter (a filter
-- left out is "x IS NULL OR ..."); its generic plan reads events_public_idx
-- in order and stops after the page, where planning it anew for each call
-- (a custom plan) costs more than running it
CREATE FUNCTION startlijn.public_events(type text, starts_from timestamptz, starts_until timestamptz, q text,
                                        country text, page integer, page_size integer) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
  AS $$
BEGIN
  PERFORM startlijn.check_event_type(type);
  IF country IS NOT NULL AND NOT startlijn.valid_country(country) THEN
    PERFORM startlijn.raise('invalid_country');
  END IF;
  IF q IS NOT NULL AND pg_catalog.length(q) > 100 THEN
    PERFORM startlijn.raise('invalid_argument', 'A search text has at most 100 characters.');
  END IF;
  IF COALESCE(page_size, 20) NOT BETWEEN 1 AND 100 OR COALESCE(page, 1) NOT BETWEEN 1 AND 1000 THEN
    PERFORM startlijn.raise('invalid_argument', 'page_size is 1 to 100, page 1 to 1000.');
  END IF;
  RETURN COALESCE((
    SELECT pg_catalog.jsonb_agg(startlijn.public_event_json(e, x.slug, x.name) ORDER BY x.starts_at, x.id)
      FROM (SELECT e.id, e.starts_at, o.slug, o.name
              FROM startlijn.events e
              JOIN startlijn.organizations o ON o.id = e.organization_id AND o.deleted_at IS NULL
             WHERE e.status = 'published' AND e.deleted_at IS NULL
               AND (public_events.type IS NULL OR e.type = public_events.type)
               AND e.starts_at >= COALESCE(starts_from, pg_catalog.now())
               AND (starts_until IS NULL OR e.starts_at < starts_until)
               AND (public_events.country IS NULL OR e.venue_country = public_events.country)
               AND (q IS NULL OR pg_catalog.strpos(pg_catalog.lower(e.name || ' ' || COALESCE(e.venue_name, '') || ' ' || o.name),
                                                   pg_catalog.lower(q)) > 0)
             ORDER BY e.starts_at, e.id
             LIMIT COALESCE(page_size, 20) OFFSET (COALESCE(page, 1) - 1) * COALESCE(page_size, 20)) x
      JOIN startlijn.events e ON e.id = x.id), '[]');
END
$$;
CREATE FUNCTION api.events(type text DEFAULT NULL, starts_from timestamptz DEFAULT NULL,
                           starts_until timestamptz DEFAULT NULL, q text DEFAULT NULL, country text DEFAULT NULL,
                           page integer DEFAULT 1, page_size integer DEFAULT 20) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.public_events(type, starts_from, starts_until, q, country, page, page_size) $$;

CREATE FUNCTION startlijn.public_event(org_slug text, event_slug text, access_code text) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events;
  o startlijn.organizations;
  tts jsonb;
BEGIN
  IF org_slug IS NULL OR event_slug IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The arguments org_slug and event_slug are required.');
  END IF;
  SELECT * INTO o FROM startlijn.organizations x WHERE x.slug = org_slug AND x.deleted_at IS NULL;
  SELECT * INTO e FROM startlijn.events x
   WHERE x.organization_id = o.id AND x.slug = event_slug AND x.deleted_at IS NULL
     AND x.status IN ('published', 'closed', 'cancelled') AND x.published_at IS NOT NULL;
  IF e.id IS NULL THEN
    PERFORM startlijn.raise('event_not_found');
  END IF;
  -- ticket types on sale now: the event is published, registration and
  -- the type's sales window are open; hidden ones only with their code
  tts := COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
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
                 -- capacity.available_approx, read in the same query
                 LEFT JOIN LATERAL (SELECT pg_catalog.min(COALESCE(p.approx_available, 0) / ip.units) AS avail
                                      FROM capacity.item_pools ip
                                      LEFT JOIN capacity.pools p ON p.id = ip.pool_id
                                     WHERE ip.item_id = t.item_id) a ON true
                WHERE t.event_id = e.id AND t.deleted_at IS NULL AND e.status = 'published'
                  AND COALESCE(e.registration_opens_at, '-infinity') <= pg_catalog.now()
                  AND COALESCE(e.registration_closes_at, 'infinity') > pg_catalog.now()
                  AND COALESCE(t.sales_start, '-infinity') <= pg_catalog.now()
                  AND COALESCE(t.sales_end, 'infinity') > pg_catalog.now()
                  AND (t.visibility = 'public'
                       OR (access_code IS NOT NULL AND pg_catalog.length(access_code) <= 64
                           AND startlijn.bytes_equal(t.access_code_hash,
                                                     startlijn.access_code_hash(t.access_code_salt, access_code))))), '[]');
  RETURN startlijn.public_event_json(e, o.slug, o.name) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
    'status', e.status,
    -- questions for some ticket types only when one of them is on sale to the caller
    'questions', CASE WHEN pg_catalog.jsonb_path_exists(e.questions, '$[*].ticket_types')
                      THEN startlijn.public_questions(e.questions, ARRAY(
                             SELECT (x OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid FROM pg_catalog.jsonb_array_elements(tts) x))
                      ELSE e.questions END,
    'courses', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'course_id', c.id, 'name', c.name, 'distance_m', c.distance_m, 'legs', c.legs,
                   'waves', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                        'wave_id', w.id, 'name', w.name, 'starts_at', w.starts_at)
                                        ORDER BY w.starts_at, w.id)
                                        FROM startlijn.waves w WHERE w.course_id = c.id AND w.deleted_at IS NULL), '[]'))
                   ORDER BY c.sort_order, c.name, c.id)
                 FROM startlijn.courses c WHERE c.event_id = e.id AND c.deleted_at IS NULL), '[]'),
    'ticket_types', tts,
    'addons', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'addon_id', a.id, 'name', a.name, 'description', a.description, 'standalone', a.standalone,
                   'max_per_entry', a.max_per_entry, 'text_max_length', a.text_max_length,
                   'variants', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                  'variant_id', v.id, 'name', v.name, 'price', v.price, 'currency', v.currency,
                                  'vat_rate', v.vat_rate, 'available_approx', p.approx_available,
                                  'sold_out', v.pool_id IS NOT NULL AND COALESCE(p.approx_available, 0) = 0)
                                  ORDER BY v.sort_order, v.name, v.id)
                                FROM startlijn.addon_variants v
                                LEFT JOIN capacity.pools p ON p.id = v.pool_id
                               WHERE v.addon_id = a.id AND v.deleted_at IS NULL), '[]'))
                   ORDER BY a.sort_order, a.name, a.id)
                 FROM startlijn.addons a
                WHERE a.event_id = e.id AND a.deleted_at IS NULL AND e.status = 'published'
                  AND COALESCE(e.registration_opens_at, '-infinity') <= pg_catalog.now()
                  AND COALESCE(e.registration_closes_at, 'infinity') > pg_catalog.now()), '[]'));
END
$$;
CREATE FUNCTION api.event(org_slug text, event_slug text, access_code text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.public_event(org_slug, event_slug, access_code) $$;

-------------------------------------------------------------------------------
-- Privileges: every RPC to every API role (the checks inside answer
-- not_authenticated or insufficient_role); the public catalog serves anon
-------------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION
  startlijn.create_event(uuid, text, text, text, timestamptz, timestamptz, text, text, text, text, text, numeric,
                         numeric, timestamptz, timestamptz, timestamptz, bigint, jsonb, integer, integer, text, integer),
  startlijn.update_event(uuid, text, text, text, timestamptz, timestamptz, text, text, text, text, text, numeric,
                         numeric, timestamptz, timestamptz, timestamptz, bigint, jsonb, integer, integer, text, integer,
                         text[]),
  startlijn.set_event_status(uuid, text, text), startlijn.organization_events(uuid),
  startlijn.create_course(uuid, text, integer, jsonb, integer, integer),
  startlijn.update_course(uuid, text, integer, jsonb, integer, integer),
  startlijn.create_wave(uuid, text, timestamptz, integer), startlijn.update_wave(uuid, text, timestamptz, integer),
  startlijn.delete_course(uuid, text), startlijn.delete_wave(uuid, text),
  startlijn.create_ticket_type(uuid, uuid, text, bigint, uuid, text, integer, timestamptz, timestamptz, integer,
                               integer, text, text, integer, integer, integer, boolean),
  startlijn.update_ticket_type(uuid, text, bigint, text, integer, timestamptz, timestamptz, integer, integer, text,
                               text, integer, integer, integer, text[], uuid, uuid, boolean),
  startlijn.delete_ticket_type(uuid, text), startlijn.set_price_tiers(uuid, jsonb),
  startlijn.copy_event(uuid, text), startlijn.event_dashboard(uuid), startlijn.set_questions(uuid, jsonb),
  api.set_questions(uuid, jsonb),
  startlijn.public_events(text, timestamptz, timestamptz, text, text, integer, integer),
  startlijn.public_event(text, text, text),
  api.create_event(uuid, text, text, text, timestamptz, timestamptz, text, text, text, text, text, numeric,
                   numeric, timestamptz, timestamptz, timestamptz, bigint, jsonb, integer, integer, text, integer),
  api.update_event(uuid, text, text, text, timestamptz, timestamptz, text, text, text, text, text, numeric,
                   numeric, timestamptz, timestamptz, timestamptz, bigint, jsonb, integer, integer, text, integer,
                   text[]),
  api.publish_event(uuid), api.close_event(uuid, text), api.cancel_event(uuid, text), api.delete_event(uuid, text),
  api.organization_events(uuid),
  api.create_course(uuid, text, integer, jsonb, integer, integer),
  api.update_course(uuid, text, integer, jsonb, integer, integer),
  api.create_wave(uuid, text, timestamptz, integer), api.update_wave(uuid, text, timestamptz, integer),
  api.delete_course(uuid, text), api.delete_wave(uuid, text),
  api.create_ticket_type(uuid, uuid, text, bigint, uuid, text, integer, timestamptz, timestamptz, integer,
                         integer, text, text, integer, integer, integer, boolean),
  api.update_ticket_type(uuid, text, bigint, text, integer, timestamptz, timestamptz, integer, integer, text,
                         text, integer, integer, integer, text[], uuid, uuid, boolean),
  api.delete_ticket_type(uuid, text), api.set_price_tiers(uuid, jsonb),
  api.copy_event(uuid, text), api.event_dashboard(uuid),
  api.events(text, timestamptz, timestamptz, text, text, integer, integer), api.event(text, text, text)
  TO anon, authenticated, service_role;
