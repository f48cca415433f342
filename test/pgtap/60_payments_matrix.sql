-- startlijn_payments: signature verification for every scheme and every bad
-- case, the full status transition table, exactly-once application,
-- exceptions, refunds and chargebacks, the ledger (balanced, append-only,
-- exact splits), idempotency keys, and who may read what through the API.
BEGIN;
SELECT plan(110);


CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES ('org', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002'),
  ('stripe_secret', 'whsec_stripe_test_secret_0001'), ('stripe_secret2', 'whsec_stripe_test_secret_0002'),
  ('std_secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), ('mollie_secret', 'mollie-shared-secret-0001');
INSERT INTO k SELECT 'stripe', payments.create_account('stripe', 'main');
INSERT INTO k SELECT 'standard', payments.create_account('standard', 'psp');
INSERT INTO k SELECT 'mollie', payments.create_account('mollie', 'nl');
SELECT payments.add_secret(pg_temp.v('stripe')::uuid, pg_temp.v('stripe_secret'));
INSERT INTO k SELECT 'std_secret_id', payments.add_secret(pg_temp.v('standard')::uuid, pg_temp.v('std_secret'));
SELECT payments.add_secret(pg_temp.v('mollie')::uuid, pg_temp.v('mollie_secret'));
SELECT payments.set_fee_rule(pg_temp.v('org')::uuid, 'platform', 'platform_fee_revenue', 600, 0);

CREATE FUNCTION pg_temp.now_s() RETURNS bigint LANGUAGE sql AS $$ SELECT floor(extract(epoch FROM clock_timestamp()))::bigint $$;
CREATE FUNCTION pg_temp.stripe_h(body text, secret text DEFAULT pg_temp.v('stripe_secret'), ts bigint DEFAULT pg_temp.now_s())
  RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('Stripe-Signature', 't=' || ts || ',v1=' || encode(hmac(ts || '.' || body, secret, 'sha256'), 'hex'),
                            'Authorization', 'Bearer anon-key', 'Content-Type', 'application/json') $$;
CREATE FUNCTION pg_temp.std_h(id text, body text, ts bigint DEFAULT pg_temp.now_s(),
                              secret text DEFAULT pg_temp.v('std_secret'))
  RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('webhook-id', id, 'webhook-timestamp', ts::text,
    'webhook-signature', 'v1,' || encode(hmac(convert_to(id || '.' || ts || '.' || body, 'UTF8'),
                                              decode(substr(secret, 7), 'base64'), 'sha256'), 'base64')) $$;
CREATE FUNCTION pg_temp.mollie_h(body text, secret text DEFAULT pg_temp.v('mollie_secret'))
  RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('X-Mollie-Signature', 'sha256=' || encode(hmac(body, secret, 'sha256'), 'hex')) $$;
CREATE FUNCTION pg_temp.post(fn text, body text, headers jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT r->>'status' || ' ' || COALESCE(r->'body'->>'outcome', r->>'code') || COALESCE(' ' || (r->'body'->>'reason'), '')
    FROM pgrst.post_raw('anon', fn, body, headers) r $$;
-- Stripe event bodies
CREATE FUNCTION pg_temp.pi(evt text, type text, pi text, amount bigint DEFAULT 12345, currency text DEFAULT 'eur')
  RETURNS text LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', evt, 'object', 'event', 'type', type, 'data', jsonb_build_object('object',
    jsonb_build_object('id', pi, 'object', 'payment_intent', 'amount', amount, 'amount_received', amount, 'currency', currency)))::text $$;
CREATE FUNCTION pg_temp.pay(ref text, provider text DEFAULT 'stripe', amount bigint DEFAULT 12345, org text DEFAULT 'org')
  RETURNS uuid LANGUAGE sql AS $$
  SELECT (payments.create_payment(pg_temp.v(org)::uuid, 'order:' || ref, amount, 'EUR', pg_temp.v(provider)::uuid, ref) ->> 'id')::uuid $$;
CREATE FUNCTION pg_temp.status(id uuid) RETURNS text LANGUAGE sql AS $$ SELECT status FROM payments.payments WHERE payments.id = $1 $$;
CREATE FUNCTION pg_temp.bal(acct text, pay text) RETURNS bigint LANGUAGE sql AS $$
  SELECT COALESCE(sum(x.amount), 0)::bigint FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id
   WHERE j.payment_id = pg_temp.v(pay)::uuid AND x.account = acct $$;

-------------------------------------------------------------------------------
-- Signatures: every scheme, every bad case; nothing applied when bad
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'p1', pg_temp.pay('pi_sig1');
INSERT INTO k VALUES ('b1', pg_temp.pi('evt_sig1', 'payment_intent.succeeded', 'pi_sig1'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), pg_temp.stripe_h(pg_temp.v('b1'), 'whsec_wrong_secret_000000')),
          '401 bad_signature bad_signature', 'stripe: wrong secret is 401');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), pg_temp.stripe_h(pg_temp.v('b1'), ts => pg_temp.now_s() - 301)),
          '401 bad_signature timestamp_expired', 'stripe: timestamp older than 300 s');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), pg_temp.stripe_h(pg_temp.v('b1'), ts => pg_temp.now_s() + 330)),
          '401 bad_signature timestamp_future', 'stripe: timestamp more than 300 s ahead');
