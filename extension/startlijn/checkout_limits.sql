-- startlijn/checkout_limits.sql: what one caller may make an event's
-- checkout do (issue 25, the checkout's known gaps): guess access and
-- discount codes, hold places without a client address, and find an
-- order's token in a replayed reservation's stored answer. The rules are
-- used by reserve and join_ticket_waitlist (checkout.sql); docs/checkout.md
-- ("Guessing codes", "Guests without a client address", "Idempotent
-- reservations and the order token") and docs/security.md say why.

-------------------------------------------------------------------------------
-- Guessing codes: at most checkout_settings.max_code_failures wrong access
-- or discount codes per caller and event in a code_failure_window
-------------------------------------------------------------------------------
-- The caller is tokens.caller(): the signed-in user, else the guest's client
-- address (X-Forwarded-For, tokens.settings.forwarded_for_hop), else the
-- database role (every guest without an address is one caller). Per event:
-- failures at one organisation's event do not lock the caller out of
-- another event, and a code is only ever good for its own event. The count
-- lives in tokens.failures under a keyed hash (no address or user id), one
-- row per caller, event and window, written outside the failed call's
-- transaction; tokens.prune sweeps windows older than a day.
-- (PL/pgSQL, not SQL, here and below: an SQL function with a SET clause is
-- planned again in every transaction.)
CREATE FUNCTION startlijn.code_guesser(event_id uuid) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN tokens.caller() OPERATOR(pg_catalog.||) ' event:' OPERATOR(pg_catalog.||) event_id::text; END $$;

-- Refuse (too_many_attempts, 429) a call that carries a code while the
-- caller's wrong codes for the event reached the bound in this window: the
-- right code too, or guessing would go on.
CREATE FUNCTION startlijn.code_guess_check(event_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s startlijn.checkout_settings;
BEGIN
  SELECT * INTO s FROM startlijn.checkout_settings;
  IF tokens.attempt_failures('event_code', startlijn.code_guesser(event_id), s.code_failure_window) >= s.max_code_failures THEN
    PERFORM startlijn.raise('too_many_attempts', pg_catalog.format(
      'Too many wrong access or discount codes for this event from this caller: at most %s per %s.',
      s.max_code_failures, s.code_failure_window),
      'Check the code with the organiser and try again later; a reservation without a code is not held up.');
  END IF;
END
$$;

-- Count one wrong code (before the call raises its error).
CREATE FUNCTION startlijn.code_guess_failed(event_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM tokens.count_attempt_failure('event_code', startlijn.code_guesser(event_id),
                                       (SELECT s.code_failure_window FROM startlijn.checkout_settings s));
END
$$;

-------------------------------------------------------------------------------
-- Open reservations per caller: who the caller is, and their bound
-------------------------------------------------------------------------------
-- A signed-in caller is their account (bound max_open_reservations). A guest
-- with a client address is 'guest:' and 16 hex digits of the address's
-- SHA-256 (the hold's holder keeps only that). Guests without a client
-- address (no X-Forwarded-For: PostgREST reached without the proxy, or a
-- proxy that does not set it) cannot be told apart: they are one caller,
-- 'guest:unknown', with their own bound max_unaddressed_reservations
-- (0: refused). Behind Supabase every request has the header.
CREATE FUNCTION startlijn.reservation_caller(uid uuid, OUT caller text, OUT bound integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s startlijn.checkout_settings;
  who text;
BEGIN
  SELECT * INTO s FROM startlijn.checkout_settings;
  IF uid IS NOT NULL THEN
    caller := uid::text;
    bound := s.max_open_reservations;
    RETURN;
  END IF;
  who := tokens.caller();
  IF pg_catalog.starts_with(who, 'ip:') AND pg_catalog.length(who) > 3 THEN     -- (an empty header is no address)
    caller := 'guest:' OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.encode(startlijn.order_token_hash(who), 'hex'), 16);
    bound := s.max_open_reservations;
  ELSE
    caller := 'guest:unknown';
    bound := s.max_unaddressed_reservations;
  END IF;
END
$$;

-------------------------------------------------------------------------------
-- Idempotent reservations and the order token
-------------------------------------------------------------------------------
-- A reservation made with an idempotency key keeps its answer for the
-- replay in payments.idempotency_keys (24 hours; in dumps). The answer
-- keeps no order token: the token is derived from the caller's key and a
-- random salt, and the stored answer keeps the salt. A replay with the key
-- derives the same token; a dump (the salt, the key's SHA-256, the token's
-- SHA-256) gives it only to someone who can guess the key, which is why a
-- reservation's key has at least 20 characters (a UUID).
CREATE FUNCTION startlijn.order_token_key(idempotency_key text) RETURNS bytea
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.sha256(pg_catalog.convert_to('startlijn:order_token:' OPERATOR(pg_catalog.||) idempotency_key, 'UTF8')); END $$;

CREATE FUNCTION startlijn.derived_order_token(token_key bytea, salt bytea) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.encode(pg_catalog.sha256(token_key OPERATOR(pg_catalog.||) salt), 'hex'); END $$;
