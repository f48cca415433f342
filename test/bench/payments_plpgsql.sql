-- The PL/pgSQL baseline of the payments benchmark: startlijn_payments 0.3's
-- webhook path (payments.receive, _interpret, _apply, _payment_status,
-- _minor_units), kept here word for word but for the schema, after 0.4
-- moved it into C. It applies the same rules to the same tables through the
-- same helpers (_post_move, _post_sale, _delivery, _refund_event, ...) and
-- checks signatures with bench_p._verify below (Stripe only, pgcrypto's
-- hmac in schema public). Loaded into an existing schema bench_p by
-- payments_setup.sql and by the parity test test/pgtap/61_payments_parity.sql.

-- The PL/pgSQL signature check (Stripe): header parsing, tolerance, HMAC-SHA256 with pgcrypto.
CREATE FUNCTION bench_p._verify(provider text, body text, h1 text, h2 text, h3 text,
                                OUT result text, OUT account_id uuid)
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
DECLARE
  ts bigint;
  sigs text[] := '{}';
  part text;
  s record;
BEGIN
  IF provider <> 'stripe' THEN result := 'bad_signature'; RETURN; END IF;
  IF h1 IS NULL THEN result := 'missing_header'; RETURN; END IF;
  FOREACH part IN ARRAY pg_catalog.string_to_array(h1, ',') LOOP
    IF part ~ '^t=[0-9]{1,12}$' THEN ts := pg_catalog.substr(part, 3)::bigint;
    ELSIF part ~ '^v1=[0-9a-f]{64}$' THEN sigs := sigs || pg_catalog.substr(part, 4);
    END IF;
  END LOOP;
  IF ts IS NULL OR pg_catalog.cardinality(sigs) = 0 THEN result := 'malformed_header'; RETURN; END IF;
  IF pg_catalog.abs(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) - ts) > 300 THEN
    result := 'timestamp_expired'; RETURN;
  END IF;
  FOR s IN SELECT x.account_id, x.secret FROM payments.secrets x JOIN payments.accounts a ON a.id = x.account_id
            WHERE a.provider = 'stripe' AND x.state = 'active' LOOP
    IF pg_catalog.encode(public.hmac(pg_catalog.convert_to(ts::text || '.' || body, 'UTF8'), s.secret, 'sha256'), 'hex')
       = ANY (sigs) THEN
      result := 'ok'; account_id := s.account_id; RETURN;
    END IF;
  END LOOP;
  result := 'bad_signature';
END
$$;

CREATE FUNCTION bench_p._payment_status(p payments.payments, new_status text, ev_amount bigint,
                                         ev_currency text, source jsonb)
  RETURNS text LANGUAGE plpgsql SET search_path = ''
  AS $$
DECLARE
  q payments.payments;
  late boolean;
