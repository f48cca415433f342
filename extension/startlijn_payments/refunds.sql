-- startlijn_payments/refunds.sql: refunds and chargebacks: provider events and people's
-- requests, their ledger entries, exception cases.

-- Ledger of a refund changing state (old_status NULL: new refund).
CREATE FUNCTION payments._refund_posted(p payments.payments, r payments.refunds, old_status text, refunded_before bigint)
  RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  lines jsonb;
BEGIN
  IF old_status IS NULL OR old_status NOT IN ('requested', 'pending', 'succeeded') THEN
    IF r.status IN ('requested', 'pending', 'succeeded') THEN
      -- reserve: take it back from whoever the sale credited (or from the
      -- unapplied receivable of an exception payment)
      IF p.sale_posted THEN
        lines := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('refunds', -r.amount));
        SELECT lines || COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.account, a.amount - COALESCE(b.amount, 0))), '[]')
          INTO lines
          FROM payments._portion(p.split, p.amount, refunded_before + r.amount) a
          LEFT JOIN payments._portion(p.split, p.amount, refunded_before) b ON b.ord = a.ord;
      ELSE
        lines := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('receivable', r.amount),
                                              pg_catalog.jsonb_build_array('refunds', -r.amount));  -- no sale stands
      END IF;
      PERFORM payments._post(p, 'refund_reserved', lines, r.id);
    END IF;
  END IF;
  IF r.status = 'succeeded' AND old_status IS DISTINCT FROM 'succeeded' THEN
    PERFORM payments._post_move(p, 'refund_paid', 'refunds', 'provider_clearing', r.amount, r.id);
  ELSIF r.status IN ('failed', 'canceled') AND old_status IN ('requested', 'pending') THEN
    -- release: the exact reverse of this refund's reservation
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(x.account, -x.amount) ORDER BY x.line)
      INTO lines
      FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id
     WHERE j.refund_id = r.id AND j.kind = 'refund_reserved';
    PERFORM payments._post(p, 'refund_released', lines, r.id);
  END IF;
END
$$;

-- A refund event: the refund by provider_ref, created when the provider
-- started it (a dashboard refund) or matched to our requested refund.
CREATE FUNCTION payments._refund_event(p payments.payments, ref text, new_status text, ev_amount bigint,
                                       ev_currency text, source jsonb)
  RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r payments.refunds;
  old_status text;
BEGIN
  IF new_status NOT IN ('pending', 'succeeded', 'failed', 'canceled') OR ref IS NULL THEN
    RETURN 'out_of_order_ignored';
  END IF;
  IF ev_currency IS DISTINCT FROM p.currency OR ev_amount IS NULL OR ev_amount <= 0 THEN
    RETURN 'amount_mismatch';
  END IF;
  SELECT * INTO r FROM payments.refunds x
   WHERE x.provider = p.provider AND x.provider_ref = ref AND x.organization_id = p.organization_id FOR UPDATE;
  IF NOT FOUND THEN
    -- a refund we requested, not yet linked: the oldest requested one of that amount
    SELECT * INTO r FROM payments.refunds x
     WHERE x.payment_id = p.id AND x.provider_ref IS NULL AND x.status = 'requested' AND x.amount = ev_amount
     ORDER BY x.created_at LIMIT 1 FOR UPDATE;
    IF FOUND THEN
      UPDATE payments.refunds x SET provider_ref = ref WHERE x.id = r.id RETURNING x.* INTO r;
    END IF;
  END IF;
  IF r.id IS NULL THEN
    IF ev_amount > p.captured - p.refunded THEN
      RETURN 'amount_mismatch';
    END IF;
    INSERT INTO payments.refunds AS x (organization_id, payment_id, provider, provider_ref, amount, status, requested_by)
    VALUES (p.organization_id, p.id, p.provider, ref, ev_amount, new_status, 'provider')
    RETURNING x.* INTO r;
    PERFORM payments._refund_posted(p, r, NULL, p.refunded);
  ELSE
    IF r.amount <> ev_amount THEN
      RETURN 'amount_mismatch';
    END IF;
    old_status := r.status;
    IF r.status = new_status OR r.status IN ('succeeded', 'failed', 'canceled') THEN
      RETURN 'out_of_order_ignored';
    END IF;
    UPDATE payments.refunds x SET status = new_status WHERE x.id = r.id RETURNING x.* INTO r;
    PERFORM payments._refund_posted(p, r, old_status, NULL);
  END IF;
  PERFORM trail.log(p.organization_id, 'payments.refund_status', 'refund:' || r.id::text,
    source || pg_catalog.jsonb_build_object('payment_id', p.id, 'from', old_status, 'to', r.status,
                                            'amount', r.amount, 'provider_ref', r.provider_ref));
  RETURN 'applied';
