-- startlijn_retention/notifications.sql: signals for organisation admins.

-------------------------------------------------------------------------------
-- Notifications
-------------------------------------------------------------------------------

CREATE FUNCTION retention.pending_notifications(max_rows integer DEFAULT 100)
  RETURNS TABLE (id bigint, organization_id uuid, table_name text, kind text, record_count bigint, created_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT n.id, n.organization_id, n.relid::pg_catalog.regclass::text, n.kind, n.record_count, n.created_at
    FROM retention.notifications n WHERE n.delivered_at IS NULL
   ORDER BY n.id LIMIT LEAST(GREATEST(max_rows, 1), 10000)
$fn$;

CREATE FUNCTION retention.mark_delivered(ids bigint[]) RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  WITH d AS (UPDATE retention.notifications n SET delivered_at = pg_catalog.now()
              WHERE n.id = ANY (ids) AND n.delivered_at IS NULL RETURNING 1)
  SELECT pg_catalog.count(*) FROM d
$fn$;
