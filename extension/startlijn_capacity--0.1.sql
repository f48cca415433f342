-- startlijn_capacity 0.1: capacity reservation (schema capacity).
--
-- Generic: it knows pools (a number of interchangeable units), items that
-- draw units from one or more pools, holds, allocations and a waitlist;
-- nothing of events or tickets. See docs/capacity.md.
--
-- The structure that makes it exact and fast: every unit of a pool is a
-- row in capacity.slots. A slot is free when held_until < now() (free
-- slots carry a fixed key in 1970, expired holds their expiry time), held
-- when held_until is in the future and allocated when it is 'infinity'.
-- A hold claims free slots with FOR UPDATE SKIP LOCKED from a random start,
-- so buyers never wait for each other and never take the same unit; an
-- expired hold frees its units the moment it expires, without any job.
--
-- Every table has RLS enabled and forced with a deny-all policy and no
-- grants: only the extension owner (superuser or BYPASSRLS) reads or writes
-- them, through the functions below. Nothing is granted to PUBLIC; the
-- integrating system grants what it exposes and checks who may call.

\echo Use "CREATE EXTENSION startlijn_capacity" to load this file. \quit

DO $pre$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn_capacity must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

COMMENT ON SCHEMA capacity IS 'startlijn_capacity: pools, holds, allocations and waitlists';

CREATE FUNCTION capacity.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------

-- One row of limits. TTLs: an iDEAL payment expires after 15 minutes, a
-- card payment after about 30; max_ttl and max_hold_lifetime leave room
-- for both (docs/capacity.md, choosing TTLs).
CREATE TABLE capacity.settings (
  singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  max_ttl           interval NOT NULL DEFAULT '1 hour'
                    CHECK (max_ttl >= interval '1 minute' AND max_ttl <= interval '7 days'),
  max_hold_lifetime interval NOT NULL DEFAULT '2 hours'
                    CHECK (max_hold_lifetime >= interval '1 minute' AND max_hold_lifetime <= interval '30 days'),
  offer_ttl         interval NOT NULL DEFAULT '48 hours'
                    CHECK (offer_ttl >= interval '1 minute' AND offer_ttl <= interval '30 days'),
  max_quantity      integer NOT NULL DEFAULT 100 CHECK (max_quantity BETWEEN 1 AND 10000),
  max_lines         integer NOT NULL DEFAULT 20 CHECK (max_lines BETWEEN 1 AND 200),
  max_capacity      integer NOT NULL DEFAULT 1000000 CHECK (max_capacity BETWEEN 1 AND 100000000),
  max_skips         integer NOT NULL DEFAULT 3 CHECK (max_skips BETWEEN 0 AND 1000),
  approx_refresh    interval NOT NULL DEFAULT '1 minute' CHECK (approx_refresh >= interval '1 second')
);
COMMENT ON COLUMN capacity.settings.max_skips IS
  'how many times a waitlist entry that does not fit yet may be overtaken by later, smaller entries before freed units accumulate for it';
INSERT INTO capacity.settings DEFAULT VALUES;

CREATE TABLE capacity.pools (
  id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL,
  name             text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  capacity         integer NOT NULL DEFAULT 0 CHECK (capacity >= 0),
  next_slot        integer NOT NULL DEFAULT 0 CHECK (next_slot >= capacity),
  waitlist_pending integer NOT NULL DEFAULT 0 CHECK (waitlist_pending >= 0),
  approx_available integer,
  approx_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, id)
);
COMMENT ON COLUMN capacity.pools.waitlist_pending IS
  'waitlist entries waiting or holding an offer that draw from this pool; while above zero, freed units go to the waitlist, not to the public';

-- One row per unit. held_until < now(): free (free slots carry
-- 'epoch' + slot_no microseconds, a fixed key per slot); in the future:
-- held by hold_id until then; 'infinity': allocated to hold_id.
CREATE TABLE capacity.slots (
  organization_id uuid NOT NULL,
  pool_id         uuid NOT NULL,
  slot_no         integer NOT NULL CHECK (slot_no >= 0),
  held_until      timestamptz NOT NULL,
  hold_id         uuid,
  item_id         uuid,
  PRIMARY KEY (pool_id, slot_no),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  CHECK (hold_id IS NOT NULL OR (item_id IS NULL AND held_until < '2000-01-01'))
) WITH (fillfactor = 80);
CREATE INDEX slots_claim ON capacity.slots (pool_id, held_until);
CREATE INDEX slots_hold ON capacity.slots (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE capacity.items (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  name            text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, id)
);

