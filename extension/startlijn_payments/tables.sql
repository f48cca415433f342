-- startlijn_payments: payments from provider webhooks, refunds,
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
--
-- The install script extension/startlijn_payments--<version>.sql is built by the Makefile
-- from extension/startlijn_payments/*.sql in the order listed there; this file comes first.
-- tables.sql: preconditions, the tables, their row level security and
-- what pg_dump keeps.

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
                     CHECK (idempotency_ttl >= interval '24 hours' AND idempotency_ttl <= interval '30 days'),
  -- the relay (payments.claim_creations, payments.claim_refunds): how long a
  -- claimed item is leased to one relay, and how old a payment may be and
  -- still be created at the provider (below the 24 hours Stripe keeps an
  -- idempotency key, so a retry can never make a second provider payment)
  relay_lease        interval NOT NULL DEFAULT '2 minutes'
                     CHECK (relay_lease >= interval '30 seconds' AND relay_lease <= interval '1 hour'),
  relay_max_age      interval NOT NULL DEFAULT '23 hours'
                     CHECK (relay_max_age >= interval '1 hour' AND relay_max_age <= interval '23 hours')
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
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  name            text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  account         text NOT NULL CHECK (account = 'platform_fee_revenue' OR account ~ '^fee:[a-z][a-z0-9_]{0,39}$'),
  basis_points    integer NOT NULL DEFAULT 0 CHECK (basis_points BETWEEN 0 AND 10000),
  fixed           bigint NOT NULL DEFAULT 0 CHECK (fixed BETWEEN 0 AND 1000000000),
  position        integer NOT NULL DEFAULT 1 CHECK (position BETWEEN 1 AND 100),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, name),
  PRIMARY KEY (id, organization_id)
);

CREATE TABLE payments.payments (
  id                uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
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
  -- what the participant's app needs to pay, recorded by the relay that
  -- created the payment at the provider (payments.set_provider_ref): Mollie's
  -- hosted checkout (_links.checkout.href) or the client secret of a Stripe
  -- PaymentIntent (pi_..._secret_...); set once, never changed
  checkout_url      text CHECK (pg_catalog.octet_length(checkout_url) <= 2048
                                AND checkout_url ~ '^https://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[][A-Za-z0-9._~:/?#@!$&''()*+,;=%-]*)?$'),
  client_secret     text CHECK (client_secret ~ '^pi_[A-Za-z0-9]{1,200}_secret_[A-Za-z0-9]{1,200}$'),
  -- the relay's lease while it creates the payment at the provider
  relay_leased_until timestamptz,
  relay_attempts    integer NOT NULL DEFAULT 0 CHECK (relay_attempts >= 0),
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  status_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  paid_at           timestamptz,
  FOREIGN KEY (account_id, provider) REFERENCES payments.accounts (id, provider),
  -- a checkout URL or client secret belongs to the provider payment: only with its reference
  CONSTRAINT pay_details_need_ref CHECK ((checkout_url IS NULL AND client_secret IS NULL) OR provider_ref IS NOT NULL),
  CONSTRAINT client_secret_of_ref CHECK (client_secret IS NULL OR (provider = 'stripe'
                                          AND pg_catalog.starts_with(client_secret, provider_ref || '_secret_'))),
  UNIQUE (provider, provider_ref, organization_id),
  PRIMARY KEY (id, organization_id),
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
-- the relay's queue: payments to create at the provider
CREATE INDEX payments_to_create ON payments.payments (created_at)
  WHERE status = 'created' AND provider_ref IS NULL;

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
  PRIMARY KEY (provider, event_id, organization_id),
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
  payment_id    uuid,
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
  payment_id    uuid PRIMARY KEY,
  requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deliveries    integer NOT NULL DEFAULT 1,
  leased_until  timestamptz
);

CREATE TABLE payments.refunds (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  payment_id      uuid NOT NULL,
  provider        text NOT NULL,
  provider_ref    text CHECK (provider_ref ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$'),
  amount          bigint NOT NULL CHECK (amount > 0),
  status          text NOT NULL CHECK (status IN ('requested', 'pending', 'succeeded', 'failed', 'canceled')),
  reason          text CHECK (pg_catalog.length(reason) <= 500),
  requested_by    text,
  -- the relay's lease while it sends a requested refund to the provider
  leased_until    timestamptz,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (provider, provider_ref, organization_id),
  PRIMARY KEY (id, organization_id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);
CREATE INDEX refunds_payment ON payments.refunds (payment_id);
-- the relay's queue: requested refunds to send to the provider
CREATE INDEX refunds_to_send ON payments.refunds (created_at)
  WHERE status = 'requested' AND provider_ref IS NULL;

CREATE TABLE payments.chargebacks (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  payment_id      uuid NOT NULL,
  provider        text NOT NULL,
  provider_ref    text NOT NULL CHECK (provider_ref ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$'),
  amount          bigint NOT NULL CHECK (amount > 0),
  status          text NOT NULL CHECK (status IN ('received', 'reversed', 'lost')),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (provider, provider_ref, organization_id),
  PRIMARY KEY (id, organization_id),
  FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id)
);
CREATE INDEX chargebacks_payment ON payments.chargebacks (payment_id);

-- The ledger: journal entries of postings (positive = debit, negative =
-- credit), balanced per entry and currency (checked at commit), append-only.
CREATE TABLE payments.journal (
  id              bigint GENERATED ALWAYS AS IDENTITY,
  organization_id uuid NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('sale', 'sale_reversed', 'payment_received',
                                               'refund_reserved', 'refund_released', 'refund_paid',
                                               'chargeback_received', 'chargeback_reversed', 'chargeback_lost')),
  payment_id      uuid NOT NULL,
  refund_id       uuid,
  chargeback_id   uuid,
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (id, organization_id),
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
  PRIMARY KEY (journal_id, line, organization_id),
  FOREIGN KEY (organization_id, journal_id) REFERENCES payments.journal (organization_id, id)
);
CREATE INDEX postings_account ON payments.postings (organization_id, account, currency);

-- Idempotency keys of mutating RPCs: (caller, key) unique, the request's
-- fingerprint and the stored response. key is the SHA-256 of the key sent
-- ('sha256:' and 64 hex digits, payments.idempotent), never the key itself.
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
-- and every other table but the throttling state: a dump keeps payments,
-- events, deliveries, refunds, chargebacks, fee rules, the ledger and the
-- idempotency keys (a replay after a restore still returns the stored
-- response). See docs/operations.md, "Backup and restore".
SELECT pg_catalog.pg_extension_config_dump('payments.fee_rules', '');
SELECT pg_catalog.pg_extension_config_dump('payments.payments', '');
SELECT pg_catalog.pg_extension_config_dump('payments.events', '');
SELECT pg_catalog.pg_extension_config_dump('payments.deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('payments.deliveries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('payments.fetch_queue', '');
SELECT pg_catalog.pg_extension_config_dump('payments.refunds', '');
SELECT pg_catalog.pg_extension_config_dump('payments.chargebacks', '');
SELECT pg_catalog.pg_extension_config_dump('payments.journal', '');
SELECT pg_catalog.pg_extension_config_dump('payments.journal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('payments.postings', '');
SELECT pg_catalog.pg_extension_config_dump('payments.idempotency_keys', '');
