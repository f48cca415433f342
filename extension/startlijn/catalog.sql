-- startlijn/catalog.sql: the catalog every later flow sells from: events,
-- courses, start waves, ticket types and their price tiers (issue 24).
--
-- Tables only, with their invariants (CHECKs, composite tenant keys,
-- triggers for the event status machine and publishing's completeness);
-- the RPCs are in catalog_api.sql. Capacity lives in startlijn_capacity:
-- an event may have an overall pool, each course a pool, each wave a pool;
-- a ticket type is a capacity item drawing one unit from each pool its
-- event, course and wave have (docs/catalog.md).

-------------------------------------------------------------------------------
-- Validators of settings (used by CHECK constraints and the RPCs)
-------------------------------------------------------------------------------

-- A moment a person can mean: a timestamp from 1900 up to the end of 9999
-- (NULL passes). Every timestamp of the catalog and of discount codes keeps
-- inside it (CHECK ..._moments, refused as invalid_period), so arithmetic
-- on them (a copy a year later, a sales window from a registration
-- period) never leaves timestamptz's range, and 'infinity', year 1 or
-- year 294276 are refused with a business code (issue 26.3).
CREATE FUNCTION startlijn.valid_moment(ts timestamptz) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT ts IS NULL OR (ts OPERATOR(pg_catalog.>=) '1900-01-01 00:00:00+00'::timestamptz
                        AND ts OPERATOR(pg_catalog.<) '10000-01-01 00:00:00+00'::timestamptz)
$$;

-- A time zone name PostgreSQL knows (pg_timezone_names; abbreviations and
-- POSIX offsets such as "UTC+2" are not names). pg_timezone_names reads
-- every file of the time zone database (about 10 ms a call, and this is a
-- CHECK of every event row), so the names are taken once, when the
-- extension is installed, into the function's own text.
DO $tz$
BEGIN
  EXECUTE pg_catalog.format(
    'CREATE FUNCTION startlijn.valid_time_zone(tz text) RETURNS boolean '
    'LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS %L',
    pg_catalog.format('SELECT pg_catalog.length(tz) BETWEEN 1 AND 64 AND tz OPERATOR(pg_catalog.=) ANY (%L::text[])',
                      (SELECT pg_catalog.array_agg(n.name ORDER BY n.name) FROM pg_catalog.pg_timezone_names n)));
END
$tz$;

-- A cancellation policy: an array of at most 10 tiers, ordered by "until"
-- (strictly increasing), each {"until": timestamptz, "refund_percent":
-- 0..100, "fee": minor units >= 0}; refund_percent and fee both optional
-- (default 0), nothing else.
CREATE FUNCTION startlijn.valid_cancellation_policy(policy jsonb) RETURNS boolean
  LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t jsonb;
  prev timestamptz;
  u timestamptz;
BEGIN
  IF pg_catalog.jsonb_typeof(policy) <> 'array' OR pg_catalog.jsonb_array_length(policy) > 10 THEN
    RETURN false;
  END IF;
  FOR t IN SELECT v FROM pg_catalog.jsonb_array_elements(policy) v LOOP
    IF pg_catalog.jsonb_typeof(t) <> 'object' OR NOT t ? 'until'
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(t) k WHERE k NOT IN ('until', 'refund_percent', 'fee'))
       OR pg_catalog.jsonb_typeof(t OPERATOR(pg_catalog.->) 'until') <> 'string'
       OR (t ? 'refund_percent' AND pg_catalog.jsonb_typeof(t OPERATOR(pg_catalog.->) 'refund_percent') <> 'number')
       OR (t ? 'fee' AND pg_catalog.jsonb_typeof(t OPERATOR(pg_catalog.->) 'fee') <> 'number') THEN
      RETURN false;
    END IF;
    BEGIN
      u := (t OPERATOR(pg_catalog.->>) 'until')::timestamptz;
      IF NOT COALESCE((t OPERATOR(pg_catalog.->>) 'refund_percent')::numeric, 0) BETWEEN 0 AND 100
         OR COALESCE((t OPERATOR(pg_catalog.->>) 'refund_percent')::numeric, 0)
            <> pg_catalog.trunc(COALESCE((t OPERATOR(pg_catalog.->>) 'refund_percent')::numeric, 0))
         OR NOT COALESCE((t OPERATOR(pg_catalog.->>) 'fee')::numeric, 0) BETWEEN 0 AND 100000000
         OR COALESCE((t OPERATOR(pg_catalog.->>) 'fee')::numeric, 0)
            <> pg_catalog.trunc(COALESCE((t OPERATOR(pg_catalog.->>) 'fee')::numeric, 0)) THEN
        RETURN false;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      RETURN false;
    END;
    IF u IS NULL OR NOT startlijn.valid_moment(u) OR (prev IS NOT NULL AND u <= prev) THEN
      RETURN false;
    END IF;
    prev := u;
  END LOOP;
  RETURN true;
