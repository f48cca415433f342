-- startlijn_tokens/housekeeping.sql: pruning ended tokens and failure windows.

-------------------------------------------------------------------------------
-- Housekeeping
-------------------------------------------------------------------------------

-- Delete tokens that ended (expired, used up or revoked) more than keep ago,
-- and failure windows older than a day.
CREATE FUNCTION tokens.prune(keep interval DEFAULT '30 days') RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE n_tokens bigint; n_failures bigint;
BEGIN
  IF keep IS NULL OR keep < interval '0' THEN
    PERFORM tokens.raise('invalid_argument', 'keep must be zero or positive.');
  END IF;
  DELETE FROM tokens.tokens t
   WHERE LEAST(t.expires_at, COALESCE(t.revoked_at, 'infinity'),
               CASE WHEN t.uses >= t.max_uses THEN t.last_used_at ELSE 'infinity' END) < pg_catalog.now() - keep;
  GET DIAGNOSTICS n_tokens = ROW_COUNT;
  DELETE FROM tokens.failures f WHERE f.window_start < pg_catalog.now() - interval '1 day';
  GET DIAGNOSTICS n_failures = ROW_COUNT;
  RETURN pg_catalog.jsonb_build_object('tokens', n_tokens, 'failure_windows', n_failures);
END
$fn$;

CREATE FUNCTION tokens.schedule_pruning(schedule text DEFAULT '17 * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM tokens.raise('invalid_argument', 'Scheduled pruning runs through pg_cron, which is not installed.',
                         'CREATE EXTENSION pg_cron, or call tokens.prune() from your own scheduler.');
  END IF;
  RETURN cron.schedule('tokens-prune', schedule, 'SELECT tokens.prune()');
END
$fn$;
