-- startlijn_payments benchmark: Stripe webhooks (payment_intent.processing
-- and .succeeded per payment; 30% of the deliveries are duplicates; all shuffled) applied by
-- payments.receive (C: signature, body, rules) beside bench_p.receive_plpgsql,
-- 0.3's PL/pgSQL implementation of the same rules with the signature check
-- written in PL/pgSQL (pgcrypto). Both write the same rows to the same tables.
-- startlijn for the endpoints (api.stripe_webhook) and the roles PostgREST switches to
CREATE EXTENSION IF NOT EXISTS startlijn CASCADE;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
DROP SCHEMA IF EXISTS bench_p CASCADE;
CREATE SCHEMA bench_p;

CREATE TABLE bench_p.deliveries (n bigint PRIMARY KEY, body text NOT NULL, headers jsonb NOT NULL,
  -- for the write floor only: what the rules decide for this delivery, computed ahead
  ev text, pref text, st text, amount bigint, first boolean, applies boolean);
CREATE SEQUENCE bench_p.cursor;
CREATE TABLE bench_p.ctx (k text PRIMARY KEY, v text);
INSERT INTO bench_p.ctx VALUES ('org', '00000000-0000-4000-b000-0000000000b1'), ('secret', 'whsec_bench_secret_0001');
INSERT INTO bench_p.ctx SELECT 'account', payments.create_account('stripe', 'bench-' || floor(random() * 1e9)::text);
SELECT payments.add_secret((SELECT v FROM bench_p.ctx WHERE k = 'account')::uuid, 'whsec_bench_secret_0001');
SELECT payments.set_fee_rule('00000000-0000-4000-b000-0000000000b1', 'platform', 'platform_fee_revenue', 600, 0);

-- the baseline: 0.3's PL/pgSQL webhook path (receive, _interpret, _apply,
-- _payment_status) with a PL/pgSQL signature check (pgcrypto)
\ir payments_plpgsql.sql

