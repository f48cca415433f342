-- startlijn checkout benchmark (make bench part checkout): one hot event,
-- every buyer reserve -> checkout -> the signed Stripe paid webhook, each a
-- transaction as PostgREST makes it (role anon, claims and headers set
-- transaction-locally, COMMIT as anon), beside the capacity engine's own
-- hold + confirm for the same buyers and a write floor of the same rows.
CREATE EXTENSION IF NOT EXISTS startlijn CASCADE;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT NOT EXISTS (SELECT 1 FROM startlijn.organizations WHERE id = '00000000-0000-4000-b000-000000000001') AS need_demo \gset
\if :need_demo
\ir ../fixtures/demo.sql
\endif
DROP SCHEMA IF EXISTS bench_c CASCADE;
CREATE SCHEMA bench_c;
GRANT USAGE ON SCHEMA bench_c TO anon;
CREATE TABLE bench_c.ctx (k text PRIMARY KEY, v text);
CREATE SEQUENCE bench_c.seq;
GRANT USAGE ON SEQUENCE bench_c.seq TO anon;
-- the write floor: rows of the measured width, one primary key each
CREATE TABLE bench_c.floor_rows (id bigserial PRIMARY KEY, payload text NOT NULL);
INSERT INTO bench_c.ctx VALUES ('secret', 'whsec_bench_checkout_0001');
INSERT INTO bench_c.ctx SELECT 'account', payments.create_account('stripe', 'bench-checkout-' || floor(random() * 1e9)::text);
SELECT payments.add_secret((SELECT v FROM bench_c.ctx WHERE k = 'account')::uuid, 'whsec_bench_checkout_0001');
UPDATE startlijn.checkout_settings SET payment_account_id = (SELECT v FROM bench_c.ctx WHERE k = 'account')::uuid;
SELECT payments.set_fee_rule('00000000-0000-4000-b000-000000000001', 'platform', 'platform_fee_revenue', 600, 0);

-- A new hot event with one ticket type drawing from a course of `units`
-- places and one required question, published by its owner; its ids in ctx.
CREATE FUNCTION bench_c.new_event(units integer) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  tag text := substr(md5(random()::text), 1, 8);
  ev uuid; course uuid; tt uuid;
BEGIN
  PERFORM set_config('request.jwt.claims', '{"sub": "00000000-0000-4000-a000-000000000001", "role": "authenticated"}', true);
  ev := startlijn.create_event('00000000-0000-4000-b000-000000000001', 'Bench ' || tag, 'bench-' || tag, 'running',
          now() + interval '60 days', now() + interval '60 days 4 hours', NULL, NULL, 'Maliebaan', NULL, 'NL', NULL, NULL,
          now() - interval '1 day', now() + interval '59 days', NULL, 0, '[]', NULL, 10, 'info@bench.nl', NULL) ->> 'event_id';
  course := startlijn.create_course(ev, '10 km', 10000, NULL, units, 1) ->> 'course_id';
  tt := startlijn.create_ticket_type(ev, course, '10 km', 2500, NULL, NULL, 900, NULL, NULL, NULL, 1, NULL, NULL,
                                     NULL, NULL, 1) ->> 'ticket_type_id';
  PERFORM startlijn.set_questions(ev, '[{"key": "ice", "type": "emergency_contact", "label": "Noodcontact", "required": true}]');
  PERFORM startlijn.set_event_status(ev, 'published', NULL);
  DELETE FROM bench_c.ctx WHERE k IN ('ev', 'tt', 'item', 'pool');
  INSERT INTO bench_c.ctx SELECT 'ev', ev UNION ALL SELECT 'tt', tt
    UNION ALL SELECT 'item', (SELECT t.item_id FROM startlijn.ticket_types t WHERE t.id = tt)
    UNION ALL SELECT 'pool', (SELECT c.pool_id FROM startlijn.courses c WHERE c.id = course);
  RETURN ev;
END
$$;

-- The relay's part (the provider's id recorded) and the provider's signed
-- payment_intent.succeeded for a payment: what Stripe would post.
CREATE FUNCTION bench_c.webhook(pid uuid, OUT body text, OUT headers text) LANGUAGE plpgsql AS $$
DECLARE
  pi text := 'pi_' || replace(pid::text, '-', '');
  amount bigint := (SELECT p.amount FROM payments.payments p WHERE p.id = pid);
  ts bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
BEGIN
  PERFORM payments.set_provider_ref(pid, pi);
  body := jsonb_build_object('id', 'evt_' || pi, 'object', 'event', 'type', 'payment_intent.succeeded',
            'data', jsonb_build_object('object', jsonb_build_object('id', pi, 'object', 'payment_intent',
              'amount', amount, 'amount_received', amount, 'currency', 'eur')))::text;
  headers := jsonb_build_object('stripe-signature', 't=' || ts || ',v1=' ||
               encode(hmac(ts || '.' || body, (SELECT v FROM bench_c.ctx WHERE k = 'secret'), 'sha256'), 'hex'),
             'content-type', 'application/json', 'user-agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)')::text;
