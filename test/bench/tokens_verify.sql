\set i random(1, 10000)
SELECT valid FROM tokens.verify_code('bench-event', (SELECT code FROM bench.codes WHERE i = :i));
