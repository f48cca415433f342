-- startlijn_audit/reading.sql: pages of entries for the owner and the platform's
-- SECURITY DEFINER readers.

-------------------------------------------------------------------------------
-- Reading (for the owner and SECURITY DEFINER wrappers of the platform)
-------------------------------------------------------------------------------
CREATE FUNCTION trail.entries_page(
    log uuid, subject text DEFAULT NULL, table_name text DEFAULT NULL, action text DEFAULT NULL,
    since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
    before bigint DEFAULT NULL, page_size integer DEFAULT 50)
  RETURNS SETOF jsonb LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT trail.open_entry(e) OPERATOR(pg_catalog.||)
           pg_catalog.jsonb_build_object('sealed', EXISTS (SELECT 1 FROM trail.leaves l WHERE l.entry_id = e.id))
      FROM trail.entries e
     WHERE e.log_id = log
       AND (before IS NULL OR e.id < before)
       AND (entries_page.table_name IS NULL OR e.table_name = entries_page.table_name)
       AND (entries_page.action IS NULL OR e.action = entries_page.action)
       AND (since IS NULL OR e.created_at >= since)
       AND (until IS NULL OR e.created_at < until)
       AND (subject IS NULL
            OR (e.body::jsonb OPERATOR(pg_catalog.->>) 'subject') = subject
            OR (e.body::jsonb OPERATOR(pg_catalog.->) 'pk')::text = subject
            OR e.data_subject::text = subject)
     ORDER BY e.id DESC
     LIMIT LEAST(GREATEST(COALESCE(page_size, 50), 1), 500)
  $$;
