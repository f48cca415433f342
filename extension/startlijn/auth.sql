-- startlijn: the platform: Supabase/PostgREST compatibility, the tenancy core
-- and the API over the generic extensions.
--
-- Schemas: startlijn (tables and SECURITY DEFINER internals, not exposed),
-- api (what PostgREST exposes: SECURITY INVOKER wrappers only).
-- Every object is schema-qualified; every SECURITY DEFINER function pins
-- search_path to pg_catalog, pg_temp (pg_temp last); EXECUTE is revoked from PUBLIC and granted explicitly;
-- every table has RLS enabled and forced.
--
-- The install script extension/startlijn--<version>.sql is built by the Makefile
-- from extension/startlijn/*.sql in the order listed there; this file comes first.
-- auth.sql: preconditions, the Supabase-compatible roles and auth.* functions.

\echo Use "CREATE EXTENSION startlijn CASCADE" to load this file. \quit

-------------------------------------------------------------------------------
-- Preconditions
-------------------------------------------------------------------------------
DO $pre$
BEGIN
  IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'startlijn requires a UTF8 database'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.format('The database encoding is %s.', pg_catalog.getdatabaseencoding()),
            HINT = 'Create the database with ENCODING ''UTF8''.';
  END IF;
  -- SECURITY DEFINER internals write through forced RLS as the owner: the
  -- installing role must bypass RLS (superuser, or BYPASSRLS as postgres on Supabase).
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

-------------------------------------------------------------------------------
-- Supabase-compatible roles and auth.* functions (created only when absent)
-------------------------------------------------------------------------------
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
    -- PostgREST logs in as authenticator; set its password before exposing it.
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'anon', 'MEMBER') THEN
    GRANT anon TO authenticator;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'authenticated', 'MEMBER') THEN
    GRANT authenticated TO authenticator;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'service_role', 'MEMBER') THEN
    GRANT service_role TO authenticator;
  END IF;
END
$roles$;

DO $auth$
DECLARE
  created_schema boolean := false;
  fn record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
    created_schema := true;
  END IF;

  -- Same definitions as Supabase's, reading request.jwt.claims (PostgREST >= 9)
  -- and the legacy request.jwt.claim.* settings. Each is created only if absent.
  FOR fn IN
    SELECT * FROM (VALUES
      ('uid', 'uuid', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim.sub'', true), ''''),
         (NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), '''')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) ''sub''))::pg_catalog.uuid'),
      ('role', 'text', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim.role'', true), ''''),
         (NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), '''')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) ''role''))::pg_catalog.text'),
      ('jwt', 'jsonb', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim'', true), ''''),
         NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), ''''))::pg_catalog.jsonb')
    ) AS f(name, rettype, body)
  LOOP
    IF pg_catalog.to_regprocedure(pg_catalog.format('auth.%I()', fn.name)) IS NULL THEN
      EXECUTE pg_catalog.format('CREATE FUNCTION auth.%I() RETURNS %s LANGUAGE sql STABLE AS %L',
                                fn.name, fn.rettype, fn.body);
      EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION auth.%I() FROM PUBLIC', fn.name);
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION auth.%I() TO anon, authenticated, service_role', fn.name);
    END IF;
  END LOOP;
  IF created_schema THEN
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;
END
$auth$;