SELECT is(pg_temp.post('stripe_webhook', replace(pg_temp.v('b1'), '12345', '12346'), pg_temp.stripe_h(pg_temp.v('b1'))),
          '401 bad_signature bad_signature', 'stripe: tampered body');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), '{}'), '400 bad_signature missing_header', 'stripe: missing header');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), '{"Stripe-Signature": "t=abc,v1=zz"}'),
          '400 bad_signature malformed_header', 'stripe: garbage header');
SELECT is(pg_temp.status(pg_temp.v('p1')::uuid), 'open', 'stripe: no bad delivery changed the payment');
SELECT is((SELECT count(*) FROM payments.deliveries WHERE outcome = 'bad_signature' AND provider = 'stripe'), 6::bigint,
          'stripe: every bad delivery is recorded');
SELECT ok((SELECT bool_and(body_bytes = octet_length(body) AND length(body) <= 4096 AND NOT headers ? 'authorization')
             FROM payments.deliveries WHERE outcome = 'bad_signature'),
          'bad deliveries keep at most 4 KiB of body and no credentials');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b1'), pg_temp.stripe_h(pg_temp.v('b1'))), '200 applied', 'stripe: correct signature applies');
SELECT is(pg_temp.status(pg_temp.v('p1')::uuid), 'paid', 'stripe: the payment is paid');
SELECT is((SELECT body FROM payments.deliveries WHERE event_id = 'evt_sig1' AND outcome = 'applied'), pg_temp.v('b1'),
          'the raw body is kept byte for byte');

-- rotation: two active secrets, then the old one retired
SELECT payments.add_secret(pg_temp.v('stripe')::uuid, pg_temp.v('stripe_secret2'));
INSERT INTO k SELECT 'p2', pg_temp.pay('pi_sig2');
INSERT INTO k VALUES ('b2', pg_temp.pi('evt_sig2', 'payment_intent.processing', 'pi_sig2'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b2'), pg_temp.stripe_h(pg_temp.v('b2'), pg_temp.v('stripe_secret2'))),
          '200 applied', 'rotation: the new secret verifies while the old one is active');
SELECT payments.retire_secret(secret_id) FROM payments.secrets_status()
 WHERE provider = 'stripe' AND state = 'active' ORDER BY created_at LIMIT 1;
INSERT INTO k VALUES ('b3', pg_temp.pi('evt_sig3', 'payment_intent.succeeded', 'pi_sig2'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b3'), pg_temp.stripe_h(pg_temp.v('b3'))),
          '401 bad_signature bad_signature', 'rotation: the retired secret no longer verifies');
SELECT is((SELECT count(*) FROM payments.secrets WHERE state = 'retired' AND secret IS NULL), 1::bigint,
          'rotation: the retired secret is wiped');
UPDATE k SET v = pg_temp.v('stripe_secret2') WHERE k = 'stripe_secret';

-- Standard Webhooks
INSERT INTO k SELECT 'p3', pg_temp.pay('psp_pay_3', 'standard');
INSERT INTO k VALUES ('s1', '{"type": "payment.paid", "data": {"id": "psp_pay_3", "amount": 12345, "currency": "EUR"}}');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1'), secret => 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')),
          '401 bad_signature bad_signature', 'standard: wrong secret');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1'), pg_temp.now_s() - 301)),
          '401 bad_signature timestamp_expired', 'standard: timestamp older than 5 minutes');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1'), pg_temp.now_s() + 330)),
          '401 bad_signature timestamp_future', 'standard: timestamp more than 5 minutes ahead');
