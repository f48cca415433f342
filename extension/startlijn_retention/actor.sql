-- startlijn_retention/actor.sql: who is acting (the JWT caller or the job).

-------------------------------------------------------------------------------
-- Who is acting: the JWT caller, or the job. Jobs (pg_cron) carry no
-- claims; they are recorded as job:<database role>, never as a user.
-------------------------------------------------------------------------------
CREATE FUNCTION retention.actor() RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  raw text := pg_catalog.current_setting('request.jwt.claims', true);
  claims jsonb;
  sub text := NULLIF(pg_catalog.current_setting('request.jwt.claim.sub', true), '');
  role text;
BEGIN
  IF raw IS NOT NULL AND raw <> '' THEN
    BEGIN
      claims := raw::jsonb;
      sub := COALESCE(claims OPERATOR(pg_catalog.->>) 'sub', sub);
      role := claims OPERATOR(pg_catalog.->>) 'role';
    EXCEPTION WHEN others THEN
      claims := NULL;
    END;
  END IF;
  IF sub IS NOT NULL THEN
    RETURN 'user:' OPERATOR(pg_catalog.||) sub;
  ELSIF role = 'service_role' THEN
    RETURN 'service_role';
  END IF;
  RETURN 'job:' OPERATOR(pg_catalog.||) session_user;
END
$fn$;
