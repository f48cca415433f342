-- startlijn_capacity/privileges.sql: function privileges (last: it covers every function).

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs.
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'capacity'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$priv$;
