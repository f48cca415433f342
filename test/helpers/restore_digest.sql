-- One line per table of every startlijn extension (and public.kept): its
-- name, row count and an md5 over its rows; one per sequence with its value.
-- The backup-and-restore test compares the source and the restored database.
\set ON_ERROR_STOP 1
DO $$
DECLARE
  r record;
  line text;
BEGIN
  CREATE TEMP TABLE digest (what text PRIMARY KEY, value text);
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind
             FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
             JOIN pg_class c ON c.oid = d.objid
            WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%'
              AND c.relkind IN ('r', 'S')
           UNION ALL SELECT 'public.kept'::regclass, 'r' LOOP
    IF r.relkind = 'S' THEN
      EXECUTE format('SELECT last_value || '' '' || is_called FROM %s', r.rel) INTO line;
    ELSE
      -- erasure hooks an extension registers are its install's, not data (not dumped)
      EXECUTE format('SELECT count(*) || '' '' || coalesce(md5(string_agg(to_jsonb(t)::text, ''|'' ORDER BY to_jsonb(t)::text)), ''-'') FROM %s t %s',
                     r.rel, CASE WHEN r.rel = 'retention.erasure_hooks'::regclass THEN 'WHERE t.extension IS NULL' END) INTO line;
    END IF;
    INSERT INTO digest VALUES (r.rel::text, line);
  END LOOP;
END
$$;
SELECT what || ' ' || value FROM digest ORDER BY what;
