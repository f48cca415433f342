-- startlijn_audit/recording.sql: writing entries: the capture trigger, trail.log,
-- trail.enable/disable and the personal columns of audited tables.

-------------------------------------------------------------------------------
-- Recording
-------------------------------------------------------------------------------
CREATE FUNCTION trail.capture() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'trail_capture';
COMMENT ON FUNCTION trail.capture() IS
  'row trigger attached by trail.enable(): records INSERT, UPDATE, soft delete, restore, DELETE and TRUNCATE';

CREATE FUNCTION trail.log(
    organization_id uuid, action text, subject text,
    details jsonb DEFAULT '{}'::jsonb, reason text DEFAULT NULL,
    data_subject uuid DEFAULT NULL, personal jsonb DEFAULT NULL)
  RETURNS bigint LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'trail_log';
COMMENT ON FUNCTION trail.log(uuid, text, text, jsonb, text, uuid, jsonb) IS
  'record a business event; personal (a JSON object) is encrypted under data_subject''s key';

-- Business errors through the shared registry of startlijn.so (docs/errors.md).
CREATE FUNCTION trail.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

-- Attach (or re-attach with new settings) the capture trigger.
CREATE FUNCTION trail.enable(
    tbl regclass,
    organization_column name DEFAULT 'organization_id',
    subject_column name DEFAULT NULL,
    personal_columns name[] DEFAULT '{}',
    soft_delete_column name DEFAULT 'deleted_at',
    ignore_columns name[] DEFAULT '{updated_at}')
  RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  col name;
  what text;
  soft name := soft_delete_column;
  ign name[] := '{}';
  personal name[] := COALESCE(personal_columns, '{}');
  args text;
  -- the live columns of tbl and their types
  cols CONSTANT jsonb := (SELECT pg_catalog.jsonb_object_agg(a.attname, a.atttypid::regtype::text)
                            FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped);
BEGIN
  IF tbl IS NULL THEN
    PERFORM trail.raise('missing_argument', 'Pass the table to audit.');
  END IF;
  IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
    PERFORM trail.raise('invalid_argument', pg_catalog.format('%s is not a table.', tbl));
  END IF;
  IF (SELECT c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid = tbl) = 'trail'::regnamespace THEN
    PERFORM trail.raise('invalid_argument', 'Tables of schema trail are append-only already.');
  END IF;
  -- the organisation column names the stream; the subject column the data subject
  FOR col, what IN SELECT * FROM (VALUES (organization_column, 'organization'), (subject_column, 'subject')) v
                    WHERE v.column1 IS NOT NULL LOOP
    IF cols OPERATOR(pg_catalog.->>) col IS DISTINCT FROM 'uuid' THEN
      PERFORM trail.raise('invalid_argument',
        pg_catalog.format('The %s column must be a uuid column: %s has no uuid column %I.', what, tbl, col),
        CASE WHEN what = 'organization' THEN 'Pass organization_column => NULL to record into the platform log.' END);
    END IF;
  END LOOP;
  FOREACH col IN ARRAY personal LOOP
    IF NOT cols OPERATOR(pg_catalog.?) col THEN
      PERFORM trail.raise('invalid_argument', pg_catalog.format('Unknown personal column: %s has no column %I.', tbl, col));
    END IF;
  END LOOP;
  IF pg_catalog.cardinality(personal) > 0 AND subject_column IS NULL THEN
    PERFORM trail.raise('invalid_argument',
      'Personal data is encrypted under the key of the data subject the row belongs to.',
      'Pass subject_column => the uuid column naming the data subject.');
  END IF;
  -- the defaults are optional: a table without deleted_at has no soft delete
  IF soft IS NOT NULL AND NOT cols OPERATOR(pg_catalog.?) soft THEN
    IF soft_delete_column IS DISTINCT FROM 'deleted_at' THEN
      PERFORM trail.raise('invalid_argument', pg_catalog.format('Unknown soft delete column: %s has no column %I.', tbl, soft));
    END IF;
    soft := NULL;
  END IF;
  SELECT COALESCE(pg_catalog.array_agg(c), '{}') INTO ign
    FROM pg_catalog.unnest(COALESCE(ignore_columns, '{}')) c WHERE cols OPERATOR(pg_catalog.?) c;

  -- the same five arguments for the row trigger and the TRUNCATE trigger
  args := pg_catalog.format('%L, %L, %L, %L, %L', COALESCE(organization_column, ''), COALESCE(subject_column, ''),
            COALESCE(soft, ''), pg_catalog.array_to_string(personal, ','), pg_catalog.array_to_string(ign, ','));
  PERFORM trail.disable(tbl);
  EXECUTE pg_catalog.format('CREATE TRIGGER trail_capture AFTER INSERT OR UPDATE OR DELETE ON %s
                               FOR EACH ROW EXECUTE FUNCTION trail.capture(%s)', tbl, args);
  EXECUTE pg_catalog.format('CREATE TRIGGER trail_capture_truncate AFTER TRUNCATE ON %s
                               FOR EACH STATEMENT EXECUTE FUNCTION trail.capture(%s)', tbl, args);
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture', tbl);
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture_truncate', tbl);

  INSERT INTO trail.tracked_tables
         (relid, organization_column, subject_column, soft_delete_column, personal_columns, ignore_columns)
  VALUES (tbl, organization_column, subject_column, soft, personal, ign);
END
$fn$;

CREATE FUNCTION trail.disable(tbl regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  -- quietly: enable() re-attaches through here
  SET LOCAL client_min_messages = warning;
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS trail_capture ON %s', tbl);
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS trail_capture_truncate ON %s', tbl);
  DELETE FROM trail.tracked_tables t WHERE t.relid = tbl;
END
$fn$;

-- The hook startlijn_retention uses: declare which columns of an audited
-- table hold personal data of which subject. Values of these columns are
-- stored encrypted under the subject's key from now on.
CREATE FUNCTION trail.set_personal(tbl regclass, columns name[], subject_column name)
  RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE t trail.tracked_tables;
BEGIN
  SELECT * INTO t FROM trail.tracked_tables x WHERE x.relid = tbl;
  IF NOT FOUND THEN
    PERFORM trail.raise('log_not_found', pg_catalog.format('%s has no trail capture trigger.', tbl),
                        'Call trail.enable() first.');
  END IF;
  PERFORM trail.enable(tbl, t.organization_column, subject_column, columns,
                       COALESCE(t.soft_delete_column, 'deleted_at'), t.ignore_columns);
END
$fn$;
