-- Issue 21, items 2-10: what an attack run got through, each reproduced as
-- the attacker did it (through the API, as PostgREST calls it) and refused.
BEGIN;
SELECT plan(45);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES
  ('org1', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002'),
  ('anna', '00000000-0000-4000-a000-000000000001'), ('daan', '00000000-0000-4000-a000-000000000004'),
  ('iris', '00000000-0000-4000-a000-000000000009'), ('joost', '00000000-0000-4000-a000-000000000010'),
  ('kim', '00000000-0000-4000-a000-000000000011');
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}', field text DEFAULT NULL) RETURNS text
  LANGUAGE sql AS $$
  SELECT r ->> 'status' || ' ' || CASE WHEN r ? 'code' THEN COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                        WHEN field IS NULL THEN 'ok' ELSE r -> 'body' ->> field END
    FROM pgrst.try(who, fn, args) r $$;

-- Kim, a stranger, signs up and makes an organisation of her own
INSERT INTO k SELECT 'orgk', pgrst.call('kim', 'create_organization', '{"name": "Kims Club", "slug": "kims-club"}') ->> 'id';

-------------------------------------------------------------------------------
-- 2. An organisation erases only what it holds, and never shreds a person
--    platform-wide
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('kim', 'request_subject_erasure',
                    jsonb_build_object('organization_id', pg_temp.v('orgk'), 'subject', pg_temp.v('daan'), 'reason', 'x')),
          '404 subject_not_found', 'an organisation cannot ask to erase a person it holds no records about');
SELECT is((SELECT count(*) FROM retention.erasure_requests e WHERE e.subject = pg_temp.v('daan')::uuid), 0::bigint,
          '... and nothing is written');
-- Iris is a member of both organisations; De Kromme Rijn keeps a legal hold on her
SELECT is(pg_temp.t('eva', 'place_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org2'),
                    'subject', pg_temp.v('iris'), 'reason', 'Lopende boekhoudcontrole.'), 'scope'),
          '200 subject', 'an organisation places a hold on a member it holds records about');
SELECT trail.log(pg_temp.v('org2')::uuid, 'test.note', 'profile:' || pg_temp.v('iris'), '{}'::jsonb, 'fixture',
                 pg_temp.v('iris')::uuid, '{"note": "Iris betaalde contant"}'::jsonb);
INSERT INTO k SELECT 'iris_req1', pgrst.call('anna', 'request_subject_erasure',
  jsonb_build_object('organization_id', pg_temp.v('org1'), 'subject', pg_temp.v('iris'), 'reason', 'E-mail van Iris.')) ->> 'id';
SELECT is((retention.execute_erasure(pg_temp.v('iris_req1')::uuid)) ->> 'status', 'completed',
          'Loopgroep Utrecht''s request about Iris completes (its own hold does not exist)');
SELECT is((SELECT count(*) FROM trail.subject_keys s WHERE s.subject = pg_temp.v('iris')::uuid), 1::bigint,
          'her audit key survives: one organisation''s request does not shred her platform-wide');
SELECT ok((SELECT e.receipt ->> 'audit_trail' FROM retention.erasure_requests e WHERE e.id = pg_temp.v('iris_req1')::uuid)
            LIKE 'kept:%', 'the receipt says the audit trail was kept, and why');
SELECT is((SELECT count(*) FROM trail.forgotten_subjects f WHERE f.subject = pg_temp.v('iris')::uuid), 0::bigint,
          'nothing about her is marked forgotten');

-------------------------------------------------------------------------------
-- 3. Legal holds: only on a subject the organisation holds records about;
--    the person learns who holds them
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('kim', 'place_legal_hold', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'subject', pg_temp.v('joost'), 'reason', 'x')),
          '404 subject_not_found', 'a self-made organisation cannot block a stranger''s erasure with a hold');
SELECT is((SELECT count(*) FROM retention.holds h WHERE h.organization_id = pg_temp.v('orgk')::uuid), 0::bigint,
          '... and no hold is written');