SELECT is(pg_temp.post('standard_webhook', replace(pg_temp.v('s1'), '12345', '1'), pg_temp.std_h('msg_1', pg_temp.v('s1'))),
          '401 bad_signature bad_signature', 'standard: tampered body');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1')) - 'webhook-id'),
          '400 bad_signature missing_header', 'standard: missing webhook-id');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1')) || '{"webhook-signature": "v1 garbage"}'),
          '400 bad_signature malformed_header', 'standard: garbage signature header');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'),
            pg_temp.std_h('msg_1', pg_temp.v('s1')) || '{"webhook-signature": "v1a,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}'),
          '401 bad_signature bad_signature', 'standard: an Ed25519 signature with no whpk_ key configured fails');
SELECT is(pg_temp.status(pg_temp.v('p3')::uuid), 'open', 'standard: nothing applied by bad deliveries');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1'))), '200 applied',
          'standard: correct signature applies (webhook-id is the event id)');
SELECT is(pg_temp.post('standard_webhook', pg_temp.v('s1'), pg_temp.std_h('msg_1', pg_temp.v('s1'))), '200 duplicate',
          'standard: the same webhook-id again is a duplicate');

-- Mollie next-gen (no timestamp in the scheme)
INSERT INTO k SELECT 'p4', pg_temp.pay('tr_mollie4', 'mollie', 1000);
INSERT INTO k VALUES ('m1', '{"resource": "event", "id": "event_m1", "type": "payment.updated", "entityId": "tr_mollie4", '
  || '"_embedded": {"entity": {"resource": "payment", "id": "tr_mollie4", "status": "paid", "amount": {"value": "10.00", "currency": "EUR"}}}}');
SELECT is(pg_temp.post('mollie_webhook', pg_temp.v('m1'), pg_temp.mollie_h(pg_temp.v('m1'), 'mollie-wrong-secret-000')),
          '401 bad_signature bad_signature', 'mollie: wrong secret');
SELECT is(pg_temp.post('mollie_webhook', replace(pg_temp.v('m1'), '10.00', '1.00'), pg_temp.mollie_h(pg_temp.v('m1'))),
          '401 bad_signature bad_signature', 'mollie: tampered body');
SELECT is(pg_temp.post('mollie_webhook', pg_temp.v('m1'), '{}'), '400 bad_signature missing_header', 'mollie: missing header');
SELECT is(pg_temp.post('mollie_webhook', pg_temp.v('m1'), '{"X-Mollie-Signature": "sha256=xyz"}'),
          '400 bad_signature malformed_header', 'mollie: garbage header');
SELECT is(pg_temp.post('mollie_webhook', pg_temp.v('m1'), pg_temp.mollie_h(pg_temp.v('m1'))), '200 applied',
          'mollie: correct signature applies (amount "10.00" EUR is 1000 cents)');
SELECT is(pg_temp.status(pg_temp.v('p4')::uuid), 'paid', 'mollie: the payment is paid');
-- a body with \u0000 in a string (metadata a customer typed): jsonb cannot hold it, the event still applies
INSERT INTO k SELECT 'p_nul', pg_temp.pay('pi_nul1');
INSERT INTO k VALUES ('b_nul', '{"id": "evt_nul1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": '
  || '{"id": "pi_nul1", "object": "payment_intent", "amount": 12345, "amount_received": 12345, "currency": "eur", '
  || '"metadata": {"note": "a\u0000b", "path": "C:\\u0000"}}}}');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('b_nul'), pg_temp.stripe_h(pg_temp.v('b_nul'))), '200 applied',
          'stripe: a body with \u0000 in a string applies');
SELECT is((SELECT (body = pg_temp.v('b_nul'))::text || ' ' || pg_temp.status(pg_temp.v('p_nul')::uuid)
             FROM payments.deliveries WHERE event_id = 'evt_nul1'),
          'true paid', 'stripe: and its body is kept as sent');
-- an event whose status we do not know is recorded and ignored (200), not retried for days
INSERT INTO k VALUES ('m2', '{"resource": "event", "id": "event_m2", "type": "payment.updated", "entityId": "tr_mollie4", '
  || '"_embedded": {"entity": {"resource": "payment", "id": "tr_mollie4", "amount": {"value": "10.00", "currency": "EUR"}}}}');
