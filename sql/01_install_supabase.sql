\set SHOW_CONTEXT never
-- Installing into a database that already has Supabase's auth schema and
-- functions: ours must not replace or own them.
CREATE DATABASE startlijn_supabase_like;
\c startlijn_supabase_like
CREATE ROLE supabase_auth_admin NOLOGIN;
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  -- supabase's own definition
  SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'supabase'::text $$;
-- auth.jwt() deliberately missing (older Supabase): the extension adds it
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

CREATE EXTENSION startlijn CASCADE;

-- the existing functions are untouched and not extension members; jwt() was added
SELECT p.proname, position('supabase' in p.prosrc) > 0 AS supabase_version,
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') AS extension_member
  FROM pg_proc p WHERE p.pronamespace = 'auth'::regnamespace ORDER BY 1;
SELECT nspowner::regrole AS auth_owner FROM pg_namespace WHERE nspname = 'auth';

-- dropping the extension leaves Supabase's objects in place
DROP EXTENSION startlijn;
SELECT proname FROM pg_proc WHERE pronamespace = 'auth'::regnamespace ORDER BY 1;
-- api goes with the extension; the schema named in the control file stays, empty
SELECT n.nspname, (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid)
                + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid) AS objects
  FROM pg_namespace n WHERE n.nspname IN ('api', 'startlijn');

\c startlijn_regress
DROP DATABASE startlijn_supabase_like;
DROP ROLE supabase_auth_admin;

-- a database that is not UTF8 is refused with a clear error
CREATE DATABASE startlijn_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c startlijn_latin1
CREATE EXTENSION startlijn CASCADE;
\c startlijn_regress
DROP DATABASE startlijn_latin1;