INSERT INTO k SELECT 'iris_req2', pgrst.call('iris', 'request_erasure', '{"reason": "Ik stop."}') ->> 'id';
SELECT is((retention.execute_erasure(pg_temp.v('iris_req2')::uuid)) ->> 'status', 'blocked',
          'her own request is blocked by De Kromme Rijn''s hold');
SELECT is((SELECT string_agg(b ->> 'organization_name', ',')
             FROM jsonb_array_elements(pgrst.call('iris', 'my_erasure_requests')) r,
                  jsonb_array_elements(r -> 'receipt' -> 'blocked_by') b
            WHERE r ->> 'status' = 'blocked'),
          'Wielerclub De Kromme Rijn', 'and she reads which organisation holds her records');

-------------------------------------------------------------------------------
-- 4. Capacity is bounded per organisation and per call
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('kim', 'create_capacity_pool', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'name', 'Groot', 'capacity', 1000000)),
          '403 capacity_limit', 'a new organisation cannot create a pool of a million units');
SELECT is((SELECT count(*) FROM capacity.pools p WHERE p.organization_id = pg_temp.v('orgk')::uuid), 0::bigint,
          '... and nothing is written');
SELECT is(pg_temp.t('kim', 'create_capacity_pool', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'name', 'Klein', 'capacity', 500), 'capacity'),
          '200 500', 'a pool within the new organisation''s limit is created');
INSERT INTO k SELECT 'poolk', p ->> 'pool_id'
  FROM jsonb_array_elements(pgrst.call('kim', 'capacity_pools', jsonb_build_object('organization_id', pg_temp.v('orgk')))) p
 WHERE p ->> 'name' = 'Klein';
SELECT is(pg_temp.t('kim', 'set_pool_capacity', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'pool_id', pg_temp.v('poolk'), 'capacity', 1000000)),
          '403 capacity_limit', 'nor raise a pool to a million');
SELECT is((SELECT count(*) FROM capacity.slots s WHERE s.pool_id = pg_temp.v('poolk')::uuid), 500::bigint,
          '... the pool keeps its 500 units');
SELECT is(pg_temp.t('kim', 'create_capacity_pool', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'name', 'Nog een', 'capacity', (SELECT new_organization_capacity - 499 FROM startlijn.platform_settings))),
          '403 capacity_limit', 'the limit counts every pool of the organisation');
SELECT ok((pgrst.try('kim', 'create_capacity_pool', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                     'name', 'Nog een', 'capacity', 1000000))) ->> 'hint' LIKE '%verif%',
          'the hint says how to get a higher limit');
SELECT is((startlijn.set_organization_limits(pg_temp.v('orgk')::uuid, capacity_limit => 600)) ->> 'capacity_limit', '600',
          'an operator gives an organisation a limit of its own (docs/operations.md)');
SELECT is((startlijn.set_organization_limits(pg_temp.v('orgk')::uuid, clear_limit => true)) ->> 'capacity_limit',
          (SELECT new_organization_capacity::text FROM startlijn.platform_settings), '... and clears it again');
SELECT startlijn.set_organization_limits(pg_temp.v('orgk')::uuid, verified => true);
SELECT is(pg_temp.t('kim', 'set_pool_capacity', jsonb_build_object('organization_id', pg_temp.v('orgk'),
                    'pool_id', pg_temp.v('poolk'), 'capacity', 20000), 'capacity'),
          '200 20000', 'once the platform verifies the organisation, it may grow');
SELECT throws_ok(format('SELECT capacity.set_capacity(%L, %s)', pg_temp.v('poolk'),
                        20000 + (SELECT max_growth FROM capacity.settings) + 1),
                 'PT400', 'invalid capacity', 'the engine adds at most max_growth units in one call, whoever calls');

-------------------------------------------------------------------------------
-- 5. service_role cannot make a superadmin
-------------------------------------------------------------------------------
SELECT is(pgrst.sql_as('service', $$INSERT INTO startlijn.profiles (id, email, is_superadmin)
                                     VALUES ('00000000-0000-4000-a000-0000000000ff', 'boss@example.nl', true)$$),
          'error=42501', 'service_role cannot insert a profile with is_superadmin');