SELECT is(pg_temp.post('mollie_webhook', pg_temp.v('m2'), pg_temp.mollie_h(pg_temp.v('m2'))), '200 ignored',
          'mollie: a payment without a status is ignored (200)');
SELECT is((SELECT detail || ' ' || pg_temp.status(pg_temp.v('p4')::uuid) FROM payments.deliveries WHERE event_id = 'event_m2'),
          'payment.updated paid', 'mollie: and recorded, the payment unchanged');
INSERT INTO k VALUES ('s_unknown', jsonb_build_object('id', 'evt_unknown_status', 'type', 'refund.updated', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 're_unknown', 'object', 'refund', 'amount', 100, 'currency', 'eur', 'payment_intent', 'pi_sig1',
                     'status', 'a_status_added_later')))::text);
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('s_unknown'), pg_temp.stripe_h(pg_temp.v('s_unknown'))), '200 ignored',
          'stripe: a refund status we do not know is ignored (200)');
SELECT is((SELECT count(*) FROM payments.refunds WHERE provider_ref = 're_unknown') || ' '
          || (SELECT count(*) FROM payments.events WHERE event_id = 'evt_unknown_status') || ' '
          || (SELECT string_agg(outcome, ',') FROM payments.deliveries WHERE event_id = 'evt_unknown_status'),
          '0 0 ignored', 'stripe: and recorded, nothing applied');

-- Mollie classic: id only, a fetch for the relay
INSERT INTO k SELECT 'p5', pg_temp.pay('tr_classic5', 'mollie', 2500);
SELECT is((pgrst.try('anon', 'mollie_classic_webhook', '{"id": "tr_classic5"}'))->'body'->>'outcome', 'queued',
          'classic: the id is queued for the relay');
SELECT is((pgrst.try('anon', 'mollie_classic_webhook', '{"id": "tr_classic5"}'))->'body'->>'outcome', 'queued',
          'classic: a retry is queued once');
SELECT is((pgrst.try('anon', 'mollie_classic_webhook', '{"id": "nonsense"}'))->'body'->>'outcome', 'ignored',
          'classic: not a Mollie payment id');
