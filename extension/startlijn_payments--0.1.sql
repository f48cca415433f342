-- startlijn_payments 0.1: payments from provider webhooks, refunds,
-- chargebacks, a double-entry ledger and idempotency keys (schema payments).
--
-- Generic: it knows payable references (text), not orders or tickets.
-- See docs/payments.md.
--
-- How exactly-once works: a provider event is applied under the lock of the
-- payment row it concerns, and its (provider, event id) is the primary key
-- of payments.events, inserted in the same transaction. A concurrent
-- duplicate waits for the payment lock, then finds the event and is
-- recorded as a duplicate delivery. Every delivery, good or bad, gets a row
-- in payments.deliveries with its outcome.
--
-- Every table has RLS enabled and forced with a deny-all policy and no
-- grants: only the extension owner (superuser or BYPASSRLS) reads or writes
-- them, through the functions below. Nothing is granted to PUBLIC; the
-- integrating system grants what it exposes and checks who may call.

\echo Use "CREATE EXTENSION startlijn_payments" to load this file. \quit

DO $pre$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn_payments must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

COMMENT ON SCHEMA payments IS 'startlijn_payments: payments, provider webhooks, refunds, chargebacks, ledger, idempotency keys';

CREATE FUNCTION payments.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------

CREATE TABLE payments.settings (
  singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- seconds a signed timestamp may lie in the past or the future
  stripe_tolerance   integer NOT NULL DEFAULT 300 CHECK (stripe_tolerance BETWEEN 30 AND 3600),
  standard_tolerance integer NOT NULL DEFAULT 300 CHECK (standard_tolerance BETWEEN 30 AND 3600),
  -- larger bodies are refused (413) before any parsing
  max_body_bytes     integer NOT NULL DEFAULT 262144 CHECK (max_body_bytes BETWEEN 1024 AND 4194304),
  -- idempotency keys are kept at least 24 hours (Stripe's promise)
  idempotency_ttl    interval NOT NULL DEFAULT '24 hours'
                     CHECK (idempotency_ttl >= interval '24 hours' AND idempotency_ttl <= interval '30 days')
);
INSERT INTO payments.settings DEFAULT VALUES;

-- Provider accounts: one per Stripe endpoint, Mollie profile or Standard
-- Webhooks sender. Payments name their account; an event only touches
-- payments of the account whose secret signed it.
CREATE TABLE payments.accounts (
  id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  provider    text NOT NULL CHECK (provider IN ('stripe', 'mollie', 'standard')),
  name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (provider, name),
  UNIQUE (id, provider)
);

-- Webhook secrets. Several may be active at once (rotation); a retired
-- secret is wiped (the CHECK allows a secret only while active).
CREATE TABLE payments.secrets (
  id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES payments.accounts,
  kind        text NOT NULL CHECK (kind IN ('hmac', 'ed25519')),
  secret      bytea CHECK (pg_catalog.octet_length(secret) BETWEEN 1 AND 128),
  state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  retired_at  timestamptz,
  CHECK ((state = 'active') = (secret IS NOT NULL)),
  CHECK ((state = 'retired') = (retired_at IS NOT NULL))
);
CREATE INDEX secrets_account ON payments.secrets (account_id) WHERE state = 'active';

-- Fee-split rules per organisation, applied in position order to the
-- amount of each payment: share = fixed + round_half_up(amount * bp / 10000),
-- capped by what is left; the rest goes to organiser_payable.
CREATE TABLE payments.fee_rules (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  name            text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  account         text NOT NULL CHECK (account = 'platform_fee_revenue' OR account ~ '^fee:[a-z][a-z0-9_]{0,39}$'),
  basis_points    integer NOT NULL DEFAULT 0 CHECK (basis_points BETWEEN 0 AND 10000),
  fixed           bigint NOT NULL DEFAULT 0 CHECK (fixed BETWEEN 0 AND 1000000000),
  position        integer NOT NULL DEFAULT 1 CHECK (position BETWEEN 1 AND 100),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, name),
  UNIQUE (organization_id, id)
);

CREATE TABLE payments.payments (
  id                uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id   uuid NOT NULL,
  payable_ref       text NOT NULL CHECK (pg_catalog.length(payable_ref) BETWEEN 1 AND 200),
  amount            bigint NOT NULL CHECK (amount > 0 AND amount <= 100000000000),
  currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  account_id        uuid NOT NULL,
  provider          text NOT NULL,
  provider_ref      text CHECK (provider_ref ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$'),
  status            text NOT NULL DEFAULT 'created'
                    CHECK (status IN ('created', 'open', 'pending', 'authorized',
                                      'paid', 'failed', 'canceled', 'expired')),
  -- the fee split at creation: [{"account": ..., "amount": ...}], summing to amount
  split             jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(split) = 'array'),
  captured          bigint NOT NULL DEFAULT 0,
  -- refunds requested, pending or succeeded; chargebacks received or lost
  refunded          bigint NOT NULL DEFAULT 0,
  charged_back      bigint NOT NULL DEFAULT 0,
  -- whether the sale (receivable against the split) stands in the ledger
  sale_posted       boolean NOT NULL DEFAULT true,
  exception         text CHECK (exception IN ('paid_after_expired', 'paid_after_canceled',
                                              'paid_after_failed', 'amount_mismatch')),
  exception_at      timestamptz,
  resolution        text CHECK (resolution IN ('allocated', 'refunded', 'dismissed')),
  resolved_at       timestamptz,
  metadata          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  status_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  paid_at           timestamptz,
  FOREIGN KEY (account_id, provider) REFERENCES payments.accounts (id, provider),
  UNIQUE (provider, provider_ref),
  UNIQUE (organization_id, id),
  CONSTRAINT captured_whole CHECK (captured = 0 OR captured = amount),
  -- the refund invariant is a constraint: concurrent refunds serialise on
  -- this row's update and the second one that would exceed it fails
  CONSTRAINT refunds_within_captured CHECK (refunded >= 0 AND refunded <= captured),
  CONSTRAINT chargebacks_within_captured CHECK (charged_back >= 0 AND charged_back <= captured),
  CHECK ((exception IS NULL) = (exception_at IS NULL)),
  CHECK (resolution IS NULL OR exception IS NOT NULL),
  CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
CREATE INDEX payments_payable ON payments.payments (organization_id, payable_ref);
CREATE INDEX payments_created ON payments.payments (organization_id, created_at DESC);
CREATE INDEX payments_exceptions ON payments.payments (organization_id, exception_at)
  WHERE exception IS NOT NULL AND resolution IS NULL;

-- Provider events applied (or definitively judged): one row per
-- (provider, event id), the exactly-once guarantee.
CREATE TABLE payments.events (
  provider        text NOT NULL,
  event_id        text NOT NULL CHECK (pg_catalog.length(event_id) BETWEEN 1 AND 255),
  organization_id uuid NOT NULL,
  payment_id      uuid NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('payment', 'refund', 'chargeback')),
  status          text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('applied', 'out_of_order_ignored', 'amount_mismatch')),
  applied_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (provider, event_id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);