-- Which pools an item draws from, and how many units per item (a team
-- entry of four draws four).
CREATE TABLE capacity.item_pools (
  organization_id uuid NOT NULL,
  item_id         uuid NOT NULL,
  pool_id         uuid NOT NULL,
  units           integer NOT NULL DEFAULT 1 CHECK (units BETWEEN 1 AND 1000),
  PRIMARY KEY (item_id, pool_id),
  FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id)
);
CREATE INDEX item_pools_pool ON capacity.item_pools (pool_id);

-- A hold: units claimed for a holder until expires_at. state 'held' with
-- expires_at in the past is expired already (the sweep only tidies up).
CREATE TABLE capacity.holds (
  id                uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id   uuid NOT NULL,
  holder            text NOT NULL CHECK (pg_catalog.length(holder) BETWEEN 1 AND 200),
  idempotency_key   text CHECK (pg_catalog.length(idempotency_key) BETWEEN 1 AND 200),
  lines             jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(lines) = 'array'),
  units             integer NOT NULL CHECK (units >= 1),
  state             text NOT NULL DEFAULT 'held'
                    CHECK (state IN ('held', 'confirmed', 'released', 'expired')),
  waitlist_entry_id uuid,
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at        timestamptz NOT NULL,
  closed_at         timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((state = 'held') = (closed_at IS NULL)),
  UNIQUE (organization_id, id),
  UNIQUE (organization_id, holder, idempotency_key)
);
CREATE INDEX holds_expiry ON capacity.holds (expires_at) WHERE state = 'held';

-- Confirmed lines: what a hold turned into. return_units gives units back.
CREATE TABLE capacity.allocations (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  hold_id         uuid NOT NULL,
  item_id         uuid,
  pool_id         uuid,
  quantity        integer NOT NULL CHECK (quantity >= 1),
  returned        integer NOT NULL DEFAULT 0 CHECK (returned >= 0 AND returned <= quantity),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CHECK ((item_id IS NULL) <> (pool_id IS NULL)),
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, hold_id) REFERENCES capacity.holds (organization_id, id)
);
CREATE INDEX allocations_hold ON capacity.allocations (hold_id);

-- Waitlist entries on a pool or an item. An offer is a hold in the
-- entry's name (hold_id) with the offer TTL.
CREATE TABLE capacity.waitlist (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  pool_id         uuid,
  item_id         uuid,
  holder          text NOT NULL CHECK (pg_catalog.length(holder) BETWEEN 1 AND 200),
  quantity        integer NOT NULL CHECK (quantity >= 1),
  priority        integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  state           text NOT NULL DEFAULT 'waiting'
                  CHECK (state IN ('waiting', 'offered', 'accepted', 'declined', 'expired', 'left')),
  hold_id         uuid,
  skipped         integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  offered_at      timestamptz,
  closed_at       timestamptz,
  CHECK ((item_id IS NULL) <> (pool_id IS NULL)),
  CHECK ((state = 'offered') = (hold_id IS NOT NULL AND closed_at IS NULL)
         OR state IN ('accepted', 'declined', 'expired')),
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id)
);
CREATE UNIQUE INDEX waitlist_one_open ON capacity.waitlist
  (organization_id, holder, COALESCE(pool_id, item_id)) WHERE state IN ('waiting', 'offered');
CREATE INDEX waitlist_queue ON capacity.waitlist (priority DESC, created_at, id) WHERE state = 'waiting';

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['settings', 'pools', 'slots', 'items', 'item_pools', 'holds',
                           'allocations', 'waitlist'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE capacity.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE capacity.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY no_direct_access ON capacity.%I USING (false)', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON capacity.%I FROM PUBLIC', t);
  END LOOP;
END
$rls$;

SELECT pg_catalog.pg_extension_config_dump('capacity.settings', '');

-------------------------------------------------------------------------------
-- Internal helpers
-------------------------------------------------------------------------------

-- The pools a waitlist entry draws from.
CREATE FUNCTION capacity._entry_pools(pool_id uuid, item_id uuid) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT CASE WHEN _entry_pools.pool_id IS NOT NULL THEN ARRAY[_entry_pools.pool_id]
           ELSE (SELECT COALESCE(pg_catalog.array_agg(ip.pool_id ORDER BY ip.pool_id), '{}')
                   FROM capacity.item_pools ip WHERE ip.item_id = _entry_pools.item_id) END
  $$;