SELECT is((pgrst.try('anon', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_classic5", "status": "paid", "amount": 2500, "currency": "EUR"}'))->>'status',
          '401', 'relay: anon may not report statuses (not authenticated)');
SELECT is((pgrst.try('daan', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_classic5", "status": "paid", "amount": 2500, "currency": "EUR"}'))->>'status',
          '403', 'relay: a signed-in user may not report statuses');
SELECT is(jsonb_array_length((pgrst.try('service', 'payment_fetches', '{"max_rows": 5}'))->'body'), 1, 'relay: one fetch to do');
SELECT is((pgrst.try('service', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_classic5", "status": "paid", "amount": 2500, "currency": "EUR"}'))->'body'->>'outcome',
          'applied', 'relay: the fetched status applies');
SELECT is((pgrst.try('service', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_classic5", "status": "paid", "amount": 2500, "currency": "EUR"}'))->'body'->>'outcome',
          'duplicate', 'relay: reported twice, applied once');
SELECT is((SELECT count(*) FROM payments.fetch_queue), 0::bigint, 'relay: the fetch is done');

-------------------------------------------------------------------------------
-- The status transition table: every from x to, through the guard trigger
-------------------------------------------------------------------------------
CREATE TEMP TABLE st (s text, r int);
INSERT INTO st VALUES ('created', 0), ('open', 1), ('pending', 2), ('authorized', 3),
                      ('paid', 4), ('failed', 4), ('canceled', 4), ('expired', 4);
INSERT INTO payments.payments (organization_id, payable_ref, amount, currency, account_id, provider, status, split)
SELECT pg_temp.v('org')::uuid, 'matrix:' || s, 100, 'EUR', pg_temp.v('stripe')::uuid, 'stripe', s, '[]' FROM st;
CREATE FUNCTION pg_temp.try_move(f text, t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  UPDATE payments.payments SET status = t WHERE payable_ref = 'matrix:' || f;
  RAISE EXCEPTION USING ERRCODE = 'PGRSA', MESSAGE = 'allowed';
EXCEPTION WHEN OTHERS THEN
  RETURN CASE WHEN SQLSTATE = 'PGRSA' THEN 'allowed' ELSE split_part(SQLERRM, ' ', 1) || ':' || SQLSTATE END;
END $$;
SELECT is((SELECT count(*) FROM st a, st b WHERE a.s <> b.s), 56::bigint, 'the table has 56 moves');
SELECT is_empty($$
  SELECT a.s, b.s, pg_temp.try_move(a.s, b.s) FROM st a, st b
   WHERE a.s <> b.s
     AND pg_temp.try_move(a.s, b.s) <> CASE WHEN a.r < 4 AND b.r > a.r THEN 'allowed' ELSE 'invalid:PT409' END $$,
  'every forward move from a non-terminal status is allowed, every other move fails with invalid_transition');
SELECT is(pgrst.err($$ UPDATE payments.payments SET amount = 1 WHERE payable_ref = 'matrix:open' $$),
          'PT409 invalid_transition', 'the amount of a payment never changes');

-------------------------------------------------------------------------------
-- Events: order, duplicates, unknown payments, exceptions
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'p6', pg_temp.pay('pi_ord6');
INSERT INTO k VALUES ('e6a', pg_temp.pi('evt_6a', 'payment_intent.succeeded', 'pi_ord6')),
                     ('e6b', pg_temp.pi('evt_6b', 'payment_intent.processing', 'pi_ord6')),
                     ('e6c', pg_temp.pi('evt_6c', 'payment_intent.payment_failed', 'pi_ord6'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e6a'), pg_temp.stripe_h(pg_temp.v('e6a'))), '200 applied', 'order: paid first');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e6b'), pg_temp.stripe_h(pg_temp.v('e6b'))), '200 out_of_order_ignored',
          'order: a late processing is ignored');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e6c'), pg_temp.stripe_h(pg_temp.v('e6c'))), '200 out_of_order_ignored',
          'order: failed after paid is ignored (terminal)');
SELECT is(pg_temp.status(pg_temp.v('p6')::uuid), 'paid', 'order: still paid');

INSERT INTO k VALUES ('e7', pg_temp.pi('evt_7', 'payment_intent.succeeded', 'pi_notyet7'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e7'), pg_temp.stripe_h(pg_temp.v('e7'))), '404 unknown_payment',
          'unknown payment: 404 so the provider retries');
INSERT INTO k SELECT 'p7', pg_temp.pay('pi_notyet7');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e7'), pg_temp.stripe_h(pg_temp.v('e7'))), '200 applied',
          'unknown payment: the retry after the payment exists applies');
INSERT INTO k SELECT 'p7x', pg_temp.pay('tr_other_account', 'mollie');
INSERT INTO k VALUES ('e7x', pg_temp.pi('evt_7x', 'payment_intent.succeeded', 'tr_other_account'));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e7x'), pg_temp.stripe_h(pg_temp.v('e7x'))), '404 unknown_payment',
          'a Stripe event cannot touch a payment of another account');

INSERT INTO k SELECT 'p8', pg_temp.pay('pi_mis8');
INSERT INTO k VALUES ('e8', pg_temp.pi('evt_8', 'payment_intent.succeeded', 'pi_mis8', 999));
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e8'), pg_temp.stripe_h(pg_temp.v('e8'))), '200 amount_mismatch',
          'amount mismatch: recorded as such');
SELECT is((SELECT status || ' ' || exception || ' ' || captured FROM payments.payments WHERE id = pg_temp.v('p8')::uuid),
          'open amount_mismatch 0', 'amount mismatch: not paid, surfaced as an exception');

INSERT INTO k SELECT 'p9', pg_temp.pay('pi_late9');
INSERT INTO k VALUES ('e9a', pg_temp.pi('evt_9a', 'payment_intent.canceled', 'pi_late9')),
                     ('e9b', pg_temp.pi('evt_9b', 'payment_intent.succeeded', 'pi_late9'));
SELECT pg_temp.post('stripe_webhook', pg_temp.v('e9a'), pg_temp.stripe_h(pg_temp.v('e9a')));
SELECT is(pg_temp.bal('receivable', 'p9'), 0::bigint, 'a canceled payment reverses its sale');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('e9b'), pg_temp.stripe_h(pg_temp.v('e9b'))), '200 applied',
          'paid after canceled: recorded, never dropped');
SELECT is((SELECT status || ' ' || exception || ' ' || captured FROM payments.payments WHERE id = pg_temp.v('p9')::uuid),
          'canceled paid_after_canceled 12345', 'paid after canceled: status stays, the exception is surfaced');
SELECT is(pg_temp.bal('receivable', 'p9'), -12345::bigint, 'paid after canceled: the money sits unapplied in receivable');
SELECT is(jsonb_array_length(pgrst.call('anna', 'payments', jsonb_build_object('organization_id', pg_temp.v('org'), 'exceptions_only', true))),
          2, 'exceptions: the owner lists the open exception cases');
SELECT is(pgrst.call('daan', 'resolve_payment_exception', jsonb_build_object('payment_id', pg_temp.v('p9'), 'resolution', 'allocated'))->>'resolution',
          'allocated', 'exceptions: finance allocates after all');
SELECT is(pg_temp.bal('receivable', 'p9'), 0::bigint, 'exceptions: allocating posts the sale again');
SELECT is((pgrst.try('anna', 'resolve_payment_exception', jsonb_build_object('payment_id', pg_temp.v('p9'), 'resolution', 'allocated')))->>'details',
          'no_open_exception: This payment has no unresolved exception.', 'exceptions: resolved once');

-------------------------------------------------------------------------------
-- Refunds (requested by people, completed by events) and chargebacks
-------------------------------------------------------------------------------
SELECT is((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p3'), 'amount', 0)))->>'code',
          'PT400', 'refund: amount 0 is invalid');
SELECT is((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p2'), 'amount', 100)))->>'details',
          'payment_not_captured: No money has been received for this payment.', 'refund: nothing captured yet');
INSERT INTO k SELECT 'r1', pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p1'), 'amount', 5000, 'reason', 'injured'))->>'id';
SELECT is((pgrst.try('anna', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p1'), 'amount', 7346)))->>'details',
          'refund_exceeds_captured: 7345 of 12345 EUR can still be refunded.', 'refund: more than what is left fails (the constraint)');
INSERT INTO k VALUES ('re1', jsonb_build_object('id', 'evt_re1', 'type', 'refund.updated', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 're_1', 'object', 'refund', 'amount', 5000, 'currency', 'eur', 'payment_intent', 'pi_sig1', 'status', 'succeeded')))::text);
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('re1'), pg_temp.stripe_h(pg_temp.v('re1'))), '200 applied',
          'refund: the provider''s event completes the requested refund');
SELECT is((SELECT status || ' ' || provider_ref FROM payments.refunds WHERE id = pg_temp.v('r1')::uuid), 'succeeded re_1',
          'refund: linked to the provider''s id and succeeded');
INSERT INTO k VALUES ('re2', jsonb_build_object('id', 'evt_re2', 'type', 'refund.created', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 're_2', 'object', 'refund', 'amount', 7345, 'currency', 'eur', 'payment_intent', 'pi_sig1', 'status', 'pending')))::text);
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('re2'), pg_temp.stripe_h(pg_temp.v('re2'))), '200 applied',
          'refund: a refund started in the provider''s dashboard is recorded');
