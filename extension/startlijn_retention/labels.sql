-- startlijn_retention/labels.sql: security labels and managed tables (the guard trigger).

-------------------------------------------------------------------------------
-- Labels and managed tables
-------------------------------------------------------------------------------

-- SECURITY LABEL needs the provider loaded in the session; these wrappers
-- load it first. The caller must own the table, as for SECURITY LABEL.
CREATE FUNCTION retention.label_table(tbl regclass, label text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  PERFORM retention._loaded();
  EXECUTE pg_catalog.format('SECURITY LABEL FOR retention ON TABLE %s IS %L', tbl, label);
END
$fn$;

CREATE FUNCTION retention.label_column(tbl regclass, col name, label text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  PERFORM retention._loaded();
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
    PERFORM retention.raise('invalid_label', pg_catalog.format('Table %s has no column %I.', tbl, col));
  END IF;
  EXECUTE pg_catalog.format('SECURITY LABEL FOR retention ON COLUMN %s.%I IS %L', tbl, col, label);
END
$fn$;

CREATE FUNCTION retention._table_label(tbl regclass) RETURNS jsonb
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'retention_table_label';

CREATE FUNCTION retention.guard() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'retention_guard';
COMMENT ON FUNCTION retention.guard() IS
  'BEFORE row trigger of managed tables: computes retention_until, allows active -> archived by hand, refuses changes to archived, expired and anonymized records';

-- The labels of a table as the job reads them.
CREATE FUNCTION retention.describe(tbl regclass) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT pg_catalog.jsonb_build_object(
    'table', tbl::text,
    'label', (SELECT l.label FROM pg_catalog.pg_seclabel l
               WHERE l.provider = 'retention' AND l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND l.objoid = tbl AND l.objsubid = 0),
    'personal', COALESCE((SELECT pg_catalog.jsonb_object_agg(a.attname, l.label ORDER BY a.attnum)
                  FROM pg_catalog.pg_seclabel l JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = l.objoid AND a.attnum = l.objsubid
                 WHERE l.provider = 'retention' AND l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND l.objoid = tbl AND l.objsubid > 0), '{}'::jsonb),
    'guarded', EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = tbl
                        AND g.tgfoid = 'retention.guard()'::pg_catalog.regprocedure))
$fn$;

-- Put a labelled table under management: check its labels, attach the
-- guard trigger, and tell the audit trail which columns are personal.
CREATE FUNCTION retention.manage(tbl regclass) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  d jsonb;
  parsed jsonb;
  subject name;
  cols name[];
BEGIN
  PERFORM retention._loaded();
  d := retention.describe(tbl);
  -- parsed by the same C code as the job uses; an invalid label raises table_not_managed
  parsed := retention._table_label(tbl);
  IF parsed IS NULL THEN
    PERFORM retention.raise('table_not_managed', pg_catalog.format('Table %s has no retention label.', tbl),
      'SECURITY LABEL FOR retention ON TABLE ... IS ''classification=...;organization=...;anchor=...''.');
  END IF;
  subject := parsed OPERATOR(pg_catalog.->>) 'subject';
  SELECT pg_catalog.array_agg(k::name ORDER BY k) INTO cols
    FROM pg_catalog.jsonb_object_keys(d OPERATOR(pg_catalog.->) 'personal') k;
  IF cols IS NOT NULL AND subject IS NULL THEN
    PERFORM retention.raise('table_not_managed',
      pg_catalog.format('Table %s has personal columns but its label names no subject column.', tbl),
      'Add subject=<uuid column> to the table label.');
  END IF;
  -- the record key: a single-column primary key, or one column followed by
  -- organization_id (a schema distributed by organisation, docs/scaling.md)
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                  WHERE i.indrelid = tbl AND i.indisprimary
                    AND (i.indnatts = 1
                         OR (i.indnatts = 2 AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute o
                                                         WHERE o.attrelid = tbl AND o.attnum = i.indkey[1]
                                                           AND o.attname = 'organization_id')))) THEN
    PERFORM retention.raise('table_not_managed',
      pg_catalog.format('Table %s needs a single-column primary key (or one column and organization_id): holds and trail entries name records by it.', tbl));
  END IF;
  IF NOT (d OPERATOR(pg_catalog.->>) 'guarded')::boolean THEN
    EXECUTE pg_catalog.format('CREATE TRIGGER retention_guard BEFORE INSERT OR UPDATE OR DELETE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION retention.guard()', tbl);
  END IF;
  -- audited tables store personal values encrypted under the subject's key
  IF EXISTS (SELECT 1 FROM trail.tracked_tables t WHERE t.relid = tbl) THEN
    PERFORM trail.set_personal(tbl, COALESCE(cols, '{}'), subject);
  END IF;
  RETURN retention.describe(tbl);
END
$fn$;