END
$$;

CREATE FUNCTION payments._chargeback_event(p payments.payments, ref text, new_status text, ev_amount bigint,
                                           ev_currency text, source jsonb)
  RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c payments.chargebacks;
  old_status text;
BEGIN
  IF new_status NOT IN ('received', 'reversed', 'lost') OR ref IS NULL THEN
    RETURN 'out_of_order_ignored';
  END IF;
  IF ev_currency IS DISTINCT FROM p.currency OR ev_amount IS NULL OR ev_amount <= 0 THEN
    RETURN 'amount_mismatch';
  END IF;
  SELECT * INTO c FROM payments.chargebacks x
   WHERE x.provider = p.provider AND x.provider_ref = ref AND x.organization_id = p.organization_id FOR UPDATE;
  IF NOT FOUND THEN
    IF ev_amount > p.captured - p.charged_back THEN
      RETURN 'amount_mismatch';
    END IF;
    -- a dispute seen first as closed still passes through received
    INSERT INTO payments.chargebacks AS x (organization_id, payment_id, provider, provider_ref, amount, status)
    VALUES (p.organization_id, p.id, p.provider, ref, ev_amount, 'received') RETURNING x.* INTO c;
    PERFORM payments._post_move(p, 'chargeback_received', 'chargebacks', 'provider_clearing', c.amount, NULL, c.id);
  ELSE
    IF c.amount <> ev_amount THEN
      RETURN 'amount_mismatch';
    END IF;
    old_status := c.status;
    IF c.status = new_status OR c.status <> 'received' THEN
      RETURN 'out_of_order_ignored';
    END IF;
  END IF;
  IF new_status <> c.status THEN
    UPDATE payments.chargebacks x SET status = new_status WHERE x.id = c.id RETURNING x.* INTO c;
    IF new_status = 'reversed' THEN
      PERFORM payments._post_move(p, 'chargeback_reversed', 'provider_clearing', 'chargebacks', c.amount, NULL, c.id);
    ELSE
      PERFORM payments._post(p, 'chargeback_lost',
        pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('chargebacks', -c.amount))
        || CASE WHEN p.sale_posted THEN payments._split_lines(p, c.amount, 1)
                ELSE pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('receivable', c.amount)) END,
        NULL, c.id);
    END IF;
  END IF;
  PERFORM trail.log(p.organization_id, 'payments.chargeback_status', 'chargeback:' || c.id::text,
    source || pg_catalog.jsonb_build_object('payment_id', p.id, 'from', old_status, 'to', c.status, 'amount', c.amount,
                                            'provider_ref', c.provider_ref));
  RETURN 'applied';
END
$$;

-------------------------------------------------------------------------------
-- Refunds and exceptions requested by people (the platform checks roles)
-------------------------------------------------------------------------------

CREATE FUNCTION payments.refund_json(r payments.refunds) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object('id', r.id, 'payment_id', r.payment_id, 'amount', r.amount,
      'status', r.status, 'provider_ref', r.provider_ref, 'reason', r.reason,
      'requested_by', r.requested_by, 'created_at', r.created_at, 'updated_at', r.updated_at)
  $$;

