-- startlijn_capacity/sweep.sql: the sweep (expired holds, waitlist offers,
-- approximate figures) and its pg_cron schedule.


-- Tidy up: mark expired holds and offers, give their units back to the
-- waitlists, refresh the approximate figures. Expired units are free for
-- new holds before this runs; the sweep is what moves them to waitlists.
CREATE FUNCTION capacity.sweep(max_rows integer DEFAULT 10000) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  h record;
  n_expired integer := 0;
  n_offers integer := 0;
  n_refreshed integer;
  pid uuid;
  stale uuid[];
BEGIN
  IF max_rows IS NULL OR max_rows < 1 THEN
    PERFORM capacity.raise('invalid_argument', 'max_rows must be at least 1.');
  END IF;
  FOR h IN SELECT x.id FROM capacity.holds x
            WHERE x.state = 'held' AND x.expires_at <= pg_catalog.now()
            ORDER BY x.expires_at LIMIT max_rows
            FOR UPDATE SKIP LOCKED LOOP
    PERFORM capacity._close(h.id, NULL, true);
    n_expired := n_expired + 1;
  END LOOP;
  -- pools whose waitlist may have units to offer (e.g. freed by expiries
  -- a public hold could not take)
  FOR pid IN SELECT p.id FROM capacity.pools p WHERE p.waitlist_pending > 0 ORDER BY p.id LOOP
    n_offers := n_offers + capacity.promote(pid);
  END LOOP;
  SELECT COALESCE(pg_catalog.array_agg(p.id), '{}') INTO stale
    FROM (SELECT p.id FROM capacity.pools p
           WHERE p.approx_at IS NULL
              OR p.approx_at < pg_catalog.now() - (SELECT s.approx_refresh FROM capacity.settings s)
           ORDER BY p.approx_at NULLS FIRST LIMIT 1000) p;
  n_refreshed := capacity._refresh_approx(stale);
  RETURN pg_catalog.jsonb_build_object('expired', n_expired, 'offers', n_offers, 'refreshed', n_refreshed);
END
$$;

CREATE FUNCTION capacity.schedule_sweep(schedule text DEFAULT '* * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM capacity.raise('invalid_argument', 'The sweep runs through pg_cron, which is not installed.',
                           'CREATE EXTENSION pg_cron, or call capacity.sweep() from your own scheduler.');
  END IF;
  RETURN cron.schedule('capacity-sweep', schedule, 'SELECT capacity.sweep()');
END
$fn$;
