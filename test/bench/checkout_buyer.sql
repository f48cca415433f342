-- One buyer, as PostgREST 12 calls it (run with -M prepared): reserve and
-- checkout as a guest (role anon; behind the proxy every request has its
-- client's X-Forwarded-For, one address per buyer here), the relay records the provider's id, the
-- signed Stripe payment_intent.succeeded arrives as anon; every API call
-- is its own transaction with role, claims and headers set locally, and
-- COMMITs as anon (deferred checks run as the caller).
SELECT nextval('bench_c.seq') AS n, (SELECT v FROM bench_c.ctx WHERE k = 'ev') AS ev,
       (SELECT v FROM bench_c.ctx WHERE k = 'tt') AS tt \gset
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/reserve', true),
       set_config('request.headers', json_build_object('x-forwarded-for', '10.' || (:n::bigint / 65536 % 256) || '.' ||
                                                        (:n::bigint / 256 % 256) || '.' || (:n::bigint % 256))::text, true),
       set_config('request.cookies', '{}', true);
SELECT r ->> 'order_id' AS oid, r ->> 'order_token' AS tok
  FROM api.reserve(:ev::uuid, jsonb_build_array(jsonb_build_object('ticket_type_id', :tt::text, 'quantity', 1))) r \gset
COMMIT;
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/checkout', true), set_config('request.headers', '{}', true),
       set_config('request.cookies', '{}', true);
SELECT api.checkout(order_id := :oid::uuid, order_token := :tok::text,
         buyer := jsonb_build_object('email', 'koper' || :n::text || '@example.nl'),
         participants := jsonb_build_array(jsonb_build_object('ticket_type_id', :tt::text, 'first_name', 'P' || :n::text,
           'last_name', 'Bench', 'date_of_birth', '1990-01-01',
           'answers', jsonb_build_object('ice', jsonb_build_object('name', 'Noor de Vries', 'phone', '+31612345678')))))
         -> 'payment' ->> 'payment_id' AS pid \gset
COMMIT;
SELECT body, headers FROM bench_c.webhook(:pid::uuid) \gset
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', 'anon', true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/stripe_webhook', true), set_config('request.headers', :headers, true),
       set_config('request.cookies', '{}', true);
SELECT api.stripe_webhook(:body::json);
COMMIT;
