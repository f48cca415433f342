-- The write floor of a buyer: as many rows of the same average width as a
-- buyer writes (inserted or updated, every table), in the same four
-- transactions, each one INSERT into a table with a primary key; no rules,
-- no locks between buyers. No implementation writing these records is faster.
--   -D k=<rows per transaction> -D w=<bytes per row>
INSERT INTO bench_c.floor_rows (payload) SELECT repeat('x', :w) FROM generate_series(1, :k);
INSERT INTO bench_c.floor_rows (payload) SELECT repeat('x', :w) FROM generate_series(1, :k);
INSERT INTO bench_c.floor_rows (payload) SELECT repeat('x', :w) FROM generate_series(1, :k);
INSERT INTO bench_c.floor_rows (payload) SELECT repeat('x', :w) FROM generate_series(1, :k);
