-- startlijn_audit/scheduling.sql: sealing scheduled through pg_cron.

-------------------------------------------------------------------------------
-- Scheduling (pg_cron, when installed)
-------------------------------------------------------------------------------
CREATE FUNCTION trail.schedule_sealing(every interval DEFAULT '1 minute') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  cron_version text;
  spec text;
  secs integer := EXTRACT(epoch FROM every)::integer;
BEGIN
  SELECT e.extversion INTO cron_version FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron';
  IF cron_version IS NULL THEN
    PERFORM trail.raise('invalid_argument', 'Scheduled sealing runs through pg_cron, which is not installed.',
                        'CREATE EXTENSION pg_cron, or call trail.seal() from your own scheduler.');
  END IF;
  IF secs IS NULL OR secs < 1 OR secs > 86400 THEN
    PERFORM trail.raise('invalid_argument', 'The sealing interval must be between 1 second and 1 day.');
  END IF;
  -- pg_cron >= 1.5 takes '[1-59] seconds'; older versions run at most once a minute
  IF secs < 60 AND pg_catalog.string_to_array(cron_version, '.')::int[] >= ARRAY[1, 5] THEN
    spec := secs || ' seconds';
  ELSIF secs < 3600 THEN
    spec := '*/' || GREATEST(secs / 60, 1) || ' * * * *';
  ELSE
    spec := '0 */' || LEAST(secs / 3600, 23) || ' * * *';
  END IF;
  RETURN cron.schedule('trail-seal', spec, 'SELECT trail.seal()');
END
$fn$;