END
$$;

-- A course's legs (a triathlon's swim, bike and run): at most 10 objects
-- {"sport": swim|bike|run|walk|paddle|other, "distance_m": 1..1000000}.
CREATE FUNCTION startlijn.valid_legs(legs jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_typeof(legs) = 'array' AND pg_catalog.jsonb_array_length(legs) <= 10
     AND NOT EXISTS (
       SELECT 1 FROM pg_catalog.jsonb_array_elements(legs) l
        WHERE pg_catalog.jsonb_typeof(l) <> 'object'
           OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(l) k WHERE k NOT IN ('sport', 'distance_m'))
           OR NOT COALESCE(l OPERATOR(pg_catalog.->>) 'sport', '') IN ('swim', 'bike', 'run', 'walk', 'paddle', 'other')
           OR pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) 'distance_m') IS DISTINCT FROM 'number'
           OR (l OPERATOR(pg_catalog.->>) 'distance_m') !~ '^[0-9]{1,7}$'
           OR NOT (l OPERATOR(pg_catalog.->>) 'distance_m')::integer BETWEEN 1 AND 1000000)
$$;

-- Registration questions and answers: the one pure-C validator
-- (src/common/sl_questions.c; docs/catalog.md, "Registration questions").
-- NULL when valid, else a short message naming the question.
CREATE FUNCTION startlijn.questions_problem(questions text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_questions_problem';
-- answers of an entry of ticket_type_id (NULL: of no ticket type, so only
-- the questions without ticket_types apply); NULL questions or answers: NULL
CREATE FUNCTION startlijn.answers_problem(questions text, answers text, ticket_type_id uuid DEFAULT NULL) RETURNS text
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_answers_problem_for';

CREATE FUNCTION startlijn.valid_questions(questions jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ SELECT startlijn.questions_problem(questions::text) IS NULL $$;

-- The answers of an entry of ticket_type_id (registrations_guard passes
-- the registration's): true, or invalid_answers (PT400) with the
-- validator's message in the detail. A question with ticket_types applies
-- only to those ticket types; without a ticket type, only the questions
-- without ticket_types apply.
CREATE FUNCTION startlijn.validate_answers(questions jsonb, answers jsonb, ticket_type_id uuid DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  problem text;
BEGIN
  IF questions IS NULL OR answers IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'Questions and answers are required.');
  END IF;
  problem := startlijn.answers_problem(questions::text, answers::text, ticket_type_id);
  IF problem IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_answers', problem);
  END IF;
  RETURN true;
END
$$;

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------
CREATE TABLE startlijn.events (
  id                     uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id        uuid NOT NULL REFERENCES startlijn.organizations (id),
  name                   text NOT NULL CHECK (startlijn.valid_name(name)),
  slug                   text NOT NULL CHECK (startlijn.valid_slug(slug)),
  type                   text NOT NULL
                         CHECK (type IN ('running', 'cycling', 'triathlon', 'walking', 'swimming', 'other')),
  description            text CHECK (pg_catalog.length(description) <= 20000),
  starts_at              timestamptz NOT NULL,
  ends_at                timestamptz NOT NULL,
  time_zone              text NOT NULL DEFAULT 'Europe/Amsterdam' CHECK (startlijn.valid_time_zone(time_zone)),
  venue_name             text CHECK (venue_name IS NULL OR startlijn.valid_name(venue_name)),
  venue_address          text CHECK (pg_catalog.length(venue_address) BETWEEN 1 AND 500),
  venue_country          text CHECK (venue_country IS NULL OR startlijn.valid_country(venue_country)),
  latitude               numeric(9, 6) CHECK (latitude BETWEEN -90 AND 90),
  longitude              numeric(9, 6) CHECK (longitude BETWEEN -180 AND 180),
  status                 text NOT NULL DEFAULT 'draft'
                         CHECK (status IN ('draft', 'published', 'closed', 'cancelled')),
  registration_opens_at  timestamptz,
  registration_closes_at timestamptz,
  transfer_cutoff_at     timestamptz,
  transfer_fee           bigint NOT NULL DEFAULT 0 CHECK (transfer_fee BETWEEN 0 AND 100000000),
  cancellation_policy    jsonb NOT NULL DEFAULT '[]'
                         CHECK (startlijn.valid_cancellation_policy(cancellation_policy)),
  minimum_age            integer CHECK (minimum_age BETWEEN 0 AND 120),
  max_entries_per_order  integer NOT NULL DEFAULT 10 CHECK (max_entries_per_order BETWEEN 1 AND 100),
  contact_email          text CHECK (contact_email IS NULL OR startlijn.valid_email(contact_email)),
  -- the registration questions (an array; sl_questions.h describes them)
  questions              jsonb NOT NULL DEFAULT '[]' CHECK (startlijn.valid_questions(questions)),
  pool_id                uuid,              -- the event's overall capacity (optional)
  copied_from            uuid,
  created_by             uuid REFERENCES startlijn.profiles (id),
  published_at           timestamptz,
  created_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at             timestamptz,
  CONSTRAINT events_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT events_period CHECK (ends_at >= starts_at),
  CONSTRAINT events_moments CHECK (startlijn.valid_moment(starts_at) AND startlijn.valid_moment(ends_at)
                                   AND startlijn.valid_moment(registration_opens_at)
                                   AND startlijn.valid_moment(registration_closes_at)
                                   AND startlijn.valid_moment(transfer_cutoff_at)),
  CONSTRAINT events_registration_period
    CHECK (registration_closes_at IS NULL OR registration_opens_at IS NULL
           OR registration_closes_at > registration_opens_at),
  CONSTRAINT events_registration_before_end CHECK (registration_closes_at IS NULL OR registration_closes_at <= ends_at),
  CONSTRAINT events_transfer_cutoff CHECK (transfer_cutoff_at IS NULL OR transfer_cutoff_at <= ends_at),
  CONSTRAINT events_coordinates CHECK ((latitude IS NULL) = (longitude IS NULL)),
  CONSTRAINT events_pool_fkey FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  CONSTRAINT events_copied_from_fkey FOREIGN KEY (organization_id, copied_from)
    REFERENCES startlijn.events (organization_id, id)
);
-- public URLs are <org slug>/<event slug>: unique among the organisation's live events
CREATE UNIQUE INDEX events_slug_key ON startlijn.events (organization_id, slug) WHERE deleted_at IS NULL;
-- the public list's order (api.events: starts_at, id), so a page stops early
CREATE INDEX events_public_idx ON startlijn.events (starts_at, id) WHERE status = 'published' AND deleted_at IS NULL;
COMMENT ON TABLE startlijn.events IS
  'an edition of a sports event; status draft -> published -> closed, cancelled from draft or published (events_guard)';

CREATE TABLE startlijn.courses (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  name            text NOT NULL CHECK (startlijn.valid_name(name)),
  distance_m      integer NOT NULL CHECK (distance_m BETWEEN 1 AND 1000000),
  legs            jsonb NOT NULL DEFAULT '[]' CHECK (startlijn.valid_legs(legs)),
  sort_order      integer NOT NULL DEFAULT 0 CHECK (sort_order BETWEEN -1000 AND 1000),
  pool_id         uuid,                     -- the course's capacity (optional)
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT courses_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT courses_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT courses_pool_fkey FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id)
);
CREATE INDEX courses_event_idx ON startlijn.courses (event_id) WHERE deleted_at IS NULL;

CREATE TABLE startlijn.waves (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  course_id       uuid NOT NULL,
  name            text NOT NULL CHECK (startlijn.valid_name(name)),
  starts_at       timestamptz NOT NULL,
  pool_id         uuid NOT NULL,            -- its places
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT waves_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT waves_moments CHECK (startlijn.valid_moment(starts_at)),
  CONSTRAINT waves_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT waves_course_fkey FOREIGN KEY (organization_id, course_id) REFERENCES startlijn.courses (organization_id, id),
  CONSTRAINT waves_pool_fkey FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id)
);
CREATE INDEX waves_course_idx ON startlijn.waves (course_id) WHERE deleted_at IS NULL;

CREATE TABLE startlijn.ticket_types (
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL,
  event_id         uuid NOT NULL,
  course_id        uuid NOT NULL,
  wave_id          uuid,
  name             text NOT NULL CHECK (startlijn.valid_name(name)),
  price            bigint NOT NULL CHECK (price BETWEEN 0 AND 100000000),
  currency         text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  vat_rate         integer NOT NULL DEFAULT 0 CHECK (vat_rate BETWEEN 0 AND 10000),   -- basis points
  sales_start      timestamptz,
  sales_end        timestamptz,
  min_per_order    integer NOT NULL DEFAULT 1 CHECK (min_per_order BETWEEN 1 AND 100),
  max_per_order    integer NOT NULL DEFAULT 10 CHECK (max_per_order BETWEEN 1 AND 100),
  visibility       text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'hidden')),
  -- a hidden type's access code: sha256(salt || code), never the code
  access_code_salt bytea CHECK (pg_catalog.length(access_code_salt) = 16),
  access_code_hash bytea CHECK (pg_catalog.length(access_code_hash) = 32),
  min_age          integer CHECK (min_age BETWEEN 0 AND 120),
  max_age          integer CHECK (max_age BETWEEN 0 AND 120),
  sort_order       integer NOT NULL DEFAULT 0 CHECK (sort_order BETWEEN -1000 AND 1000),
  -- one entry per person per event (registrations_one_per_person), unless
  -- false: the same person may hold several entries of this type
  one_entry_per_person boolean NOT NULL DEFAULT true,
  item_id          uuid NOT NULL,           -- the capacity item it sells
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at       timestamptz,
  CONSTRAINT ticket_types_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT ticket_types_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT ticket_types_course_fkey FOREIGN KEY (organization_id, course_id) REFERENCES startlijn.courses (organization_id, id),
  CONSTRAINT ticket_types_wave_fkey FOREIGN KEY (organization_id, wave_id) REFERENCES startlijn.waves (organization_id, id),
  CONSTRAINT ticket_types_item_fkey FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id),
  CONSTRAINT ticket_types_per_order CHECK (max_per_order >= min_per_order),
  CONSTRAINT ticket_types_ages CHECK (max_age IS NULL OR min_age IS NULL OR max_age >= min_age),
  CONSTRAINT ticket_types_moments CHECK (startlijn.valid_moment(sales_start) AND startlijn.valid_moment(sales_end)),
  CONSTRAINT ticket_types_sales_window CHECK (sales_end IS NULL OR sales_start IS NULL OR sales_end > sales_start),
  CONSTRAINT ticket_types_access_code
    CHECK ((visibility = 'hidden') = (access_code_hash IS NOT NULL) AND (access_code_hash IS NULL) = (access_code_salt IS NULL))
);
CREATE INDEX ticket_types_event_idx ON startlijn.ticket_types (event_id) WHERE deleted_at IS NULL;

