-- startlijn_tokens/restore.sql: step 1 of the documented restore (docs/operations.md,
-- "Backup and restore").
--
-- CREATE EXTENSION generates a fresh pepper into tokens.settings; the dumped
-- settings row must replace it, or no restored token could be redeemed.
-- Throttling buckets (tokens.failures) are deliberately not dumped: they
-- last one window.

CREATE FUNCTION tokens.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM trail._require_superuser('tokens.prepare_restore()');  -- startlijn_audit 0.2
  IF EXISTS (SELECT 1 FROM tokens.tokens) OR EXISTS (SELECT 1 FROM tokens.purposes)
     OR EXISTS (SELECT 1 FROM tokens.scopes) THEN
    RAISE EXCEPTION 'this tokens schema is in use: it is no restore target'
      USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'It has purposes, tokens or code scopes.',
            HINT = 'Restore into a new database: CREATE DATABASE, pg_restore --schema-only, then this.';
  END IF;
  DELETE FROM tokens.settings;
  RETURN pg_catalog.jsonb_build_object('settings', 1);
END
$$;
