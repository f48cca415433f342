-- startlijn_capacity/restore.sql: step 1 of the documented restore (docs/operations.md,
-- "Backup and restore").

-- Step 1 of a restore, on the new database: remove the install-time
-- settings row (the dump holds the real one). Refuses once pools exist.
CREATE FUNCTION capacity.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM trail._require_superuser('capacity.prepare_restore()');  -- startlijn_audit 0.2
  IF EXISTS (SELECT 1 FROM capacity.pools) OR EXISTS (SELECT 1 FROM capacity.holds) THEN
    RAISE EXCEPTION 'this capacity schema is in use: it is no restore target'
      USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'It has pools or holds.',
            HINT = 'Restore into a new database: CREATE DATABASE, pg_restore --schema-only, then this.';
  END IF;
  DELETE FROM capacity.settings;
  RETURN pg_catalog.jsonb_build_object('settings', 1);
END
$$;
