-- startlijn_audit/restore.sql: the steps of the documented restore (docs/operations.md,
-- "Backup and restore").
--
-- pg_dump writes the rows of an extension's tables only for the tables the
-- extension registers (tables.sql), and a restore first runs CREATE EXTENSION,
-- which creates install-time rows of its own (the settings row, the sealer
-- cursor, a fresh signing key, the tracked tables, an entry written by
-- another extension's install). Loaded on top of them, the dumped rows
-- would collide. The two steps:
--
--   trail.prepare_restore()  on the new, still empty database: removes the
--                            install-time rows the dump holds too;
--   trail.finish_restore()   after pg_restore --data-only --disable-triggers:
--                            puts the guards and capture triggers back to
--                            ENABLE ALWAYS (pg_restore re-enables them as
--                            plain ENABLE) and verifies every log.
--
-- Both are for superusers only (they change triggers); nothing is granted.

-- The guarded tables and their triggers, as guard.sql creates them.
CREATE FUNCTION trail._set_guards(always boolean) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['logs', 'entries', 'leaves', 'sealer', 'signing_keys', 'checkpoints',
                           'subject_keys', 'forgotten_subjects'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I %s TRIGGER trail_append_only', t,
                              CASE WHEN always THEN 'ENABLE ALWAYS' ELSE 'DISABLE' END);
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I %s TRIGGER trail_no_truncate', t,
                              CASE WHEN always THEN 'ENABLE ALWAYS' ELSE 'DISABLE' END);
  END LOOP;
END
$$;

CREATE FUNCTION trail._require_superuser(what text) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    RAISE EXCEPTION '% is for a superuser restoring a backup', what
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is not a superuser.', current_user),
            HINT = 'See docs/operations.md, "Backup and restore".';
  END IF;
END
$$;

-- Step 1 of a restore, on the database CREATE EXTENSION (or pg_restore
-- --schema-only) just made: remove what the install wrote and the dump
-- holds as well. Refuses on a database whose trail was ever used.
CREATE FUNCTION trail.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n_entries bigint;
  n_keys bigint;
  n_tracked bigint;
BEGIN
  PERFORM trail._require_superuser('trail.prepare_restore()');
  IF EXISTS (SELECT 1 FROM trail.leaves) OR EXISTS (SELECT 1 FROM trail.checkpoints)
     OR EXISTS (SELECT 1 FROM trail.logs) OR EXISTS (SELECT 1 FROM trail.subject_keys)
     OR EXISTS (SELECT 1 FROM trail.forgotten_subjects)
     OR (SELECT pg_catalog.count(*) FROM trail.entries) > 20
     OR (SELECT pg_catalog.count(*) FROM trail.signing_keys) > 1 THEN
    RAISE EXCEPTION 'this audit trail is in use: it is no restore target'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'It has sealed entries, signed checkpoints, subject keys or a rotated key.',
            HINT = 'Restore into a new database: CREATE DATABASE, pg_restore --schema-only, then this.';
  END IF;
  PERFORM trail._set_guards(false);
  DELETE FROM trail.entries;
  GET DIAGNOSTICS n_entries = ROW_COUNT;
  DELETE FROM trail.signing_keys;
  GET DIAGNOSTICS n_keys = ROW_COUNT;
  DELETE FROM trail.tracked_tables;
  GET DIAGNOSTICS n_tracked = ROW_COUNT;
  DELETE FROM trail.sealer;
  DELETE FROM trail.settings;
  PERFORM trail._set_guards(true);
  RETURN pg_catalog.jsonb_build_object('entries', n_entries, 'signing_keys', n_keys,
                                       'tracked_tables', n_tracked, 'sealer', 1, 'settings', 1);
END
$$;

-- Step 3, after pg_restore --data-only --disable-triggers: the triggers
-- back to ENABLE ALWAYS (guards on trail's tables, capture on every tracked
-- table), the restored state checked, every log verified (verify => false
-- skips the recomputation, which reads every entry).
CREATE FUNCTION trail.finish_restore(verify boolean DEFAULT true) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t regclass;
  l uuid;
  v jsonb;
  problems jsonb := '[]';
  n_logs integer := 0;
BEGIN
  PERFORM trail._require_superuser('trail.finish_restore()');
  IF (SELECT pg_catalog.count(*) FROM trail.sealer) <> 1 OR (SELECT pg_catalog.count(*) FROM trail.settings) <> 1
     OR NOT EXISTS (SELECT 1 FROM trail.signing_keys k WHERE k.seed IS NOT NULL AND k.retired_at IS NULL) THEN
    RAISE EXCEPTION 'the restored audit trail is incomplete'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'The settings row, the sealer cursor or an active signing key is missing: the data restore did not run or failed.',
            HINT = 'Run pg_restore --data-only --disable-triggers with the same dump, then this again.';
  END IF;
  PERFORM trail._set_guards(true);
  FOR t IN SELECT x.relid FROM trail.tracked_tables x ORDER BY x.relid::text LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture', t);
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture_truncate', t);
  END LOOP;
  IF verify THEN
    FOR l IN SELECT x.id FROM trail.logs x ORDER BY x.id LOOP
      v := trail.verify(l);
      n_logs := n_logs + 1;
      IF NOT COALESCE((v OPERATOR(pg_catalog.->>) 'ok')::boolean, false) THEN
        problems := problems OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(
                      pg_catalog.jsonb_build_object('log', l, 'verify', v));
      END IF;
    END LOOP;
  END IF;
  RETURN pg_catalog.jsonb_build_object(
    'entries', (SELECT pg_catalog.count(*) FROM trail.entries),
    'tracked_tables', (SELECT pg_catalog.count(*) FROM trail.tracked_tables),
    'logs_verified', n_logs, 'problems', problems);
END
$$;
