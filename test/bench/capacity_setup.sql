-- Benchmark schema for startlijn_capacity: a ticket drop.
--   bench.new_drop(units, multi) creates a fresh pool of `units` (multi: an
--   event pool plus four distance pools of units/4, every item drawing from
--   both) and points bench.target at it;
--   bench.try_hold / bench.finish are what one buyer does: hold one entry,
--   then confirm (70%), release (20%) or let it expire (10%, TTL 1 s).
--   bench.naive / bench.plain_orders are the issue's baselines: one counter
--   row (UPDATE ... SET sold = sold + 1 WHERE sold < capacity) and a plain
--   INSERT, one transaction per sale, no hold, no audit.
--   bench.naive_try_hold / naive_finish do what a buyer does with the same
--   work as ours (a hold row, then confirm or release in a second
--   transaction, an audit row per step) on one counter row per pool, locked
--   until each commit: the same-work baseline (expiry is not modelled: the
--   10% that let ours expire release theirs).
--   bench.pretix_try_hold / pretix_finish: the same buyers on a pretix-style
--   quota check (lock the quota rows, count the sold and held positions).
CREATE EXTENSION IF NOT EXISTS startlijn_capacity CASCADE;
CREATE SCHEMA IF NOT EXISTS bench;

CREATE TABLE bench.target (one boolean PRIMARY KEY DEFAULT true, org uuid, items uuid[], pools uuid[], units integer);
CREATE TABLE bench.naive (id integer PRIMARY KEY, sold integer NOT NULL, capacity integer NOT NULL);
INSERT INTO bench.naive VALUES (1, 0, 1000000000);
CREATE TABLE bench.naive_pool (id integer PRIMARY KEY, capacity integer NOT NULL, held integer NOT NULL DEFAULT 0,
                               sold integer NOT NULL DEFAULT 0, CHECK (held >= 0 AND held + sold <= capacity));
CREATE TABLE bench.naive_holds (id bigserial PRIMARY KEY, holder text NOT NULL, quantity integer NOT NULL,
                                state text NOT NULL DEFAULT 'held', expires_at timestamptz NOT NULL,
                                created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench.naive_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL,
                              details jsonb NOT NULL);
CREATE TABLE bench.plain_orders (id bigserial PRIMARY KEY, holder text NOT NULL, quantity integer NOT NULL,
                                 created_at timestamptz NOT NULL DEFAULT now());