-- Keep pools.waitlist_pending equal to the open (waiting or offered)
-- entries per pool. Pool rows are locked in id order: no deadlock between
-- two entries touching the same pools.
CREATE FUNCTION capacity._waitlist_pending() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  was_open boolean := TG_OP = 'UPDATE' AND OLD.state IN ('waiting', 'offered');
  is_open boolean := NEW.state IN ('waiting', 'offered');
  delta integer;
  pools uuid[];
BEGIN
  delta := is_open::integer - was_open::integer;
  IF delta <> 0 THEN
    pools := capacity._entry_pools(NEW.pool_id, NEW.item_id);
    PERFORM 1 FROM capacity.pools p WHERE p.id = ANY (pools) ORDER BY p.id FOR NO KEY UPDATE;
    UPDATE capacity.pools p SET waitlist_pending = p.waitlist_pending + delta
     WHERE p.id = ANY (pools);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER waitlist_pending AFTER INSERT OR UPDATE OF state ON capacity.waitlist
  FOR EACH ROW EXECUTE FUNCTION capacity._waitlist_pending();

CREATE FUNCTION capacity._touch() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$ BEGIN NEW.updated_at := pg_catalog.now(); RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON capacity.pools
  FOR EACH ROW EXECUTE FUNCTION capacity._touch();
CREATE TRIGGER touch BEFORE UPDATE ON capacity.allocations
  FOR EACH ROW EXECUTE FUNCTION capacity._touch();

-- A hold as the write functions return it (NULL when there is none).
CREATE FUNCTION capacity.hold_info(hold uuid) RETURNS jsonb
  LANGUAGE c STABLE STRICT
  AS 'MODULE_PATHNAME', 'capacity_hold_info';

CREATE FUNCTION capacity.waitlist_json(w capacity.waitlist) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'entry_id', w.id, 'organization_id', w.organization_id, 'pool_id', w.pool_id,
      'item_id', w.item_id, 'holder', w.holder, 'quantity', w.quantity, 'priority', w.priority,
      'state', w.state, 'hold_id', w.hold_id, 'created_at', w.created_at,
      'offered_at', w.offered_at, 'closed_at', w.closed_at,
      'offer_expires_at', (SELECT h.expires_at FROM capacity.holds h
                            WHERE h.id = w.hold_id AND w.state = 'offered'),
      'position', CASE WHEN w.state = 'waiting' THEN
        (SELECT pg_catalog.count(*) + 1 FROM capacity.waitlist o
          WHERE o.state = 'waiting' AND o.organization_id = w.organization_id
            AND (o.pool_id = w.pool_id OR o.item_id = w.item_id)
            AND (o.priority > w.priority
                 OR (o.priority = w.priority AND (o.created_at, o.id) < (w.created_at, w.id)))) END))
  $$;

-- Exact counts of a pool, as of now.
CREATE FUNCTION capacity.pool_status(pool uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'pool_id', p.id, 'organization_id', p.organization_id, 'name', p.name,
      'capacity', p.capacity, 'allocated', c.allocated, 'held', c.held, 'free', c.free,
      'waitlist_pending', p.waitlist_pending,
      'available', CASE WHEN p.waitlist_pending > 0 THEN 0 ELSE c.free END,
      'approx_available', p.approx_available, 'approx_at', p.approx_at)
      FROM capacity.pools p,
           LATERAL (SELECT pg_catalog.count(*) FILTER (WHERE s.held_until = 'infinity') AS allocated,
                           pg_catalog.count(*) FILTER (WHERE s.held_until >= pg_catalog.now()
                                                         AND s.held_until < 'infinity') AS held,
                           pg_catalog.count(*) FILTER (WHERE s.held_until < pg_catalog.now()) AS free
                      FROM capacity.slots s WHERE s.pool_id = p.id) c
     WHERE p.id = pool
  $$;