SELECT is(pgrst.sql_as('service', $$INSERT INTO startlijn.profiles (id, email)
                                     VALUES ('00000000-0000-4000-a000-0000000000ff', 'boss@example.nl')$$),
          'rows=1', 'it can still insert an ordinary profile');

-------------------------------------------------------------------------------
-- 6. An erased account acts no more, even where it stays the last owner
-------------------------------------------------------------------------------
INSERT INTO startlijn.organization_members (organization_id, user_id, role)
  VALUES (pg_temp.v('orgk')::uuid, pg_temp.v('joost')::uuid, 'owner');
INSERT INTO k SELECT 'joost_req', pgrst.call('joost', 'request_erasure', '{}') ->> 'id';
SELECT is(pg_temp.t('kim', 'leave_organization', jsonb_build_object('organization_id', pg_temp.v('orgk'))),
          '200 ok', 'the other owner leaves');
SELECT is((retention.execute_erasure(pg_temp.v('joost_req')::uuid)) ->> 'status', 'completed', 'Joost''s erasure runs');
SELECT is(pg_temp.t(pg_temp.v('joost'), 'list_members', jsonb_build_object('organization_id', pg_temp.v('orgk'))),
          '403 account_erased', 'his still-valid token cannot list the members');
SELECT is(pg_temp.t(pg_temp.v('joost'), 'audit_entries', jsonb_build_object('organization_id', pg_temp.v('orgk'))),
          '403 account_erased', 'nor read the audit trail');
SELECT is(pg_temp.t(pg_temp.v('joost'), 'my_profile'), '403 account_erased', 'nor use his profile');

-------------------------------------------------------------------------------
-- 7. Text arguments are bounded
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('service', 'record_payment_status', jsonb_build_object('provider', 'mollie',
                    'provider_ref', repeat('x', 9000), 'status', 'paid')),
          '400 invalid_argument', 'a provider reference of 9000 bytes is refused with invalid_argument');

-- every text argument of every api function, 1 MB long, as a member, the
-- service role and anon: a stable business code or a bounded read, never an
-- internal error (an index row too large, a statement timeout)
CREATE TEMP TABLE probe AS
SELECT p.proname::text AS fn, a.n AS arg,
  (SELECT jsonb_object_agg(b.n, CASE WHEN b.n = a.n THEN to_jsonb(repeat('x', 1000000))
                                     WHEN b.n = 'organization_id' THEN to_jsonb(pg_temp.v('org1'))
                                     ELSE 'null'::jsonb END)
     FROM unnest(p.proargnames[1:p.pronargs]) AS b(n)) AS args
FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace,
     unnest(p.proargnames[1:p.pronargs], (p.proargtypes::oid[])[0:p.pronargs-1]) AS a(n, t)
WHERE ns.nspname = 'api' AND a.t = 'text'::regtype;
SELECT is((SELECT string_agg(fn || '(' || arg || ') as ' || w || ': ' || (r ->> 'code'), ', ')
             FROM probe, (VALUES ('anna'), ('service'), ('anon')) v(w), pgrst.try(w, fn, args) r
            WHERE r ? 'code' AND r ->> 'code' !~ '^PT4'),
          NULL, 'a 1 MB value in any text argument ends in a business error or a bounded answer');

-------------------------------------------------------------------------------
-- 8. Names and stored headers
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anna', 'create_capacity_pool', jsonb_build_object('organization_id', pg_temp.v('org1'),
                    'name', E'Mara\u0007thon', 'capacity', 5)),
          '400 invalid_name', 'a pool name with a control character is refused');
SELECT is(pg_temp.t('anna', 'create_capacity_item', jsonb_build_object('organization_id', pg_temp.v('org1'),
                    'name', E'T-shirt\n', 'pools', '[]'::jsonb)),
          '400 invalid_name', 'so is an item name');
SELECT is(pg_temp.t('anna', 'update_organization', jsonb_build_object('organization_id', pg_temp.v('org1'),
                    'name', E'Loopgroep \u202EthcertU')),
          '400 invalid_name', 'an organisation name with a right-to-left override is refused');
