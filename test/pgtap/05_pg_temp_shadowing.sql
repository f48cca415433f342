-- Issue 21.1: a client role with an SQL session plants types named uuid,
-- jsonb, json and bytea in pg_temp, with casts whose functions record
-- current_user. SECURITY DEFINER code (and auth.uid() and friends inlined
-- into it) must never resolve those names: a definer's search_path names
-- pg_temp last ("pg_catalog, pg_temp"), and C code running as a schema's
-- owner pins the same path. Every api function is then called as anon and
-- as a signed-in user; no planted function may have run as anyone.
BEGIN;
SELECT plan(6);

-- where the planted functions write what they saw (anyone may insert); a
-- call that fails rolls its inserts back, so each hit also advances a
-- sequence (never rolled back) when it runs as anyone but a client role
CREATE TABLE public.pwned (who text, via text);
GRANT INSERT, SELECT ON public.pwned TO PUBLIC;
CREATE SEQUENCE public.pwned_as_owner;
GRANT USAGE, SELECT ON SEQUENCE public.pwned_as_owner TO PUBLIC;

SET ROLE anon;
DO $do$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['uuid', 'jsonb', 'json', 'bytea'] LOOP
    EXECUTE format('CREATE TEMP TABLE %I (v pg_catalog.text)', t);
    EXECUTE format($f$CREATE FUNCTION pg_temp.%I(x pg_catalog.text) RETURNS pg_temp.%I
                      LANGUAGE plpgsql AS $b$BEGIN
                        INSERT INTO public.pwned VALUES (current_user, %L);
                        IF current_user NOT IN ('anon', 'authenticated', 'service_role') THEN
                          PERFORM pg_catalog.nextval('public.pwned_as_owner'); END IF;
                        RETURN ROW(x)::pg_temp.%I; END$b$ $f$, 'to_' || t, t, 'text -> ' || t, t);
    EXECUTE format($f$CREATE FUNCTION pg_temp.%I(v pg_temp.%I) RETURNS pg_catalog.%I
                      LANGUAGE plpgsql AS $b$BEGIN
                        INSERT INTO public.pwned VALUES (current_user, %L);
                        IF current_user NOT IN ('anon', 'authenticated', 'service_role') THEN
                          PERFORM pg_catalog.nextval('public.pwned_as_owner'); END IF;
                        RETURN (v).v::pg_catalog.%I; END$b$ $f$, 'from_' || t, t, t, t || ' -> pg_catalog', t);
    IF t <> 'text' THEN
      EXECUTE format('CREATE CAST (pg_catalog.text AS pg_temp.%I) WITH FUNCTION pg_temp.%I(pg_catalog.text)', t, 'to_' || t);
    END IF;
    EXECUTE format('CREATE CAST (pg_temp.%I AS pg_catalog.%I) WITH FUNCTION pg_temp.%I(pg_temp.%I) AS IMPLICIT',
                   t, t, 'from_' || t, t);
  END LOOP;
END
$do$;
RESET ROLE;

-- the attack works where nothing pins the path (proves the plant is live)
CREATE FUNCTION pg_temp.probe() RETURNS pg_catalog.uuid LANGUAGE sql SET search_path = ''
  AS $$ SELECT ('00000000-0000-4000-8000-000000000000'::pg_catalog.text)::uuid $$;
SELECT lives_ok('SELECT pg_temp.probe()', 'a cast to a bare "uuid" under an empty search_path resolves to pg_temp.uuid');
SELECT isnt((SELECT count(*) FROM public.pwned), 0::bigint, 'the planted cast ran for the unpinned statement (the attack is live)');
DELETE FROM public.pwned;
SELECT setval('public.pwned_as_owner', 1, false);

-- every api function, with every argument NULL, as anon, a member, an outsider and the service role
CREATE TEMP TABLE calls AS
SELECT p.proname::text AS fn, w.who,
       COALESCE((SELECT jsonb_object_agg(a.n, NULL)
                   FROM unnest(p.proargnames[1:p.pronargs]) AS a(n) WHERE a.n IS NOT NULL AND a.n <> ''), '{}') AS args,
       (p.pronargs = 1 AND (p.proargnames IS NULL OR p.proargnames[1] = '')) AS raw
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 CROSS JOIN (VALUES ('anon'), ('anna'), ('kim'), ('service')) AS w(who)
 WHERE n.nspname = 'api';

SELECT cmp_ok((SELECT count(DISTINCT fn) FROM calls), '>=', 40::bigint, 'every api function is called');

DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT * FROM calls ORDER BY fn, who LOOP
    BEGIN
      IF c.raw THEN
        PERFORM pgrst.post_raw(c.who, c.fn, '{"id": "evt_1", "type": "payment_intent.succeeded"}',
                               '{"stripe-signature": "t=1,v1=00", "webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,AA=="}');
      ELSE
        PERFORM pgrst.try(c.who, c.fn, c.args);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      NULL;   -- an error is fine; a planted function running is not
    END;
  END LOOP;
END
$$;

SELECT is((SELECT string_agg(DISTINCT who || ' via ' || via, ', ') FROM public.pwned), NULL,
          'no planted pg_temp function ran inside any api call, as any caller');
SELECT is((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.pwned_as_owner), 0::bigint,
          'none ran with more rights than the caller, not even in a call that failed');

-- the rule itself, read from the catalog: every SECURITY DEFINER function
-- of ours pins a search_path that names pg_temp last
SELECT is(
  (SELECT string_agg(p.oid::regprocedure::text || ' ' || COALESCE(array_to_string(p.proconfig, ';'), '<none>'), E'\n' ORDER BY 1)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('api', 'startlijn', 'trail', 'capacity', 'payments', 'retention', 'tokens', 'auth')
      AND p.prosecdef
      AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                       WHERE c ~ '^search_path=' AND c ~ 'pg_catalog' AND c ~ '(^|[=, ])pg_temp"?$')),
  NULL, 'every SECURITY DEFINER function sets search_path with pg_catalog and pg_temp named last');

SELECT * FROM finish();
ROLLBACK;
