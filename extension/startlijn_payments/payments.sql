-- startlijn_payments/payments.sql: fee rules, creating payments, the provider reference.

-------------------------------------------------------------------------------
-- Fee rules and payments
-------------------------------------------------------------------------------

CREATE FUNCTION payments.set_fee_rule(organization_id uuid, name text, account text,
                                      basis_points integer DEFAULT 0, fixed bigint DEFAULT 0,
                                      "position" integer DEFAULT 1)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  f payments.fee_rules;
BEGIN
  IF organization_id IS NULL OR name IS NULL OR account IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments organization_id, name and account are required.');
  END IF;
  IF name !~ '^[a-z][a-z0-9_]{0,39}$'
     OR NOT (account = 'platform_fee_revenue' OR account ~ '^fee:[a-z][a-z0-9_]{0,39}$')
     OR basis_points IS NULL OR basis_points NOT BETWEEN 0 AND 10000
     OR fixed IS NULL OR fixed NOT BETWEEN 0 AND 1000000000
     OR "position" IS NULL OR "position" NOT BETWEEN 1 AND 100 THEN
    PERFORM payments.raise('invalid_fee_rule');
  END IF;
  INSERT INTO payments.fee_rules AS x (organization_id, name, account, basis_points, fixed, position)
  VALUES (set_fee_rule.organization_id, set_fee_rule.name, set_fee_rule.account,
          set_fee_rule.basis_points, set_fee_rule.fixed, set_fee_rule."position")
  ON CONFLICT ON CONSTRAINT fee_rules_organization_id_name_key DO UPDATE
     SET account = EXCLUDED.account, basis_points = EXCLUDED.basis_points,
         fixed = EXCLUDED.fixed, position = EXCLUDED.position
  RETURNING x.* INTO f;
  PERFORM trail.log(f.organization_id, 'payments.fee_rule_set', 'fee_rule:' || f.id::text,
                    pg_catalog.jsonb_build_object('name', f.name, 'account', f.account,
                      'basis_points', f.basis_points, 'fixed', f.fixed, 'position', f.position));
  RETURN pg_catalog.to_jsonb(f);
END
$$;

