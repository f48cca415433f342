-- startlijn_payments/relay.sql: the Mollie relay: payments to fetch, statuses it reports.

-- For the relay: payment ids to fetch, leased for a minute so two relays
-- do not fetch the same one.
CREATE FUNCTION payments.claim_fetches(max_rows integer DEFAULT 10)
  RETURNS TABLE (provider_ref text, payment_id uuid, requested_at timestamptz, deliveries integer)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    UPDATE payments.fetch_queue q SET leased_until = pg_catalog.now() + interval '1 minute'
      FROM payments.payments p
     WHERE p.id = q.payment_id
       AND q.payment_id IN (SELECT x.payment_id FROM payments.fetch_queue x
                             WHERE x.leased_until IS NULL OR x.leased_until < pg_catalog.now()
                             ORDER BY x.requested_at LIMIT LEAST(GREATEST(max_rows, 1), 1000)
                             FOR UPDATE SKIP LOCKED)
    RETURNING p.provider_ref, q.payment_id, q.requested_at, q.deliveries
  $$;

-- The relay reports what it fetched from the provider's API (trusted:
-- only the service role may call this through the platform). Applied
-- exactly once per (payment, status).
CREATE FUNCTION payments.record_status(provider text, provider_ref text, status text,
                                       amount bigint, currency text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  res record;
  did bigint;
BEGIN
  IF provider IS NULL OR provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF provider_ref IS NULL OR status IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments provider_ref and status are required.');
  END IF;
  -- provider ids are short (Stripe pi_..., Mollie tr_...): bounded before any index sees them
  IF pg_catalog.octet_length(provider_ref) > 255 OR pg_catalog.octet_length(currency) > 3 THEN
    PERFORM payments.raise('invalid_argument', 'The provider_ref has at most 255 bytes and the currency 3 letters.');
  END IF;
  IF status NOT IN ('open', 'pending', 'authorized', 'paid', 'failed', 'canceled', 'expired') THEN
    PERFORM payments.raise('invalid_argument', 'The status must be open, pending, authorized, paid, failed, canceled or expired.');
  END IF;
  SELECT * INTO res FROM payments._apply(provider, NULL, 'relay:' || provider_ref || ':' || status, 'payment',
                                         provider_ref, NULL, status, amount, pg_catalog.upper(currency));
  did := payments._delivery('relay', NULL, 'relay:' || provider_ref || ':' || status, res.payment_id,
                            '{}'::jsonb, pg_catalog.jsonb_build_object('provider', provider, 'provider_ref', provider_ref,
                              'status', status, 'amount', amount, 'currency', currency)::text,
                            true, res.outcome, NULL);
  IF res.outcome = 'unknown_payment' THEN
    PERFORM payments.raise('payment_not_found', 'No payment has this provider reference.');
  END IF;
  RETURN pg_catalog.jsonb_build_object('outcome', res.outcome, 'delivery_id', did, 'payment_id', res.payment_id);
END
$$;
