\set r random(1, 100)
SELECT bench.try_hold(:r) AS h \gset
SELECT bench.finish(:h, :r);