SELECT is(pg_temp.t('kim', 'update_my_profile', jsonb_build_object('full_name', E'Kim\u200B Vos')),
          '400 invalid_name', 'a profile name with a zero-width space is refused');
SELECT is(pg_temp.t('kim', 'update_my_profile', jsonb_build_object('full_name', E'\uFEFFKim Vos')),
          '400 invalid_name', 'and one with a byte order mark');
SELECT is((pgrst.post_raw('anon', 'stripe_webhook', '{"id": "evt_x"}',
                          jsonb_build_object('stripe-signature', 't=1,v1=00', 'user-agent', repeat('u', 1000000),
                                             'x-api-key', 'sk_live_secret', 'x-session-token', 'abc'))) ->> 'status',
          '400', 'a refused delivery is answered');
SELECT is((SELECT pg_catalog.octet_length(d.headers::text) < 4000 AND NOT d.headers ? 'x-api-key'
                  AND NOT d.headers ? 'x-session-token'
             FROM payments.deliveries d ORDER BY d.id DESC LIMIT 1), true,
          'its record keeps no credential-like header and no header of unbounded size');

-------------------------------------------------------------------------------
-- 9. A signed body that is json but not jsonb is recorded, and the
--    provider stops retrying
-------------------------------------------------------------------------------
INSERT INTO k SELECT 'acct', payments.create_account('stripe', 'sec-test');
SELECT payments.add_secret(pg_temp.v('acct')::uuid, 'whsec_security_regression_0001');
CREATE FUNCTION pg_temp.stripe_h(body text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('stripe-signature', 't=' || floor(extract(epoch FROM clock_timestamp()))::bigint || ',v1=' ||
    encode(hmac(floor(extract(epoch FROM clock_timestamp()))::bigint || '.' || body, 'whsec_security_regression_0001', 'sha256'), 'hex')) $$;
SELECT is((SELECT r ->> 'status' || ' ' || (r -> 'body' ->> 'outcome')
             FROM pgrst.post_raw('anon', 'stripe_webhook', '{"id": "evt_surrogate", "type": "x", "note": "\ud800"}',
                                 pg_temp.stripe_h('{"id": "evt_surrogate", "type": "x", "note": "\ud800"}')) r),
          '200 ignored', 'a lone surrogate escape: recorded and ignored with 200');
SELECT is((SELECT r ->> 'status' || ' ' || (r -> 'body' ->> 'outcome')
             FROM pgrst.post_raw('anon', 'stripe_webhook', '{"id": "evt_big", "amount": 1e1000000}',
                                 pg_temp.stripe_h('{"id": "evt_big", "amount": 1e1000000}')) r),
          '200 ignored', 'a number beyond numeric''s range: recorded and ignored with 200');
SELECT is((SELECT count(*) FROM payments.deliveries d
            WHERE d.outcome = 'ignored' AND d.detail LIKE 'unreadable body:%'), 2::bigint,
          'both deliveries are recorded with why');

-------------------------------------------------------------------------------
-- 10. A token whose e-mail belongs to another profile
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('{"sub": "00000000-0000-4000-a000-0000000000ee", "email": "anna@loopgroep-utrecht.nl"}', 'my_profile'),
          '409 email_in_use', 'my_profile says the e-mail is in use');
SELECT is(pg_temp.t('{"sub": "00000000-0000-4000-a000-0000000000ee", "email": "anna@loopgroep-utrecht.nl"}',
                    'create_organization', '{"name": "Dubbel", "slug": "dubbel"}'),
          '409 email_in_use', 'create_organization says so too (no foreign-key error)');
SELECT is(pg_temp.t('{"sub": "00000000-0000-4000-a000-0000000000ee", "email": "anna@loopgroep-utrecht.nl"}',
                    'update_my_profile', '{"full_name": "Anna Twee"}'),
          '409 email_in_use', 'update_my_profile too (no empty 200)');
SELECT is((SELECT count(*) FROM startlijn.profiles p WHERE p.id = '00000000-0000-4000-a000-0000000000ee'), 0::bigint,
          'no profile was created');

SELECT * FROM finish();
ROLLBACK;
