-- The relay that creates payments and sends refunds at the provider
-- (docs/relays.md): who may call it (the role matrix), the two lease-based
-- queues, recording the provider's payment (checkout URL, client secret)
-- and the refunds it sent, idempotent and monotonic, with their audit
-- entries. The relays themselves run end to end in test/relay/.
BEGIN;
SELECT plan(87);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES ('org', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002');
INSERT INTO k SELECT 'stripe', payments.create_account('stripe', 'relay-main');
INSERT INTO k SELECT 'stripe2', payments.create_account('stripe', 'relay-other');
INSERT INTO k SELECT 'mollie', payments.create_account('mollie', 'relay-nl');
-- the queues start empty: the demo data's payments are open or paid
UPDATE payments.payments SET relay_leased_until = now() + interval '1 day' WHERE status = 'created' AND provider_ref IS NULL;
UPDATE payments.refunds SET leased_until = now() + interval '1 day' WHERE status = 'requested' AND provider_ref IS NULL;

CREATE FUNCTION pg_temp.pay(name text, acct text, amount bigint, org text DEFAULT 'org', meta jsonb DEFAULT '{}')
  RETURNS void LANGUAGE sql AS $$
  INSERT INTO k SELECT name, payments.create_payment(pg_temp.v(org)::uuid, 'order:' || name, amount, 'EUR',
                                                     pg_temp.v(acct)::uuid, NULL, meta) ->> 'id' $$;
CREATE FUNCTION pg_temp.svc(fn text, args jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT pgrst.try('service', fn, args) $$;
-- the payable references a claim answered, in its order
CREATE FUNCTION pg_temp.refs(r jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT COALESCE(string_agg(e ->> 'payable_ref', ',' ORDER BY o), '-') FROM jsonb_array_elements(r -> 'body') WITH ORDINALITY x(e, o) $$;
CREATE FUNCTION pg_temp.err(r jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT (r ->> 'status') || ' ' || split_part(r ->> 'details', ':', 1) $$;
-- the SQLSTATE and the constraint a statement violates (rolled back), or 'ok'
CREATE FUNCTION pg_temp.violates(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; con text;
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME;
  RETURN st || ' ' || con;
END $$;
CREATE FUNCTION pg_temp.audits(action text, subject text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM trail.entries e WHERE e.action = audits.action AND e.body::jsonb ->> 'subject' = audits.subject $$;

SELECT pg_temp.pay('r1', 'stripe', 1250, meta => '{"order_id": "o-1", "description": "Singelloop 10 km", "return_url": "https://app.example.org/r1"}');
SELECT pg_temp.pay('r2', 'mollie', 990);
SELECT pg_temp.pay('r3', 'stripe2', 4500, 'org2');
-- one transaction: give them distinct creation times, r1 oldest
UPDATE payments.payments SET created_at = now() - x.age
  FROM (VALUES ('r1', interval '3 minutes'), ('r2', interval '2 minutes'), ('r3', interval '1 minute')) x(name, age)
 WHERE id = pg_temp.v(x.name)::uuid;
INSERT INTO k SELECT 'open1', payments.create_payment(pg_temp.v('org')::uuid, 'order:open1', 100, 'EUR',
                                                      pg_temp.v('stripe')::uuid, 'pi_relayopen1') ->> 'id';

-------------------------------------------------------------------------------
-- The role matrix: only the service role calls the relay's RPCs
-------------------------------------------------------------------------------
CREATE TEMP TABLE matrix AS
  SELECT fn, who, args,
         CASE who WHEN 'anon' THEN '401 not_authenticated' WHEN 'service' THEN '200' ELSE '403 insufficient_role' END AS want
    FROM (VALUES ('payments_to_create', '{"max_rows": 1, "provider": "standard"}'::jsonb),
                 ('refunds_to_send', '{"max_rows": 1, "provider": "standard"}'),
                 ('record_provider_payment', jsonb_build_object('payment_id', pg_temp.v('open1'), 'provider_ref', 'pi_relayopen1')),
                 ('record_refund_sent', '{"refund_id": null, "status": "pending", "provider_ref": "re_x"}')) f(fn, args),
         unnest(ARRAY['anon', 'anna', 'bram', 'daan', 'lars', 'eva', 'sanne', 'service']) who;
UPDATE matrix SET want = '400 missing_argument' WHERE fn = 'record_refund_sent' AND who = 'service';
SELECT is(CASE WHEN r ->> 'status' = '200' THEN '200' ELSE pg_temp.err(r) END, want,
          format('role matrix: %s as %s -> %s', fn, who, want))
  FROM (SELECT m.*, pgrst.try(m.who, m.fn, m.args) AS r FROM matrix m ORDER BY fn, who) x;

-------------------------------------------------------------------------------
-- Payments to create: claimed once, leased, offered again when the lease expires
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'c1', pg_temp.svc('payments_to_create', '{"max_rows": 10}')::text;
SELECT is(pg_temp.refs(pg_temp.v('c1')::jsonb), 'order:r1,order:r2,order:r3',
          'payments_to_create: every payment created without a provider reference, oldest first');
SELECT is((SELECT e - 'payment_id' - 'account_id' - 'created_at' - 'leased_until' FROM jsonb_array_elements(pg_temp.v('c1')::jsonb -> 'body') e
            WHERE e ->> 'payable_ref' = 'order:r1'),
          jsonb_build_object('organization_id', pg_temp.v('org'), 'provider', 'stripe', 'account', 'relay-main', 'amount', 1250,
                             'currency', 'EUR', 'payable_ref', 'order:r1', 'attempts', 1,
                             'metadata', '{"order_id": "o-1", "description": "Singelloop 10 km", "return_url": "https://app.example.org/r1"}'::jsonb),
          'payments_to_create: what the relay needs (amount, currency, account, metadata of the checkout)');
SELECT ok((SELECT bool_and((e ->> 'leased_until')::timestamptz BETWEEN now() + interval '119 seconds' AND now() + interval '121 seconds')
             FROM jsonb_array_elements(pg_temp.v('c1')::jsonb -> 'body') e),
          'payments_to_create: each is leased for settings.relay_lease (2 minutes)');
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create')), '-', 'payments_to_create: a leased payment is not offered again');
SELECT is(pg_temp.audits('payments.creation_claimed', 'payment:' || pg_temp.v('r1')), 1::bigint,
          'payments_to_create: the claim is audited (payments.creation_claimed)');
UPDATE payments.payments SET relay_leased_until = now() - interval '1 second' WHERE id IN (pg_temp.v('r1')::uuid, pg_temp.v('r2')::uuid);
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create', '{"provider": "mollie"}')), 'order:r2',
          'payments_to_create: an expired lease offers it again; provider filters');
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create', '{"provider": "stripe", "account": "relay-other"}')), '-',
          'payments_to_create: account filters (by name)');
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create', '{"provider": "stripe", "account": "relay-main", "max_rows": 0}')), 'order:r1',
          'payments_to_create: max_rows below 1 is 1');
SELECT is((SELECT relay_attempts FROM payments.payments WHERE id = pg_temp.v('r1')::uuid), 2, 'payments_to_create: attempts are counted');
-- too old to create at the provider (its idempotency key may be gone)
SELECT pg_temp.pay('old', 'stripe', 700);
UPDATE payments.payments SET created_at = now() - interval '23 hours 1 minute' WHERE id = pg_temp.v('old')::uuid;
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create', '{"max_rows": 100}')), '-',
          'payments_to_create: a payment older than settings.relay_max_age (23 hours) is not offered');

-------------------------------------------------------------------------------
-- Recording the provider's payment
-------------------------------------------------------------------------------
INSERT INTO k VALUES ('pi', 'pi_3MtwBwLkdIwHu7ix28a3tqPa'), ('secret', 'pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH'),
                     ('tr', 'tr_7UhSN1zuXS'), ('href', 'https://www.mollie.com/checkout/select-method/7UhSN1zuXS');
CREATE FUNCTION pg_temp.rec(pay text, ref text, url text DEFAULT NULL, secret text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.svc('record_provider_payment', jsonb_strip_nulls(jsonb_build_object('payment_id', pg_temp.v(pay), 'provider_ref', ref,
                                                                                      'checkout_url', url, 'client_secret', secret))) $$;
INSERT INTO k SELECT 'rec1', pg_temp.rec('r1', pg_temp.v('pi'), secret => pg_temp.v('secret'))::text;
SELECT is((pg_temp.v('rec1')::jsonb -> 'body') ->> 'status', 'open', 'record_provider_payment: created -> open');
SELECT is((SELECT provider_ref || ' ' || client_secret || ' ' || (relay_leased_until IS NULL) FROM payments.payments WHERE id = pg_temp.v('r1')::uuid),
          pg_temp.v('pi') || ' ' || pg_temp.v('secret') || ' true', 'record_provider_payment: the PaymentIntent and its client secret are kept');
SELECT ok(NOT (pg_temp.v('rec1')::jsonb)::text LIKE '%_secret_%', 'record_provider_payment: the answer never repeats the client secret');
SELECT is(pg_temp.rec('r1', pg_temp.v('pi'), secret => pg_temp.v('secret')) -> 'body' ->> 'provider_ref', pg_temp.v('pi'),
          'record_provider_payment: the same values again (a relay retrying) are fine');
SELECT is(pg_temp.audits('payments.provider_ref_set', 'payment:' || pg_temp.v('r1')), 1::bigint,
          'record_provider_payment: audited once (payments.provider_ref_set), the repeat changes nothing');
SELECT is((SELECT count(*) FROM trail.entries WHERE body::text LIKE '%' || pg_temp.v('secret') || '%'), 0::bigint,
          'record_provider_payment: the audit trail never holds the client secret');
SELECT is(pg_temp.err(pg_temp.rec('r1', 'pi_3MtwBwLkdIwHu7ix28a3tqPb')), '409 provider_ref_conflict',
          'record_provider_payment: another provider reference is refused');
SELECT is(pg_temp.err(pg_temp.rec('r1', pg_temp.v('pi'), secret => pg_temp.v('pi') || '_secret_other')), '409 provider_ref_conflict',
          'record_provider_payment: another client secret is refused');
SELECT is(pg_temp.err(pg_temp.rec('r3', pg_temp.v('pi'))), '409 provider_ref_conflict',
          'record_provider_payment: a reference of another payment of the provider is refused');
SELECT is(pg_temp.err(pg_temp.rec('r2', pg_temp.v('tr'), secret => pg_temp.v('secret'))), '400 invalid_argument',
          'record_provider_payment: a client secret belongs to Stripe payments');
SELECT is(pg_temp.err(pg_temp.rec('r3', 'pi_relay3', secret => pg_temp.v('secret'))), '400 invalid_argument',
          'record_provider_payment: a client secret belongs to its own PaymentIntent');
SELECT is(pg_temp.err(pg_temp.rec('r2', pg_temp.v('tr'), 'javascript:alert(1)')), '400 invalid_argument',
          'record_provider_payment: a checkout URL is https');
SELECT is(pg_temp.err(pg_temp.rec('r2', pg_temp.v('tr'), 'https://www.mollie.com/checkout/<script>')), '400 invalid_argument',
          'record_provider_payment: a checkout URL has no characters outside URLs');
-- Mollie: the reference first (an earlier, partial report), then the checkout URL
SELECT is(pg_temp.rec('r2', pg_temp.v('tr')) -> 'body' ->> 'checkout_url', NULL, 'record_provider_payment: a reference alone');
SELECT is(pg_temp.rec('r2', pg_temp.v('tr'), pg_temp.v('href')) -> 'body' ->> 'checkout_url', pg_temp.v('href'),
          'record_provider_payment: the checkout URL missing before is added');
SELECT is(pg_temp.err(pg_temp.rec('r2', pg_temp.v('tr'), 'https://www.mollie.com/checkout/select-method/other')), '409 provider_ref_conflict',
          'record_provider_payment: another checkout URL is refused');
SELECT is(pgrst.call('anna', 'payment', jsonb_build_object('payment_id', pg_temp.v('r2'))) ->> 'checkout_url', pg_temp.v('href'),
          'the owner reads the checkout URL of a payment');
SELECT is(pg_temp.refs(pg_temp.svc('payments_to_create', '{"max_rows": 100}')), '-',
          'payments_to_create: a recorded payment is never offered again');
-- the table holds the same rules for every writer
SELECT is(pgrst.err(format($$ UPDATE payments.payments SET checkout_url = 'https://example.org/x' WHERE id = %L $$, pg_temp.v('r2'))),
          'PT409 invalid_transition', 'a recorded checkout URL never changes (guard)');
SELECT is(pgrst.err(format($$ UPDATE payments.payments SET client_secret = NULL WHERE id = %L $$, pg_temp.v('r1'))),
          'PT409 invalid_transition', 'a recorded client secret never changes (guard)');
SELECT is(pg_temp.violates(format($$ UPDATE payments.payments SET client_secret = 'pi_other_secret_abc' WHERE id = %L $$, pg_temp.v('r3'))),
          '23514 pay_details_need_ref',
          'a client secret needs the provider reference (CHECK)');
SELECT is(pg_temp.violates(format($$ UPDATE payments.payments SET provider_ref = 'tr_x', client_secret = 'pi_x_secret_abc' WHERE id = %L $$, pg_temp.v('r3'))),
          '23514 client_secret_of_ref',
          'a client secret is that of its own PaymentIntent (CHECK)');

-------------------------------------------------------------------------------
-- Refunds to send: one at a time per payment, oldest first
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'paid1', payments.record_status('stripe', pg_temp.v('pi'), 'paid', 1250, 'EUR');
INSERT INTO k SELECT 'paid2', payments.record_status('mollie', pg_temp.v('tr'), 'paid', 990, 'EUR');
INSERT INTO k SELECT 'f1', pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('r1'), 'amount', 250, 'reason', 'injured')) ->> 'id';
INSERT INTO k SELECT 'f2', pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('r1'), 'amount', 250)) ->> 'id';
INSERT INTO k SELECT 'f3', pgrst.call('anna', 'request_refund', jsonb_build_object('payment_id', pg_temp.v('r2'), 'amount', 990)) ->> 'id';
UPDATE payments.refunds SET created_at = now() - x.age
  FROM (VALUES ('f1', interval '3 minutes'), ('f2', interval '2 minutes'), ('f3', interval '1 minute')) x(name, age)
 WHERE id = pg_temp.v(x.name)::uuid;
