-- startlijn_audit: nobody reads or writes trail's tables directly, and
-- entries, leaves, checkpoints and key receipts are append-only for every
-- role, the superuser included (session_replication_role = replica too).
BEGIN;

-- rows everywhere, so row triggers have something to refuse
SELECT trail.seal();
SELECT trail.forget_subject('00000000-0000-4000-a000-000000000010', 'matrix');
SELECT trail.seal();

CREATE TEMP TABLE tbl (name text, append_only boolean);
INSERT INTO tbl VALUES
  ('entries', true), ('leaves', true), ('checkpoints', true), ('forgotten_subjects', true),
  ('logs', true), ('sealer', true), ('subject_keys', true), ('signing_keys', true),
  ('settings', false), ('tracked_tables', false);

CREATE TEMP TABLE stmt (op text, sql text);
INSERT INTO stmt VALUES
  ('select', 'SELECT * FROM trail.%I'),
  ('insert', 'INSERT INTO trail.%I SELECT * FROM trail.%1$I LIMIT 1'),
  ('update', 'UPDATE trail.%I SET ctid = ctid'),
  ('delete', 'DELETE FROM trail.%I'),
  ('truncate', 'TRUNCATE trail.%I');
-- UPDATE ... SET ctid is not valid SQL; use a real column per table
CREATE TEMP TABLE upd (name text, sql text);
INSERT INTO upd VALUES
  ('entries', 'UPDATE trail.entries SET action = action'),
  ('leaves', 'UPDATE trail.leaves SET idx = idx'),
  ('checkpoints', 'UPDATE trail.checkpoints SET note = note'),
  ('forgotten_subjects', 'UPDATE trail.forgotten_subjects SET reason = reason'),
  ('logs', 'UPDATE trail.logs SET tree_size = tree_size'),
  ('sealer', 'UPDATE trail.sealer SET sealed_id = sealed_id'),
  ('subject_keys', 'UPDATE trail.subject_keys SET key = key'),
  ('signing_keys', 'UPDATE trail.signing_keys SET seed = seed'),
  ('settings', 'UPDATE trail.settings SET origin_prefix = origin_prefix'),
  ('tracked_tables', 'UPDATE trail.tracked_tables SET enabled_at = enabled_at');

CREATE TEMP VIEW cases AS
  SELECT t.name, t.append_only, s.op,
         CASE s.op WHEN 'update' THEN u.sql ELSE format(s.sql, t.name) END AS sql
    FROM tbl t CROSS JOIN stmt s JOIN upd u ON u.name = t.name;

-- as superuser (the owner), in a savepoint so nothing sticks
CREATE FUNCTION pg_temp.as_owner(q text, replica boolean DEFAULT false) RETURNS text
  LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  BEGIN
    IF replica THEN SET LOCAL session_replication_role = replica; END IF;
    EXECUTE q;
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE EXCEPTION USING ERRCODE = 'PGRSA', MESSAGE = 'rows=' || n;
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'PGRSA' THEN RETURN SQLERRM; END IF;
    RETURN 'error=' || SQLSTATE;
  END;
END $$;

SELECT plan((SELECT count(*)::int FROM cases) * 3 + (SELECT count(*)::int FROM cases WHERE op IN ('update', 'delete', 'truncate') AND append_only) * 2);

-- every API role: permission denied for every statement on every table
SELECT is(pgrst.sql_as(who, c.sql), 'error=42501', format('%s: %s trail.%s is denied', who, c.op, c.name))
  FROM cases c CROSS JOIN unnest(ARRAY['anon', 'anna', 'service']) who;

-- the owner: no UPDATE, DELETE or TRUNCATE of append-only tables, also as replica
SELECT is(pg_temp.as_owner(c.sql), 'error=PT403', format('superuser: %s trail.%s fails (append_only)', c.op, c.name))
  FROM cases c WHERE c.op IN ('update', 'delete', 'truncate') AND c.append_only;
SELECT is(pg_temp.as_owner(c.sql, true), 'error=PT403',
          format('superuser as replica: %s trail.%s fails (append_only)', c.op, c.name))
  FROM cases c WHERE c.op IN ('update', 'delete', 'truncate') AND c.append_only;

SELECT * FROM finish();
ROLLBACK;