BEGIN
  IF new_status NOT IN ('open', 'pending', 'authorized', 'paid', 'failed', 'canceled', 'expired') THEN
    RETURN 'out_of_order_ignored';
  END IF;
  IF new_status = 'paid' THEN
    IF ev_amount IS DISTINCT FROM p.amount OR ev_currency IS DISTINCT FROM p.currency THEN
      IF p.captured = 0 AND p.exception IS NULL THEN
        UPDATE payments.payments x SET exception = 'amount_mismatch', exception_at = pg_catalog.now()
         WHERE x.id = p.id;
        PERFORM trail.log(p.organization_id, 'payments.exception', 'payment:' || p.id::text,
          source || pg_catalog.jsonb_build_object('exception', 'amount_mismatch', 'status', p.status,
                      'expected', pg_catalog.jsonb_build_object('amount', p.amount, 'currency', p.currency),
                      'received', pg_catalog.jsonb_build_object('amount', ev_amount, 'currency', ev_currency)));
      END IF;
      RETURN 'amount_mismatch';
    END IF;
    IF p.captured > 0 THEN
      RETURN 'out_of_order_ignored';	-- already received
    END IF;
    -- after expired/canceled/failed the status stays: the money is
    -- recorded and surfaced as an exception case
    late := payments._rank(p.status) = 4;
    UPDATE payments.payments x
       SET status = CASE WHEN late THEN x.status ELSE 'paid' END,
           exception = CASE WHEN late THEN 'paid_after_' || x.status ELSE x.exception END,
           exception_at = CASE WHEN late THEN pg_catalog.now() ELSE x.exception_at END,
           captured = x.amount, paid_at = pg_catalog.now()
     WHERE x.id = p.id RETURNING x.* INTO q;
    PERFORM payments._post_move(q, 'payment_received', 'provider_clearing', 'receivable', q.amount);
    IF late THEN
      PERFORM trail.log(q.organization_id, 'payments.exception', 'payment:' || q.id::text,
        source || pg_catalog.jsonb_build_object('exception', q.exception, 'status', q.status, 'amount', q.amount));
      RETURN 'applied';
    END IF;
  ELSE
    IF payments._rank(p.status) = 4 OR payments._rank(new_status) <= payments._rank(p.status) THEN
      RETURN 'out_of_order_ignored';
    END IF;
    UPDATE payments.payments x SET status = new_status,
           sale_posted = x.sale_posted AND new_status NOT IN ('failed', 'canceled', 'expired')
     WHERE x.id = p.id RETURNING x.* INTO q;
    IF new_status IN ('failed', 'canceled', 'expired') AND p.sale_posted THEN
      PERFORM payments._post_sale(q, -1);
    END IF;
  END IF;
  PERFORM trail.log(p.organization_id, 'payments.status_changed', 'payment:' || p.id::text,
    source || pg_catalog.jsonb_build_object('from', p.status, 'to', new_status, 'amount', p.amount,
                                            'currency', p.currency));
  RETURN 'applied';
END
$$;

CREATE FUNCTION bench_p._apply(provider text, account_id uuid, event_id text, kind text,
                                payment_ref text, ref text, status text, amount bigint, currency text,
                                OUT outcome text, OUT payment_id uuid)
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
DECLARE
  p payments.payments;
  src jsonb;
BEGIN
  SELECT * INTO p FROM payments.payments x
   WHERE x.provider = _apply.provider AND x.provider_ref = _apply.payment_ref FOR UPDATE;
  IF NOT FOUND OR (account_id IS NOT NULL AND p.account_id <> account_id) THEN
    outcome := 'unknown_payment';
    RETURN;
  END IF;
  payment_id := p.id;
  IF EXISTS (SELECT 1 FROM payments.events e WHERE e.provider = _apply.provider AND e.event_id = _apply.event_id) THEN
    outcome := 'duplicate';
    RETURN;
  END IF;
  src := pg_catalog.jsonb_build_object('provider', provider, 'event_id', event_id);
  outcome := CASE kind
    WHEN 'payment' THEN bench_p._payment_status(p, status, amount, currency, src)
    WHEN 'refund' THEN payments._refund_event(p, ref, status, amount, currency, src)
    WHEN 'chargeback' THEN payments._chargeback_event(p, ref, status, amount, currency, src)
  END;
  INSERT INTO payments.events (provider, event_id, organization_id, payment_id, kind, status, outcome)
  VALUES (_apply.provider, _apply.event_id, p.organization_id, p.id, kind, _apply.status, outcome);
  -- a queued Mollie fetch is answered by any status report for the payment
  IF kind = 'payment' THEN
    DELETE FROM payments.fetch_queue q WHERE q.payment_id = p.id;
  END IF;
END
$$;

CREATE FUNCTION bench_p._minor_units(value text, currency text) RETURNS bigint
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    SELECT CASE WHEN value ~ ('^[0-9]{1,12}' || CASE e WHEN 0 THEN '' ELSE '\.[0-9]{' || e || '}' END || '$')
                THEN pg_catalog.replace(value, '.', '')::bigint END
      FROM (SELECT CASE WHEN pg_catalog.upper(currency) IN ('JPY', 'KRW', 'ISK', 'CLP', 'VND', 'XOF', 'XAF', 'UGX', 'PYG') THEN 0
                        WHEN pg_catalog.upper(currency) IN ('BHD', 'KWD', 'JOD', 'OMR', 'TND', 'LYD', 'IQD') THEN 3
                        ELSE 2 END AS e) x
  $$;