-- Every delivery, with its outcome. Authenticated deliveries keep the raw
-- body byte for byte; deliveries that failed verification keep its first
-- 4 KiB and its SHA-256 only (anyone can post them).
CREATE TABLE payments.deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  provider      text NOT NULL CHECK (provider IN ('stripe', 'mollie', 'standard', 'mollie_classic', 'relay')),
  account_id    uuid REFERENCES payments.accounts,
  event_id      text,
  payment_id    uuid REFERENCES payments.payments,
  headers       jsonb NOT NULL DEFAULT '{}'::jsonb,
  body          text,
  body_bytes    integer NOT NULL DEFAULT 0,
  body_sha256   bytea,
  outcome       text NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'out_of_order_ignored',
                                                 'bad_signature', 'amount_mismatch', 'unknown_payment',
                                                 'ignored', 'queued')),
  detail        text
);
CREATE INDEX deliveries_event ON payments.deliveries (provider, event_id);
CREATE INDEX deliveries_payment ON payments.deliveries (payment_id) WHERE payment_id IS NOT NULL;

-- Mollie classic webhooks carry only the payment id: a relay fetches the
-- payment from Mollie's API and reports it with payments.record_status.
CREATE TABLE payments.fetch_queue (
  payment_id    uuid PRIMARY KEY REFERENCES payments.payments,
  requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deliveries    integer NOT NULL DEFAULT 1,
  leased_until  timestamptz
);

