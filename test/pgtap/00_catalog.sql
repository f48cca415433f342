-- Catalog rules that fail the build when broken, for every extension we ship
-- (every extension whose name starts with startlijn) and every schema they own.
BEGIN;
SELECT plan(18);

CREATE TEMP VIEW our_ext AS
  SELECT oid, extname FROM pg_extension WHERE extname LIKE 'startlijn%';
CREATE TEMP VIEW our_members AS
  SELECT d.classid, d.objid FROM pg_depend d
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND d.refobjid IN (SELECT oid FROM our_ext);
-- schemas we create: owned by an extension, or named in a control file
CREATE TEMP VIEW our_schemas AS
  SELECT n.oid, n.nspname FROM pg_namespace n
   WHERE n.oid IN (SELECT objid FROM our_members WHERE classid = 'pg_namespace'::regclass)
      OR n.oid IN (SELECT extnamespace FROM pg_extension WHERE extname LIKE 'startlijn%');
CREATE TEMP VIEW our_tables AS
  SELECT c.oid, c.oid::regclass::text AS name, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c
   WHERE c.relkind IN ('r', 'p') AND c.relnamespace IN (SELECT oid FROM our_schemas);
CREATE TEMP VIEW our_functions AS
  SELECT p.oid, p.oid::regprocedure::text AS name, p.prosecdef, p.proconfig, p.proacl,
         p.pronamespace::regnamespace::text AS schema, p.provolatile
    FROM pg_proc p
   WHERE p.oid IN (SELECT objid FROM our_members WHERE classid = 'pg_proc'::regclass);

SELECT cmp_ok((SELECT count(*) FROM our_tables), '>=', 4::bigint, 'the catalog checks see our tables');

SELECT is_empty($$ SELECT name FROM our_tables WHERE NOT relrowsecurity $$,
  'every table in our schemas has row level security enabled');
SELECT is_empty($$ SELECT name FROM our_tables WHERE NOT relforcerowsecurity $$,
  'every table in our schemas has row level security forced');
SELECT is_empty($$ SELECT t.name FROM our_tables t
                    WHERE NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid) $$,
  'every table has at least one explicit policy');

SELECT is_empty($$ SELECT name FROM our_functions
                    WHERE prosecdef AND NOT EXISTS (
                      SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search_path=%') $$,
  'every SECURITY DEFINER function pins search_path');
SELECT is_empty($$ SELECT name FROM our_functions f
                    WHERE f.prosecdef AND EXISTS (
                      SELECT 1 FROM unnest(f.proconfig) c
                       WHERE c LIKE 'search_path=%' AND c <> 'search_path=pg_catalog, pg_temp') $$,
  'definer search_path is pg_catalog, pg_temp (an empty path searches pg_temp first for types and tables)');
SELECT is_empty($$ SELECT name FROM our_functions f
                    WHERE EXISTS (SELECT 1 FROM unnest(f.proconfig) c
                                   WHERE c LIKE 'search_path=%' AND c <> 'search_path=pg_catalog, pg_temp') $$,
  'every pinned search_path is pg_catalog, pg_temp');
-- deferred and constraint triggers run at COMMIT as whatever role is current
-- then (under PostgREST the caller's): their functions run as the owner
SELECT is_empty($$ SELECT t.tgname, p.oid::regprocedure
                     FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                    WHERE NOT t.tgisinternal AND (t.tgdeferrable OR t.tgconstraint <> 0)
                      AND t.tgrelid IN (SELECT oid FROM our_tables)
                      AND NOT (p.prosecdef AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)) $$,
  'every deferred or constraint trigger function is SECURITY DEFINER with search_path pg_catalog, pg_temp');
SELECT is_empty($$ SELECT name FROM our_functions WHERE schema = 'api' AND prosecdef $$,
  'no SECURITY DEFINER function in the exposed schema api');
-- the api name is one step: an SQL wrapper the planner inlines into
-- PostgREST's query (no SET clause: a function with one is planned per call)
SELECT is_empty($$ SELECT f.name FROM our_functions f JOIN pg_proc p ON p.oid = f.oid
                    WHERE f.schema = 'api'
                      AND (p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'sql') OR p.proconfig IS NOT NULL
                           OR p.prosrc !~ '^\s*SELECT (\* FROM )?startlijn\.[a-z_]+\(') $$,
  'every api function is an inlinable SQL wrapper: no SET clause, one SELECT of (or from) a startlijn function');