END
$$;

-- The invariants after a run on the current event: paid orders, registrations
-- paid, oversold units, orders paid more than once, invoice numbers not
-- consecutive, payments applied twice, ledger problems.
CREATE FUNCTION bench_c.check() RETURNS text LANGUAGE sql AS $$
  WITH e AS (SELECT (SELECT v FROM bench_c.ctx WHERE k = 'ev')::uuid AS ev,
                    (SELECT v FROM bench_c.ctx WHERE k = 'pool')::uuid AS pool)
  SELECT format('paid=%s registrations=%s oversold=%s double_paid=%s invoice_gaps=%s double_applied=%s ledger_problems=%s',
    (SELECT count(*) FROM startlijn.orders o, e WHERE o.event_id = e.ev AND o.status = 'paid'),
    (SELECT count(*) FROM startlijn.registrations r, e WHERE r.event_id = e.ev AND r.status = 'paid'),
    (SELECT GREATEST(0, count(*) - max(p.capacity)) FROM capacity.slots s, capacity.pools p, e
      WHERE p.id = e.pool AND s.pool_id = e.pool AND s.held_until = 'infinity'),
    (SELECT count(*) FROM (SELECT o.id FROM startlijn.orders o JOIN startlijn.entitlements n ON n.order_id = o.id, e
                             WHERE o.event_id = e.ev GROUP BY o.id HAVING count(*) > 1) x),
    (SELECT max(c.last_number) - count(DISTINCT o.invoice_seq) FROM startlijn.invoice_counters c
       JOIN startlijn.orders o ON o.organization_id = c.organization_id AND o.invoice_year = c.year
      WHERE c.organization_id = '00000000-0000-4000-b000-000000000001'),
    (SELECT count(*) FROM (SELECT e2.payment_id FROM payments.events e2 JOIN startlijn.orders o ON o.payment_id = e2.payment_id, e
                             WHERE o.event_id = e.ev AND e2.status = 'paid' AND e2.outcome = 'applied'
                             GROUP BY e2.payment_id HAVING count(*) > 1) y),
    (SELECT count(*) FROM payments.ledger_problems()))
$$;

-- rows written (inserted or updated) per table: snapshot before a run,
-- then rows per buyer and their average width (weighted by rows written)
CREATE TABLE bench_c.stat0 (relid oid PRIMARY KEY, rows bigint);
CREATE FUNCTION bench_c.snapshot() RETURNS void LANGUAGE sql AS $$
  DELETE FROM bench_c.stat0;
  INSERT INTO bench_c.stat0 SELECT relid, n_tup_ins + n_tup_upd FROM pg_stat_user_tables
   WHERE schemaname NOT LIKE 'bench%'
$$;
CREATE FUNCTION bench_c.profile(buyers integer, OUT rows_per_buyer numeric, OUT width integer) LANGUAGE plpgsql AS $$
DECLARE
  r record;
  w numeric;
  total numeric := 0;
  wsum numeric := 0;
BEGIN
  FOR r IN SELECT s.relid, s.relid::regclass AS rel, (s.n_tup_ins + s.n_tup_upd) - COALESCE(z.rows, 0) AS d
             FROM pg_stat_user_tables s LEFT JOIN bench_c.stat0 z ON z.relid = s.relid
            WHERE s.schemaname NOT LIKE 'bench%' LOOP
    CONTINUE WHEN r.d <= 0;
    EXECUTE format('SELECT avg(pg_column_size(t.*)) FROM (SELECT * FROM %s LIMIT 1000) t', r.rel) INTO w;
    total := total + r.d;
    wsum := wsum + r.d * COALESCE(w, 100);
  END LOOP;
  rows_per_buyer := round(total / buyers, 1);
  width := round(wsum / NULLIF(total, 0))::integer;
END
$$;

-- the same, table by table: rows written per buyer since the snapshot
CREATE FUNCTION bench_c.profile_tables(buyers integer) RETURNS TABLE (rel text, rows_per_buyer numeric)
  LANGUAGE sql AS $$
  SELECT s.schemaname || '.' || s.relname, round(((s.n_tup_ins + s.n_tup_upd) - COALESCE(z.rows, 0)) / buyers::numeric, 1)
    FROM pg_stat_user_tables s LEFT JOIN bench_c.stat0 z ON z.relid = s.relid
   WHERE s.schemaname NOT LIKE 'bench%' AND (s.n_tup_ins + s.n_tup_upd) - COALESCE(z.rows, 0) >= buyers / 20.0
   ORDER BY 2 DESC, 1
$$;
