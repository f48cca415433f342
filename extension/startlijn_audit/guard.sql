-- startlijn_audit/guard.sql: the append-only guard of the trail's own tables.

-------------------------------------------------------------------------------
-- Append-only guard (C). 'never': no UPDATE/DELETE/TRUNCATE at all.
-- 'internal': only from inside trail's own C functions (sealer, keys).
-- ENABLE ALWAYS: the guard fires under session_replication_role = replica too.
-------------------------------------------------------------------------------
CREATE FUNCTION trail.guard() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'trail_guard';

DO $guard$
DECLARE
  t text;
  mode text;
BEGIN
  FOR t, mode IN SELECT * FROM (VALUES
      ('entries', 'never'), ('leaves', 'never'), ('checkpoints', 'never'),
      ('forgotten_subjects', 'never'), ('logs', 'internal'), ('sealer', 'internal'),
      ('subject_keys', 'internal'), ('signing_keys', 'internal')) v(t, mode) LOOP
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER trail_append_only BEFORE UPDATE OR DELETE ON trail.%I
         FOR EACH ROW EXECUTE FUNCTION trail.guard(%L)', t, mode);
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER trail_no_truncate BEFORE TRUNCATE ON trail.%I
         FOR EACH STATEMENT EXECUTE FUNCTION trail.guard(%L)', t, 'never');
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I ENABLE ALWAYS TRIGGER trail_append_only', t);
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I ENABLE ALWAYS TRIGGER trail_no_truncate', t);
  END LOOP;
END
$guard$;