-- What an authenticated body means: (event_id, kind, payment_ref, ref,
-- status, amount, currency); kind 'ignored' for events we do not handle,
-- 'fetch' when only the payment id is known.
CREATE FUNCTION bench_p._interpret(provider text, body jsonb, header_event_id text,
                                    OUT event_id text, OUT kind text, OUT payment_ref text, OUT ref text,
                                    OUT status text, OUT amount bigint, OUT currency text)
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
  AS $$
DECLARE
  t text := body->>'type';
  o jsonb;
BEGIN
  kind := 'ignored';
  IF pg_catalog.jsonb_typeof(body) <> 'object' THEN
    RETURN;
  END IF;
  IF provider = 'stripe' THEN
    event_id := body->>'id';
    o := body->'data'->'object';
    IF pg_catalog.jsonb_typeof(o) <> 'object' THEN RETURN; END IF;
    currency := pg_catalog.upper(o->>'currency');
    IF t LIKE 'payment\_intent.%' THEN
      kind := 'payment';
      payment_ref := o->>'id';
      status := CASE t WHEN 'payment_intent.created' THEN 'open'
                       WHEN 'payment_intent.processing' THEN 'pending'
                       WHEN 'payment_intent.amount_capturable_updated' THEN 'authorized'
                       WHEN 'payment_intent.succeeded' THEN 'paid'
                       WHEN 'payment_intent.payment_failed' THEN 'failed'
                       WHEN 'payment_intent.canceled' THEN 'canceled' END;
      amount := CASE WHEN t = 'payment_intent.succeeded' THEN (o->>'amount_received')::bigint
                     ELSE (o->>'amount')::bigint END;
      IF status IS NULL THEN kind := 'ignored'; END IF;
    ELSIF t IN ('refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated') THEN
      kind := 'refund';
      payment_ref := o->>'payment_intent';
      ref := o->>'id';
      status := CASE o->>'status' WHEN 'pending' THEN 'pending' WHEN 'requires_action' THEN 'pending'
                                  WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed'
                                  WHEN 'canceled' THEN 'canceled' END;
      amount := (o->>'amount')::bigint;
    ELSIF t IN ('charge.dispute.created', 'charge.dispute.closed', 'charge.dispute.funds_reinstated') THEN
      kind := 'chargeback';
      payment_ref := o->>'payment_intent';
      ref := o->>'id';
      status := CASE WHEN t = 'charge.dispute.created' THEN 'received'
                     WHEN t = 'charge.dispute.funds_reinstated' OR o->>'status' = 'won' THEN 'reversed'
                     WHEN o->>'status' = 'lost' THEN 'lost' END;
      amount := (o->>'amount')::bigint;
    END IF;
  ELSIF provider = 'standard' THEN
    -- our documented payload: {"type": "payment.paid", "data": {"id", "payment_id", "amount", "currency"}}
    event_id := header_event_id;
    o := body->'data';
    IF pg_catalog.jsonb_typeof(o) <> 'object' OR t IS NULL OR pg_catalog.strpos(t, '.') = 0 THEN RETURN; END IF;
    kind := pg_catalog.split_part(t, '.', 1);
    status := pg_catalog.split_part(t, '.', 2);
    currency := pg_catalog.upper(o->>'currency');
    IF o ? 'amount' AND pg_catalog.jsonb_typeof(o->'amount') <> 'number' THEN
      kind := 'ignored';   -- "100", null: an amount that is there must be a number (issue 26.3)
      RETURN;
    END IF;
    amount := CASE WHEN pg_catalog.jsonb_typeof(o->'amount') = 'number' THEN (o->>'amount')::bigint END;
    IF kind = 'payment' THEN
      payment_ref := o->>'id';
    ELSIF kind IN ('refund', 'chargeback') THEN
      payment_ref := o->>'payment_id';
      ref := o->>'id';
    ELSE
      kind := 'ignored';
    END IF;
  ELSIF provider = 'mollie' THEN
    -- next-gen event; the payment itself when the payload is a snapshot
    event_id := body->>'id';
    o := body->'_embedded'->'entity';
    IF pg_catalog.jsonb_typeof(o) = 'object' AND o->>'resource' = 'payment' THEN
      kind := 'payment';
      payment_ref := o->>'id';
      status := o->>'status';
      currency := pg_catalog.upper(o->'amount'->>'currency');
      amount := bench_p._minor_units(o->'amount'->>'value', currency);
    ELSIF (body->>'entityId') LIKE 'tr\_%' THEN
      kind := 'fetch';
      payment_ref := body->>'entityId';
    END IF;
  END IF;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
  kind := 'ignored';