SELECT is_empty($$ SELECT name FROM our_functions f
                    WHERE f.proacl IS NULL
                       OR EXISTS (SELECT 1 FROM aclexplode(f.proacl) a
                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') $$,
  'PUBLIC can execute none of our functions (grants are explicit)');
SELECT is_empty($$ SELECT t.name FROM our_tables t JOIN pg_class c ON c.oid = t.oid
                    WHERE EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) $$,
  'PUBLIC has no privilege on any of our tables');
SELECT is_empty($$ SELECT t.name, a.privilege_type FROM our_tables t JOIN pg_class c ON c.oid = t.oid,
                          aclexplode(c.relacl) a
                    WHERE a.grantee = 'anon'::regrole $$,
  'anon has no privilege on any of our tables');
SELECT is_empty($$ SELECT t.name, a.privilege_type FROM our_tables t JOIN pg_class c ON c.oid = t.oid,
                          aclexplode(c.relacl) a
                    WHERE a.privilege_type IN ('DELETE', 'TRUNCATE')
                      AND a.grantee IN ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole) $$,
  'no API role can delete physically (soft deletes; retention destroys)');

-- tenant tables: UNIQUE (organization_id, id) so foreign keys can carry the
-- tenant. Child rows without an id of their own (a pool's unit slots, an
-- item's pools) are referenced by nobody; they pass when every foreign key
-- they have carries organization_id (checked below for all tables).
SELECT is_empty($$
  SELECT t.name FROM our_tables t
   WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
     AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'id' AND NOT a.attisdropped)
     AND NOT EXISTS (
       SELECT 1 FROM pg_constraint k
        WHERE k.conrelid = t.oid AND k.contype IN ('u', 'p')
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
                 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY (k.conkey))
              = ARRAY['id', 'organization_id']) $$,
  'every tenant table has UNIQUE (organization_id, id)');

SELECT is_empty($$
  SELECT t.name || ' -> ' || k.conname FROM our_tables t JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
   WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
     AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.confrelid AND a.attname = 'organization_id' AND NOT a.attisdropped)
     AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY (k.conkey)
                        AND a.attname = 'organization_id') $$,
  'foreign keys between tenant tables carry organization_id');

-- domain tables keep created_at/updated_at by trigger and soft-delete with deleted_at
SELECT is_empty($$
  SELECT t.name FROM our_tables t
   WHERE t.name LIKE 'startlijn.%'
     AND t.name NOT IN ('startlijn.platform_settings', 'startlijn.checkout_settings')   -- settings singletons
     -- records of sale are never deleted: the books keep them (7 years),
     -- retention takes the personal data out of them instead
     AND t.name NOT IN ('startlijn.orders', 'startlijn.order_items', 'startlijn.registrations',
                        'startlijn.entitlements', 'startlijn.invoice_counters')
     AND (NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'deleted_at')
          OR NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.oid
                          AND g.tgfoid = 'startlijn.touch_timestamps()'::regprocedure)) $$,
  'platform tables have deleted_at and the timestamps trigger');

-- pg_dump writes an extension table's rows only when the extension registers
-- it (pg_extension_config_dump): every table and sequence of every startlijn
-- extension is, except the throttling buckets of tokens (they last one
-- window) and payments' listeners (written by the install script of each
-- listening extension, so a dump must not carry them twice). 0.1 to 0.4
-- lost the platform's, capacity's and most of payments'.
SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    JOIN pg_class c ON c.oid = d.objid
   WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%'
     AND c.relkind IN ('r', 'S') AND NOT c.oid = ANY (e.extconfig)
     AND c.oid NOT IN ('tokens.failures'::regclass, 'payments.listeners'::regclass) $$,
  'every table and sequence of every startlijn extension is in pg_dump''s output');

SELECT * FROM finish();
ROLLBACK;
