-- startlijn_tokens/tokens.sql: secret tokens: purposes, issue, redeem, peek, revoke.

-------------------------------------------------------------------------------
-- Secret tokens
-------------------------------------------------------------------------------

-- Who is calling, for throttling: the signed-in user, else the client address
-- from X-Forwarded-For (settings.forwarded_for_hop), else the database role.
CREATE FUNCTION tokens.caller() RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  claims jsonb := NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  sub text := COALESCE(claims ->> 'sub', NULLIF(pg_catalog.current_setting('request.jwt.claim.sub', true), ''));
  headers jsonb;
  hops text[];
  hop integer;
BEGIN
  IF sub IS NOT NULL THEN
    RETURN 'uid:' || sub;
  END IF;
  SELECT s.forwarded_for_hop INTO hop FROM tokens.settings s;
  headers := NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb;
  IF hop > 0 AND headers ? 'x-forwarded-for' THEN
    hops := pg_catalog.regexp_split_to_array(pg_catalog.btrim(headers ->> 'x-forwarded-for'), '\s*,\s*');
    IF pg_catalog.array_length(hops, 1) >= hop THEN
      RETURN 'ip:' || hops[pg_catalog.array_length(hops, 1) - hop + 1];
    END IF;
    RETURN 'ip:' || hops[1];
  END IF;
  RETURN 'role:' || session_user;
END
$fn$;

-- Failed guesses of things that are not tokens (an event's access and
-- discount codes: startlijn.code_guess), counted as redeem counts its
-- failures: per (kind, who) bucket, a keyed BLAKE2b-128 hash, and fixed
-- window (date_bin of failure_window), in tokens.failures, written by a
-- background worker so that the count survives the failed call's
-- rollback; tokens.prune sweeps old windows. docs/tokens.md, "Throttling".
CREATE FUNCTION tokens.attempt_failures(kind text, who text, failure_window interval) RETURNS integer
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_attempt_failures';
COMMENT ON FUNCTION tokens.attempt_failures(text, text, interval) IS
  'failed attempts of (kind, who) in the current window';
CREATE FUNCTION tokens.count_attempt_failure(kind text, who text, failure_window interval) RETURNS integer
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_count_attempt_failure';
COMMENT ON FUNCTION tokens.count_attempt_failure(text, text, interval) IS
  'count a failed attempt of (kind, who) outside the transaction; returns the window''s count';

CREATE FUNCTION tokens.define_purpose(
    purpose text, prefix text,
    default_ttl interval DEFAULT '7 days', max_ttl interval DEFAULT '30 days',
    max_uses_limit integer DEFAULT 100, max_failures integer DEFAULT 10,
    failure_window interval DEFAULT '15 minutes')
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{0,39}$' THEN
    PERFORM tokens.raise('invalid_argument', 'A purpose is 1 to 40 characters of a-z, 0-9 and _, starting with a letter.');
  END IF;
  IF prefix IS NULL OR prefix !~ '^[a-z][a-z0-9]{1,11}$' THEN
    PERFORM tokens.raise('invalid_argument', 'A prefix is 2 to 12 characters of a-z and 0-9, starting with a letter.',
                         'Pick something secret scanners can match, such as sltr for transfers.');
  END IF;
  IF EXISTS (SELECT 1 FROM tokens.purposes p WHERE p.prefix = define_purpose.prefix
                                               AND p.purpose <> define_purpose.purpose) THEN
    PERFORM tokens.raise('invalid_argument', 'Another purpose already uses this prefix.');
  END IF;
  IF default_ttl IS NULL OR max_ttl IS NULL OR default_ttl <= interval '0' OR max_ttl < default_ttl THEN
    PERFORM tokens.raise('invalid_argument', 'default_ttl must be positive and at most max_ttl.');
  END IF;
  IF max_uses_limit IS NULL OR max_uses_limit NOT BETWEEN 1 AND 1000000
     OR max_failures IS NULL OR max_failures NOT BETWEEN 1 AND 10000 THEN
    PERFORM tokens.raise('invalid_argument', 'max_uses_limit is 1..1000000 and max_failures 1..10000.');
  END IF;
  IF failure_window IS NULL OR failure_window < interval '1 second' OR failure_window > interval '1 day'
     OR pg_catalog.date_part('month', failure_window) <> 0 THEN
    PERFORM tokens.raise('invalid_argument', 'failure_window is between 1 second and 1 day.');
  END IF;
  INSERT INTO tokens.purposes AS p (purpose, prefix, default_ttl, max_ttl, max_uses_limit, max_failures, failure_window)
  VALUES (purpose, prefix, default_ttl, max_ttl, max_uses_limit, max_failures, failure_window)
  ON CONFLICT ON CONSTRAINT purposes_pkey DO UPDATE
     SET prefix = excluded.prefix, default_ttl = excluded.default_ttl, max_ttl = excluded.max_ttl,
         max_uses_limit = excluded.max_uses_limit, max_failures = excluded.max_failures,
         failure_window = excluded.failure_window;
