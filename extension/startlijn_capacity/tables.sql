-- startlijn_capacity: capacity reservation (schema capacity).
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
--
-- The install script extension/startlijn_capacity--<version>.sql is built by the Makefile
-- from extension/startlijn_capacity/*.sql in the order listed there; this file comes first.
-- tables.sql: preconditions, the tables, their row level security and
-- what pg_dump keeps.

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
  -- every unit is a row: one call adds at most this many (about 1 s of writes)
  max_growth        integer NOT NULL DEFAULT 100000 CHECK (max_growth BETWEEN 1 AND 10000000),
  max_skips         integer NOT NULL DEFAULT 3 CHECK (max_skips BETWEEN 0 AND 1000),
  approx_refresh    interval NOT NULL DEFAULT '1 minute' CHECK (approx_refresh >= interval '1 second')
);
COMMENT ON COLUMN capacity.settings.max_skips IS
  'how many times a waitlist entry that does not fit yet may be overtaken by later, smaller entries before freed units accumulate for it';
INSERT INTO capacity.settings DEFAULT VALUES;

CREATE TABLE capacity.pools (
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL,
  name             text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  capacity         integer NOT NULL DEFAULT 0 CHECK (capacity >= 0),
  next_slot        integer NOT NULL DEFAULT 0 CHECK (next_slot >= capacity),
  waitlist_pending integer NOT NULL DEFAULT 0 CHECK (waitlist_pending >= 0),
  approx_available integer,
  approx_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (id, organization_id)
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
  PRIMARY KEY (pool_id, slot_no, organization_id),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  CHECK (hold_id IS NOT NULL OR (item_id IS NULL AND held_until < '2000-01-01'))
) WITH (fillfactor = 80);
CREATE INDEX slots_claim ON capacity.slots (pool_id, held_until);
CREATE INDEX slots_hold ON capacity.slots (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE capacity.items (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  name            text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (id, organization_id)
);

-- Which pools an item draws from, and how many units per item (a team
-- entry of four draws four).
CREATE TABLE capacity.item_pools (
  organization_id uuid NOT NULL,
  item_id         uuid NOT NULL,
  pool_id         uuid NOT NULL,
  units           integer NOT NULL DEFAULT 1 CHECK (units BETWEEN 1 AND 1000),
  PRIMARY KEY (item_id, pool_id, organization_id),
  FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id)
);
CREATE INDEX item_pools_pool ON capacity.item_pools (pool_id);

-- A hold: units claimed for a holder until expires_at. state 'held' with
-- expires_at in the past is expired already (the sweep only tidies up).
CREATE TABLE capacity.holds (
  id                uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
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
  PRIMARY KEY (id, organization_id)
);
CREATE INDEX holds_expiry ON capacity.holds (expires_at) WHERE state = 'held';
-- idempotency keys are unique per organisation and holder; holds without a
-- key (most of a box office's) add no index entry
CREATE UNIQUE INDEX holds_idempotency ON capacity.holds (organization_id, holder, idempotency_key)
  WHERE idempotency_key IS NOT NULL;


-- Confirmed lines: what a hold turned into. return_units gives units back.
CREATE TABLE capacity.allocations (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  hold_id         uuid NOT NULL,
  item_id         uuid,
  pool_id         uuid,
  quantity        integer NOT NULL CHECK (quantity >= 1),
  returned        integer NOT NULL DEFAULT 0 CHECK (returned >= 0 AND returned <= quantity),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CHECK ((item_id IS NULL) <> (pool_id IS NULL)),
  PRIMARY KEY (id, organization_id),
  FOREIGN KEY (organization_id, hold_id) REFERENCES capacity.holds (organization_id, id)
);
CREATE INDEX allocations_hold ON capacity.allocations (hold_id);
-- what an item sold (startlijn's tiers "until N sold", the organiser's
-- figures) without reading every allocation of every item
CREATE INDEX allocations_item ON capacity.allocations (item_id) INCLUDE (quantity, returned) WHERE item_id IS NOT NULL;

-- Waitlist entries on a pool or an item. An offer is a hold in the
-- entry's name (hold_id) with the offer TTL.
CREATE TABLE capacity.waitlist (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
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
  PRIMARY KEY (id, organization_id),
  FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id)
);
CREATE UNIQUE INDEX waitlist_one_open ON capacity.waitlist
  (organization_id, holder, COALESCE(pool_id, item_id)) WHERE state IN ('waiting', 'offered');
CREATE INDEX waitlist_queue ON capacity.waitlist (priority DESC, created_at, id) WHERE state = 'waiting';
-- a person's own entries are looked up by holder (the platform's
-- api.my_waitlist, in every organisation)
CREATE INDEX waitlist_holder ON capacity.waitlist (holder);

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
-- and every other table: a dump keeps pools, units, holds, allocations and
-- waitlist entries (see docs/operations.md, "Backup and restore")
SELECT pg_catalog.pg_extension_config_dump('capacity.pools', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.slots', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.items', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.item_pools', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.holds', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.allocations', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.waitlist', '');