-- Price tiers of a ticket type: the first tier (by position) still open
-- sets the price (open: until_at not passed and fewer than until_sold
-- sold); when none is open, the ticket type's own price.
CREATE TABLE startlijn.price_tiers (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  ticket_type_id  uuid NOT NULL,
  position        integer NOT NULL CHECK (position BETWEEN 1 AND 10),
  name            text NOT NULL CHECK (startlijn.valid_name(name)),
  price           bigint NOT NULL CHECK (price BETWEEN 0 AND 100000000),
  until_at        timestamptz,
  until_sold      integer CHECK (until_sold BETWEEN 1 AND 1000000),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT price_tiers_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT price_tiers_ticket_type_fkey FOREIGN KEY (organization_id, ticket_type_id)
    REFERENCES startlijn.ticket_types (organization_id, id),
  CONSTRAINT price_tiers_limit CHECK (until_at IS NOT NULL OR until_sold IS NOT NULL),
  CONSTRAINT price_tiers_moments CHECK (startlijn.valid_moment(until_at))
);
CREATE UNIQUE INDEX price_tiers_position_key ON startlijn.price_tiers (ticket_type_id, position, organization_id) WHERE deleted_at IS NULL;

CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.events
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.courses
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.waves
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.ticket_types
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.price_tiers
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();