INSERT INTO k VALUES ('re3', jsonb_build_object('id', 'evt_re3', 'type', 'refund.updated', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 're_2', 'object', 'refund', 'amount', 7345, 'currency', 'eur', 'payment_intent', 'pi_sig1', 'status', 'succeeded')))::text);
SELECT pg_temp.post('stripe_webhook', pg_temp.v('re3'), pg_temp.stripe_h(pg_temp.v('re3')));
SELECT is((SELECT refunded || '/' || captured FROM payments.payments WHERE id = pg_temp.v('p1')::uuid), '12345/12345',
          'refund: fully refunded');
SELECT is((SELECT sum(x.amount) FILTER (WHERE x.account = 'platform_fee_revenue') || ' ' || sum(x.amount) FILTER (WHERE x.account = 'organiser_payable')
             FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id WHERE j.payment_id = pg_temp.v('p1')::uuid),
          '0 0', 'refund: a full refund in two parts gives back exactly the original split');
SELECT is(pgrst.err(format($$ SELECT payments.update_refund(%L, 'pending') $$, pg_temp.v('r1'))), 'PT409 invalid_transition',
          'refund: a succeeded refund never changes');
INSERT INTO k SELECT 'r2', (payments.request_refund(pg_temp.v('p6')::uuid, 3000, 'test'))->>'id';
SELECT is((payments.update_refund(pg_temp.v('r2')::uuid, 'failed'))->>'status', 'failed', 'refund: the adapter reports a failure');
SELECT is((SELECT refunded FROM payments.payments WHERE id = pg_temp.v('p6')::uuid), 0::bigint, 'refund: a failed refund releases the amount');

