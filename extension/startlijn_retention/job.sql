-- startlijn_retention/job.sql: the job (retention.run) and its pg_cron schedule.

-------------------------------------------------------------------------------
-- The job
-------------------------------------------------------------------------------

CREATE PROCEDURE retention.run(max_rows integer DEFAULT 100000, max_seconds integer DEFAULT 60,
                               dry_run boolean DEFAULT false)
  LANGUAGE c AS 'MODULE_PATHNAME', 'retention_run';
COMMENT ON PROCEDURE retention.run(integer, integer, boolean) IS
  'erasure requests, then per managed table: compute retention dates, expire (signal admins), anonymize or destroy; commits between batches when called with CALL outside a transaction';

CREATE FUNCTION retention.schedule(cron_expression text DEFAULT '23 3 * * *',
                                   max_rows integer DEFAULT 100000, max_seconds integer DEFAULT 600)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM retention.raise('invalid_argument', 'The retention job runs through pg_cron, which is not installed.',
                            'CREATE EXTENSION pg_cron, or CALL retention.run() from your own scheduler.');
  END IF;
  IF max_rows IS NULL OR max_rows < 1 OR max_seconds IS NULL OR max_seconds < 1 OR max_seconds > 86400 THEN
    PERFORM retention.raise('invalid_argument', 'max_rows is at least 1 and max_seconds lies between 1 and 86400.');
  END IF;
  RETURN cron.schedule('startlijn-retention', cron_expression,
                       pg_catalog.format('CALL retention.run(max_rows => %s, max_seconds => %s)', max_rows, max_seconds));
END
$fn$;

CREATE FUNCTION retention.last_runs(max_rows integer DEFAULT 10) RETURNS SETOF retention.runs
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT * FROM retention.runs r ORDER BY r.id DESC LIMIT LEAST(GREATEST(last_runs.max_rows, 1), 1000)
$fn$;