-------------------------------------------------------------------------------
-- Sold, held and the current price (exact, from the capacity engine)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.item_sold(item_id uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(pg_catalog.sum(a.quantity - a.returned), 0)::bigint
    FROM capacity.allocations a WHERE a.item_id = item_sold.item_id
$$;

CREATE FUNCTION startlijn.item_held(item_id uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(pg_catalog.sum((l OPERATOR(pg_catalog.->>) 'quantity')::bigint), 0)::bigint
    FROM capacity.holds h, pg_catalog.jsonb_array_elements(h.lines) l
   WHERE h.state = 'held' AND h.expires_at > pg_catalog.now()
     AND l OPERATOR(pg_catalog.->>) 'item_id' = item_held.item_id::text
$$;

-- Sold, held or waited for (the capacity engine's exact figures): a ticket
-- type or variant selling this item cannot be deleted or moved.
CREATE FUNCTION startlijn.item_busy(item_id uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT item_busy.item_id IS NOT NULL
     AND (startlijn.item_sold(item_busy.item_id) + startlijn.item_held(item_busy.item_id) > 0
          OR EXISTS (SELECT 1 FROM capacity.waitlist wl
                      WHERE wl.item_id = item_busy.item_id AND wl.state IN ('waiting', 'offered')))
$$;

-- The price a ticket type sells at now and the tier that sets it (tier
-- NULL: the base price): the first live tier by position whose until_at has
-- not passed and whose until_sold is not reached. "Fewer than until_sold
-- sold" reads at most until_sold of the item's allocations
-- (allocations_item, each counted row sells at least one unit), not all of
-- them: an early bird's page costs the same after 10,000 entries.
-- Inlined into the caller's query (SQL, STABLE, returns a set, no SECURITY
-- DEFINER, no SET clause: a function with either is planned again on every
-- call): call it in FROM, from SECURITY DEFINER code that reads as the owner.
CREATE FUNCTION startlijn.price_now(ticket_type_id uuid, item_id uuid, base_price bigint)
  RETURNS TABLE (price bigint, tier text)
  LANGUAGE sql STABLE
  AS $$
  SELECT COALESCE(x.price, base_price), x.name
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
      SELECT p.price, p.name FROM startlijn.price_tiers p
       WHERE p.ticket_type_id OPERATOR(pg_catalog.=) price_now.ticket_type_id AND p.deleted_at IS NULL
         AND (p.until_at IS NULL OR p.until_at OPERATOR(pg_catalog.>) pg_catalog.now())
         AND (p.until_sold IS NULL
              OR (SELECT COALESCE(pg_catalog.sum(a.n), 0)
                    FROM (SELECT a.quantity OPERATOR(pg_catalog.-) a.returned AS n FROM capacity.allocations a
                           WHERE a.item_id OPERATOR(pg_catalog.=) price_now.item_id
                             AND a.quantity OPERATOR(pg_catalog.>) a.returned
                           LIMIT p.until_sold) a) OPERATOR(pg_catalog.<) p.until_sold)
       ORDER BY p.position LIMIT 1) x ON true
$$;

-- the same for one ticket type (checkout, the organiser's JSON); PL/pgSQL,
-- so that its query keeps a plan for the session
CREATE FUNCTION startlijn.current_price(t startlijn.ticket_types, OUT price bigint, OUT tier text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  SELECT x.price, x.tier INTO price, tier FROM startlijn.price_now(t.id, t.item_id, t.price) x;
END
$$;

-------------------------------------------------------------------------------
-- Publishing: what is missing (stable keys, one per problem)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.event_missing(event_id uuid) RETURNS text[]
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events;
  missing text[] := '{}';
BEGIN
  SELECT * INTO e FROM startlijn.events x WHERE x.id = event_missing.event_id;
  IF e.starts_at <= pg_catalog.now() THEN missing := missing || 'starts_in_future'::text; END IF;
  IF e.venue_name IS NULL OR e.venue_country IS NULL THEN missing := missing || 'venue'::text; END IF;
  IF e.contact_email IS NULL THEN missing := missing || 'contact_email'::text; END IF;
  IF e.registration_opens_at IS NULL OR e.registration_closes_at IS NULL THEN
    missing := missing || 'registration_window'::text;
  ELSIF e.registration_closes_at > e.starts_at OR e.registration_closes_at <= pg_catalog.now() THEN
    missing := missing || 'registration_closes_before_start'::text;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM startlijn.courses c WHERE c.event_id = e.id AND c.deleted_at IS NULL) THEN
    missing := missing || 'course'::text;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t
                  WHERE t.event_id = e.id AND t.deleted_at IS NULL
                    AND COALESCE(t.sales_end, e.registration_closes_at, 'infinity') > pg_catalog.now()) THEN
    missing := missing || 'ticket_type_on_sale'::text;
  END IF;
  -- sales windows inside the registration window, one key per ticket type
  missing := missing || ARRAY(
    SELECT 'sales_window:' || t.id::text FROM startlijn.ticket_types t
     WHERE t.event_id = e.id AND t.deleted_at IS NULL
       AND ((t.sales_start IS NOT NULL AND e.registration_opens_at IS NOT NULL AND t.sales_start < e.registration_opens_at)
            OR (t.sales_end IS NOT NULL AND e.registration_closes_at IS NOT NULL AND t.sales_end > e.registration_closes_at))
     ORDER BY t.sort_order, t.name, t.id);
  RETURN missing;
END
$$;

-------------------------------------------------------------------------------
-- The event status machine and frozen rows (every writer)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.events_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  missing text[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' THEN
      PERFORM startlijn.raise('invalid_transition', 'A new event starts as a draft.');
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.deleted_at IS NOT NULL THEN
    PERFORM startlijn.raise('event_not_found', NULL, 'Deleted events cannot be changed.');
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN
    PERFORM startlijn.raise('invalid_argument', 'The organization of an event cannot change.');
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT (OLD.status, NEW.status) IN (('draft', 'published'), ('published', 'closed'),
                                        ('draft', 'cancelled'), ('published', 'cancelled')) THEN
      PERFORM startlijn.raise('invalid_transition',
        pg_catalog.format('An event cannot go from %s to %s.', OLD.status, NEW.status),
        'draft -> published -> closed; cancelled from draft or published.');
    END IF;
    IF NEW.status = 'published' THEN
      missing := startlijn.event_missing(NEW.id);
      IF pg_catalog.cardinality(missing) > 0 THEN
        PERFORM startlijn.raise('event_incomplete', pg_catalog.array_to_string(missing, ', '),
          'Complete what is listed (docs/catalog.md, "Publishing"), then publish again.');
      END IF;
      NEW.published_at := pg_catalog.now();
    END IF;
  ELSIF OLD.status IN ('closed', 'cancelled') AND NEW.deleted_at IS NULL THEN
    PERFORM startlijn.raise('invalid_transition',
      pg_catalog.format('A %s event cannot be changed.', OLD.status));
  END IF;
  IF NEW.deleted_at IS NOT NULL AND OLD.status = 'published' AND NEW.status = 'published' THEN
    PERFORM startlijn.raise('invalid_transition', 'A published event cannot be deleted.',
      'Cancel or close it first.');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER events_guard BEFORE INSERT OR UPDATE ON startlijn.events
  FOR EACH ROW EXECUTE FUNCTION startlijn.events_guard();

-- children: deleted rows are frozen; the tenant and parents never change
CREATE FUNCTION startlijn.catalog_child_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF OLD.deleted_at IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_transition', 'Deleted rows cannot be changed.');
  END IF;
  IF (pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.->>) 'organization_id')
       IS DISTINCT FROM (pg_catalog.to_jsonb(OLD) OPERATOR(pg_catalog.->>) 'organization_id')
     OR (pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.->>) 'event_id')
       IS DISTINCT FROM (pg_catalog.to_jsonb(OLD) OPERATOR(pg_catalog.->>) 'event_id') THEN
    PERFORM startlijn.raise('invalid_argument', 'A row cannot move to another event or organization.');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.courses
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.waves
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.ticket_types
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.price_tiers
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();

-------------------------------------------------------------------------------
-- Row level security: members read their organisation's catalog; anon and
-- participants read the public catalog through api.events/api.event only
-------------------------------------------------------------------------------
ALTER TABLE startlijn.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.events FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.courses ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.courses FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.waves ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.waves FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.ticket_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.ticket_types FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.price_tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.price_tiers FORCE ROW LEVEL SECURITY;

CREATE POLICY events_select_members ON startlijn.events FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY events_service ON startlijn.events FOR SELECT TO service_role USING (true);
CREATE POLICY courses_select_members ON startlijn.courses FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY courses_service ON startlijn.courses FOR SELECT TO service_role USING (true);
CREATE POLICY waves_select_members ON startlijn.waves FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY waves_service ON startlijn.waves FOR SELECT TO service_role USING (true);
CREATE POLICY ticket_types_select_members ON startlijn.ticket_types FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY ticket_types_service ON startlijn.ticket_types FOR SELECT TO service_role USING (true);
CREATE POLICY price_tiers_select_members ON startlijn.price_tiers FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY price_tiers_service ON startlijn.price_tiers FOR SELECT TO service_role USING (true);

-- read-only for members and the service role; every write goes through api.*
-- (the access code's salt and hash are readable by nobody)
REVOKE ALL ON startlijn.events, startlijn.courses, startlijn.waves, startlijn.ticket_types,
  startlijn.price_tiers FROM PUBLIC;
GRANT SELECT ON startlijn.events, startlijn.courses, startlijn.waves, startlijn.price_tiers
  TO authenticated, service_role;
GRANT SELECT (id, organization_id, event_id, course_id, wave_id, name, price, currency, vat_rate, sales_start,
              sales_end, min_per_order, max_per_order, visibility, min_age, max_age, sort_order,
              one_entry_per_person, item_id, created_at, updated_at, deleted_at)
  ON startlijn.ticket_types TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION startlijn.valid_time_zone(text), startlijn.valid_cancellation_policy(jsonb),
  startlijn.valid_legs(jsonb), startlijn.questions_problem(text), startlijn.answers_problem(text, text, uuid),
  startlijn.valid_questions(jsonb), startlijn.validate_answers(jsonb, jsonb, uuid)
  TO anon, authenticated, service_role;

-- The one check behind catalog_course, catalog_wave, catalog_ticket_type,
-- catalog_addon and catalog_variant: a signed-in caller, the id given, a
-- live row of tbl the caller's organisation can see (not_found otherwise:
-- no existence leak), and need on its event (catalog_event). Returns the id.
CREATE FUNCTION startlijn.catalog_child(tbl regclass, id uuid, arg text, not_found text, need text) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  org uuid;
  ev uuid;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  IF id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', pg_catalog.format('The argument %s is required.', arg));
  END IF;
  EXECUTE pg_catalog.format('SELECT x.organization_id, x.event_id FROM %s x '
                            'WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.deleted_at IS NULL', tbl)
     INTO org, ev USING id;
  IF org IS NULL OR startlijn.caller_role(org) IS NULL THEN
    PERFORM startlijn.raise(not_found);
  END IF;
  PERFORM startlijn.catalog_event(ev, need);
  RETURN id;
END
$$;