CREATE TABLE payments.refunds (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  payment_id      uuid NOT NULL,
  provider        text NOT NULL,
  provider_ref    text CHECK (provider_ref ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$'),
  amount          bigint NOT NULL CHECK (amount > 0),
  status          text NOT NULL CHECK (status IN ('requested', 'pending', 'succeeded', 'failed', 'canceled')),
  reason          text CHECK (pg_catalog.length(reason) <= 500),
  requested_by    text,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (provider, provider_ref),
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);
CREATE INDEX refunds_payment ON payments.refunds (payment_id);

CREATE TABLE payments.chargebacks (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  payment_id      uuid NOT NULL,
  provider        text NOT NULL,
  provider_ref    text NOT NULL CHECK (provider_ref ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$'),
  amount          bigint NOT NULL CHECK (amount > 0),
  status          text NOT NULL CHECK (status IN ('received', 'reversed', 'lost')),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (provider, provider_ref),
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);
CREATE INDEX chargebacks_payment ON payments.chargebacks (payment_id);

-- The ledger: journal entries of postings (positive = debit, negative =
-- credit), balanced per entry and currency (checked at commit), append-only.
CREATE TABLE payments.journal (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('sale', 'sale_reversed', 'payment_received',
                                               'refund_reserved', 'refund_released', 'refund_paid',
                                               'chargeback_received', 'chargeback_reversed', 'chargeback_lost')),
  payment_id      uuid NOT NULL,
  refund_id       uuid,
  chargeback_id   uuid,
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);
CREATE INDEX journal_payment ON payments.journal (payment_id);

CREATE TABLE payments.postings (
  journal_id      bigint NOT NULL,
  line            smallint NOT NULL CHECK (line BETWEEN 1 AND 100),
  organization_id uuid NOT NULL,
  account         text NOT NULL CHECK (account IN ('receivable', 'provider_clearing', 'organiser_payable',
                                                   'platform_fee_revenue', 'refunds', 'chargebacks')
                                       OR account ~ '^fee:[a-z][a-z0-9_]{0,39}$'),
  currency        text NOT NULL,
  amount          bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (journal_id, line),
  FOREIGN KEY (organization_id, journal_id) REFERENCES payments.journal (organization_id, id)
);
CREATE INDEX postings_account ON payments.postings (organization_id, account, currency);

-- Idempotency keys of mutating RPCs: (caller, key) unique, the request's
-- fingerprint and the stored response.
CREATE TABLE payments.idempotency_keys (
  caller      text NOT NULL CHECK (pg_catalog.length(caller) BETWEEN 1 AND 200),
  key         text NOT NULL CHECK (key ~ '^[\x21-\x7e]{1,255}$'),
  function    text NOT NULL,
  fingerprint bytea NOT NULL CHECK (pg_catalog.octet_length(fingerprint) = 32),
  response    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON payments.idempotency_keys (expires_at);

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['settings', 'accounts', 'secrets', 'fee_rules', 'payments', 'events',
                           'deliveries', 'fetch_queue', 'refunds', 'chargebacks', 'journal',
                           'postings', 'idempotency_keys'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE payments.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE payments.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY no_direct_access ON payments.%I USING (false)', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON payments.%I FROM PUBLIC', t);
  END LOOP;
END
$rls$;

SELECT pg_catalog.pg_extension_config_dump('payments.settings', '');
SELECT pg_catalog.pg_extension_config_dump('payments.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('payments.secrets', '');

-------------------------------------------------------------------------------
-- Guards: state machines, append-only ledger, balance at commit
-------------------------------------------------------------------------------

-- created 0, open 1, pending 2, authorized 3, terminal 4
CREATE FUNCTION payments._rank(status text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = ''
  AS $$
    SELECT CASE status WHEN 'created' THEN 0 WHEN 'open' THEN 1 WHEN 'pending' THEN 2
                       WHEN 'authorized' THEN 3 ELSE 4 END
  $$;

CREATE FUNCTION payments._payments_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id OR NEW.amount <> OLD.amount
     OR NEW.currency <> OLD.currency OR NEW.account_id <> OLD.account_id
     OR NEW.payable_ref <> OLD.payable_ref OR NEW.split <> OLD.split
     OR (OLD.provider_ref IS NOT NULL AND NEW.provider_ref IS DISTINCT FROM OLD.provider_ref) THEN
    PERFORM payments.raise('invalid_transition',
      'The organisation, amount, currency, account, payable reference, split and provider reference of a payment never change.');
  END IF;
  IF NEW.status <> OLD.status THEN
    IF payments._rank(OLD.status) = 4 OR payments._rank(NEW.status) <= payments._rank(OLD.status) THEN
      PERFORM payments.raise('invalid_transition',
        pg_catalog.format('A payment cannot move from %s to %s: statuses only move forward and terminal ones never change.',
                          OLD.status, NEW.status));
    END IF;
    NEW.status_changed_at := pg_catalog.now();
  END IF;
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_guard BEFORE UPDATE ON payments.payments
  FOR EACH ROW EXECUTE FUNCTION payments._payments_guard();

CREATE FUNCTION payments._refunds_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
DECLARE
  ok boolean;
BEGIN
  IF NEW.amount <> OLD.amount OR NEW.payment_id <> OLD.payment_id
     OR (OLD.provider_ref IS NOT NULL AND NEW.provider_ref IS DISTINCT FROM OLD.provider_ref) THEN
    PERFORM payments.raise('invalid_transition', 'The amount, payment and provider reference of a refund never change.');
  END IF;
  IF NEW.status <> OLD.status THEN
    ok := CASE OLD.status
            WHEN 'requested' THEN NEW.status IN ('pending', 'succeeded', 'failed', 'canceled')
            WHEN 'pending' THEN NEW.status IN ('succeeded', 'failed', 'canceled')
            ELSE false END;
    IF NOT ok THEN
      PERFORM payments.raise('invalid_transition',
        pg_catalog.format('A refund cannot move from %s to %s.', OLD.status, NEW.status));
    END IF;
  END IF;
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;
CREATE TRIGGER refunds_guard BEFORE UPDATE ON payments.refunds
  FOR EACH ROW EXECUTE FUNCTION payments._refunds_guard();

-- payments.refunded follows the refunds that hold money (requested,
-- pending, succeeded), payments.charged_back the chargebacks (received,
-- lost); the CHECKs on payments do the rest.
CREATE FUNCTION payments._totals() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
DECLARE
  holding text[] := CASE TG_TABLE_NAME WHEN 'refunds' THEN ARRAY['requested', 'pending', 'succeeded']
                                       ELSE ARRAY['received', 'lost'] END;
  delta bigint := 0;
BEGIN
  IF NEW.status = ANY (holding) THEN delta := NEW.amount; END IF;
  IF TG_OP = 'UPDATE' AND OLD.status = ANY (holding) THEN delta := delta - OLD.amount; END IF;
  IF delta <> 0 AND TG_TABLE_NAME = 'refunds' THEN
    UPDATE payments.payments p SET refunded = p.refunded + delta WHERE p.id = NEW.payment_id;
  ELSIF delta <> 0 THEN
    UPDATE payments.payments p SET charged_back = p.charged_back + delta WHERE p.id = NEW.payment_id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER refunds_total AFTER INSERT OR UPDATE OF status ON payments.refunds
  FOR EACH ROW EXECUTE FUNCTION payments._totals();

CREATE FUNCTION payments._chargebacks_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
BEGIN
  IF NEW.amount <> OLD.amount OR NEW.payment_id <> OLD.payment_id OR NEW.provider_ref <> OLD.provider_ref
     OR (NEW.status <> OLD.status AND OLD.status <> 'received') THEN
    PERFORM payments.raise('invalid_transition',
      pg_catalog.format('A chargeback cannot move from %s to %s.', OLD.status, NEW.status));
  END IF;
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;
CREATE TRIGGER chargebacks_guard BEFORE UPDATE ON payments.chargebacks
  FOR EACH ROW EXECUTE FUNCTION payments._chargebacks_guard();

CREATE TRIGGER chargebacks_total AFTER INSERT OR UPDATE OF status ON payments.chargebacks
  FOR EACH ROW EXECUTE FUNCTION payments._totals();

CREATE FUNCTION payments._append_only() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
BEGIN
  PERFORM payments.raise('append_only',
    pg_catalog.format('The ledger (%s) is append-only: post a correcting entry instead.', TG_TABLE_NAME));
  RETURN NULL;
END
$$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON payments.journal
  FOR EACH ROW EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON payments.journal
  FOR EACH STATEMENT EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON payments.postings
  FOR EACH ROW EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON payments.postings
  FOR EACH STATEMENT EXECUTE FUNCTION payments._append_only();

-- Balanced at commit: every entry's postings sum to zero and carry the
-- entry's currency and organisation. Checked once per entry (its line 1).
CREATE FUNCTION payments._balanced() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
DECLARE
  total numeric;
  wrong bigint;
BEGIN
  SELECT COALESCE(pg_catalog.sum(x.amount), 0),
         pg_catalog.count(*) FILTER (WHERE x.currency <> j.currency OR x.organization_id <> j.organization_id)
    INTO total, wrong
    FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id
   WHERE x.journal_id = NEW.journal_id;
  IF total <> 0 OR wrong <> 0 THEN
    RAISE EXCEPTION 'unbalanced ledger entry %', NEW.journal_id
      USING ERRCODE = 'check_violation',
            DETAIL = pg_catalog.format('The postings sum to %s (must be 0); %s carry another currency or organisation.', total, wrong);
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON payments.postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.line = 1)
  EXECUTE FUNCTION payments._balanced();

-------------------------------------------------------------------------------
-- Money helpers
-------------------------------------------------------------------------------

-- Split amount by fee rules: [{"account", "amount"}] in rule order, then
-- organiser_payable with the rest. The parts always sum to amount.
CREATE FUNCTION payments.split(organization_id uuid, amount bigint) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  r record;
  left_over bigint := amount;
  share bigint;
  parts jsonb := '[]'::jsonb;
BEGIN
  IF amount IS NULL OR amount <= 0 THEN
    PERFORM payments.raise('invalid_amount', 'The amount must be a positive number of minor units.');
  END IF;
  FOR r IN SELECT f.account, f.basis_points, f.fixed FROM payments.fee_rules f
            WHERE f.organization_id = split.organization_id ORDER BY f.position, f.name LOOP
    share := LEAST(r.fixed + (amount * r.basis_points + 5000) / 10000, left_over);
    IF share > 0 THEN
      parts := parts || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('account', r.account, 'amount', share));
      left_over := left_over - share;
    END IF;
  END LOOP;
  IF left_over > 0 THEN
    parts := parts || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('account', 'organiser_payable', 'amount', left_over));
  END IF;
  RETURN parts;
END
$$;

-- The part of `parts` (summing to total) that x of total carries:
-- largest-remainder rounding, ties to the earlier part. The result sums
-- to x exactly and equals parts when x = total.
CREATE FUNCTION payments._portion(parts jsonb, total bigint, x bigint) RETURNS TABLE (ord bigint, account text, amount bigint)
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    WITH p AS (
      SELECT e.ord, e.v->>'account' AS account, (e.v->>'amount')::bigint AS share
        FROM pg_catalog.jsonb_array_elements(parts) WITH ORDINALITY AS e(v, ord)
    ), q AS (
      SELECT p.ord, p.account, (p.share::numeric * x) / total AS exact FROM p
    ), f AS (
      SELECT q.ord, q.account, pg_catalog.floor(q.exact)::bigint AS base, q.exact - pg_catalog.floor(q.exact) AS rest FROM q
    ), r AS (
      SELECT f.*, pg_catalog.row_number() OVER (ORDER BY f.rest DESC, f.ord) AS rk FROM f
    )
    SELECT r.ord, r.account, r.base + CASE WHEN r.rk <= x - (SELECT pg_catalog.sum(r2.base) FROM r r2) THEN 1 ELSE 0 END
      FROM r ORDER BY r.ord
  $$;

-- Post one balanced journal entry: lines is [[account, amount], ...]
-- (debit positive); lines with amount 0 are dropped.
CREATE FUNCTION payments._post(p payments.payments, kind text, lines jsonb,
                               refund_id uuid DEFAULT NULL, chargeback_id uuid DEFAULT NULL)
  RETURNS bigint LANGUAGE plpgsql SET search_path = ''
  AS $$
DECLARE
  jid bigint;
BEGIN
  INSERT INTO payments.journal (organization_id, kind, payment_id, refund_id, chargeback_id, currency)
  VALUES (p.organization_id, kind, p.id, refund_id, chargeback_id, p.currency)
  RETURNING id INTO jid;
  INSERT INTO payments.postings (journal_id, line, organization_id, account, currency, amount)
  SELECT jid, pg_catalog.row_number() OVER (ORDER BY l.ord), p.organization_id, l.account, p.currency, l.amount
    FROM (SELECT e.ord, e.v->>0 AS account, pg_catalog.sum((e.v->>1)::bigint) OVER (PARTITION BY e.v->>0) AS amount,
                 pg_catalog.row_number() OVER (PARTITION BY e.v->>0 ORDER BY e.ord) AS first
            FROM pg_catalog.jsonb_array_elements(lines) WITH ORDINALITY AS e(v, ord)) l
   WHERE l.first = 1 AND l.amount <> 0;
  RETURN jid;
END
$$;

-- lines crediting (sign -1) or debiting (sign 1) a portion of the split
CREATE FUNCTION payments._split_lines(p payments.payments, x bigint, sign integer) RETURNS jsonb
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.account, sign * s.amount)), '[]'::jsonb)
      FROM payments._portion(p.split, p.amount, x) s
  $$;

