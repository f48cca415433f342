\set SHOW_CONTEXT never
-- Installing into a cluster without Supabase's roles (make test's fresh
-- cluster) creates them; a server that has them already (the dev server of
-- `make run` under `make installcheck`, Supabase: 01_install_supabase) keeps
-- them. Either none or all four exist before, and no auth schema.
SELECT count(*) IN (0, 4) AS roles_none_or_all FROM pg_roles
 WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator');
SELECT count(*) AS auth_schemas FROM pg_namespace WHERE nspname = 'auth';

CREATE EXTENSION startlijn CASCADE;

-- roles as Supabase defines them
SELECT rolname, rolcanlogin, rolinherit, rolbypassrls FROM pg_roles
 WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator') ORDER BY 1;
SELECT r.rolname AS member_of_authenticator FROM pg_auth_members am
  JOIN pg_roles r ON r.oid = am.roleid
  JOIN pg_roles m ON m.oid = am.member AND m.rolname = 'authenticator' ORDER BY 1;

-- auth.uid(), auth.role(), auth.jwt() read request.jwt.claims ...
BEGIN;
SELECT set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-a000-000000000001","role":"authenticated","email":"anna@loopgroep-utrecht.nl"}', true);
SELECT auth.uid(), auth.role(), auth.jwt() ->> 'email' AS email;
ROLLBACK;
-- ... and the legacy request.jwt.claim.* settings
BEGIN;
SELECT set_config('request.jwt.claim.sub', '00000000-0000-4000-a000-000000000002', true);
SELECT set_config('request.jwt.claim.role', 'authenticated', true);
SELECT auth.uid(), auth.role();
ROLLBACK;
-- nothing set: NULL, not an error
SELECT auth.uid() IS NULL AS no_uid, auth.role() IS NULL AS no_role, auth.jwt() IS NULL AS no_jwt;

-- the auth schema and functions belong to the extension because it made them
SELECT pg_describe_object(classid, objid, 0) AS member
  FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'startlijn') AND deptype = 'e'
   AND pg_describe_object(classid, objid, 0) ~ 'auth' ORDER BY 1;

-- the library initialised libsodium and reports business errors as PTnnn
SELECT code, sqlstate, http_status FROM startlijn.error_codes() ORDER BY code;

-- the extension is not relocatable and lives in its fixed schemas
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace FROM pg_extension
 WHERE extname = 'startlijn';

-- helpers and demo data for the following tests
\set ECHO none
\i test/helpers/pgrst.sql
\i test/fixtures/demo.sql
\set ECHO all
SELECT slug, owner_count FROM startlijn.organizations ORDER BY slug;
