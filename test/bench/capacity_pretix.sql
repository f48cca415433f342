-- the pretix-style baseline (see capacity_setup.sql): the same buyers on a quota check
\set r random(1, 100)
SELECT bench.pretix_try_hold(:r) AS h \gset
SELECT bench.pretix_finish(:h, :r);
