INSERT INTO bench.plain_orders (holder, quantity) VALUES ('buyer-' || pg_backend_pid(), 1);