INSERT INTO k VALUES ('cb1', jsonb_build_object('id', 'evt_cb1', 'type', 'charge.dispute.created', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 'dp_1', 'object', 'dispute', 'amount', 12345, 'currency', 'eur', 'payment_intent', 'pi_ord6', 'status', 'needs_response')))::text),
  ('cb2', jsonb_build_object('id', 'evt_cb2', 'type', 'charge.dispute.closed', 'data', jsonb_build_object('object',
  jsonb_build_object('id', 'dp_1', 'object', 'dispute', 'amount', 12345, 'currency', 'eur', 'payment_intent', 'pi_ord6', 'status', 'won')))::text);
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('cb1'), pg_temp.stripe_h(pg_temp.v('cb1'))), '200 applied', 'chargeback: received');
SELECT is(pg_temp.bal('chargebacks', 'p6'), 12345::bigint, 'chargeback: the provider took the money back');
SELECT is(pg_temp.post('stripe_webhook', pg_temp.v('cb2'), pg_temp.stripe_h(pg_temp.v('cb2'))), '200 applied', 'chargeback: won, reversed');
SELECT is(pg_temp.bal('chargebacks', 'p6'), 0::bigint, 'chargeback: reversed returns the money');
SELECT is((SELECT status FROM payments.chargebacks WHERE provider_ref = 'dp_1'), 'reversed', 'chargeback: its own row with its own state');

-------------------------------------------------------------------------------
-- The ledger: balanced, append-only, exact splits
-------------------------------------------------------------------------------
SELECT is_empty($$ SELECT * FROM payments.ledger_problems() $$, 'ledger: every entry balances');
SELECT is((SELECT sum(balance) FROM payments.balances(pg_temp.v('org')::uuid)), 0::numeric, 'ledger: the organisation''s balances sum to zero');
SELECT is(pgrst.err($$ UPDATE payments.postings SET amount = amount + 1 $$), 'PT403 append_only', 'ledger: postings cannot be changed');
SELECT is(pgrst.err($$ DELETE FROM payments.journal $$), 'PT403 append_only', 'ledger: entries cannot be deleted');
SELECT is(pgrst.err($$ SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE payments.postings $$), 'PT403 append_only', 'ledger: postings cannot be truncated');
SELECT is(pgrst.err(format($$
  WITH j AS (INSERT INTO payments.journal (organization_id, kind, payment_id, currency) VALUES (%L, 'sale', %L, 'EUR') RETURNING id)
  INSERT INTO payments.postings (journal_id, line, organization_id, account, currency, amount)
  SELECT id, 1, %L, 'receivable', 'EUR', 1 FROM j;
  SET CONSTRAINTS payments.postings_balanced IMMEDIATE $$, pg_temp.v('org'), pg_temp.v('p1'), pg_temp.v('org'))),
  '23514 The postings sum to 1 (must be 0); 0 carry another currency or organisation.', 'ledger: an unbalanced entry fails at commit');

SELECT payments.set_fee_rule(pg_temp.v('org2')::uuid, 'franchise', 'fee:franchise', 1400, 0, 1);
SELECT payments.set_fee_rule(pg_temp.v('org2')::uuid, 'hq', 'fee:hq', 600, 0, 2);
SELECT is(payments.split(pg_temp.v('org2')::uuid, 12345),
          '[{"amount": 1728, "account": "fee:franchise"}, {"amount": 741, "account": "fee:hq"}, {"amount": 9876, "account": "organiser_payable"}]'::jsonb,
          'split: 14% franchise, 6% HQ, the rest to the professional (CareService)');
SELECT is_empty($$ SELECT a FROM generate_series(1, 3000) a
                    WHERE (SELECT sum((e->>'amount')::bigint) FROM jsonb_array_elements(payments.split(pg_temp.v('org2')::uuid, a)) e) <> a $$,
  'split: the parts sum to the amount for every amount from 1 to 3000');
SELECT is_empty($$ SELECT x FROM generate_series(0, 12345, 7) x
                    WHERE (SELECT sum(amount) FROM payments._portion(payments.split(pg_temp.v('org2')::uuid, 12345), 12345, x)) <> x $$,
  'portion: a refund''s parts sum to the refund exactly');