CREATE FUNCTION pg_temp.rids(r jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT COALESCE(string_agg((SELECT k.k FROM k WHERE k.v = e ->> 'refund_id'), ',' ORDER BY o), '-')
    FROM jsonb_array_elements(r -> 'body') WITH ORDINALITY x(e, o) $$;
INSERT INTO k SELECT 's1', pg_temp.svc('refunds_to_send', '{"max_rows": 10}')::text;
SELECT is(pg_temp.rids(pg_temp.v('s1')::jsonb), 'f1,f3',
          'refunds_to_send: the oldest requested refund of each payment; the second of r1 waits');
SELECT is((SELECT e - 'refund_id' - 'payment_id' - 'account_id' - 'created_at' - 'leased_until' FROM jsonb_array_elements(pg_temp.v('s1')::jsonb -> 'body') e
            WHERE e ->> 'refund_id' = pg_temp.v('f1')),
          jsonb_build_object('organization_id', pg_temp.v('org'), 'provider', 'stripe', 'account', 'relay-main',
                             'payment_provider_ref', pg_temp.v('pi'), 'amount', 250, 'currency', 'EUR', 'reason', 'injured', 'attempts', 1),
          'refunds_to_send: what the relay needs (the payment''s provider reference, amount, currency)');
SELECT is(pg_temp.rids(pg_temp.svc('refunds_to_send')), '-', 'refunds_to_send: leased refunds are not offered again');
SELECT is(pg_temp.audits('payments.refund_claimed', 'refund:' || pg_temp.v('f1')), 1::bigint,
          'refunds_to_send: the claim is audited (payments.refund_claimed)');
UPDATE payments.refunds SET leased_until = now() - interval '1 second' WHERE id = pg_temp.v('f1')::uuid;
SELECT is(pg_temp.rids(pg_temp.svc('refunds_to_send', '{"provider": "mollie"}')), '-', 'refunds_to_send: provider filters');
SELECT is(pg_temp.rids(pg_temp.svc('refunds_to_send', '{"provider": "stripe", "account": "relay-main"}')), 'f1',
          'refunds_to_send: an expired lease offers it again');

-------------------------------------------------------------------------------
-- Recording the refunds sent
-------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.sent(ref text, status text, pref text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.svc('record_refund_sent', jsonb_build_object('refund_id', pg_temp.v(ref), 'status', status, 'provider_ref', pref)) $$;
CREATE FUNCTION pg_temp.refund(ref text) RETURNS text LANGUAGE sql AS $$
  SELECT status || ' ' || COALESCE(provider_ref, '-') || ' ' || (leased_until IS NULL) FROM payments.refunds WHERE id = pg_temp.v(ref)::uuid $$;
SELECT is(pg_temp.sent('f1', 'pending', 're_relay1') -> 'body' ->> 'status', 'pending', 'record_refund_sent: pending');
SELECT is(pg_temp.refund('f1'), 'pending re_relay1 true', 'record_refund_sent: the provider''s refund id is kept, the lease ended');
SELECT is(pg_temp.sent('f1', 'pending', 're_relay1') -> 'body' ->> 'status', 'pending', 'record_refund_sent: the same report again is fine');
SELECT is(pg_temp.audits('payments.refund_status', 'refund:' || pg_temp.v('f1')), 1::bigint,
          'record_refund_sent: audited once (payments.refund_status)');
SELECT is(pg_temp.rids(pg_temp.svc('refunds_to_send')), 'f2', 'refunds_to_send: once the first is sent, the next of its payment follows');
SELECT is(pg_temp.sent('f1', 'succeeded', 're_relay1') -> 'body' ->> 'status', 'succeeded', 'record_refund_sent: pending -> succeeded');
SELECT is((SELECT count(*) FROM payments.journal WHERE refund_id = pg_temp.v('f1')::uuid AND kind = 'refund_paid'), 1::bigint,
          'record_refund_sent: the refund is paid in the ledger');
SELECT is(pg_temp.sent('f1', 'pending', 're_relay1') -> 'body' ->> 'status', 'succeeded',
          'record_refund_sent: a late pending never moves a succeeded refund back');
SELECT is(pg_temp.err(pg_temp.sent('f1', 'succeeded', 're_other')), '409 provider_ref_conflict',
          'record_refund_sent: another provider reference is refused');
SELECT is(pg_temp.err(pg_temp.sent('f2', 'pending', 're_relay1')), '409 provider_ref_conflict',
          'record_refund_sent: a reference of another refund is refused');
-- the provider's event came first: it linked f2 (by amount) and completed it; the relay's answer changes nothing
SELECT is((payments._apply('stripe', pg_temp.v('stripe')::uuid, 'evt_relay_re2', 'refund', pg_temp.v('pi'), 're_relay2', 'succeeded', 250, 'EUR')).outcome,
          'applied', 'the provider''s refund event links the refund the relay sent');
SELECT is(pg_temp.sent('f2', 'pending', 're_relay2') -> 'body' ->> 'status', 'succeeded',
          'record_refund_sent: after the event, the relay''s pending is harmless');
SELECT is(pg_temp.refund('f2'), 'succeeded re_relay2 false', 'record_refund_sent: ... the refund stays as the event left it');
SELECT is(pg_temp.sent('f3', 'failed', 're_relay3') -> 'body' ->> 'status', 'failed', 'record_refund_sent: failed');
SELECT is((SELECT refunded FROM payments.payments WHERE id = pg_temp.v('r2')::uuid), 0::bigint,
          'record_refund_sent: a failed refund releases its amount');
SELECT is(pg_temp.rids(pg_temp.svc('refunds_to_send', '{"max_rows": 100}')), '-', 'refunds_to_send: nothing left to send');
SELECT is_empty($$ SELECT * FROM payments.ledger_problems() $$, 'ledger: every entry balances');

SELECT * FROM finish();
ROLLBACK;
