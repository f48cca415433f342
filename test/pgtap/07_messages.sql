-- Issue 22.3: what a client reads in an error names the API it calls, and
-- says the same on every RPC: hints name RPCs, not engine internals;
-- limits are named with their value; no internal function names leak.
BEGIN;
SELECT plan(7);

CREATE FUNCTION pg_temp.org() RETURNS jsonb LANGUAGE sql AS $$
  SELECT '{"organization_id": "00000000-0000-4000-b000-000000000001"}'::jsonb $$;

-- a confirmed hold cannot be released: the hint names return_capacity_units
CREATE TEMP TABLE k AS
  SELECT (pgrst.call('anna', 'create_capacity_pool', pg_temp.org() || '{"name": "Boodschappen", "capacity": 5}') ->> 'pool_id') AS pool;
ALTER TABLE k ADD COLUMN hold text;
UPDATE k SET hold = pgrst.call('anna', 'hold_capacity', pg_temp.org() ||
  jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('pool_id', pool, 'quantity', 1)))) ->> 'hold_id';
SELECT pgrst.call('anna', 'confirm_hold', pg_temp.org() || jsonb_build_object('hold_id', hold)) FROM k;
SELECT is((SELECT pgrst.try('anna', 'release_hold', pg_temp.org() || jsonb_build_object('hold_id', hold)) ->> 'hint' FROM k),
          'Give confirmed units back by returning them (through the API: return_capacity_units).',
          'release_hold on a confirmed hold hints at the RPC that exists');
SELECT ok(pgrst.call('anon', 'audit_public_key') IS NOT NULL
          AND to_regprocedure('api.return_capacity_units(uuid, uuid, integer, text)') IS NOT NULL,
          '... and that RPC exists');

-- invalid_ttl names the configured maximum
SELECT ok((SELECT pgrst.try('anna', 'hold_capacity', pg_temp.org() || jsonb_build_object('ttl', '3 days',
             'lines', jsonb_build_array(jsonb_build_object('pool_id', pool, 'quantity', 1)))) ->> 'details' FROM k)
          LIKE '%at most 01:00:00 (capacity.settings.max_ttl)%', 'invalid_ttl says what the maximum is');

-- idempotency_key_reused names no internal function
INSERT INTO k (pool) SELECT (payments.create_payment('00000000-0000-4000-b000-000000000001', 'order:msg', 5000, 'EUR',
                              payments.create_account('stripe', 'msg'), 'pi_msg') ->> 'id');
UPDATE payments.payments SET status = 'paid', captured = amount, paid_at = now() WHERE provider_ref = 'pi_msg';
SELECT pgrst.call('daan', 'request_refund', jsonb_build_object('payment_id', (SELECT id FROM payments.payments WHERE provider_ref = 'pi_msg'),
                                                               'amount', 100, 'idempotency_key', 'refund-msg-1'));
SELECT is((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', (SELECT id FROM payments.payments WHERE provider_ref = 'pi_msg'),
                                                                  'amount', 200, 'idempotency_key', 'refund-msg-1'))) ->> 'code',
          'PT422', 'the same key with other arguments is refused');
SELECT ok((pgrst.try('daan', 'request_refund', jsonb_build_object('payment_id', (SELECT id FROM payments.payments WHERE provider_ref = 'pi_msg'),
                                                                  'amount', 200, 'idempotency_key', 'refund-msg-1'))) ->> 'details'
          NOT LIKE '%startlijn.%', '... and the detail names no internal function');

-- not_authenticated: the same hint from every RPC that needs a user
SELECT is((SELECT count(DISTINCT COALESCE(r ->> 'hint', '<none>'))
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                  pgrst.try('anon', p.proname::text,
                            COALESCE((SELECT jsonb_object_agg(a.n, NULL) FROM unnest(p.proargnames[1:p.pronargs]) a(n)
                                       WHERE a.n <> ''), '{}')) r
            WHERE n.nspname = 'api' AND r ->> 'code' = 'PT401'
              AND r ->> 'details' LIKE 'not_authenticated:%'
              AND p.proname NOT IN ('record_payment_status', 'payment_fetches', 'payments_to_create',   -- the relays':
                                    'record_provider_payment', 'refunds_to_send', 'record_refund_sent')), -- the service role key
          1::bigint, 'every not_authenticated of a user RPC carries the same hint');
SELECT is((pgrst.try('anon', 'my_profile')) ->> 'hint', 'Sign in and send the access token as a Bearer token.',
          '... which says what to do');

SELECT * FROM finish();
ROLLBACK;
