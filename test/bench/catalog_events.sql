-- api.events as PostgREST 12 calls it (anon, a read-only transaction, -M
-- prepared): a mix of the filters the public catalog offers. -D plain=1:
-- the same query (bench_k.events_plain) on the same tables with row level
-- security disabled, as their owner, in the same transaction shape.
\set f random(1, 8)
\set page random(1, 3)
SELECT CASE :f::int WHEN 2 THEN 'running' WHEN 3 THEN 'cycling' WHEN 8 THEN 'triathlon' ELSE '' END AS ty,
       CASE :f::int WHEN 4 THEN 'zwolle' WHEN 5 THEN 'singelloop' WHEN 8 THEN 'polder' ELSE '' END AS q,
       CASE :f::int WHEN 6 THEN 'BE' WHEN 7 THEN 'NL' ELSE '' END AS c \gset
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', CASE :plain::int WHEN 1 THEN 'postgres' ELSE 'anon' END, true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/events', true), set_config('request.headers', '{}', true),
       set_config('request.cookies', '{}', true);
\if :plain
SELECT bench_k.events_plain(NULLIF(:ty, ''), NULLIF(:q, ''), NULLIF(:c, ''), NULL, :page::int, 20);
\else
SELECT api.events(type := NULLIF(:ty, ''), q := NULLIF(:q, ''), country := NULLIF(:c, ''), page := :page::int, page_size := 20);
\endif
COMMIT;