CREATE FUNCTION payments.delete_fee_rule(organization_id uuid, name text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM payments.fee_rules f
   WHERE f.organization_id = delete_fee_rule.organization_id AND f.name = delete_fee_rule.name;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM trail.log(organization_id, 'payments.fee_rule_deleted', 'fee_rule:' || name, '{}'::jsonb);
  RETURN true;
END
$$;

-- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and
-- is parsed and planned again in every transaction that calls it (about a
-- millisecond for this one); PL/pgSQL keeps its plan for the session.
CREATE FUNCTION payments.payment_json(p payments.payments) RETURNS jsonb
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
    RETURN pg_catalog.jsonb_build_object(
      'id', p.id, 'organization_id', p.organization_id, 'payable_ref', p.payable_ref,
      'amount', p.amount, 'currency', p.currency, 'provider', p.provider, 'provider_ref', p.provider_ref,
      'status', p.status, 'captured', p.captured, 'refunded', p.refunded, 'charged_back', p.charged_back,
      'refundable', p.captured - p.refunded, 'split', p.split,
      'exception', p.exception, 'exception_at', p.exception_at,
      'resolution', p.resolution, 'resolved_at', p.resolved_at, 'metadata', p.metadata,
      'checkout_url', p.checkout_url,
      'created_at', p.created_at, 'status_changed_at', p.status_changed_at, 'paid_at', p.paid_at);
END
$$;

-- A payment for payable_ref. The sale is posted at once (receivable against
-- the fee split) and reversed if the payment fails, is canceled or expires.
CREATE FUNCTION payments.create_payment(organization_id uuid, payable_ref text, amount bigint,
                                        currency text, account_id uuid, provider_ref text DEFAULT NULL,
                                        metadata jsonb DEFAULT '{}'::jsonb)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a payments.accounts;
  p payments.payments;
BEGIN
  IF organization_id IS NULL OR payable_ref IS NULL OR account_id IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments organization_id, payable_ref and account_id are required.');
  END IF;
  IF pg_catalog.length(payable_ref) NOT BETWEEN 1 AND 200 THEN
    PERFORM payments.raise('invalid_argument', 'A payable reference has 1 to 200 characters.');
  END IF;
  IF amount IS NULL OR amount <= 0 OR amount > 100000000000 THEN
    PERFORM payments.raise('invalid_amount');
  END IF;
  IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM payments.raise('invalid_currency');
  END IF;
  IF provider_ref IS NOT NULL AND provider_ref !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$' THEN
    PERFORM payments.raise('invalid_argument', 'A provider reference has 1 to 200 letters, digits and _.:- characters.');
  END IF;
  IF metadata IS NULL OR pg_catalog.jsonb_typeof(metadata) <> 'object' THEN
    PERFORM payments.raise('invalid_argument', 'The metadata must be a JSON object.');
  END IF;
  SELECT * INTO a FROM payments.accounts x WHERE x.id = create_payment.account_id AND x.active;
  IF NOT FOUND THEN
    PERFORM payments.raise('account_not_found');
  END IF;
  INSERT INTO payments.payments AS x (organization_id, payable_ref, amount, currency, account_id, provider,
                                      provider_ref, status, split, metadata)
  VALUES (create_payment.organization_id, create_payment.payable_ref, create_payment.amount,
          create_payment.currency, a.id, a.provider, create_payment.provider_ref,
          CASE WHEN create_payment.provider_ref IS NULL THEN 'created' ELSE 'open' END,
          payments.split(create_payment.organization_id, create_payment.amount), create_payment.metadata)
  RETURNING x.* INTO p;
  PERFORM payments._post_sale(p, 1);
  PERFORM trail.log(p.organization_id, 'payments.created', 'payment:' || p.id::text,
                    pg_catalog.jsonb_build_object('payable_ref', p.payable_ref, 'amount', p.amount,
                      'currency', p.currency, 'provider', p.provider, 'provider_ref', p.provider_ref,
                      'status', p.status, 'split', p.split));
  RETURN payments.payment_json(p);
END
$$;

-- The relay that created the payment at the provider records its id
-- (created -> open) and what the participant's app needs to pay: Mollie's
-- checkout URL or Stripe's client secret. Idempotent: the same values again
-- change nothing (a relay that retries after a lost answer); a value missing
-- before may be added; another value than the recorded one is refused with
-- provider_ref_conflict. Audited as payments.provider_ref_set (never the
-- client secret itself).
CREATE FUNCTION payments.set_provider_ref(payment_id uuid, provider_ref text, checkout_url text DEFAULT NULL,
                                          client_secret text DEFAULT NULL) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p payments.payments;
  ref text := set_provider_ref.provider_ref;
  url text := set_provider_ref.checkout_url;
  secret text := set_provider_ref.client_secret;
BEGIN
  IF payment_id IS NULL OR ref IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments payment_id and provider_ref are required.');
  END IF;
  IF ref !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$' THEN
    PERFORM payments.raise('invalid_argument', 'A provider reference has 1 to 200 letters, digits and _.:- characters.');
  END IF;
  IF url IS NOT NULL AND (pg_catalog.octet_length(url) > 2048 OR url !~
       '^https://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[][A-Za-z0-9._~:/?#@!$&''()*+,;=%-]*)?$') THEN
    PERFORM payments.raise('invalid_argument', 'A checkout URL is an https URL of at most 2048 bytes.');
  END IF;
  SELECT * INTO p FROM payments.payments x WHERE x.id = set_provider_ref.payment_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('payment_not_found');
  END IF;
  IF secret IS NOT NULL AND (p.provider <> 'stripe' OR secret !~ '^pi_[A-Za-z0-9]{1,200}_secret_[A-Za-z0-9]{1,200}$'
                             OR NOT pg_catalog.starts_with(secret, ref || '_secret_')) THEN
    PERFORM payments.raise('invalid_argument',
      'A client secret is that of a Stripe PaymentIntent: its id followed by _secret_ and letters and digits.');
  END IF;
  IF p.provider_ref IS DISTINCT FROM ref AND p.provider_ref IS NOT NULL THEN
    PERFORM payments.raise('provider_ref_conflict', 'This payment already has another provider reference.');
  END IF;
  IF url IS DISTINCT FROM p.checkout_url AND url IS NOT NULL AND p.checkout_url IS NOT NULL THEN
    PERFORM payments.raise('provider_ref_conflict', 'This payment already has another checkout URL.');
  END IF;
  IF secret IS DISTINCT FROM p.client_secret AND secret IS NOT NULL AND p.client_secret IS NOT NULL THEN
    PERFORM payments.raise('provider_ref_conflict', 'This payment already has another client secret.');
  END IF;
  -- a provider's reference names one payment on the whole platform; the
  -- unique key is per organisation (distribution by organisation,
  -- docs/scaling.md), so the reference is claimed under a transaction lock
  -- and checked across organisations (on Citus a multi-shard read)
  IF p.provider_ref IS NULL THEN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('payments.provider_ref:' || p.provider || ':' || ref, 0));
    IF EXISTS (SELECT 1 FROM payments.payments x
                WHERE x.provider = p.provider AND x.provider_ref = ref AND x.id <> p.id) THEN
      PERFORM payments.raise('provider_ref_conflict', 'Another payment of this provider has this reference.');
    END IF;
  END IF;
  IF p.provider_ref IS NOT DISTINCT FROM ref AND (url IS NULL OR p.checkout_url IS NOT NULL)
     AND (secret IS NULL OR p.client_secret IS NOT NULL) THEN
    RETURN payments.payment_json(p);                     -- recorded before: nothing changes
  END IF;
  BEGIN
    UPDATE payments.payments x
       SET provider_ref = ref,
           checkout_url = COALESCE(x.checkout_url, url),
           client_secret = COALESCE(x.client_secret, secret),
           relay_leased_until = NULL,
           status = CASE WHEN x.status = 'created' THEN 'open' ELSE x.status END
     WHERE x.id = p.id RETURNING x.* INTO p;
  EXCEPTION WHEN unique_violation THEN
    PERFORM payments.raise('provider_ref_conflict', 'Another payment of this provider has this reference.');
  END;
  PERFORM trail.log(p.organization_id, 'payments.provider_ref_set', 'payment:' || p.id::text,
                    pg_catalog.jsonb_build_object('provider_ref', p.provider_ref, 'status', p.status,
                      'checkout_url', p.checkout_url, 'client_secret', p.client_secret IS NOT NULL));
  RETURN payments.payment_json(p);
END
$$;
