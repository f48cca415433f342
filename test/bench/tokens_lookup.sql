\set i random(1, 10000)
SELECT code IS NOT NULL FROM bench.codes WHERE i = :i;