-- Request a refund of amount (default: all that is left). The provider
-- adapter sends it and the provider's refund events complete it.
CREATE FUNCTION payments.request_refund(payment_id uuid, amount bigint DEFAULT NULL, reason text DEFAULT NULL,
                                        requested_by text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p payments.payments;
  r payments.refunds;
  want bigint;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM payments.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  SELECT * INTO p FROM payments.payments x WHERE x.id = request_refund.payment_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('payment_not_found');
  END IF;
  IF p.captured = 0 THEN
    PERFORM payments.raise('payment_not_captured');
  END IF;
  want := COALESCE(amount, p.captured - p.refunded);
  IF want <= 0 THEN
    PERFORM payments.raise(CASE WHEN amount IS NULL THEN 'refund_exceeds_captured' ELSE 'invalid_amount' END);
  END IF;
  BEGIN
    INSERT INTO payments.refunds AS x (organization_id, payment_id, provider, amount, status, reason, requested_by)
    VALUES (p.organization_id, p.id, p.provider, want, 'requested', reason, requested_by)
    RETURNING x.* INTO r;
  EXCEPTION WHEN check_violation THEN
    -- payments.refunds_within_captured: the constraint decides
    PERFORM payments.raise('refund_exceeds_captured',
      pg_catalog.format('%s of %s %s can still be refunded.', p.captured - p.refunded, p.captured, p.currency));
  END;
  PERFORM payments._refund_posted(p, r, NULL, p.refunded);
  PERFORM trail.log(p.organization_id, 'payments.refund_requested', 'refund:' || r.id::text,
    pg_catalog.jsonb_build_object('payment_id', p.id, 'amount', r.amount, 'currency', p.currency),
    reason);
  RETURN payments.refund_json(r);
END
$$;

-- The adapter reports what happened when it sent a refund to the provider.
CREATE FUNCTION payments.update_refund(refund_id uuid, status text, provider_ref text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r payments.refunds;
  p payments.payments;
  pid uuid;
  old_status text;
BEGIN
  SELECT x.payment_id INTO pid FROM payments.refunds x WHERE x.id = update_refund.refund_id;
  IF pid IS NULL THEN
    PERFORM payments.raise('refund_not_found');
  END IF;
  SELECT * INTO p FROM payments.payments x WHERE x.id = pid FOR UPDATE;
  SELECT * INTO r FROM payments.refunds x WHERE x.id = update_refund.refund_id FOR UPDATE;
  IF status IS NULL OR status NOT IN ('pending', 'succeeded', 'failed', 'canceled') THEN
    PERFORM payments.raise('invalid_argument', 'The status must be pending, succeeded, failed or canceled.');
  END IF;
  old_status := r.status;
  IF r.status = update_refund.status AND (update_refund.provider_ref IS NULL OR r.provider_ref = update_refund.provider_ref) THEN
    RETURN payments.refund_json(r);
  END IF;
  UPDATE payments.refunds x SET status = update_refund.status,
         provider_ref = COALESCE(update_refund.provider_ref, x.provider_ref)
   WHERE x.id = r.id RETURNING x.* INTO r;
  IF r.status <> old_status THEN
    PERFORM payments._refund_posted(p, r, old_status, NULL);
  END IF;
  PERFORM trail.log(p.organization_id, 'payments.refund_status', 'refund:' || r.id::text,
    pg_catalog.jsonb_build_object('payment_id', p.id, 'from', old_status, 'to', r.status,
                                  'amount', r.amount, 'provider_ref', r.provider_ref, 'source', 'adapter'));
  RETURN payments.refund_json(r);
END
$$;

-- Close an exception case: 'allocated' (the goods were given after all:
-- the sale is posted again), 'refunded' (a refund of everything captured
-- is requested) or 'dismissed' (amount mismatch handled outside).
CREATE FUNCTION payments.resolve_exception(payment_id uuid, resolution text, reason text DEFAULT NULL,
                                           resolved_by text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p payments.payments;
BEGIN
  IF resolution IS NULL OR resolution NOT IN ('allocated', 'refunded', 'dismissed') THEN
    PERFORM payments.raise('invalid_argument', 'The resolution must be allocated, refunded or dismissed.');
  END IF;
  SELECT * INTO p FROM payments.payments x WHERE x.id = resolve_exception.payment_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('payment_not_found');
  END IF;
  IF p.exception IS NULL OR p.resolution IS NOT NULL THEN
    PERFORM payments.raise('no_open_exception');
  END IF;
  IF resolution = 'allocated' THEN
    IF p.captured = 0 THEN
      PERFORM payments.raise('payment_not_captured');
    END IF;
    IF NOT p.sale_posted THEN
      UPDATE payments.payments x SET sale_posted = true WHERE x.id = p.id RETURNING x.* INTO p;
      PERFORM payments._post_sale(p, 1);
    END IF;
  ELSIF resolution = 'refunded' THEN
    IF p.captured = 0 THEN
      PERFORM payments.raise('payment_not_captured');
    END IF;
    IF p.captured > p.refunded THEN
      PERFORM payments.request_refund(p.id, NULL, COALESCE(reason, 'exception: ' || p.exception), resolved_by);
    END IF;
  END IF;
  UPDATE payments.payments x SET resolution = resolve_exception.resolution, resolved_at = pg_catalog.now()
   WHERE x.id = p.id RETURNING x.* INTO p;
  PERFORM trail.log(p.organization_id, 'payments.exception_resolved', 'payment:' || p.id::text,
    pg_catalog.jsonb_build_object('exception', p.exception, 'resolution', p.resolution, 'by', resolved_by), reason);
  RETURN payments.payment_json(p);
END
$$;