END
$$;

CREATE FUNCTION bench_p.receive_plpgsql(provider text, body json) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  hdr jsonb := COALESCE(NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb, '{}'::jsonb);
  raw text := body::text;
  doc jsonb;
  v record;
  ev record;
  res record;
  did bigint;
  outcome text;
  detail text;
  code integer;
BEGIN
  IF provider IS NULL OR provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF raw IS NULL THEN
    raw := '';
  END IF;
  IF pg_catalog.octet_length(raw) > (SELECT s.max_body_bytes FROM payments.settings s) THEN
    outcome := 'bad_signature'; detail := 'body_too_large';
    did := payments._delivery(provider, NULL, NULL, NULL, hdr, raw, false, outcome, detail);
  ELSE
    -- stripe: Stripe-Signature; mollie: X-Mollie-Signature; standard: id, timestamp, signature
    SELECT * INTO v FROM bench_p._verify(provider, raw,
      hdr->>CASE provider WHEN 'stripe' THEN 'stripe-signature' WHEN 'mollie' THEN 'x-mollie-signature'
                          ELSE 'webhook-id' END,
      CASE WHEN provider = 'standard' THEN hdr->>'webhook-timestamp' END,
      CASE WHEN provider = 'standard' THEN hdr->>'webhook-signature' END);
    IF v.result <> 'ok' THEN
      outcome := 'bad_signature'; detail := v.result;
      did := payments._delivery(provider, v.account_id, NULL, NULL, hdr, raw, false, outcome, detail);
    ELSE
      doc := body::jsonb;
      SELECT * INTO ev FROM bench_p._interpret(provider, doc, hdr->>'webhook-id');
      IF ev.kind = 'ignored' OR ev.event_id IS NULL OR ev.payment_ref IS NULL
         OR pg_catalog.length(ev.event_id) > 255 THEN
        outcome := 'ignored';
        detail := COALESCE(doc->>'type', 'unrecognised body');
        did := payments._delivery(provider, v.account_id, ev.event_id, NULL, hdr, raw, true, outcome, detail);
      ELSIF ev.kind = 'fetch' THEN
        SELECT * INTO res FROM payments._queue_fetch(ev.payment_ref, v.account_id);
        outcome := res.outcome;
        did := payments._delivery(provider, v.account_id, ev.event_id, res.payment_id, hdr, raw, true, outcome, NULL);
      ELSE
        SELECT * INTO res FROM bench_p._apply(provider, v.account_id, ev.event_id, ev.kind, ev.payment_ref,
                                               ev.ref, ev.status, ev.amount, ev.currency);
        outcome := res.outcome;
        detail := ev.kind || '.' || COALESCE(ev.status, '?');
        did := payments._delivery(provider, v.account_id, ev.event_id, res.payment_id, hdr, raw, true, outcome, detail);
      END IF;
    END IF;
  END IF;
  code := payments._http_status(outcome, detail);
  PERFORM pg_catalog.set_config('response.status', code::text, true);
  RETURN pg_catalog.jsonb_build_object('received', code = 200, 'outcome', outcome, 'delivery_id', did)
         || CASE WHEN outcome = 'bad_signature' THEN pg_catalog.jsonb_build_object('reason', detail) ELSE '{}'::jsonb END;
END
$$;
