-- the write floor of one audited insert (see setup.sql): two rows, one statement
\set o random(1, 8)
\set n random(1, 1000000)
WITH r AS (INSERT INTO bench.floor (organization_id, payload, amount)
           VALUES (('00000000-0000-4000-b000-00000000000' || :o)::uuid, 'registration ' || :n, :n)
           RETURNING id, organization_id)
INSERT INTO bench.floor_entries (log_id, xact, created_at, action, table_name, body, leaf_hash)
SELECT r.organization_id, txid_current(), now(), 'insert', 'bench.floor',
       rpad('{"v":1,"id":' || r.id || ',"action":"insert","new":{"payload":"registration ' || :n || '"}', 386, ' '),
       '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea
  FROM r;