SELECT is(pgrst.err($$ SELECT payments.set_fee_rule(pg_temp.v('org2')::uuid, 'bad', 'fee:x', 10001) $$), 'PT400 invalid_fee_rule',
          'split: more than 100% is refused');

-------------------------------------------------------------------------------
-- Idempotency keys
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'p10', pg_temp.pay('pi_idem10');
INSERT INTO k VALUES ('e10', pg_temp.pi('evt_10', 'payment_intent.succeeded', 'pi_idem10'));
SELECT pg_temp.post('stripe_webhook', pg_temp.v('e10'), pg_temp.stripe_h(pg_temp.v('e10')));
INSERT INTO k SELECT 'idem1', pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 1000, 'idempotency_key', 'refund-abc'))::text;
SELECT is(pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 1000, 'idempotency_key', 'refund-abc'))::text,
          pg_temp.v('idem1'), 'idempotency: a replay returns the stored response');
SELECT is((SELECT count(*) FROM payments.refunds WHERE payment_id = pg_temp.v('p10')::uuid), 1::bigint, 'idempotency: one refund');
SELECT is((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 2000, 'idempotency_key', 'refund-abc')))->>'status',
          '422', 'idempotency: the same key with other arguments is 422');
SELECT is((pgrst.try('anna', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 1000, 'idempotency_key', 'refund-abc')))->'body'->>'amount',
          '1000', 'idempotency: keys are per caller (another user''s key is a new request)');
SELECT is((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 1000, 'idempotency_key', 'has space')))->>'code',
          'PT400', 'idempotency: a key with a space is invalid');
UPDATE payments.idempotency_keys SET expires_at = now() - interval '1 second';
SELECT is((payments.maintain())->>'idempotency_keys_pruned', '2', 'idempotency: expired keys are pruned');

-------------------------------------------------------------------------------
-- Who reads what through the API
-------------------------------------------------------------------------------
SELECT is((pgrst.try('anna', 'payment', jsonb_build_object('payment_id', pg_temp.v('p1'))))->>'status', '200', 'owner reads a payment');
SELECT is((pgrst.try('daan', 'payment', jsonb_build_object('payment_id', pg_temp.v('p1'))))->>'status', '200', 'finance reads a payment');
SELECT is((pgrst.try('bram', 'payment', jsonb_build_object('payment_id', pg_temp.v('p1'))))->>'status', '403', 'admin does not');
SELECT is((pgrst.try('carla', 'payment', jsonb_build_object('payment_id', pg_temp.v('p1'))))->>'status', '403', 'support does not');
SELECT is((pgrst.try('eva', 'payment', jsonb_build_object('payment_id', pg_temp.v('p1'))))->>'status', '404', 'another organisation does not even see it exists');
SELECT is((pgrst.try('lars', 'payments', jsonb_build_object('organization_id', pg_temp.v('org'))))->>'status', '403',
          'a related organisation with the support role does not');
SELECT is((pgrst.try('anon', 'payments', jsonb_build_object('organization_id', pg_temp.v('org'))))->>'status', '401', 'anon does not');
SELECT is((pgrst.try('bram', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('p10'), 'amount', 1)))->>'status', '403',
          'admin cannot refund');
SELECT is(jsonb_array_length(pgrst.call('daan', 'ledger_balances', jsonb_build_object('organization_id', pg_temp.v('org')))) > 0, true,
          'finance reads the ledger balances');
SELECT is((pgrst.try('anna', 'set_fee_rule', jsonb_build_object('organization_id', pg_temp.v('org'), 'name', 'x', 'account', 'platform_fee_revenue')))->>'status',
          '403', 'an owner cannot set fee rules');
SELECT is((pgrst.try('sanne', 'set_fee_rule', jsonb_build_object('organization_id', pg_temp.v('org'), 'name', 'x', 'account', 'platform_fee_revenue', 'basis_points', 100)))->>'status',
          '200', 'the superadmin sets fee rules');
SELECT is_empty($$ SELECT t, who, pgrst.sql_as(who, format('SELECT * FROM payments.%I', t))
                    FROM unnest(ARRAY['payments', 'refunds', 'secrets', 'postings', 'deliveries', 'idempotency_keys']) t,
                         unnest(ARRAY['anon', 'anna', 'daan', 'service']) who
                   WHERE pgrst.sql_as(who, format('SELECT * FROM payments.%I', t)) <> 'error=42501' $$,
  'no client role reads the payments tables directly');

SELECT * FROM finish();
ROLLBACK;
