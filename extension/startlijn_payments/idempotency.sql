-- startlijn_payments/idempotency.sql: idempotency keys of mutating RPCs, and the
-- housekeeping that prunes them.

-------------------------------------------------------------------------------
-- Idempotency keys for mutating RPCs
-------------------------------------------------------------------------------

-- Run fn(request) once per (caller, key) and return its response; a replay
-- returns the stored response. fn takes and returns jsonb. Errors are not
-- stored: the failed call wrote nothing, so the same key may be retried.
-- The key is stored as its SHA-256 ('sha256:' and 64 hex digits), never as
-- sent: a key can be a caller's only claim to the answer (a guest's
-- reservation), and the table is in dumps.
CREATE FUNCTION payments.idempotent(caller text, key text, fn regprocedure, request jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  k payments.idempotency_keys;
  fp bytea;
  response jsonb;
  kh text;
BEGIN
  IF caller IS NULL OR pg_catalog.length(caller) NOT BETWEEN 1 AND 200 THEN
    PERFORM payments.raise('missing_argument', 'An idempotent call needs the caller.');
  END IF;
  IF key IS NULL OR key !~ '^[\x21-\x7e]{1,255}$' THEN
    PERFORM payments.raise('invalid_idempotency_key');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc f
                  WHERE f.oid = fn AND f.prorettype = 'jsonb'::regtype AND f.pronargs = 1
                    AND f.proargtypes[0] = 'jsonb'::regtype AND NOT f.proretset) THEN
    PERFORM payments.raise('invalid_argument', 'An idempotent function takes one jsonb argument and returns jsonb.');
  END IF;
  fp := pg_catalog.sha256(pg_catalog.convert_to(fn::text || ' ' || COALESCE(request::text, 'null'), 'UTF8'));
  kh := 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(key, 'UTF8')), 'hex');
  -- the first call holds this lock until it commits: a duplicate fails fast
  IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(caller || pg_catalog.chr(1) || key, 1862)) THEN
    PERFORM payments.raise('idempotency_key_in_flight');
  END IF;
  SELECT * INTO k FROM payments.idempotency_keys x WHERE x.caller = idempotent.caller AND x.key = kh;
  IF FOUND THEN
    IF k.expires_at > pg_catalog.now() THEN
      IF k.fingerprint <> fp THEN
        -- (the detail names no internal function: clients see it)
        PERFORM payments.raise('idempotency_key_reused',
          pg_catalog.format('This idempotency key was used on %s with other arguments.', k.created_at),
          'Use a new key for a new request; repeat a request with exactly the same arguments to get its first answer.');
      END IF;
      RETURN k.response;
    END IF;
    DELETE FROM payments.idempotency_keys x WHERE x.caller = idempotent.caller AND x.key = kh;
  END IF;
  EXECUTE pg_catalog.format('SELECT %s($1)', fn::regproc) INTO response USING request;
  INSERT INTO payments.idempotency_keys (caller, key, function, fingerprint, response, expires_at)
  VALUES (caller, kh, fn::text, fp, COALESCE(response, 'null'::jsonb),
          pg_catalog.now() + (SELECT s.idempotency_ttl FROM payments.settings s));
  RETURN response;
END
$$;

-- Housekeeping for pg_cron: expired idempotency keys and leases.
CREATE FUNCTION payments.maintain(max_rows integer DEFAULT 10000) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM payments.idempotency_keys k
   WHERE k.ctid = ANY (ARRAY(SELECT x.ctid FROM payments.idempotency_keys x
                              WHERE x.expires_at < pg_catalog.now() LIMIT GREATEST(max_rows, 1)));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN pg_catalog.jsonb_build_object('idempotency_keys_pruned', n);
END
$$;

CREATE FUNCTION payments.schedule_maintenance(schedule text DEFAULT '17 * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM payments.raise('invalid_argument', 'Maintenance runs through pg_cron, which is not installed.',
                           'CREATE EXTENSION pg_cron, or call payments.maintain() from your own scheduler.');
  END IF;
  RETURN cron.schedule('payments-maintain', schedule, 'SELECT payments.maintain()');
END
$fn$;
