-- startlijn_payments/webhooks.sql: signed provider webhooks, received and applied in C
-- (src/payments/apply.c), and Mollie classic webhooks queued for the relay.
--
-- payments.receive, payments._interpret and payments._apply are C functions of
-- startlijn.so: the body is read as jsonb in C, the payment is locked, its
-- status change, ledger entry, audit entry, event and delivery are written
-- with statements prepared once per backend. Refund and chargeback events go
-- to payments._refund_event and payments._chargeback_event (refunds.sql).
-- An authenticated event whose status is missing or unknown is recorded as
-- `ignored` (HTTP 200); a \u0000 escape in a string is read as U+FFFD (the
-- delivery keeps the body as sent).
--
-- The C functions are SECURITY INVOKER: like capacity's they switch to the
-- owner of schema payments for their statements, which are written with
-- schema-qualified names and operators only, so no search path changes
-- what they mean.

-- Apply one authenticated event exactly once. Locks the payment, then
-- claims (provider, event_id). Returns (outcome, payment_id).
CREATE FUNCTION payments._apply(provider text, account_id uuid, event_id text, kind text,
                                payment_ref text, ref text, status text, amount bigint, currency text,
                                OUT outcome text, OUT payment_id uuid)
  LANGUAGE c VOLATILE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_apply';

-- What an authenticated body means: (event_id, kind, payment_ref, ref,
-- status, amount, currency); kind 'ignored' for events we do not handle,
-- 'fetch' when only the payment id is known.
CREATE FUNCTION payments._interpret(provider text, body jsonb, header_event_id text,
                                    OUT event_id text, OUT kind text, OUT payment_ref text, OUT ref text,
                                    OUT status text, OUT amount bigint, OUT currency text)
  LANGUAGE c IMMUTABLE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_interpret';

-- The headers worth keeping: no credentials (authorization, api keys,
-- tokens, secrets, cookies, sessions), at most 40, each value cut to 512
-- bytes (a refused delivery stores what anyone sent). In C: apply.c and
-- src/common/sl_webhook.c (sl_wh_header_kept).
CREATE FUNCTION payments._kept_headers(h jsonb) RETURNS jsonb
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'payments_kept_headers';

CREATE FUNCTION payments._delivery(provider text, account_id uuid, event_id text, payment_id uuid,
                                   headers jsonb, body text, keep_body boolean, outcome text, detail text)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO payments.deliveries AS d (provider, account_id, event_id, payment_id, headers, body,
                                        body_bytes, body_sha256, outcome, detail)
  VALUES (_delivery.provider, _delivery.account_id, _delivery.event_id, _delivery.payment_id,
          payments._kept_headers(_delivery.headers),
          CASE WHEN _delivery.keep_body THEN _delivery.body ELSE pg_catalog.left(_delivery.body, 4096) END,
          COALESCE(pg_catalog.octet_length(_delivery.body), 0),
          pg_catalog.sha256(pg_catalog.convert_to(COALESCE(_delivery.body, ''), 'UTF8')),
          _delivery.outcome, _delivery.detail)
  RETURNING d.id INTO id;
  RETURN id;
END
$$;

-- The HTTP status a provider should see for an outcome: one definition, in C
-- (receive uses it directly; receive_mollie_classic and record_status call this)
CREATE FUNCTION payments._http_status(outcome text, detail text) RETURNS integer
  LANGUAGE c IMMUTABLE PARALLEL SAFE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_http_status';

-- A signed webhook. body is the raw request body (a json value keeps its
-- text byte for byte); headers come from request.headers as PostgREST sets
-- them. Records the delivery, applies the event once, sets response.status.
CREATE FUNCTION payments.receive(provider text, body json) RETURNS jsonb
  LANGUAGE c VOLATILE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_receive';

-- Mollie classic: only the payment id is known. Queue a fetch for the relay.
CREATE FUNCTION payments._queue_fetch(provider_ref text, account_id uuid, OUT outcome text, OUT payment_id uuid)
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  SELECT p.id INTO payment_id FROM payments.payments p
   WHERE p.provider = 'mollie' AND p.provider_ref = _queue_fetch.provider_ref
     AND (_queue_fetch.account_id IS NULL OR p.account_id = _queue_fetch.account_id);
  IF payment_id IS NULL THEN
    outcome := 'unknown_payment';
    RETURN;
  END IF;
  INSERT INTO payments.fetch_queue AS q (payment_id) VALUES (_queue_fetch.payment_id)
  ON CONFLICT ON CONSTRAINT fetch_queue_pkey DO UPDATE
     SET requested_at = pg_catalog.now(), deliveries = q.deliveries + 1;
  outcome := 'queued';
END
$$;

CREATE FUNCTION payments.receive_mollie_classic(id text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  hdr jsonb := COALESCE(NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb, '{}'::jsonb);
  res record;
  did bigint;
  code integer;
BEGIN
  IF id IS NULL OR id !~ '^tr_[A-Za-z0-9]{1,64}$' THEN
    did := payments._delivery('mollie_classic', NULL, NULL, NULL, hdr, 'id=' || COALESCE(pg_catalog.left(id, 100), ''),
                              false, 'ignored', 'not a Mollie payment id');
    PERFORM pg_catalog.set_config('response.status', '400', true);
    RETURN pg_catalog.jsonb_build_object('received', false, 'outcome', 'ignored', 'delivery_id', did);
  END IF;
  SELECT * INTO res FROM payments._queue_fetch(id, NULL);
  did := payments._delivery('mollie_classic', NULL, NULL, res.payment_id, hdr, 'id=' || id, true, res.outcome, NULL);
  code := payments._http_status(res.outcome, NULL);
  PERFORM pg_catalog.set_config('response.status', code::text, true);
  RETURN pg_catalog.jsonb_build_object('received', code = 200, 'outcome', res.outcome, 'delivery_id', did);
END
$$;