-- the sale of p (sign 1: receivable against the split) or its reversal (-1)
CREATE FUNCTION payments._post_sale(p payments.payments, sign integer) RETURNS bigint
  LANGUAGE sql VOLATILE SET search_path = ''
  AS $$
    SELECT payments._post(p, CASE WHEN sign > 0 THEN 'sale' ELSE 'sale_reversed' END,
      pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('receivable', sign * p.amount))
      || payments._split_lines(p, p.amount, -sign))
  $$;

-- amount moves from the credit account to the debit account
CREATE FUNCTION payments._post_move(p payments.payments, kind text, debit text, credit text, amount bigint,
                                    refund_id uuid DEFAULT NULL, chargeback_id uuid DEFAULT NULL)
  RETURNS bigint LANGUAGE sql VOLATILE SET search_path = ''
  AS $$
    SELECT payments._post(p, kind, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(debit, amount),
                                                                pg_catalog.jsonb_build_array(credit, -amount)),
                          refund_id, chargeback_id)
  $$;

-------------------------------------------------------------------------------
-- Provider accounts and secrets
-------------------------------------------------------------------------------

CREATE FUNCTION payments._verify(provider text, body text, h1 text, h2 text, h3 text,
                                 OUT result text, OUT account_id uuid)
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'payments_verify';

