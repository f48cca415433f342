-- One webhook delivery per transaction, as PostgREST 12 makes it for
-- POST /rpc/stripe_webhook (test/driver/pgrst.py does the same for the tests):
-- BEGIN; one set_config statement with role anon, the claims and the
-- request's headers; the endpoint with the raw body as $1::json; COMMIT with
-- the role still anon, so the ledger's deferred balance check runs as anon.
-- The benchmark's own loop first reads the next delivery (as the superuser,
-- outside that transaction). Run with -M prepared, as PostgREST prepares its
-- statements: :body and :headers are then protocol parameters, never spliced.
--   -D impl=1  api.stripe_webhook (payments.receive, C)
--   -D impl=0  bench_p.stripe_webhook_plpgsql (0.3's PL/pgSQL path, the baseline)
--   -D impl=2  bench_p.floor_webhook (the write floor)
SELECT COALESCE(d.n, 0) AS n, COALESCE(d.body, 'null') AS body, COALESCE(d.headers::text, '{}') AS headers
  FROM (SELECT 1) one LEFT JOIN bench_p.deliveries d ON d.n = (SELECT nextval('bench_p.cursor')) \gset
\if :n > 0
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
\if :impl = 1
SELECT set_config('search_path', '"api", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/stripe_webhook', true), set_config('request.headers', :headers, true),
       set_config('request.cookies', '{}', true);
SELECT api.stripe_webhook(:body::json);
\elif :impl = 0
SELECT set_config('search_path', '"bench_p", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/stripe_webhook_plpgsql', true), set_config('request.headers', :headers, true),
       set_config('request.cookies', '{}', true);
SELECT bench_p.stripe_webhook_plpgsql(:body::json);
\else
SELECT set_config('search_path', '"bench_p", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/floor_webhook', true), set_config('request.headers', :headers, true),
       set_config('request.cookies', '{}', true);
SELECT bench_p.floor_webhook(:n);
\endif
COMMIT;
\endif
