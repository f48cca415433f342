\set r random(1, 100)
SELECT bench.naive_try_hold(:r) AS h \gset
SELECT bench.naive_finish(:h, :r);
