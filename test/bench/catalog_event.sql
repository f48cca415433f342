-- api.event as PostgREST 12 calls it (anon, a read-only transaction, -M
-- prepared): the page of one of the fully built events. -D plain=1: the
-- same query (bench_k.event_plain) on the same tables with row level
-- security disabled, as their owner, in the same transaction shape.
\set b random(1, :built)
SELECT org_slug, event_slug FROM bench_k.built WHERE i = :b::int \gset
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', '"api", "public"', true), set_config('role', CASE :plain::int WHEN 1 THEN 'postgres' ELSE 'anon' END, true),
       set_config('request.jwt.claims', '{"role":"anon"}', true), set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/event', true), set_config('request.headers', '{}', true),
       set_config('request.cookies', '{}', true);
\if :plain
SELECT bench_k.event_plain(:org_slug, :event_slug);
\else
SELECT api.event(:org_slug, :event_slug);
\endif
COMMIT;
