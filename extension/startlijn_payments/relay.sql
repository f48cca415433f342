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
  -- a negative amount is no provider's report: refused before the event is claimed (issue 26.3)
  IF amount IS NOT NULL AND amount < 0 THEN
    PERFORM payments.raise('invalid_amount', 'An amount the relay reports is 0 or more minor units.');
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

-------------------------------------------------------------------------------
-- The relay that creates payments and sends refunds at the provider
-- (docs/relays.md). Both queues follow claim_fetches: the rows are locked
-- FOR UPDATE SKIP LOCKED and leased (settings.relay_lease), so two relays
-- running at once never get the same item, and an item whose relay failed
-- comes back once its lease expires. The lease lives on the row itself: a
-- concurrent claimer that waited for it re-checks the lease on the updated
-- row and skips it.
-------------------------------------------------------------------------------

-- the provider and account filters of the two claims
CREATE FUNCTION payments._relay_filter(provider text, account text) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF provider IS NOT NULL AND provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF account IS NOT NULL AND account !~ '^[a-z0-9][a-z0-9._-]{0,62}$' THEN
    PERFORM payments.raise('invalid_argument', 'An account name has 1 to 63 characters a-z, 0-9 and ._-.');
  END IF;
END
$$;

-- Payments to create at the provider: status created, no provider
-- reference, not leased (or the lease expired), created within
-- settings.relay_max_age; oldest first, at most max_rows (1 to 100), of one
-- provider and account (by name) when given. Each is leased and its attempt counted;
-- the claim is audited (payments.creation_claimed). metadata is what the
-- platform's checkout put there (description, return_url, order_id).
CREATE FUNCTION payments.claim_creations(max_rows integer DEFAULT 10, only_provider text DEFAULT NULL,
                                         only_account text DEFAULT NULL)
  RETURNS TABLE (payment_id uuid, organization_id uuid, provider text, account_id uuid, account text,
                 amount bigint, currency text, payable_ref text, metadata jsonb, created_at timestamptz,
                 attempts integer, leased_until timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s payments.settings;
  p payments.payments;
  n integer := LEAST(GREATEST(COALESCE(claim_creations.max_rows, 10), 1), 100);
BEGIN
  PERFORM payments._relay_filter(claim_creations.only_provider, claim_creations.only_account);
  SELECT * INTO s FROM payments.settings;
  FOR p IN
    UPDATE payments.payments x
       SET relay_leased_until = pg_catalog.now() + s.relay_lease, relay_attempts = x.relay_attempts + 1
     WHERE x.id IN (SELECT y.id FROM payments.payments y JOIN payments.accounts a ON a.id = y.account_id
                     WHERE y.status = 'created' AND y.provider_ref IS NULL
                       AND (y.relay_leased_until IS NULL OR y.relay_leased_until < pg_catalog.now())
                       AND y.created_at > pg_catalog.now() - s.relay_max_age
                       AND (claim_creations.only_provider IS NULL OR y.provider = claim_creations.only_provider)
                       AND (claim_creations.only_account IS NULL OR a.name = claim_creations.only_account)
                     ORDER BY y.created_at, y.id LIMIT n
                       FOR UPDATE OF y SKIP LOCKED)
    RETURNING x.*
  LOOP
    PERFORM trail.log(p.organization_id, 'payments.creation_claimed', 'payment:' || p.id::text,
                      pg_catalog.jsonb_build_object('provider', p.provider, 'attempt', p.relay_attempts,
                                                    'leased_until', p.relay_leased_until));
    payment_id := p.id; organization_id := p.organization_id; provider := p.provider; account_id := p.account_id;
    account := (SELECT a.name FROM payments.accounts a WHERE a.id = p.account_id);
    amount := p.amount; currency := p.currency; payable_ref := p.payable_ref; metadata := p.metadata;
    created_at := p.created_at; attempts := p.relay_attempts; leased_until := p.relay_leased_until;
    RETURN NEXT;
  END LOOP;
END
$$;

-- Refunds to send to the provider: status requested, no provider
-- reference, not leased (or the lease expired), of a payment the provider
-- knows. A payment's refunds go one at a time, oldest first: a refund waits
-- while an older one of its payment is still unsent, so the provider's
-- refund event (matched to the oldest requested refund of its amount,
-- docs/payments.md) always names the refund that was sent. Leased, counted
-- and audited (payments.refund_claimed) like claim_creations.
CREATE FUNCTION payments.claim_refunds(max_rows integer DEFAULT 10, only_provider text DEFAULT NULL,
                                       only_account text DEFAULT NULL)
  RETURNS TABLE (refund_id uuid, payment_id uuid, organization_id uuid, provider text, account_id uuid,
                 account text, payment_provider_ref text, amount bigint, currency text, reason text,
                 created_at timestamptz, attempts integer, leased_until timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s payments.settings;
  r payments.refunds;
  p payments.payments;
  n integer := LEAST(GREATEST(COALESCE(claim_refunds.max_rows, 10), 1), 100);
BEGIN
  PERFORM payments._relay_filter(claim_refunds.only_provider, claim_refunds.only_account);
  SELECT * INTO s FROM payments.settings;
  FOR r IN
    UPDATE payments.refunds x
       SET leased_until = pg_catalog.now() + s.relay_lease, attempts = x.attempts + 1
     WHERE x.id IN (SELECT y.id FROM payments.refunds y
                      JOIN payments.payments q ON q.id = y.payment_id
                      JOIN payments.accounts a ON a.id = q.account_id
                     WHERE y.status = 'requested' AND y.provider_ref IS NULL AND q.provider_ref IS NOT NULL
                       AND (y.leased_until IS NULL OR y.leased_until < pg_catalog.now())
                       AND (claim_refunds.only_provider IS NULL OR q.provider = claim_refunds.only_provider)
                       AND (claim_refunds.only_account IS NULL OR a.name = claim_refunds.only_account)
                       AND NOT EXISTS (SELECT 1 FROM payments.refunds o
                                        WHERE o.payment_id = y.payment_id AND o.status = 'requested'
                                          AND o.provider_ref IS NULL
                                          AND (o.created_at, o.id) < (y.created_at, y.id))
                     ORDER BY y.created_at, y.id LIMIT n
                       FOR UPDATE OF y SKIP LOCKED)
    RETURNING x.*
  LOOP
    SELECT * INTO p FROM payments.payments q WHERE q.id = r.payment_id;
    PERFORM trail.log(r.organization_id, 'payments.refund_claimed', 'refund:' || r.id::text,
                      pg_catalog.jsonb_build_object('payment_id', r.payment_id, 'provider', p.provider,
                                                    'attempt', r.attempts, 'leased_until', r.leased_until));
    refund_id := r.id; payment_id := r.payment_id; organization_id := r.organization_id; provider := p.provider;
    account_id := p.account_id; account := (SELECT a.name FROM payments.accounts a WHERE a.id = p.account_id);
    payment_provider_ref := p.provider_ref; amount := r.amount; currency := p.currency; reason := r.reason;
    created_at := r.created_at; attempts := r.attempts; leased_until := r.leased_until;
    RETURN NEXT;
  END LOOP;
END
$$;

-- The relay reports a refund it sent: the provider's refund id and its
-- status (pending, succeeded, failed or canceled). Idempotent and
-- monotonic: the provider's refund event may have linked the refund and
-- moved it on already (a succeeded refund stays succeeded when the relay
-- reports pending); another provider reference than the recorded one is
-- refused with provider_ref_conflict. Applied through payments.update_refund
-- (ledger, audit payments.refund_status).
CREATE FUNCTION payments.record_refund_sent(refund_id uuid, status text, provider_ref text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r payments.refunds;
  pid uuid;
  rank_of constant jsonb := '{"requested": 0, "pending": 1, "succeeded": 2, "failed": 2, "canceled": 2}';
BEGIN
  IF refund_id IS NULL OR status IS NULL OR provider_ref IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments refund_id, status and provider_ref are required.');
  END IF;
  IF status NOT IN ('pending', 'succeeded', 'failed', 'canceled') THEN
    PERFORM payments.raise('invalid_argument', 'The status must be pending, succeeded, failed or canceled.');
  END IF;
  IF provider_ref !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$' THEN
    PERFORM payments.raise('invalid_argument', 'A provider reference has 1 to 200 letters, digits and _.:- characters.');
  END IF;
  SELECT x.payment_id INTO pid FROM payments.refunds x WHERE x.id = record_refund_sent.refund_id;
  IF pid IS NULL THEN
    PERFORM payments.raise('refund_not_found');
  END IF;
  -- the payment first, then the refund: the order of update_refund and of the event path
  PERFORM 1 FROM payments.payments x WHERE x.id = pid FOR UPDATE;
  SELECT * INTO r FROM payments.refunds x WHERE x.id = record_refund_sent.refund_id FOR UPDATE;
  IF r.provider_ref IS NOT NULL AND r.provider_ref <> record_refund_sent.provider_ref THEN
    PERFORM payments.raise('provider_ref_conflict', 'This refund already has another provider reference.');
  END IF;
  IF EXISTS (SELECT 1 FROM payments.refunds x WHERE x.provider = r.provider
                AND x.provider_ref = record_refund_sent.provider_ref AND x.id <> r.id) THEN
    PERFORM payments.raise('provider_ref_conflict', 'Another refund of this provider has this reference.');
  END IF;
  IF r.provider_ref IS NOT NULL
     AND (rank_of OPERATOR(pg_catalog.->>) r.status)::integer >= (rank_of OPERATOR(pg_catalog.->>) status)::integer THEN
    RETURN payments.refund_json(r);              -- reported before, or the provider's event came first
  END IF;
  IF r.status IN ('succeeded', 'failed', 'canceled') THEN
    -- canceled or failed here before the relay's answer: the provider's id is kept, the status stays
    UPDATE payments.refunds x SET provider_ref = record_refund_sent.provider_ref, leased_until = NULL
     WHERE x.id = r.id RETURNING x.* INTO r;
    PERFORM trail.log(r.organization_id, 'payments.refund_status', 'refund:' || r.id::text,
      pg_catalog.jsonb_build_object('payment_id', r.payment_id, 'from', r.status, 'to', r.status,
                                    'amount', r.amount, 'provider_ref', r.provider_ref, 'source', 'relay',
                                    'reported', status));
    RETURN payments.refund_json(r);
  END IF;
  UPDATE payments.refunds x SET leased_until = NULL WHERE x.id = r.id;
  RETURN payments.update_refund(r.id, status, record_refund_sent.provider_ref);
END
$$;
