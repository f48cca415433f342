-- startlijn_capacity 0.1 -> 0.2
--
-- A person's own waitlist entries are looked up by holder (the platform's
-- api.my_waitlist, in every organisation): an index instead of a scan of
-- every waitlist.

\echo Use "ALTER EXTENSION startlijn_capacity UPDATE TO '0.2'" to load this file. \quit

CREATE INDEX waitlist_holder ON capacity.waitlist (holder);

-- Backups that restore. pg_dump writes the rows of an extension's tables
-- only for tables the extension registers: 0.1 registered the settings
-- alone, so a dump lost every pool, unit, hold, allocation and waitlist
-- entry. And the settings row CREATE EXTENSION inserts collided with the
-- dumped one. See docs/operations.md, "Backup and restore".
SELECT pg_catalog.pg_extension_config_dump('capacity.pools', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.slots', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.items', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.item_pools', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.holds', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.allocations', '');
SELECT pg_catalog.pg_extension_config_dump('capacity.waitlist', '');

-- Step 1 of a restore, on the new database: remove the install-time
-- settings row (the dump holds the real one). Refuses once pools exist.
CREATE FUNCTION capacity.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = ''
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
REVOKE ALL ON FUNCTION capacity.prepare_restore() FROM PUBLIC;