-- Units a new public hold could take from the pool right now (exact):
-- zero while the waitlist has entries, whose offers come first.
CREATE FUNCTION capacity.available(pool uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT CASE WHEN p.waitlist_pending > 0 THEN 0
           ELSE (SELECT pg_catalog.count(*)::integer FROM capacity.slots s
                  WHERE s.pool_id = p.id AND s.held_until < pg_catalog.now()) END
      FROM capacity.pools p WHERE p.id = pool
  $$;

-- Cheap read for listing pages: the figure the last sweep (or capacity
-- change) computed, at most settings.approx_refresh plus the sweep
-- interval old. Never use it to decide whether a sale may happen.
CREATE FUNCTION capacity.available_approx(pool uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT p.approx_available FROM capacity.pools p WHERE p.id = pool $$;

CREATE FUNCTION capacity._refresh_approx(pools uuid[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
    WITH u AS (
      UPDATE capacity.pools p
         SET approx_available = CASE WHEN p.waitlist_pending > 0 THEN 0 ELSE
               (SELECT pg_catalog.count(*)::integer FROM capacity.slots s
                 WHERE s.pool_id = p.id AND s.held_until < pg_catalog.now()) END,
             approx_at = pg_catalog.now()
       WHERE p.id = ANY (pools)
      RETURNING 1)
    SELECT pg_catalog.count(*)::integer FROM u
  $$;

-------------------------------------------------------------------------------
-- The write paths (C, src/capacity/capacity.c)
-------------------------------------------------------------------------------

CREATE FUNCTION capacity.hold(
    organization_id uuid, lines jsonb, ttl interval, holder text, idempotency_key text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_hold';
COMMENT ON FUNCTION capacity.hold(uuid, jsonb, interval, text, text) IS
  'hold units for lines [{"item_id"|"pool_id": uuid, "quantity": n}], all or nothing; sold_out or try_again otherwise';

CREATE FUNCTION capacity.confirm(hold uuid) RETURNS jsonb
  LANGUAGE c VOLATILE STRICT
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_confirm';
COMMENT ON FUNCTION capacity.confirm(uuid) IS
  'turn a live hold into allocations, exactly once; a repeated confirm returns the same allocations';

CREATE FUNCTION capacity._close(hold uuid, reason text, expiring boolean) RETURNS jsonb
  LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_close';

CREATE FUNCTION capacity.release(hold uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT capacity._close(hold, reason, false) $$;

CREATE FUNCTION capacity.extend(hold uuid, ttl interval) RETURNS jsonb
  LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_extend';

CREATE FUNCTION capacity.return_units(allocation uuid, quantity integer, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_return_units';

CREATE FUNCTION capacity.set_capacity(pool uuid, capacity integer, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_set_capacity';
COMMENT ON FUNCTION capacity.set_capacity(uuid, integer, text) IS
  'raise or lower a pool''s capacity; lowering below what is allocated plus held fails with capacity_in_use';

-- Offer freed units of a pool to its waitlist; returns the offers made.
CREATE FUNCTION capacity.promote(pool uuid) RETURNS integer
  LANGUAGE c VOLATILE STRICT
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_promote';

-------------------------------------------------------------------------------
-- Pools, items, waitlist (SQL; the slot work is done by the C functions)
-------------------------------------------------------------------------------

CREATE FUNCTION capacity.create_pool(organization_id uuid, name text, capacity integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  p capacity.pools;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF name IS NULL OR pg_catalog.length(pg_catalog.btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM capacity.raise('invalid_name', 'A pool name has 1 to 200 characters.');
  END IF;
  INSERT INTO capacity.pools AS x (organization_id, name)
  VALUES (create_pool.organization_id, pg_catalog.btrim(create_pool.name))
  RETURNING x.* INTO p;
  PERFORM trail.log(p.organization_id, 'capacity.pool_created', 'pool:' || p.id::text,
                    pg_catalog.jsonb_build_object('pool_id', p.id, 'name', p.name));
  RETURN capacity.set_capacity(p.id, create_pool.capacity, 'created');
END
$$;

CREATE FUNCTION capacity.create_item(organization_id uuid, name text, pools jsonb)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  i capacity.items;
  e jsonb;
  pid uuid;
  n integer;
  u integer;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF name IS NULL OR pg_catalog.length(pg_catalog.btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM capacity.raise('invalid_name', 'An item name has 1 to 200 characters.');
  END IF;
  IF pools IS NULL OR pg_catalog.jsonb_typeof(pools) <> 'array'
     OR pg_catalog.jsonb_array_length(pools) NOT BETWEEN 1 AND 20 THEN
    PERFORM capacity.raise('invalid_argument', 'pools is an array of 1 to 20 objects {"pool_id": uuid, "units": n}.');
  END IF;
  INSERT INTO capacity.items AS x (organization_id, name)
  VALUES (create_item.organization_id, pg_catalog.btrim(create_item.name))
  RETURNING x.* INTO i;
  FOR e IN SELECT v FROM pg_catalog.jsonb_array_elements(pools) v LOOP
    IF pg_catalog.jsonb_typeof(e) <> 'object' OR NOT e ? 'pool_id'
       OR (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(e) k WHERE k NOT IN ('pool_id', 'units')) > 0 THEN
      PERFORM capacity.raise('invalid_argument', 'Each pool is an object {"pool_id": uuid, "units": n}.');
    END IF;
    BEGIN
      pid := (e OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
      u := COALESCE((e OPERATOR(pg_catalog.->>) 'units')::integer, 1);
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
      PERFORM capacity.raise('invalid_argument', 'pool_id must be a uuid and units an integer.');
    END;
    IF u NOT BETWEEN 1 AND 1000 THEN
      PERFORM capacity.raise('invalid_quantity', 'units per item is 1 to 1000.');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM capacity.pools p
                    WHERE p.id = pid AND p.organization_id = create_item.organization_id) THEN
      PERFORM capacity.raise('pool_not_found', pg_catalog.format('No pool %s in this organization.', pid));
    END IF;
    INSERT INTO capacity.item_pools (organization_id, item_id, pool_id, units)
    VALUES (i.organization_id, i.id, pid, u)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
      PERFORM capacity.raise('duplicate_line', pg_catalog.format('Pool %s is listed twice.', pid));
    END IF;
  END LOOP;
  PERFORM trail.log(i.organization_id, 'capacity.item_created', 'item:' || i.id::text,
                    pg_catalog.jsonb_build_object('item_id', i.id, 'name', i.name, 'pools', pools));
  RETURN capacity.item_json(i.id);
END
$$;

CREATE FUNCTION capacity.item_json(item uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'item_id', i.id, 'organization_id', i.organization_id, 'name', i.name,
      'pools', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pool_id', ip.pool_id, 'units', ip.units)
                                             ORDER BY ip.pool_id)
                  FROM capacity.item_pools ip WHERE ip.item_id = i.id),
      'available', (SELECT pg_catalog.min(capacity.available(ip.pool_id) / ip.units)
                      FROM capacity.item_pools ip WHERE ip.item_id = i.id))
      FROM capacity.items i WHERE i.id = item
  $$;

CREATE FUNCTION capacity.join_waitlist(
    organization_id uuid, holder text, quantity integer,
    pool_id uuid DEFAULT NULL, item_id uuid DEFAULT NULL, priority integer DEFAULT 0)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  w capacity.waitlist;
  s capacity.settings;
  pid uuid;
BEGIN
  SELECT * INTO s FROM capacity.settings;
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF (pool_id IS NULL) = (item_id IS NULL) THEN
    PERFORM capacity.raise('invalid_argument', 'Pass exactly one of pool_id and item_id.');
  END IF;
  IF holder IS NULL OR pg_catalog.length(holder) NOT BETWEEN 1 AND 200 THEN
    PERFORM capacity.raise('invalid_argument', 'The holder has 1 to 200 characters.');
  END IF;
  IF quantity IS NULL OR quantity < 1 OR quantity > s.max_quantity THEN
    PERFORM capacity.raise('invalid_quantity', pg_catalog.format('The quantity must be 1 to %s.', s.max_quantity));
  END IF;
  IF priority IS NULL OR priority NOT BETWEEN -1000 AND 1000 THEN
    PERFORM capacity.raise('invalid_argument', 'The priority is -1000 to 1000.');
  END IF;
  IF pool_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM capacity.pools p
       WHERE p.id = join_waitlist.pool_id AND p.organization_id = join_waitlist.organization_id) THEN
    PERFORM capacity.raise('pool_not_found');
  END IF;
  IF item_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM capacity.items i
       WHERE i.id = join_waitlist.item_id AND i.organization_id = join_waitlist.organization_id) THEN
    PERFORM capacity.raise('item_not_found');
  END IF;
  INSERT INTO capacity.waitlist AS x (organization_id, pool_id, item_id, holder, quantity, priority)
  VALUES (join_waitlist.organization_id, join_waitlist.pool_id, join_waitlist.item_id,
          join_waitlist.holder, join_waitlist.quantity, join_waitlist.priority)
  ON CONFLICT DO NOTHING
  RETURNING x.* INTO w;
  IF w.id IS NULL THEN
    PERFORM capacity.raise('already_on_waitlist', NULL, 'Leave the waitlist first to change the quantity.');
  END IF;
  PERFORM trail.log(w.organization_id, 'capacity.waitlist_joined', 'waitlist:' || w.id::text,
                    pg_catalog.jsonb_build_object('entry_id', w.id, 'pool_id', w.pool_id, 'item_id', w.item_id,
                                                  'quantity', w.quantity, 'priority', w.priority));
  -- units that are free now go to the queue at once (this entry, if it is next)
  FOREACH pid IN ARRAY capacity._entry_pools(w.pool_id, w.item_id) LOOP
    PERFORM capacity.promote(pid);
  END LOOP;
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = w.id;
  RETURN capacity.waitlist_json(w);
END
$$;

-- Leave the waitlist; an entry holding an offer declines it (its units
-- pass to the next entry).
CREATE FUNCTION capacity.leave_waitlist(entry uuid, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  SET lock_timeout = '3s'
  AS $$
DECLARE
  w capacity.waitlist;
  pid uuid;
BEGIN
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = entry FOR UPDATE;
  IF w.id IS NULL THEN
    PERFORM capacity.raise('waitlist_entry_not_found');
  END IF;
  IF w.state = 'offered' THEN
    PERFORM capacity._close(w.hold_id, COALESCE(reason, 'declined'), false);
  ELSIF w.state = 'waiting' THEN
    UPDATE capacity.waitlist x SET state = 'left', closed_at = pg_catalog.now() WHERE x.id = w.id;
    PERFORM trail.log(w.organization_id, 'capacity.waitlist_left', 'waitlist:' || w.id::text,
                      pg_catalog.jsonb_build_object('entry_id', w.id), reason);
    -- the head leaving may let the next entries be served
    FOREACH pid IN ARRAY capacity._entry_pools(w.pool_id, w.item_id) LOOP
      PERFORM capacity.promote(pid);
    END LOOP;
  END IF;
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = entry;
  RETURN capacity.waitlist_json(w);
END
$$;

-- Tidy up: mark expired holds and offers, give their units back to the
-- waitlists, refresh the approximate figures. Expired units are free for
-- new holds before this runs; the sweep is what moves them to waitlists.
CREATE FUNCTION capacity.sweep(max_rows integer DEFAULT 10000) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  h record;
  n_expired integer := 0;
  n_offers integer := 0;
  n_refreshed integer;
  pid uuid;
  stale uuid[];
BEGIN
  IF max_rows IS NULL OR max_rows < 1 THEN
    PERFORM capacity.raise('invalid_argument', 'max_rows must be at least 1.');
  END IF;
  FOR h IN SELECT x.id FROM capacity.holds x
            WHERE x.state = 'held' AND x.expires_at <= pg_catalog.now()
            ORDER BY x.expires_at LIMIT max_rows
            FOR UPDATE SKIP LOCKED LOOP
    PERFORM capacity._close(h.id, NULL, true);
    n_expired := n_expired + 1;
  END LOOP;
  -- pools whose waitlist may have units to offer (e.g. freed by expiries
  -- a public hold could not take)
  FOR pid IN SELECT p.id FROM capacity.pools p WHERE p.waitlist_pending > 0 ORDER BY p.id LOOP
    n_offers := n_offers + capacity.promote(pid);
  END LOOP;
  SELECT COALESCE(pg_catalog.array_agg(p.id), '{}') INTO stale
    FROM (SELECT p.id FROM capacity.pools p
           WHERE p.approx_at IS NULL
              OR p.approx_at < pg_catalog.now() - (SELECT s.approx_refresh FROM capacity.settings s)
           ORDER BY p.approx_at NULLS FIRST LIMIT 1000) p;
  n_refreshed := capacity._refresh_approx(stale);
  RETURN pg_catalog.jsonb_build_object('expired', n_expired, 'offers', n_offers, 'refreshed', n_refreshed);
END
$$;

CREATE FUNCTION capacity.schedule_sweep(schedule text DEFAULT '* * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM capacity.raise('invalid_argument', 'The sweep runs through pg_cron, which is not installed.',
                           'CREATE EXTENSION pg_cron, or call capacity.sweep() from your own scheduler.');
  END IF;
  RETURN cron.schedule('capacity-sweep', schedule, 'SELECT capacity.sweep()');
END
$fn$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs.
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'capacity'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$priv$;