CREATE FUNCTION bench.new_drop(units integer, multi boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  org uuid := gen_random_uuid();
  main uuid;
  d uuid;
  its uuid[] := '{}';
  ps uuid[];
BEGIN
  main := (capacity.create_pool(org, 'event', units) ->> 'pool_id')::uuid;
  ps := ARRAY[main];
  IF multi THEN
    FOR i IN 1..4 LOOP
      d := (capacity.create_pool(org, 'distance ' || i, units / 4) ->> 'pool_id')::uuid;
      ps := ps || d;
      its := its || (capacity.create_item(org, 'entry ' || i,
               jsonb_build_array(jsonb_build_object('pool_id', main), jsonb_build_object('pool_id', d))) ->> 'item_id')::uuid;
    END LOOP;
  ELSE
    its := ARRAY[(capacity.create_item(org, 'entry', jsonb_build_array(jsonb_build_object('pool_id', main))) ->> 'item_id')::uuid];
  END IF;
  DELETE FROM bench.target;
  INSERT INTO bench.target VALUES (true, org, its, ps, units);
END
$$;

-- '' when sold out or contended (the buyer sees sold_out or try_again)
CREATE FUNCTION bench.try_hold(r integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  t bench.target;
BEGIN
  SELECT * INTO t FROM bench.target;
  RETURN capacity.hold(t.org,
           jsonb_build_array(jsonb_build_object('item_id', t.items[1 + r % array_length(t.items, 1)], 'quantity', 1)),
           CASE WHEN r > 90 THEN interval '1 second' ELSE interval '15 minutes' END,
           'buyer-' || pg_backend_pid()) ->> 'hold_id';
EXCEPTION WHEN SQLSTATE 'PT409' THEN
  RETURN '';
END
$$;

CREATE FUNCTION bench.finish(h text, r integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF h = '' THEN RETURN; END IF;
  IF r <= 70 THEN
    PERFORM capacity.confirm(h::uuid);
  ELSIF r <= 90 THEN
    PERFORM capacity.release(h::uuid);
  END IF;
END
$$;

-- after a run: units confirmed per pool against capacity, and whether the
-- slots agree with the holds
CREATE FUNCTION bench.naive_reset(units integer) RETURNS void LANGUAGE sql AS $$
  TRUNCATE bench.naive_pool, bench.naive_holds, bench.naive_log;
  INSERT INTO bench.naive_pool VALUES (1, units);
$$;

-- a hold on the counter row (its lock is held until commit); 0 when sold out
CREATE FUNCTION bench.naive_try_hold(r integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  h bigint;
BEGIN
  UPDATE bench.naive_pool SET held = held + 1 WHERE id = 1 AND held + sold < capacity;
  IF NOT FOUND THEN RETURN 0; END IF;
  INSERT INTO bench.naive_holds (holder, quantity, expires_at)
  VALUES ('buyer-' || pg_backend_pid(), 1, now() + interval '15 minutes') RETURNING id INTO h;
  INSERT INTO bench.naive_log (action, details) VALUES ('held', jsonb_build_object('hold', h, 'quantity', 1));
  RETURN h;
END
$$;

CREATE FUNCTION bench.naive_finish(h bigint, r integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF h = 0 THEN RETURN; END IF;
  IF r <= 70 THEN
    UPDATE bench.naive_pool SET held = held - 1, sold = sold + 1 WHERE id = 1;
    UPDATE bench.naive_holds SET state = 'confirmed' WHERE id = h;
    INSERT INTO bench.naive_log (action, details) VALUES ('confirmed', jsonb_build_object('hold', h));
  ELSE
    UPDATE bench.naive_pool SET held = held - 1 WHERE id = 1;
    UPDATE bench.naive_holds SET state = 'released' WHERE id = h;
    INSERT INTO bench.naive_log (action, details) VALUES ('released', jsonb_build_object('hold', h));
  END IF;
END
$$;

CREATE FUNCTION bench.check_drop() RETURNS TABLE (oversold bigint, inconsistent bigint, confirmed bigint)
  LANGUAGE sql AS $$
  WITH t AS (SELECT * FROM bench.target),
  per_pool AS (
    SELECT p.id, p.capacity,
           (SELECT count(*) FROM capacity.slots s WHERE s.pool_id = p.id AND s.held_until = 'infinity') AS slots_allocated,
           (SELECT COALESCE(sum((l ->> 'quantity')::int * ip.units), 0)
              FROM capacity.holds h, jsonb_array_elements(h.lines) l, capacity.item_pools ip
             WHERE h.organization_id = p.organization_id AND h.state = 'confirmed'
               AND ip.item_id = (l ->> 'item_id')::uuid AND ip.pool_id = p.id) AS units_confirmed
      FROM capacity.pools p, t WHERE p.id = ANY (t.pools))
  SELECT sum(GREATEST(units_confirmed - capacity, 0))::bigint,
         sum(abs(units_confirmed - slots_allocated))::bigint,
         (SELECT count(*) FROM capacity.holds h, t WHERE h.organization_id = t.org AND h.state = 'confirmed')
    FROM per_pool
$$;
-- The pretix-style baseline: a quota check as pretix makes it, the closest
-- peer an organiser would pick instead. Items draw on quotas (one quota of
-- `units`, or, for multi, an event quota and four distance quotas of
-- units/4 with item i on the event quota and distance quota i); each hold
-- locks the item's quota rows FOR UPDATE (in id order), counts the sold and
-- unexpired held positions of every such quota and inserts a position if
-- each count is below its size; then, in a second transaction as ours,
-- confirm (70%: the quota rows locked again, the position sold), release
-- (20%: the position deleted) or let it expire (10%, TTL 1 s). No hold
-- rows apart from the position, no audit.
CREATE TABLE bench.px_quota (id integer PRIMARY KEY, size integer NOT NULL);
CREATE TABLE bench.px_quota_items (quota_id integer NOT NULL REFERENCES bench.px_quota, item_id integer NOT NULL,
                                   PRIMARY KEY (quota_id, item_id));
CREATE INDEX ON bench.px_quota_items (item_id);
CREATE TABLE bench.px_positions (id bigserial PRIMARY KEY, item_id integer NOT NULL, holder text NOT NULL,
                                 state text NOT NULL, expires_at timestamptz NOT NULL,
                                 created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON bench.px_positions (item_id, state);

CREATE FUNCTION bench.pretix_reset(units integer, multi boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE bench.px_positions, bench.px_quota_items, bench.px_quota;
  INSERT INTO bench.px_quota VALUES (1, units);
  IF multi THEN
    INSERT INTO bench.px_quota SELECT 1 + i, units / 4 FROM generate_series(1, 4) i;
    INSERT INTO bench.px_quota_items SELECT 1, i FROM generate_series(1, 4) i;
    INSERT INTO bench.px_quota_items SELECT 1 + i, i FROM generate_series(1, 4) i;
  ELSE
    INSERT INTO bench.px_quota_items VALUES (1, 1);
  END IF;
END
$$;

-- the position's id, 0 when a quota of the item is full
CREATE FUNCTION bench.pretix_try_hold(r integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  it integer := 1 + r % (SELECT count(DISTINCT item_id)::integer FROM bench.px_quota_items);
  h bigint;
BEGIN
  PERFORM 1 FROM bench.px_quota q WHERE q.id IN (SELECT qi.quota_id FROM bench.px_quota_items qi WHERE qi.item_id = it)
    ORDER BY q.id FOR UPDATE;
  IF EXISTS (SELECT 1 FROM bench.px_quota q
              WHERE q.id IN (SELECT qi.quota_id FROM bench.px_quota_items qi WHERE qi.item_id = it)
                AND (SELECT count(*) FROM bench.px_positions p
                      WHERE p.item_id IN (SELECT qi.item_id FROM bench.px_quota_items qi WHERE qi.quota_id = q.id)
                        AND (p.state = 'sold' OR (p.state = 'held' AND p.expires_at > now()))) >= q.size) THEN
    RETURN 0;
  END IF;
  INSERT INTO bench.px_positions (item_id, holder, state, expires_at)
  VALUES (it, 'buyer-' || pg_backend_pid(), 'held',
          now() + CASE WHEN r > 90 THEN interval '1 second' ELSE interval '15 minutes' END)
  RETURNING id INTO h;
  RETURN h;
END
$$;

CREATE FUNCTION bench.pretix_finish(h bigint, r integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF h = 0 THEN RETURN; END IF;
  IF r <= 70 THEN
    PERFORM 1 FROM bench.px_quota q
      WHERE q.id IN (SELECT qi.quota_id FROM bench.px_quota_items qi, bench.px_positions p
                      WHERE p.id = h AND qi.item_id = p.item_id)
      ORDER BY q.id FOR UPDATE;
    UPDATE bench.px_positions SET state = 'sold' WHERE id = h;
  ELSIF r <= 90 THEN
    DELETE FROM bench.px_positions WHERE id = h;
  END IF;
END
$$;

-- after a pretix run: positions sold beyond a quota's size (must be 0)
CREATE FUNCTION bench.check_pretix() RETURNS bigint LANGUAGE sql AS $$
  SELECT COALESCE(sum(GREATEST(n - size, 0)), 0)::bigint
    FROM (SELECT q.size, (SELECT count(*) FROM bench.px_positions p
                           WHERE p.state = 'sold'
                             AND p.item_id IN (SELECT qi.item_id FROM bench.px_quota_items qi WHERE qi.quota_id = q.id)) AS n
            FROM bench.px_quota q) x
$$;

-- The write floor: the rows one of our buyers writes, into copies of
-- capacity's tables (LIKE ... INCLUDING ALL: the same columns, defaults,
-- CHECKs and indexes; the same foreign keys added), with an entry-sized row
-- per step in a copy of trail.entries. Each transaction is one prepared
-- statement of data-modifying CTEs: no input checks, no idempotency lookup,
-- no waitlist, no trigger, no canonical encoding or hashing
-- (capacity_floor.sql). No engine writing these rows can be faster.
CREATE TABLE bench.f_pools (LIKE capacity.pools INCLUDING ALL);
CREATE TABLE bench.f_slots (LIKE capacity.slots INCLUDING ALL) WITH (fillfactor = 80);
ALTER TABLE bench.f_slots ADD FOREIGN KEY (organization_id, pool_id) REFERENCES bench.f_pools (organization_id, id);
CREATE TABLE bench.f_holds (LIKE capacity.holds INCLUDING ALL);
CREATE TABLE bench.f_allocations (LIKE capacity.allocations INCLUDING ALL);
ALTER TABLE bench.f_allocations ADD FOREIGN KEY (organization_id, hold_id) REFERENCES bench.f_holds (organization_id, id);
CREATE TABLE bench.f_entries (LIKE trail.entries INCLUDING ALL);
CREATE SEQUENCE bench.f_entries_seq;
CREATE TABLE bench.f_target (one boolean PRIMARY KEY DEFAULT true, org uuid, pool uuid, item uuid, body integer);

-- a fresh floor pool of units; body: the average length of the drop's audit
-- entries so far (the entry-sized rows are as long as ours)
CREATE FUNCTION bench.new_floor(units integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  org uuid := gen_random_uuid();
  p uuid := gen_random_uuid();
BEGIN
  INSERT INTO bench.f_pools (id, organization_id, name, capacity, next_slot) VALUES (p, org, 'event', units, units);
  INSERT INTO bench.f_slots (organization_id, pool_id, slot_no, held_until)
  SELECT org, p, g, 'epoch'::timestamptz + g * interval '1 microsecond' FROM generate_series(0, units - 1) g;
  DELETE FROM bench.f_target;
  INSERT INTO bench.f_target
  SELECT true, org, p, gen_random_uuid(),
         COALESCE((SELECT avg(length(e.body))::integer FROM trail.entries e WHERE e.action LIKE 'capacity.%'), 600);
END
$$;

-- after a floor run: units taken beyond capacity (must be 0)
CREATE FUNCTION bench.check_floor() RETURNS bigint LANGUAGE sql AS $$
  SELECT GREATEST(count(*) FILTER (WHERE s.held_until = 'infinity') - max(p.capacity), 0)
    FROM bench.f_slots s JOIN bench.f_pools p ON p.id = s.pool_id JOIN bench.f_target t ON t.pool = p.id
$$;

-- statistics for the bench's own tables only. capacity's tables stay as a
-- fresh install leaves them (never analyzed): ANALYZE on their empty tables
-- would mark them as known to be empty, and every backend that plans its
-- statements before autovacuum analyzes them again would keep sequential
-- scans of holds and allocations for its lifetime (docs/capacity.md).
ANALYZE bench.target, bench.naive, bench.naive_pool, bench.naive_holds, bench.naive_log, bench.plain_orders;
-- (the floor's copies are left unanalyzed too, like capacity's tables)