CREATE FUNCTION payments._decode_secret(provider text, secret text, OUT kind text, OUT key bytea)
  LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'payments_decode_secret';

CREATE FUNCTION payments.create_account(provider text, name text) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  aid uuid;
BEGIN
  IF provider IS NULL OR provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF name IS NULL OR name !~ '^[a-z0-9][a-z0-9._-]{0,62}$' THEN
    PERFORM payments.raise('invalid_argument', 'An account name has 1 to 63 lowercase letters, digits, dots, dashes or underscores.');
  END IF;
  INSERT INTO payments.accounts AS a (provider, name) VALUES (create_account.provider, create_account.name)
  RETURNING a.id INTO aid;
  PERFORM trail.log(NULL, 'payments.account_created', 'payment_account:' || aid::text,
                    pg_catalog.jsonb_build_object('provider', provider, 'name', name));
  RETURN aid;
END
$$;

-- Add a webhook secret as the provider shows it (Stripe whsec_..., Standard
-- Webhooks whsec_... or whpk_..., Mollie's shared secret). Older secrets
-- stay active until retired: deliveries signed with either verify.
CREATE FUNCTION payments.add_secret(account_id uuid, secret text) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  a payments.accounts;
  d record;
  sid uuid;
BEGIN
  SELECT * INTO a FROM payments.accounts x WHERE x.id = add_secret.account_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('account_not_found');
  END IF;
  IF (SELECT pg_catalog.count(*) FROM payments.secrets s WHERE s.account_id = a.id AND s.state = 'active') >= 5 THEN
    PERFORM payments.raise('invalid_argument', 'An account has at most 5 active secrets.', 'Retire an old secret first.');
  END IF;
  d := payments._decode_secret(a.provider, secret);
  INSERT INTO payments.secrets AS s (account_id, kind, secret) VALUES (a.id, d.kind, d.key)
  RETURNING s.id INTO sid;
  PERFORM trail.log(NULL, 'payments.secret_added', 'payment_account:' || a.id::text,
                    pg_catalog.jsonb_build_object('secret_id', sid, 'kind', d.kind));
  RETURN sid;
END
$$;

CREATE FUNCTION payments.retire_secret(secret_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  aid uuid;
BEGIN
  UPDATE payments.secrets s SET state = 'retired', secret = NULL, retired_at = pg_catalog.now()
   WHERE s.id = retire_secret.secret_id AND s.state = 'active'
  RETURNING s.account_id INTO aid;
  IF NOT FOUND THEN
    PERFORM payments.raise('invalid_argument', 'No active secret has this id.');
  END IF;
  PERFORM trail.log(NULL, 'payments.secret_retired', 'payment_account:' || aid::text,
                    pg_catalog.jsonb_build_object('secret_id', secret_id));
END
$$;

-- The secrets an operator may see: never the key.
CREATE FUNCTION payments.secrets_status()
  RETURNS TABLE (account_id uuid, provider text, account text, secret_id uuid, kind text, state text,
                 created_at timestamptz, retired_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT a.id, a.provider, a.name, s.id, s.kind, s.state, s.created_at, s.retired_at
      FROM payments.accounts a JOIN payments.secrets s ON s.account_id = a.id
     ORDER BY a.provider, a.name, s.created_at
  $$;

-------------------------------------------------------------------------------
-- Fee rules and payments
-------------------------------------------------------------------------------

CREATE FUNCTION payments.set_fee_rule(organization_id uuid, name text, account text,
                                      basis_points integer DEFAULT 0, fixed bigint DEFAULT 0,
                                      "position" integer DEFAULT 1)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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

CREATE FUNCTION payments.payment_json(p payments.payments) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'id', p.id, 'organization_id', p.organization_id, 'payable_ref', p.payable_ref,
      'amount', p.amount, 'currency', p.currency, 'provider', p.provider, 'provider_ref', p.provider_ref,
      'status', p.status, 'captured', p.captured, 'refunded', p.refunded, 'charged_back', p.charged_back,
      'refundable', p.captured - p.refunded, 'split', p.split,
      'exception', p.exception, 'exception_at', p.exception_at,
      'resolution', p.resolution, 'resolved_at', p.resolved_at, 'metadata', p.metadata,
      'created_at', p.created_at, 'status_changed_at', p.status_changed_at, 'paid_at', p.paid_at)
  $$;

-- A payment for payable_ref. The sale is posted at once (receivable against
-- the fee split) and reversed if the payment fails, is canceled or expires.
CREATE FUNCTION payments.create_payment(organization_id uuid, payable_ref text, amount bigint,
                                        currency text, account_id uuid, provider_ref text DEFAULT NULL,
                                        metadata jsonb DEFAULT '{}'::jsonb)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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

-- The adapter that created the payment at the provider records its id
-- (created -> open).
CREATE FUNCTION payments.set_provider_ref(payment_id uuid, provider_ref text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  p payments.payments;
BEGIN
  IF provider_ref IS NULL OR provider_ref !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$' THEN
    PERFORM payments.raise('invalid_argument', 'A provider reference has 1 to 200 letters, digits and _.:- characters.');
  END IF;
  SELECT * INTO p FROM payments.payments x WHERE x.id = set_provider_ref.payment_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('payment_not_found');
  END IF;
  IF p.provider_ref = provider_ref THEN
    RETURN payments.payment_json(p);
  END IF;
  IF p.provider_ref IS NOT NULL THEN
    PERFORM payments.raise('invalid_transition', 'This payment already has another provider reference.');
  END IF;
  UPDATE payments.payments x
     SET provider_ref = set_provider_ref.provider_ref,
         status = CASE WHEN x.status = 'created' THEN 'open' ELSE x.status END
   WHERE x.id = p.id RETURNING x.* INTO p;
  PERFORM trail.log(p.organization_id, 'payments.provider_ref_set', 'payment:' || p.id::text,
                    pg_catalog.jsonb_build_object('provider_ref', p.provider_ref, 'status', p.status));
  RETURN payments.payment_json(p);
END
$$;

-------------------------------------------------------------------------------
-- Applying provider events (one locked payment at a time)
-------------------------------------------------------------------------------

-- The status of a payment changes. p is locked. Returns the outcome.
CREATE FUNCTION payments._payment_status(p payments.payments, new_status text, ev_amount bigint,
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

-- Ledger of a refund changing state (old_status NULL: new refund).
CREATE FUNCTION payments._refund_posted(p payments.payments, r payments.refunds, old_status text, refunded_before bigint)
  RETURNS void LANGUAGE plpgsql SET search_path = ''
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
  RETURNS text LANGUAGE plpgsql SET search_path = ''
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
  SELECT * INTO r FROM payments.refunds x WHERE x.provider = p.provider AND x.provider_ref = ref FOR UPDATE;
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
  RETURNS text LANGUAGE plpgsql SET search_path = ''
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
  SELECT * INTO c FROM payments.chargebacks x WHERE x.provider = p.provider AND x.provider_ref = ref FOR UPDATE;
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

-- Apply one authenticated event exactly once. Locks the payment, then
-- claims (provider, event_id). Returns (outcome, payment_id).
CREATE FUNCTION payments._apply(provider text, account_id uuid, event_id text, kind text,
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
    WHEN 'payment' THEN payments._payment_status(p, status, amount, currency, src)
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

-- Minor units of a decimal amount text ("10.00" EUR -> 1000); NULL if
-- it does not have the currency's exact number of decimals.
CREATE FUNCTION payments._minor_units(value text, currency text) RETURNS bigint
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
CREATE FUNCTION payments._interpret(provider text, body jsonb, header_event_id text,
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
      amount := payments._minor_units(o->'amount'->>'value', currency);
    ELSIF (body->>'entityId') LIKE 'tr\_%' THEN
      kind := 'fetch';
      payment_ref := body->>'entityId';
    END IF;
  END IF;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
  kind := 'ignored';
END
$$;

-- The headers worth keeping: everything but credentials.
CREATE FUNCTION payments._kept_headers(h jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    SELECT COALESCE(h, '{}'::jsonb) - ARRAY['authorization', 'apikey', 'cookie', 'prefer']
  $$;

CREATE FUNCTION payments._delivery(provider text, account_id uuid, event_id text, payment_id uuid,
                                   headers jsonb, body text, keep_body boolean, outcome text, detail text)
  RETURNS bigint LANGUAGE sql VOLATILE SET search_path = ''
  AS $$
    INSERT INTO payments.deliveries AS d (provider, account_id, event_id, payment_id, headers, body,
                                          body_bytes, body_sha256, outcome, detail)
    VALUES (provider, account_id, event_id, payment_id, payments._kept_headers(headers),
            CASE WHEN keep_body THEN body ELSE pg_catalog.left(body, 4096) END,
            COALESCE(pg_catalog.octet_length(body), 0),
            pg_catalog.sha256(pg_catalog.convert_to(COALESCE(body, ''), 'UTF8')),
            outcome, detail)
    RETURNING d.id
  $$;

-- The HTTP status a provider should see for an outcome.
CREATE FUNCTION payments._http_status(outcome text, detail text) RETURNS integer
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    SELECT CASE
      WHEN outcome = 'bad_signature' AND detail = 'body_too_large' THEN 413
      WHEN outcome = 'bad_signature' AND detail IN ('missing_header', 'malformed_header') THEN 400
      WHEN outcome = 'bad_signature' THEN 401
      -- not ours yet (the checkout may still be committing): ask for a retry
      WHEN outcome = 'unknown_payment' THEN 404
      ELSE 200 END
  $$;

-- A signed webhook. body is the raw request body (a json value keeps its
-- text byte for byte); headers come from request.headers as PostgREST sets
-- them. Records the delivery, applies the event once, sets response.status.
CREATE FUNCTION payments.receive(provider text, body json) RETURNS jsonb
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
    SELECT * INTO v FROM payments._verify(provider, raw,
      hdr->>CASE provider WHEN 'stripe' THEN 'stripe-signature' WHEN 'mollie' THEN 'x-mollie-signature'
                          ELSE 'webhook-id' END,
      CASE WHEN provider = 'standard' THEN hdr->>'webhook-timestamp' END,
      CASE WHEN provider = 'standard' THEN hdr->>'webhook-signature' END);
    IF v.result <> 'ok' THEN
      outcome := 'bad_signature'; detail := v.result;
      did := payments._delivery(provider, v.account_id, NULL, NULL, hdr, raw, false, outcome, detail);
    ELSE
      doc := body::jsonb;
      SELECT * INTO ev FROM payments._interpret(provider, doc, hdr->>'webhook-id');
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
        SELECT * INTO res FROM payments._apply(provider, v.account_id, ev.event_id, ev.kind, ev.payment_ref,
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

-- Mollie classic: only the payment id is known. Queue a fetch for the relay.
CREATE FUNCTION payments._queue_fetch(provider_ref text, account_id uuid, OUT outcome text, OUT payment_id uuid)
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
BEGIN
  SELECT p.id INTO payment_id FROM payments.payments p
   WHERE p.provider = 'mollie' AND p.provider_ref = _queue_fetch.provider_ref
     AND (_queue_fetch.account_id IS NULL OR p.account_id = _queue_fetch.account_id);
  IF payment_id IS NULL THEN
    outcome := 'unknown_payment';
    RETURN;
  END IF;
  INSERT INTO payments.fetch_queue AS q (payment_id) VALUES (_queue_fetch.payment_id)
  ON CONFLICT ON CONSTRAINT fetch_queue_pkey DO UPDATE
     SET requested_at = pg_catalog.now(), deliveries = q.deliveries + 1;
  outcome := 'queued';
END
$$;

CREATE FUNCTION payments.receive_mollie_classic(id text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  hdr jsonb := COALESCE(NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb, '{}'::jsonb);
  res record;
  did bigint;
  code integer;
BEGIN
  IF id IS NULL OR id !~ '^tr_[A-Za-z0-9]{1,64}$' THEN
    did := payments._delivery('mollie_classic', NULL, NULL, NULL, hdr, 'id=' || COALESCE(pg_catalog.left(id, 100), ''),
                              false, 'ignored', 'not a Mollie payment id');
    PERFORM pg_catalog.set_config('response.status', '400', true);
    RETURN pg_catalog.jsonb_build_object('received', false, 'outcome', 'ignored', 'delivery_id', did);
  END IF;
  SELECT * INTO res FROM payments._queue_fetch(id, NULL);
  did := payments._delivery('mollie_classic', NULL, NULL, res.payment_id, hdr, 'id=' || id, true, res.outcome, NULL);
  code := payments._http_status(res.outcome, NULL);
  PERFORM pg_catalog.set_config('response.status', code::text, true);
  RETURN pg_catalog.jsonb_build_object('received', code = 200, 'outcome', res.outcome, 'delivery_id', did);
END
$$;

-- For the relay: payment ids to fetch, leased for a minute so two relays
-- do not fetch the same one.
CREATE FUNCTION payments.claim_fetches(max_rows integer DEFAULT 10)
  RETURNS TABLE (provider_ref text, payment_id uuid, requested_at timestamptz, deliveries integer)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
    UPDATE payments.fetch_queue q SET leased_until = pg_catalog.now() + interval '1 minute'
      FROM payments.payments p
     WHERE p.id = q.payment_id
       AND q.payment_id IN (SELECT x.payment_id FROM payments.fetch_queue x
                             WHERE x.leased_until IS NULL OR x.leased_until < pg_catalog.now()
                             ORDER BY x.requested_at LIMIT LEAST(GREATEST(max_rows, 1), 1000)
                             FOR UPDATE SKIP LOCKED)
    RETURNING p.provider_ref, q.payment_id, q.requested_at, q.deliveries
  $$;

-- The relay reports what it fetched from the provider's API (trusted:
-- only the service role may call this through the platform). Applied
-- exactly once per (payment, status).
CREATE FUNCTION payments.record_status(provider text, provider_ref text, status text,
                                       amount bigint, currency text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  res record;
  did bigint;
BEGIN
  IF provider IS NULL OR provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF provider_ref IS NULL OR status IS NULL THEN
    PERFORM payments.raise('missing_argument', 'The arguments provider_ref and status are required.');
  END IF;
  IF status NOT IN ('open', 'pending', 'authorized', 'paid', 'failed', 'canceled', 'expired') THEN
    PERFORM payments.raise('invalid_argument', 'The status must be open, pending, authorized, paid, failed, canceled or expired.');
  END IF;
  SELECT * INTO res FROM payments._apply(provider, NULL, 'relay:' || provider_ref || ':' || status, 'payment',
                                         provider_ref, NULL, status, amount, pg_catalog.upper(currency));
  did := payments._delivery('relay', NULL, 'relay:' || provider_ref || ':' || status, res.payment_id,
                            '{}'::jsonb, pg_catalog.jsonb_build_object('provider', provider, 'provider_ref', provider_ref,
                              'status', status, 'amount', amount, 'currency', currency)::text,
                            true, res.outcome, NULL);
  IF res.outcome = 'unknown_payment' THEN
    PERFORM payments.raise('payment_not_found', 'No payment has this provider reference.');
  END IF;
  RETURN pg_catalog.jsonb_build_object('outcome', res.outcome, 'delivery_id', did, 'payment_id', res.payment_id);
END
$$;

-------------------------------------------------------------------------------
-- Refunds and exceptions requested by people (the platform checks roles)
-------------------------------------------------------------------------------

CREATE FUNCTION payments.refund_json(r payments.refunds) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object('id', r.id, 'payment_id', r.payment_id, 'amount', r.amount,
      'status', r.status, 'provider_ref', r.provider_ref, 'reason', r.reason,
      'requested_by', r.requested_by, 'created_at', r.created_at, 'updated_at', r.updated_at)
  $$;

-- Request a refund of amount (default: all that is left). The provider
-- adapter sends it and the provider's refund events complete it.
CREATE FUNCTION payments.request_refund(payment_id uuid, amount bigint DEFAULT NULL, reason text DEFAULT NULL,
                                        requested_by text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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

-------------------------------------------------------------------------------
-- Reading
-------------------------------------------------------------------------------

CREATE FUNCTION payments.balances(organization_id uuid)
  RETURNS TABLE (account text, currency text, balance bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT x.account, x.currency, pg_catalog.sum(x.amount)::bigint
      FROM payments.postings x WHERE x.organization_id = balances.organization_id
     GROUP BY x.account, x.currency ORDER BY x.currency, x.account
  $$;

-- Entries that do not balance, and organisations whose ledger does not sum
-- to zero: empty when the ledger is sound.
CREATE FUNCTION payments.ledger_problems()
  RETURNS TABLE (organization_id uuid, journal_id bigint, currency text, total numeric)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT x.organization_id, x.journal_id, x.currency, pg_catalog.sum(x.amount)
      FROM payments.postings x GROUP BY x.organization_id, x.journal_id, x.currency
    HAVING pg_catalog.sum(x.amount) <> 0
    UNION ALL
    SELECT j.organization_id, j.id, j.currency, 0 FROM payments.journal j
     WHERE NOT EXISTS (SELECT 1 FROM payments.postings x WHERE x.journal_id = j.id)
  $$;

-- the organisation of a payment (NULL: no such payment)
CREATE FUNCTION payments.organization_of(payment_id uuid) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT p.organization_id FROM payments.payments p WHERE p.id = organization_of.payment_id $$;

CREATE FUNCTION payments.payment(payment_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT payments.payment_json(p)
           || pg_catalog.jsonb_build_object(
                'refunds', (SELECT COALESCE(pg_catalog.jsonb_agg(payments.refund_json(r) ORDER BY r.created_at), '[]')
                              FROM payments.refunds r WHERE r.payment_id = p.id),
                'chargebacks', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'id', c.id, 'amount', c.amount, 'status', c.status, 'provider_ref', c.provider_ref,
                                   'created_at', c.created_at) ORDER BY c.created_at), '[]')
                                  FROM payments.chargebacks c WHERE c.payment_id = p.id))
      FROM payments.payments p WHERE p.id = payment.payment_id
  $$;

CREATE FUNCTION payments.list(organization_id uuid, status text DEFAULT NULL, exceptions_only boolean DEFAULT false,
                              before timestamptz DEFAULT NULL, max_rows integer DEFAULT 50)
  RETURNS SETOF jsonb LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT payments.payment_json(p) FROM payments.payments p
     WHERE p.organization_id = list.organization_id
       AND (list.status IS NULL OR p.status = list.status)
       AND (NOT list.exceptions_only OR (p.exception IS NOT NULL AND p.resolution IS NULL))
       AND (list.before IS NULL OR p.created_at < list.before)
     ORDER BY p.created_at DESC, p.id LIMIT LEAST(GREATEST(COALESCE(max_rows, 50), 1), 500)
  $$;

-------------------------------------------------------------------------------
-- Idempotency keys for mutating RPCs
-------------------------------------------------------------------------------

-- Run fn(request) once per (caller, key) and return its response; a replay
-- returns the stored response. fn takes and returns jsonb. Errors are not
-- stored: the failed call wrote nothing, so the same key may be retried.
CREATE FUNCTION payments.idempotent(caller text, key text, fn regprocedure, request jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  k payments.idempotency_keys;
  fp bytea;
  response jsonb;
BEGIN
  IF caller IS NULL OR pg_catalog.length(caller) NOT BETWEEN 1 AND 200 THEN
    PERFORM payments.raise('missing_argument', 'An idempotent call needs the caller.');
  END IF;
  IF key IS NULL OR key !~ '^[\x21-\x7e]{1,255}$' THEN
    PERFORM payments.raise('invalid_idempotency_key');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc f
                  WHERE f.oid = fn AND f.prorettype = 'jsonb'::regtype AND f.pronargs = 1
                    AND f.proargtypes[0] = 'jsonb'::regtype AND NOT f.proretset) THEN
    PERFORM payments.raise('invalid_argument', 'An idempotent function takes one jsonb argument and returns jsonb.');
  END IF;
  fp := pg_catalog.sha256(pg_catalog.convert_to(fn::text || ' ' || COALESCE(request::text, 'null'), 'UTF8'));
  -- the first call holds this lock until it commits: a duplicate fails fast
  IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(caller || pg_catalog.chr(1) || key, 1862)) THEN
    PERFORM payments.raise('idempotency_key_in_flight');
  END IF;
  SELECT * INTO k FROM payments.idempotency_keys x WHERE x.caller = idempotent.caller AND x.key = idempotent.key;
  IF FOUND THEN
    IF k.expires_at > pg_catalog.now() THEN
      IF k.fingerprint <> fp THEN
        PERFORM payments.raise('idempotency_key_reused',
          pg_catalog.format('This idempotency key was used on %s for %s with other arguments.', k.created_at, k.function));
      END IF;
      RETURN k.response;
    END IF;
    DELETE FROM payments.idempotency_keys x WHERE x.caller = idempotent.caller AND x.key = idempotent.key;
  END IF;
  EXECUTE pg_catalog.format('SELECT %s($1)', fn::regproc) INTO response USING request;
  INSERT INTO payments.idempotency_keys (caller, key, function, fingerprint, response, expires_at)
  VALUES (caller, key, fn::text, fp, COALESCE(response, 'null'::jsonb),
          pg_catalog.now() + (SELECT s.idempotency_ttl FROM payments.settings s));
  RETURN response;
END
$$;

-- Housekeeping for pg_cron: expired idempotency keys and leases.
CREATE FUNCTION payments.maintain(max_rows integer DEFAULT 10000) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM payments.idempotency_keys k
   WHERE k.ctid = ANY (ARRAY(SELECT x.ctid FROM payments.idempotency_keys x
                              WHERE x.expires_at < pg_catalog.now() LIMIT GREATEST(max_rows, 1)));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN pg_catalog.jsonb_build_object('idempotency_keys_pruned', n);
END
$$;

CREATE FUNCTION payments.schedule_maintenance(schedule text DEFAULT '17 * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM payments.raise('invalid_argument', 'Maintenance runs through pg_cron, which is not installed.',
                           'CREATE EXTENSION pg_cron, or call payments.maintain() from your own scheduler.');
  END IF;
  RETURN cron.schedule('payments-maintain', schedule, 'SELECT payments.maintain()');
END
$fn$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs.
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'payments'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$priv$;
