-- startlijn/cancellations.sql: cancelling registrations and orders, with
-- refunds through startlijn_payments (issue 25).
--
-- A participant (or the buyer) cancels an entry within the event's
-- cancellation policy: the first tier whose "until" is still ahead sets the
-- refund (refund_percent of what the entry cost, less the tier's fee); no
-- tier ahead, no cancellation. Owners and finance cancel any registration
-- or a whole order with a refund they choose (default: all that was paid
-- for it). A cancelled event's paid orders are cancelled and refunded in
-- full by startlijn.refund_cancelled_events (pg_cron, in batches). Every
-- cancellation gives its units back to the pools (the waitlist first: the
-- capacity engine offers them), revokes the entry's code and requests the
-- refund in the payments ledger.
--
-- Refunds and chargebacks made at the provider (a dashboard refund, a
-- dispute) reach the order through the payments listener
-- (startlijn.payment_changed -> startlijn.payment_refunded): the order's
-- refunded follows its payment's; a payment refunded or charged back in
-- full cancels what is still valid through cancel_order_units, the path
-- of the organiser's cancellation (no second refund: the money is back).
--
-- Locks: the payment row before the order row, as a webhook takes them
-- (payments._apply locks the payment, the listener then the order), so an
-- organiser's cancellation and a provider's refund of the same order wait
-- for each other instead of deadlocking.

-- Cancel one entitlement (locked order): units back, code revoked, refund
-- amount recorded. Returns nothing; the caller requests the refund.
CREATE FUNCTION startlijn.cancel_entitlement(n startlijn.entitlements, refund bigint, reason text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  alloc uuid;
BEGIN
  SELECT i.allocation_id INTO alloc FROM startlijn.order_items i WHERE i.id = n.order_item_id;
  IF alloc IS NOT NULL THEN
    PERFORM capacity.return_units(alloc, 1, reason);
  END IF;
  IF n.code IS NOT NULL THEN
    PERFORM tokens.revoke_code(startlijn.event_scope(n.event_id), pg_catalog.uuid_send(n.id), reason);
  END IF;
  UPDATE startlijn.entitlements x SET status = 'cancelled', code = NULL, refunded = x.refunded + refund WHERE x.id = n.id;
  IF n.registration_id IS NOT NULL THEN
    UPDATE startlijn.registrations x
       SET status = 'cancelled', cancelled_at = pg_catalog.now(), cancel_reason = cancel_entitlement.reason,
           refunded = x.refunded + refund
     WHERE x.id = n.registration_id AND x.status <> 'cancelled';
  END IF;
END
$$;

-- The order's payment row, locked (before the order: see the top).
CREATE FUNCTION startlijn.lock_order_payment(order_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM 1 FROM payments.payments p
   WHERE p.id = (SELECT x.payment_id FROM startlijn.orders x WHERE x.id = lock_order_payment.order_id)
     FOR UPDATE;
END
$$;

-- Request the refund and close the order when nothing valid is left.
CREATE FUNCTION startlijn.refund_order(o startlijn.orders, amount bigint, reason text, requested_by text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r jsonb;
BEGIN
  IF amount > 0 THEN
    IF o.payment_id IS NULL THEN
      PERFORM startlijn.raise('refund_exceeds_captured', 'A free order has nothing to refund.');
    END IF;
    -- (the order's refunded follows the payment's: payment_refunded, called
    -- by the payments listener in request_refund, has set it)
    r := payments.request_refund(o.payment_id, amount, reason, requested_by);
  END IF;
  UPDATE startlijn.orders x SET
         status = CASE WHEN NOT EXISTS (SELECT 1 FROM startlijn.entitlements n
                                         WHERE n.order_id = o.id AND n.status = 'valid') THEN 'cancelled' ELSE x.status END,
         closed_at = CASE WHEN NOT EXISTS (SELECT 1 FROM startlijn.entitlements n
                                            WHERE n.order_id = o.id AND n.status = 'valid') THEN pg_catalog.now() END
   WHERE x.id = o.id;
  RETURN r;
END
$$;

-- What a participant gets back for an entry now, by the event's policy
-- (NULL: the policy allows no cancellation now).
CREATE FUNCTION startlijn.policy_refund(e startlijn.events, paid bigint) RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT GREATEST(0, pg_catalog.floor(paid::numeric * COALESCE((t OPERATOR(pg_catalog.->>) 'refund_percent')::numeric, 0) / 100)::bigint
                     - COALESCE((t OPERATOR(pg_catalog.->>) 'fee')::bigint, 0))
    FROM pg_catalog.jsonb_array_elements(e.cancellation_policy) t
   WHERE (t OPERATOR(pg_catalog.->>) 'until')::timestamptz > pg_catalog.now()
   ORDER BY (t OPERATOR(pg_catalog.->>) 'until')::timestamptz LIMIT 1
$$;

CREATE FUNCTION startlijn.cancel_registration(registration_id uuid, reason text, refund_amount bigint,
                                              order_token text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r startlijn.registrations;
  o startlijn.orders;
  e startlijn.events;
  n startlijn.entitlements;
  paid bigint;
  refund bigint;
  organiser boolean := false;
  uid uuid := auth.uid();
  refund_json jsonb;
BEGIN
  IF registration_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument registration_id is required.');
  END IF;
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  IF uid IS NOT NULL THEN
    PERFORM startlijn.caller();
  END IF;
  SELECT * INTO r FROM startlijn.registrations x WHERE x.id = cancel_registration.registration_id;
  IF r.id IS NULL THEN
    PERFORM startlijn.raise('registration_not_found');
  END IF;
  -- who: an owner or finance member of the organisation; the participant;
  -- the buyer (signed in or with the order's token)
  IF uid IS NOT NULL AND startlijn.caller_role(r.organization_id) IN ('owner', 'finance', 'superadmin') THEN
    organiser := true;
  -- (IS NOT DISTINCT FROM, IS TRUE: NULLs of guests must refuse, not pass)
  ELSIF NOT ((uid IS NOT NULL AND r.user_id IS NOT DISTINCT FROM uid)
             OR EXISTS (SELECT 1 FROM startlijn.orders x WHERE x.id = r.order_id
                          AND ((uid IS NOT NULL AND x.buyer_user_id IS NOT DISTINCT FROM uid)
                               OR (order_token IS NOT NULL AND pg_catalog.length(order_token) <= 200
                                   AND startlijn.bytes_equal(x.token_hash, startlijn.order_token_hash(order_token)) IS TRUE)))) THEN
    IF uid IS NOT NULL AND startlijn.caller_role(r.organization_id) IS NOT NULL THEN
      PERFORM startlijn.raise('insufficient_role', 'Only owners and finance cancel another person''s registration.');
    END IF;
    PERFORM startlijn.raise('registration_not_found');
  END IF;
  IF refund_amount IS NOT NULL AND NOT organiser THEN
    PERFORM startlijn.raise('insufficient_role', 'The refund of a participant''s cancellation follows the event''s policy.');
  END IF;
  PERFORM startlijn.lock_order_payment(r.order_id);
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = r.order_id FOR UPDATE;
  SELECT * INTO r FROM startlijn.registrations x WHERE x.id = r.id FOR UPDATE;
  IF r.status <> 'paid' THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('The registration is %s.', r.status));
  END IF;
  -- (paid in this very transaction: its number and orders.paid entry first)
  PERFORM startlijn.invoice_order(o.id);
  SELECT * INTO e FROM startlijn.events x WHERE x.id = r.event_id;
  SELECT * INTO n FROM startlijn.entitlements x WHERE x.registration_id = r.id;
  SELECT i.unit_price - i.unit_discount INTO paid FROM startlijn.order_items i WHERE i.id = n.order_item_id;
  IF organiser THEN
    refund := COALESCE(refund_amount, paid);
    IF refund < 0 OR refund > paid THEN
      PERFORM startlijn.raise('invalid_amount', pg_catalog.format('The refund is 0 to %s (what the entry cost).', paid));
    END IF;
  ELSE
    IF e.starts_at <= pg_catalog.now() THEN
      PERFORM startlijn.raise('cancellation_not_allowed', 'The event has started.');
    END IF;
    refund := startlijn.policy_refund(e, paid);
    IF refund IS NULL THEN
      PERFORM startlijn.raise('cancellation_not_allowed', 'The event''s cancellation policy allows no cancellation now.',
        'Transfer the entry, or ask the organiser.');
    END IF;
  END IF;
  PERFORM startlijn.cancel_entitlement(n, refund, COALESCE(NULLIF(pg_catalog.btrim(reason), ''),
                                                          CASE WHEN organiser THEN 'cancelled by the organiser'
                                                               ELSE 'cancelled by the participant' END));
  refund_json := startlijn.refund_order(o, refund, COALESCE(reason, 'registration cancelled'),
                                        CASE WHEN uid IS NULL THEN 'guest' ELSE uid::text END);
  PERFORM trail.log(r.organization_id, 'registrations.cancelled', 'registration:' OPERATOR(pg_catalog.||) r.id::text,
    pg_catalog.jsonb_build_object('registration_id', r.id, 'order_id', o.id, 'entitlement_id', n.id,
                                  'refund', refund, 'by', CASE WHEN organiser THEN 'organiser' ELSE 'participant' END),
    NULLIF(pg_catalog.btrim(reason), ''));
  SELECT * INTO r FROM startlijn.registrations x WHERE x.id = r.id;
  RETURN startlijn.registration_json(r) OPERATOR(pg_catalog.||)
         pg_catalog.jsonb_build_object('refund', refund, 'payment_refund', refund_json);
END
$$;
CREATE FUNCTION api.cancel_registration(registration_id uuid, reason text DEFAULT NULL, refund_amount bigint DEFAULT NULL,
                                        order_token text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.cancel_registration(registration_id, reason, refund_amount, order_token) $$;

-- Cancel every valid unit of a paid order; refund refund_amount (default:
-- all that is not refunded yet). requested_by names who asked.
CREATE FUNCTION startlijn.cancel_order_units(order_id uuid, refund_amount bigint, reason text, requested_by text)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  n startlijn.entitlements;
  refund bigint;
  r jsonb;
BEGIN
  PERFORM startlijn.lock_order_payment(cancel_order_units.order_id);
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = cancel_order_units.order_id FOR UPDATE;
  IF o.status <> 'paid' THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('The order is %s.', o.status));
  END IF;
  -- (paid in this very transaction: its number and orders.paid entry first)
  PERFORM startlijn.invoice_order(o.id);
  refund := COALESCE(refund_amount, o.total - o.refunded);
  IF refund < 0 OR refund > o.total - o.refunded THEN
    PERFORM startlijn.raise('invalid_amount', pg_catalog.format('The refund is 0 to %s.', o.total - o.refunded));
  END IF;
  FOR n IN SELECT * FROM startlijn.entitlements x WHERE x.order_id = o.id AND x.status = 'valid' ORDER BY x.id LOOP
    PERFORM startlijn.cancel_entitlement(n, 0, reason);
  END LOOP;
  r := startlijn.refund_order(o, refund, reason, requested_by);
  PERFORM trail.log(o.organization_id, 'orders.cancelled', 'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'refund', refund, 'currency', o.currency),
    reason);
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = o.id;
  RETURN startlijn.order_json(o) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('refund', refund, 'payment_refund', r);
END
$$;

-- The payments listener's part for refunds and chargebacks (called by
-- startlijn.payment_changed when the payment's refunded or charged_back
-- moved, in the same transaction, under the payment's lock): the order's
-- refunded follows the payment's (refunds requested, pending or
-- succeeded, wherever they were made); a payment refunded or charged back
-- in full (refunded + charged_back = captured) cancels the order's valid
-- units through cancel_order_units with no further refund. A partial
-- refund at the provider cancels nothing: the organiser sees it (refunded)
-- and decides. Nothing comes back by itself: a dispute won or a refund
-- that failed afterwards leaves the cancelled units cancelled (their
-- places went back to the pool and the waitlist), docs/checkout.md.
-- Exactly once: the payments engine applies each provider event once and
-- this runs only when an amount moved; a second call finds no valid unit.
CREATE FUNCTION startlijn.payment_refunded(order_id uuid, now payments.payments) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = payment_refunded.order_id FOR UPDATE;
  IF o.refunded IS DISTINCT FROM now.refunded THEN
    UPDATE startlijn.orders x SET refunded = now.refunded WHERE x.id = o.id RETURNING x.* INTO o;
  END IF;
  IF o.status = 'paid' AND now.captured > 0 AND now.refunded + now.charged_back >= now.captured
     AND EXISTS (SELECT 1 FROM startlijn.entitlements n WHERE n.order_id = o.id AND n.status = 'valid') THEN
    PERFORM startlijn.cancel_order_units(o.id, 0, CASE WHEN now.charged_back > 0 THEN 'payment charged back'
                                                       ELSE 'payment refunded in full' END, 'provider');
  END IF;
END
$$;

CREATE FUNCTION startlijn.cancel_order(order_id uuid, reason text, refund_amount bigint) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  org uuid;
BEGIN
  IF order_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument order_id is required.');
  END IF;
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  PERFORM startlijn.caller();
  SELECT x.organization_id INTO org FROM startlijn.orders x WHERE x.id = cancel_order.order_id;
  IF org IS NULL OR startlijn.caller_role(org) IS NULL THEN
    PERFORM startlijn.raise('order_not_found');
  END IF;
  PERFORM startlijn.require_org_roles(org, '{owner,finance,superadmin}', 'Only owners and finance cancel orders.');
  RETURN startlijn.cancel_order_units(order_id, refund_amount, COALESCE(NULLIF(pg_catalog.btrim(reason), ''),
                                      'cancelled by the organiser'), auth.uid()::text);
END
$$;
CREATE FUNCTION api.cancel_order(order_id uuid, reason text DEFAULT NULL, refund_amount bigint DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.cancel_order(order_id, reason, refund_amount) $$;

-- For pg_cron: the paid orders of cancelled events, cancelled and refunded
-- in full, at most max_rows per run (each its own work; a failure of one
-- is logged and the others go on).
CREATE FUNCTION startlijn.refund_cancelled_events(max_rows integer DEFAULT 200) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  oid uuid;
  done integer := 0;
  failed integer := 0;
  msg text;
BEGIN
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 10000 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows is 1 to 10000.');
  END IF;
  FOR oid IN SELECT o.id FROM startlijn.orders o JOIN startlijn.events e ON e.id = o.event_id
              WHERE e.status = 'cancelled' AND o.status = 'paid'
              ORDER BY o.paid_at LIMIT max_rows FOR UPDATE OF o SKIP LOCKED LOOP
    BEGIN
      PERFORM startlijn.cancel_order_units(oid, NULL, 'event cancelled', 'startlijn:event_cancelled');
      done := done + 1;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
      RAISE WARNING 'startlijn: refunding order % of a cancelled event failed: %', oid, msg;
      failed := failed + 1;
    END;
  END LOOP;
  RETURN pg_catalog.jsonb_build_object('refunded', done, 'failed', failed);
END
$$;

-- The pg_cron jobs of checkout: expire reservations and refund cancelled
-- events every minute. Returns the job ids.
CREATE FUNCTION startlijn.schedule_checkout_jobs(schedule text DEFAULT '* * * * *') RETURNS bigint[]
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
    PERFORM startlijn.raise('invalid_argument', 'pg_cron is not installed in this database.');
  END IF;
  RETURN ARRAY[
    (SELECT cron.schedule('startlijn-expire-orders', schedule, 'SELECT startlijn.expire_orders(1000)')),
    (SELECT cron.schedule('startlijn-refund-cancelled-events', schedule, 'SELECT startlijn.refund_cancelled_events(200)'))];
END
$$;
