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
