-- the write floor of one buyer (see capacity_setup.sql): the rows ours
-- writes, one statement per transaction; hold, then confirm (70%),
-- release (20%) or let it expire (10%), as capacity_drop.sql
\set r random(1, 100)
\set start random(0, 9999)
WITH t AS (SELECT * FROM bench.f_target),
     -- from a random free key, then below it, as the engine claims (without
     -- the spread every buyer walks the index entries of all units taken)
     s AS (SELECT COALESCE(NULLIF(ARRAY(SELECT f.ctid FROM bench.f_slots f
                                         WHERE f.pool_id = (SELECT t.pool FROM bench.f_target t)
                                           AND f.held_until >= 'epoch'::timestamptz + :start * interval '1 microsecond'
                                           AND f.held_until < now()
                                         ORDER BY f.held_until LIMIT 1 FOR UPDATE SKIP LOCKED), '{}'),
                           ARRAY(SELECT f.ctid FROM bench.f_slots f
                                  WHERE f.pool_id = (SELECT t.pool FROM bench.f_target t)
                                    AND f.held_until < 'epoch'::timestamptz + :start * interval '1 microsecond'
                                    AND f.held_until < now()
                                  ORDER BY f.held_until LIMIT 1 FOR UPDATE SKIP LOCKED)) AS free),
     h AS (INSERT INTO bench.f_holds (organization_id, holder, lines, units, expires_at)
           SELECT t.org, 'buyer-' || pg_backend_pid(), jsonb_build_array(jsonb_build_object('item_id', t.item, 'quantity', 1)),
                  1, now() + CASE WHEN :r > 90 THEN interval '1 second' ELSE interval '15 minutes' END
             FROM t, s WHERE cardinality(s.free) > 0 RETURNING id, organization_id, expires_at),
     u AS (UPDATE bench.f_slots x SET held_until = h.expires_at, hold_id = h.id, item_id = t.item
             FROM h, t WHERE x.ctid = ANY ((SELECT s.free FROM s)::tid[]) RETURNING 1),
     e AS (INSERT INTO bench.f_entries (id, log_id, xact, created_at, action, body, leaf_hash)
           SELECT nextval('bench.f_entries_seq'), h.organization_id, txid_current(), now(), 'capacity.held',
                  rpad('{"v":1,"hold":"' || h.id || '"', t.body, ' '),
                  '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea
             FROM h, t RETURNING 1)
SELECT COALESCE((SELECT h.id::text FROM h), '') AS fh, (SELECT count(*) FROM u) AS claimed \gset
\if :r <= 70
WITH t AS (SELECT * FROM bench.f_target),
     h AS (UPDATE bench.f_holds x SET state = 'confirmed', closed_at = now()
            WHERE x.id = NULLIF(:fh, '')::uuid RETURNING x.*),
     s AS (UPDATE bench.f_slots x SET held_until = 'infinity' FROM h WHERE x.hold_id = h.id RETURNING 1),
     a AS (INSERT INTO bench.f_allocations (organization_id, hold_id, item_id, quantity)
           SELECT h.organization_id, h.id, (h.lines -> 0 ->> 'item_id')::uuid, 1 FROM h RETURNING 1),
     e AS (INSERT INTO bench.f_entries (id, log_id, xact, created_at, action, body, leaf_hash)
           SELECT nextval('bench.f_entries_seq'), h.organization_id, txid_current(), now(), 'capacity.confirmed',
                  rpad('{"v":1,"hold":"' || h.id || '"', t.body, ' '),
                  '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea
             FROM h, t RETURNING 1)
SELECT (SELECT count(*) FROM s) AS confirmed_slots, (SELECT count(*) FROM a), (SELECT count(*) FROM e);
\elif :r <= 90
WITH t AS (SELECT * FROM bench.f_target),
     h AS (UPDATE bench.f_holds x SET state = 'released', closed_at = now()
            WHERE x.id = NULLIF(:fh, '')::uuid RETURNING x.*),
     s AS (UPDATE bench.f_slots x SET held_until = 'epoch'::timestamptz + x.slot_no * interval '1 microsecond',
                                      hold_id = NULL, item_id = NULL
             FROM h WHERE x.hold_id = h.id RETURNING 1),
     e AS (INSERT INTO bench.f_entries (id, log_id, xact, created_at, action, body, leaf_hash)
           SELECT nextval('bench.f_entries_seq'), h.organization_id, txid_current(), now(), 'capacity.released',
                  rpad('{"v":1,"hold":"' || h.id || '"', t.body, ' '),
                  '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea
             FROM h, t RETURNING 1)
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM e);
\endif
