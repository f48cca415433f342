-- one registration-like row per transaction into :tbl (plain, audited or chain)
\set o random(1, 8)
\set n random(1, 1000000)
INSERT INTO bench.:tbl (organization_id, payload, amount)
VALUES (('00000000-0000-4000-b000-00000000000' || :o)::uuid, 'registration ' || :n, :n);