-- A fresh batch: :payments open payments, their deliveries shuffled into bench_p.deliveries.
CREATE FUNCTION bench_p.new_batch(run text, k integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  acct uuid := (SELECT v FROM bench_p.ctx WHERE ctx.k = 'account')::uuid;
  org uuid := (SELECT v FROM bench_p.ctx WHERE ctx.k = 'org')::uuid;
  secret text := (SELECT v FROM bench_p.ctx WHERE ctx.k = 'secret');
  ts bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
BEGIN
  TRUNCATE bench_p.deliveries;
  PERFORM setval('bench_p.cursor', 1, false);
  PERFORM payments.create_payment(org, 'order:' || run || ':' || i, 1000 + i, 'EUR', acct, 'pi_' || run || '_' || i)
     FROM generate_series(1, k) i;
  INSERT INTO bench_p.deliveries (n, body, headers)
  SELECT row_number() OVER (ORDER BY random()), e.body,
         jsonb_build_object('stripe-signature', 't=' || ts || ',v1=' || encode(hmac(ts || '.' || e.body, secret, 'sha256'), 'hex'),
                            'content-type', 'application/json', 'user-agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)')
    FROM (SELECT jsonb_build_object('id', 'evt_' || run || '_' || s.t || '_' || i, 'object', 'event',
                   'type', 'payment_intent.' || s.t,
                   'data', jsonb_build_object('object', jsonb_build_object('id', 'pi_' || run || '_' || i,
                     'object', 'payment_intent', 'amount', 1000 + i, 'amount_received', 1000 + i, 'currency', 'eur')))::text AS body,
                 i, s.t
            FROM generate_series(1, k) i, (VALUES ('processing'), ('succeeded')) s(t)) e,
         -- 3 of 7 events are delivered twice: 30% of the deliveries are duplicates
         LATERAL generate_series(1, CASE WHEN abs(hashtext(e.body)) % 7 < 3 THEN 2 ELSE 1 END) d;
  -- the rules' decisions, for the write floor: a status applies on an event's first
  -- delivery unless it is processing arriving after its payment's succeeded
  UPDATE bench_p.deliveries d SET ev = x.ev, pref = x.pref, st = x.st, amount = x.amount,
         first = x.first, applies = x.first AND (x.st = 'paid' OR x.n < x.paid_n)
    FROM (SELECT y.*, min(y.n) FILTER (WHERE y.st = 'paid') OVER (PARTITION BY y.pref) AS paid_n,
                 row_number() OVER (PARTITION BY y.ev ORDER BY y.n) = 1 AS first
            FROM (SELECT z.n, z.body::jsonb ->> 'id' AS ev, z.body::jsonb -> 'data' -> 'object' ->> 'id' AS pref,
                         CASE WHEN z.body::jsonb ->> 'type' = 'payment_intent.succeeded' THEN 'paid' ELSE 'pending' END AS st,
                         (z.body::jsonb -> 'data' -> 'object' ->> 'amount')::bigint AS amount
                    FROM bench_p.deliveries z) y) x
   WHERE d.n = x.n;
  RETURN (SELECT count(*) FROM bench_p.deliveries);
END $$;

-- The write floor: the rows the rules write for each delivery (delivery
-- record, event, status change with its audit entry, the payment_received
-- journal and its postings, under the payment's row lock), decided ahead
-- of time and written by one plain SQL statement with no logic. No
-- implementation that keeps these records can be faster than this.
CREATE FUNCTION bench_p.floor_deliver(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
  -- one statement, planned once per session (plpgsql caches it)
  WITH d AS (SELECT x.* FROM bench_p.deliveries x WHERE x.n = floor_deliver.n),
  p AS (SELECT q.* FROM payments.payments q JOIN d ON q.provider = 'stripe' AND q.provider_ref = d.pref FOR UPDATE OF q),
  ev AS (INSERT INTO payments.events (provider, event_id, organization_id, payment_id, kind, status, outcome)
         SELECT 'stripe', d.ev, p.organization_id, p.id, 'payment', d.st,
                CASE WHEN d.applies THEN 'applied' ELSE 'out_of_order_ignored' END
           FROM d, p WHERE d.first),
  up AS (UPDATE payments.payments q SET status = d.st,
                captured = CASE WHEN d.st = 'paid' THEN q.amount ELSE q.captured END,
                paid_at = CASE WHEN d.st = 'paid' THEN now() ELSE q.paid_at END
           -- decided ahead in delivery order; with many clients a later 'paid'
           -- can commit first, so a stale 'processing' must not move it back
           FROM d WHERE d.applies AND q.id = (SELECT p.id FROM p) AND q.status <> 'paid' RETURNING q.*),
  tl AS (SELECT trail.log(up.organization_id, 'payments.status_changed', 'payment:' || up.id::text,
                          jsonb_build_object('provider', 'stripe', 'event_id', d.ev, 'to', d.st, 'amount', up.amount)) AS e
           FROM up, d),
  j AS (INSERT INTO payments.journal (organization_id, kind, payment_id, currency)
        SELECT up.organization_id, 'payment_received', up.id, up.currency FROM up WHERE up.status = 'paid'
        RETURNING id, organization_id, currency, payment_id),
  ps AS (INSERT INTO payments.postings (journal_id, line, organization_id, account, currency, amount)
         SELECT j.id, l.line, j.organization_id, l.account, j.currency, l.sign * d.amount
           FROM j, d, (VALUES (1::smallint, 'provider_clearing', 1), (2::smallint, 'receivable', -1)) l(line, account, sign)
         RETURNING 1),
  dl AS (INSERT INTO payments.deliveries (provider, account_id, event_id, payment_id, headers, body, body_bytes, body_sha256,
                                          outcome, detail)
         SELECT 'stripe', p.account_id, d.ev, p.id, d.headers - 'authorization', d.body, octet_length(d.body),
                sha256(convert_to(d.body, 'UTF8')),
                CASE WHEN NOT d.first THEN 'duplicate' WHEN d.applies THEN 'applied' ELSE 'out_of_order_ignored' END,
                'payment.' || d.st
           FROM d, p RETURNING id)
  SELECT (SELECT count(*) FROM tl) + (SELECT count(*) FROM ps) + (SELECT id FROM dl) INTO r;
  RETURN r;
END $$;

-- The endpoints payments_deliver.sql calls as anon, in PostgREST's shape: the
-- C path is api.stripe_webhook itself; the baseline and the floor get
-- endpoints of the same form (a definer function with the raw body as one
-- json argument; the floor takes the delivery number, its rows are decided
-- ahead). anon may call these two and nothing else in bench_p.
CREATE FUNCTION bench_p.stripe_webhook_plpgsql(json) RETURNS jsonb
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT bench_p.receive_plpgsql('stripe', $1) $$;
CREATE FUNCTION bench_p.floor_webhook(n bigint) RETURNS jsonb
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT pg_catalog.to_jsonb(bench_p.floor_deliver(n)) $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bench_p FROM PUBLIC;
GRANT USAGE ON SCHEMA bench_p TO anon;
GRANT EXECUTE ON FUNCTION bench_p.stripe_webhook_plpgsql(json), bench_p.floor_webhook(bigint) TO anon;

-- after a run: every event applied once, every payment paid once, the ledger balanced
CREATE FUNCTION bench_p.check(run text, k integer) RETURNS text LANGUAGE sql AS $$
  SELECT format('events=%s paid=%s received_journals=%s deliveries=%s duplicates=%s out_of_order=%s ledger_problems=%s',
    (SELECT count(*) FROM payments.events e WHERE e.event_id LIKE 'evt\_' || run || '\_%'),
    (SELECT count(*) FROM payments.payments p WHERE p.provider_ref LIKE 'pi\_' || run || '\_%' AND p.status = 'paid'),
    (SELECT count(*) FROM payments.journal j JOIN payments.payments p ON p.id = j.payment_id
      WHERE p.provider_ref LIKE 'pi\_' || run || '\_%' AND j.kind = 'payment_received'),
    (SELECT count(*) FROM payments.deliveries d WHERE d.event_id LIKE 'evt\_' || run || '\_%'),
    (SELECT count(*) FROM payments.deliveries d WHERE d.event_id LIKE 'evt\_' || run || '\_%' AND d.outcome = 'duplicate'),
    (SELECT count(*) FROM payments.deliveries d WHERE d.event_id LIKE 'evt\_' || run || '\_%' AND d.outcome = 'out_of_order_ignored'),
    (SELECT count(*) FROM payments.ledger_problems()))
$$;