END
$fn$;

CREATE FUNCTION tokens.issue(
    purpose text, subject text, ttl interval DEFAULT NULL, max_uses integer DEFAULT 1,
    metadata jsonb DEFAULT '{}'::jsonb, organization_id uuid DEFAULT NULL,
    OUT token_id uuid, OUT token text, OUT expires_at timestamptz)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_issue';
COMMENT ON FUNCTION tokens.issue(text, text, interval, integer, jsonb, uuid) IS
  'issue a secret token; the text is returned once and only its keyed hash is stored';

CREATE FUNCTION tokens.redeem(
    purpose text, token text, subject text DEFAULT NULL,
    OUT token_id uuid, OUT subject text, OUT metadata jsonb, OUT uses_left integer)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_redeem';
COMMENT ON FUNCTION tokens.redeem(text, text, text) IS
  'use a token once; subject, when given, must be the token''s (and is throttled on its own)';

CREATE FUNCTION tokens.peek(
    purpose text, token text, subject text DEFAULT NULL,
    OUT token_id uuid, OUT subject text, OUT metadata jsonb, OUT uses_left integer)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_peek';
COMMENT ON FUNCTION tokens.peek(text, text, text) IS
  'check a token as redeem does (failures count the same) without using it';

CREATE FUNCTION tokens.revoke(token_id uuid, reason text DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE t tokens.tokens;
BEGIN
  IF pg_catalog.length(reason) > 200 THEN
    PERFORM tokens.raise('invalid_argument', 'The reason is at most 200 characters.');
  END IF;
  UPDATE tokens.tokens x SET revoked_at = pg_catalog.now(), revoke_reason = reason
   WHERE x.id = revoke.token_id AND x.revoked_at IS NULL
  RETURNING * INTO t;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM tokens.tokens x WHERE x.id = revoke.token_id) THEN
      PERFORM tokens.raise('token_not_found', 'No token has this id.');
    END IF;
    RETURN false;   -- already revoked
  END IF;
  PERFORM trail.log(NULLIF(t.organization_id, '00000000-0000-0000-0000-000000000000'::uuid), 'token.revoked', 'token:' || t.id::text,
                    pg_catalog.jsonb_build_object('purpose', t.purpose, 'subject', t.subject), reason);
  RETURN true;
END
$fn$;

CREATE FUNCTION tokens.revoke_subject(purpose text, subject text, reason text DEFAULT NULL) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE n integer := 0; t tokens.tokens;
BEGIN
  IF pg_catalog.length(reason) > 200 THEN
    PERFORM tokens.raise('invalid_argument', 'The reason is at most 200 characters.');
  END IF;
  FOR t IN UPDATE tokens.tokens x SET revoked_at = pg_catalog.now(), revoke_reason = reason
            WHERE x.purpose = revoke_subject.purpose AND x.subject = revoke_subject.subject
              AND x.revoked_at IS NULL
           RETURNING * LOOP
    n := n + 1;
    PERFORM trail.log(NULLIF(t.organization_id, '00000000-0000-0000-0000-000000000000'::uuid), 'token.revoked', 'token:' || t.id::text,
                      pg_catalog.jsonb_build_object('purpose', t.purpose, 'subject', t.subject), reason);
  END LOOP;
  RETURN n;
END
$fn$;
