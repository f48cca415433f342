-- A canonical description of every object of the startlijn extensions, one
-- line each, for comparing two databases (the upgrade suite of
-- test/tools/run-tests.sh: a release updated with ALTER EXTENSION ... UPDATE
-- against a fresh install). Extension versions are on lines of their own,
-- starting with "version", so that they can be left out of the comparison;
-- compare the outputs sorted (LC_ALL=C sort): row order follows the catalog.
\set ON_ERROR_STOP 1
\pset null '<null>'
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' | '
\set ns '''auth'', ''trail'', ''capacity'', ''payments'', ''retention'', ''tokens'', ''startlijn'', ''api'''
SELECT 'version', e.extname, e.extversion FROM pg_extension e WHERE e.extname LIKE 'startlijn%' ORDER BY 2;
SELECT 'ext', e.extname, e.extrelocatable, e.extnamespace::regnamespace, e.extowner::regrole,
       (SELECT string_agg(c::regclass::text || ':' || coalesce(e.extcondition[i], ''), ', ' ORDER BY c::regclass::text)
          FROM unnest(e.extconfig) WITH ORDINALITY AS u(c, i))
  FROM pg_extension e WHERE e.extname LIKE 'startlijn%' ORDER BY 2;
SELECT 'member', e.extname, pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%' ORDER BY 2, 3;
SELECT 'schema', n.nspname, n.nspowner::regrole, n.nspacl, obj_description(n.oid, 'pg_namespace')
  FROM pg_namespace n WHERE n.nspname IN (:ns) ORDER BY 2;
SELECT 'proc', p.oid::regprocedure, p.prokind, l.lanname, p.proowner::regrole, p.prosecdef, p.provolatile, p.proparallel,
       p.proleakproof, p.proisstrict, p.proretset, p.prorettype::regtype, p.proargnames, p.proargmodes,
       pg_get_expr(p.proargdefaults, 0), p.proconfig, p.proacl, p.probin, p.procost, p.prorows,
       obj_description(p.oid, 'pg_proc'), md5(p.prosrc)
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace::regnamespace::text IN (:ns) ORDER BY 1, 2;
SELECT 'rel', c.oid::regclass, c.relkind, c.relowner::regrole, c.relacl, c.relrowsecurity, c.relforcerowsecurity,
       c.reloptions, c.relpersistence, obj_description(c.oid, 'pg_class'),
       CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END
  FROM pg_class c WHERE c.relnamespace::regnamespace::text IN (:ns) ORDER BY 1, 2;
SELECT 'col', a.attrelid::regclass, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attacl, col_description(a.attrelid, a.attnum)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE c.relnamespace::regnamespace::text IN (:ns) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'p', 'S')
 ORDER BY 1, 2, 4;
SELECT 'seq', s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace::regnamespace::text IN (:ns) ORDER BY 1, 2;
SELECT 'con', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred
  FROM pg_constraint c WHERE c.connamespace::regnamespace::text IN (:ns) ORDER BY 1, 2, 3;
SELECT 'idx', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace::regnamespace::text IN (:ns) ORDER BY 1, 2;
SELECT 'trigger', t.tgrelid::regclass, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT t.tgisinternal AND c.relnamespace::regnamespace::text IN (:ns) ORDER BY 1, 2, 3;
SELECT 'policy', p.polrelid::regclass, p.polname, p.polcmd, p.polpermissive, p.polroles::regrole[],
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace::regnamespace::text IN (:ns) ORDER BY 1, 2, 3;
SELECT 'seclabel', l.provider, pg_describe_object(l.classoid, l.objoid, l.objsubid), l.label
  FROM pg_seclabel l JOIN pg_class c ON l.classoid = 'pg_class'::regclass AND c.oid = l.objoid
 WHERE c.relnamespace::regnamespace::text IN (:ns) ORDER BY 3, 2;
SELECT 'roles', r.rolname, r.rolcanlogin, r.rolinherit, r.rolbypassrls
  FROM pg_roles r WHERE r.rolname IN ('anon', 'authenticated', 'service_role', 'authenticator') ORDER BY 2;
