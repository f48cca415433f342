-- startlijn/orders.sql: what is sold (issue 25): discount codes, orders and
-- their items, entitlements (one per unit sold), registrations (one
-- person's entry) and the gapless invoice numbers. The rules that hold for
-- every writer live here as constraints and triggers; the flows that write
-- them are in checkout.sql and cancellations.sql. See docs/checkout.md.
--
-- Money: minor units, prices include VAT (consumer prices in the
-- Netherlands do). Per item: total = quantity * (unit_price - unit_discount);
-- vat_amount = total * rate / (10000 + rate), rounded half up, per item
-- (startlijn.vat_of). An order's totals are the sums of its items
-- (orders_totals, checked at commit).

-------------------------------------------------------------------------------
-- Settings of checkout (platform-wide)
-------------------------------------------------------------------------------
CREATE TABLE startlijn.checkout_settings (
  singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- the provider account new payments are created on (payments.accounts)
  payment_account_id  uuid,
  -- the platform fee every new organisation gets as its fee rule "platform"
  platform_fee_basis_points integer NOT NULL DEFAULT 0 CHECK (platform_fee_basis_points BETWEEN 0 AND 10000),
  platform_fee_fixed  bigint NOT NULL DEFAULT 0 CHECK (platform_fee_fixed BETWEEN 0 AND 100000),
  -- how long a reservation holds its places before checkout
  reservation_ttl     interval NOT NULL DEFAULT '15 minutes'
                      CHECK (reservation_ttl BETWEEN '1 minute' AND '2 hours'),
  -- how long a checked-out order keeps them while the participant pays
  payment_ttl         interval NOT NULL DEFAULT '30 minutes'
                      CHECK (payment_ttl BETWEEN '1 minute' AND '1 day'),
  -- how long before the event an entry bought without a name must be named
  assign_before_start interval NOT NULL DEFAULT '1 day'
                      CHECK (assign_before_start BETWEEN '0' AND '90 days'),
  -- open reservations holding places one caller (a user, a guest's client
  -- address) may have per event at once
  max_open_reservations integer NOT NULL DEFAULT 5 CHECK (max_open_reservations BETWEEN 1 AND 100),
  -- guests without a client address (no X-Forwarded-For) share this many
  -- open reservations per event; 0 refuses them (checkout_limits.sql;
  -- behind a proxy that always sets the header, 0 refuses only requests
  -- that bypassed it)
  max_unaddressed_reservations integer NOT NULL DEFAULT 100
                      CHECK (max_unaddressed_reservations BETWEEN 0 AND 1000),
  -- wrong access and discount codes one caller may try per event and
  -- window before too_many_attempts (checkout_limits.sql)
  max_code_failures   integer NOT NULL DEFAULT 10 CHECK (max_code_failures BETWEEN 1 AND 1000),
  code_failure_window interval NOT NULL DEFAULT '10 minutes'
                      CHECK (code_failure_window BETWEEN '1 minute' AND '1 day'
                             AND pg_catalog.date_part('month', code_failure_window) = 0)
);
INSERT INTO startlijn.checkout_settings DEFAULT VALUES;
COMMENT ON TABLE startlijn.checkout_settings IS
  'checkout: the provider account of new payments, the platform fee rule, reservation and payment windows';
ALTER TABLE startlijn.checkout_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.checkout_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY no_direct_access ON startlijn.checkout_settings USING (false);
REVOKE ALL ON startlijn.checkout_settings FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('startlijn.checkout_settings', '');

-- VAT contained in a VAT-inclusive amount, rounded half up (docs/checkout.md)
CREATE FUNCTION startlijn.vat_of(amount bigint, rate integer) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.floor((amount::numeric * rate) / (10000 + rate) + 0.5)::bigint; END $$;

-------------------------------------------------------------------------------
-- Discount codes
-------------------------------------------------------------------------------
-- Per event: a fixed amount off or a percentage of each eligible entry
-- (ticket_type_ids NULL: every ticket type), valid between two moments,
-- with at most max_uses orders. The uses are a capacity pool of max_uses
-- units: a reservation holds one, payment confirms it, expiry gives it
-- back, exactly as the capacity engine does for places.
CREATE TABLE startlijn.discount_codes (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  code            text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{2,31}$'),
  kind            text NOT NULL CHECK (kind IN ('amount', 'percentage')),
  amount          bigint CHECK (amount BETWEEN 1 AND 100000000),
  percentage      integer CHECK (percentage BETWEEN 1 AND 100),
  ticket_type_ids uuid[] CHECK (pg_catalog.cardinality(ticket_type_ids) BETWEEN 1 AND 100),
  valid_from      timestamptz,
  valid_until     timestamptz,
  max_uses        integer CHECK (max_uses BETWEEN 1 AND 100000),
  pool_id         uuid,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT discount_codes_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT discount_codes_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT discount_codes_pool_fkey FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  CONSTRAINT discount_codes_kind CHECK ((kind = 'amount') = (amount IS NOT NULL) AND (kind = 'percentage') = (percentage IS NOT NULL)),
  CONSTRAINT discount_codes_uses CHECK ((max_uses IS NULL) = (pool_id IS NULL)),
  CONSTRAINT discount_codes_period CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from),
  CONSTRAINT discount_codes_moments CHECK (startlijn.valid_moment(valid_from) AND startlijn.valid_moment(valid_until))
);
CREATE UNIQUE INDEX discount_codes_code_key ON startlijn.discount_codes (event_id, code, organization_id) WHERE deleted_at IS NULL;

-------------------------------------------------------------------------------
-- Orders and their items
-------------------------------------------------------------------------------
CREATE SEQUENCE startlijn.order_numbers AS bigint START 100001;

-- reserved -> pending -> paid -> cancelled (every unit cancelled);
-- reserved -> expired (the reservation ran out before checkout);
-- pending -> failed (the payment failed, was canceled or expired);
-- expired/failed -> paid (a late payment for which places were found);
-- a late payment without places stays failed, is refunded in full and
-- says so in late_payment. orders_guard enforces the moves.
CREATE TABLE startlijn.orders (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  number          bigint NOT NULL DEFAULT pg_catalog.nextval('startlijn.order_numbers'),
  status          text NOT NULL DEFAULT 'reserved'
                  CHECK (status IN ('reserved', 'pending', 'paid', 'expired', 'failed', 'cancelled')),
  hold_id         uuid,                 -- the capacity hold (NULL: nothing limited in the order)
  expires_at      timestamptz NOT NULL, -- the reservation (then the payment window) ends
  -- the buyer: a signed-in user and/or a guest e-mail (set at checkout)
  buyer_user_id   uuid REFERENCES startlijn.profiles (id),
  buyer_email     text CHECK (buyer_email IS NULL OR startlijn.valid_email(buyer_email)),
  buyer_name      text CHECK (buyer_name IS NULL OR startlijn.valid_name(buyer_name)),
  -- sha256 of the order's access token (guests read and pay with it)
  token_hash      bytea NOT NULL CHECK (pg_catalog.length(token_hash) = 32),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  subtotal        bigint NOT NULL DEFAULT 0 CHECK (subtotal >= 0),   -- before discount
  discount_total  bigint NOT NULL DEFAULT 0 CHECK (discount_total >= 0),
  total           bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
  vat_total       bigint NOT NULL DEFAULT 0 CHECK (vat_total >= 0),
  discount_code_id uuid,
  payment_id      uuid,
  return_url      text CHECK (return_url ~ '^https://[^\s]+$' AND pg_catalog.length(return_url) <= 500),
  refunded        bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  late_payment    text CHECK (late_payment IN ('allocated', 'refunded')),
  -- the invoice: the organisation's next number of the year, at payment
  invoice_year    integer,
  invoice_seq     integer,
  invoice_number  text,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  checked_out_at  timestamptz,
  paid_at         timestamptz,
  closed_at       timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- retention (docs/retention.md, "Registrations and orders"): a fiscal
  -- record kept 7 years from the event's end; the buyer's personal columns
  -- are pseudonymised when the participant period passes (personal_cleared_at)
  buyer_subject   uuid,                 -- the buyer as data subject: buyer_user_id or startlijn.guest_subject(buyer_email)
  event_ends_at   timestamptz,          -- the anchor: the event's end (orders_retention keeps it)
  in_use_until    timestamptz,          -- a reserved, pending or paid order is in use until the event ends
  retention_result text NOT NULL DEFAULT 'participant' CHECK (retention_result = 'participant'),
  archive_status  text NOT NULL DEFAULT 'active'
                  CHECK (archive_status IN ('active', 'archived', 'retention_expired', 'anonymized')),
  retention_until timestamptz,
  anonymized_at   timestamptz,
  personal_cleared_at timestamptz,
  CONSTRAINT orders_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT orders_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT orders_hold_fkey FOREIGN KEY (organization_id, hold_id) REFERENCES capacity.holds (organization_id, id),
  CONSTRAINT orders_payment_fkey FOREIGN KEY (organization_id, payment_id) REFERENCES payments.payments (organization_id, id),
  CONSTRAINT orders_discount_code_fkey FOREIGN KEY (organization_id, discount_code_id)
    REFERENCES startlijn.discount_codes (organization_id, id),
  CONSTRAINT orders_total CHECK (total = subtotal - discount_total AND vat_total <= total),
  CONSTRAINT orders_refunded CHECK (refunded <= total),
  CONSTRAINT orders_buyer CHECK (status IN ('reserved', 'expired') OR buyer_email IS NOT NULL
                                 OR personal_cleared_at IS NOT NULL OR anonymized_at IS NOT NULL),
  CONSTRAINT orders_invoice CHECK ((invoice_seq IS NULL) = (invoice_number IS NULL)
                                   AND (invoice_seq IS NULL) = (invoice_year IS NULL)),
  CONSTRAINT orders_invoice_key UNIQUE (organization_id, invoice_year, invoice_seq),
  CONSTRAINT orders_number_key UNIQUE (number, organization_id),
  CONSTRAINT orders_paid CHECK (status NOT IN ('paid', 'cancelled') OR paid_at IS NOT NULL)
);
CREATE UNIQUE INDEX orders_hold_key ON startlijn.orders (hold_id, organization_id) WHERE hold_id IS NOT NULL;
CREATE UNIQUE INDEX orders_payment_key ON startlijn.orders (payment_id, organization_id) WHERE payment_id IS NOT NULL;
CREATE INDEX orders_event_idx ON startlijn.orders (event_id, created_at DESC);
CREATE INDEX orders_buyer_idx ON startlijn.orders (buyer_user_id) WHERE buyer_user_id IS NOT NULL;
CREATE INDEX orders_buyer_email_idx ON startlijn.orders (pg_catalog.lower(buyer_email)) WHERE buyer_user_id IS NULL;
CREATE INDEX orders_reserved_idx ON startlijn.orders (expires_at) WHERE status = 'reserved';
CREATE INDEX orders_buyer_subject_idx ON startlijn.orders (buyer_subject) WHERE buyer_subject IS NOT NULL;
COMMENT ON TABLE startlijn.orders IS
  'an order: reserved -> pending -> paid -> cancelled, reserved -> expired, pending -> failed (orders_guard)';

CREATE TABLE startlijn.order_items (
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL,
  order_id         uuid NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('entry', 'addon')),
  ticket_type_id   uuid,
  variant_id       uuid,
  name             text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 300),   -- as sold
  tier             text,                 -- the price tier that set unit_price
  item_id          uuid,                 -- the capacity item (NULL: unlimited)
  allocation_id    uuid,                 -- its allocation once paid
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  unit_price       bigint NOT NULL CHECK (unit_price BETWEEN 0 AND 100000000),
  unit_discount    bigint NOT NULL DEFAULT 0 CHECK (unit_discount >= 0 AND unit_discount <= unit_price),
  vat_rate         integer NOT NULL CHECK (vat_rate BETWEEN 0 AND 10000),
  total            bigint NOT NULL,
  vat_amount       bigint NOT NULL,
  position         integer NOT NULL CHECK (position BETWEEN 1 AND 100),
  texts            text[],               -- per unit, an add-on's free text (engraving)
  CONSTRAINT order_items_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT order_items_position_key UNIQUE (order_id, position, organization_id),
  CONSTRAINT order_items_order_fkey FOREIGN KEY (organization_id, order_id) REFERENCES startlijn.orders (organization_id, id),
  CONSTRAINT order_items_ticket_type_fkey FOREIGN KEY (organization_id, ticket_type_id)
    REFERENCES startlijn.ticket_types (organization_id, id),
  CONSTRAINT order_items_variant_fkey FOREIGN KEY (organization_id, variant_id)
    REFERENCES startlijn.addon_variants (organization_id, id),
  CONSTRAINT order_items_kind CHECK ((kind = 'entry') = (ticket_type_id IS NOT NULL)
                                     AND (kind = 'addon') = (variant_id IS NOT NULL)),
  CONSTRAINT order_items_total CHECK (total = quantity * (unit_price - unit_discount)),
  CONSTRAINT order_items_vat CHECK (vat_amount = startlijn.vat_of(total, vat_rate)),
  CONSTRAINT order_items_texts CHECK (texts IS NULL OR pg_catalog.cardinality(texts) = quantity)
);
CREATE INDEX order_items_order_idx ON startlijn.order_items (order_id);

-------------------------------------------------------------------------------
-- Registrations and entitlements
-------------------------------------------------------------------------------
-- One person's entry for one ticket type of one event. Guests are known by
-- their e-mail; api.claim_registrations links them to the account that
-- signs up with it. person_key (names and date of birth) makes "one entry
-- per person per event" a unique index over the entries whose ticket type
-- has one_entry_per_person (single_entry, copied from the ticket type at
-- checkout: a later change of the setting applies to later entries).
CREATE TABLE startlijn.registrations (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  ticket_type_id  uuid NOT NULL,
  order_id        uuid NOT NULL,
  user_id         uuid REFERENCES startlijn.profiles (id),
  email           text CHECK (email IS NULL OR startlijn.valid_email(email)),
  first_name      text CHECK (first_name IS NULL OR startlijn.valid_name(first_name)),
  last_name       text CHECK (last_name IS NULL OR startlijn.valid_name(last_name)),
  date_of_birth   date CHECK (date_of_birth >= DATE '1900-01-01'),
  gender          text CHECK (gender IN ('female', 'male', 'x')),
  phone           text CHECK (phone IS NULL OR startlijn.valid_phone(phone)),
  nationality     text CHECK (nationality IS NULL OR startlijn.valid_country(nationality)),
  club            text CHECK (club IS NULL OR startlijn.valid_name(club)),
  answers         jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(answers) = 'object'
                                                      AND pg_catalog.octet_length(answers::text) <= 65536),
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'paid', 'cancelled', 'transferred')),
  single_entry    boolean NOT NULL DEFAULT true,
  person_key      text,
  refunded        bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  cancelled_at    timestamptz,
  cancel_reason   text CHECK (pg_catalog.length(cancel_reason) <= 500),
  erased_at       timestamptz,          -- personal data removed (retention, erasure)
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- retention (docs/retention.md, "Registrations and orders"): personal
  -- data, anonymised the participant period after the event's end;
  -- registrations_guard keeps these columns
  subject_id      uuid,                 -- the participant as data subject (user, guest e-mail or the buyer)
  event_ends_at   timestamptz,          -- the anchor: the event's end
  in_use_until    timestamptz,          -- a pending or paid registration is in use until the event ends
  retention_result text NOT NULL DEFAULT 'participant' CHECK (retention_result = 'participant'),
  archive_status  text NOT NULL DEFAULT 'active'
                  CHECK (archive_status IN ('active', 'archived', 'retention_expired', 'anonymized')),
  retention_until timestamptz,
  anonymized_at   timestamptz,
  CONSTRAINT registrations_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT registrations_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT registrations_ticket_type_fkey FOREIGN KEY (organization_id, ticket_type_id)
    REFERENCES startlijn.ticket_types (organization_id, id),
  CONSTRAINT registrations_order_fkey FOREIGN KEY (organization_id, order_id) REFERENCES startlijn.orders (organization_id, id),
  CONSTRAINT registrations_person CHECK (erased_at IS NOT NULL OR (first_name IS NOT NULL AND last_name IS NOT NULL
                                          AND date_of_birth IS NOT NULL AND person_key IS NOT NULL)),
  CONSTRAINT registrations_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE UNIQUE INDEX registrations_one_per_person ON startlijn.registrations (event_id, person_key, organization_id)
  WHERE single_entry AND status IN ('pending', 'paid');
CREATE INDEX registrations_event_idx ON startlijn.registrations (event_id, created_at);
CREATE INDEX registrations_order_idx ON startlijn.registrations (order_id);
CREATE INDEX registrations_user_idx ON startlijn.registrations (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX registrations_email_idx ON startlijn.registrations (pg_catalog.lower(email)) WHERE user_id IS NULL;
CREATE INDEX registrations_subject_idx ON startlijn.registrations (subject_id) WHERE subject_id IS NOT NULL;

-- One per unit sold. An entry entitlement is named (registration_id) at
-- checkout or later, before assign_by; when it is paid and named it gets
-- its signed code (startlijn_tokens, scope event:<event id>, payload the
-- entitlement id).
CREATE TABLE startlijn.entitlements (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  order_id        uuid NOT NULL,
  order_item_id   uuid NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('entry', 'addon')),
  unit            integer NOT NULL CHECK (unit BETWEEN 1 AND 100),
  registration_id uuid,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'valid', 'void', 'cancelled', 'transferred')),
  assign_by       timestamptz,
  code            text,
  refunded        bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT entitlements_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT entitlements_unit_key UNIQUE (order_item_id, unit, organization_id),
  CONSTRAINT entitlements_order_fkey FOREIGN KEY (organization_id, order_id) REFERENCES startlijn.orders (organization_id, id),
  CONSTRAINT entitlements_item_fkey FOREIGN KEY (organization_id, order_item_id)
    REFERENCES startlijn.order_items (organization_id, id),
  CONSTRAINT entitlements_registration_fkey FOREIGN KEY (organization_id, registration_id)
    REFERENCES startlijn.registrations (organization_id, id),
  CONSTRAINT entitlements_named CHECK (kind = 'entry' OR registration_id IS NULL),
  CONSTRAINT entitlements_code CHECK (code IS NULL OR (status = 'valid' AND registration_id IS NOT NULL))
);
CREATE UNIQUE INDEX entitlements_registration_key ON startlijn.entitlements (registration_id, organization_id) WHERE registration_id IS NOT NULL;
CREATE INDEX entitlements_order_idx ON startlijn.entitlements (order_id);

-- The organisation's invoice numbers per year: gapless, because the
-- counter moves in the paying transaction (a rollback takes it back).
CREATE TABLE startlijn.invoice_counters (
  organization_id uuid NOT NULL REFERENCES startlijn.organizations (id),
  year            integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
  last_number     integer NOT NULL CHECK (last_number >= 1),
  CONSTRAINT invoice_counters_pkey PRIMARY KEY (organization_id, year)
);

CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.discount_codes
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.orders
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.registrations
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.entitlements
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();

-------------------------------------------------------------------------------
-- Guards: the order status machine, sold prices never change, answers are
-- valid for the event's questions, order totals are the sum of their items
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.orders_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NEW.organization_id <> OLD.organization_id OR NEW.event_id <> OLD.event_id OR NEW.id <> OLD.id
     OR NEW.number <> OLD.number OR NEW.currency <> OLD.currency OR NEW.token_hash <> OLD.token_hash
     OR (OLD.invoice_seq IS NOT NULL AND NEW.invoice_seq IS DISTINCT FROM OLD.invoice_seq)
     OR (OLD.payment_id IS NOT NULL AND NEW.payment_id IS DISTINCT FROM OLD.payment_id) THEN
    PERFORM startlijn.raise('record_read_only', 'An order''s identity, currency, invoice and payment never change.');
  END IF;
  IF OLD.status <> 'reserved' AND (NEW.subtotal <> OLD.subtotal OR NEW.discount_total <> OLD.discount_total
                                   OR NEW.total <> OLD.total OR NEW.vat_total <> OLD.vat_total) THEN
    PERFORM startlijn.raise('record_read_only', 'The amounts of a checked-out order never change.');
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'reserved' AND NEW.status IN ('pending', 'expired', 'paid'))
    OR (OLD.status = 'pending' AND NEW.status IN ('paid', 'failed'))
    OR (OLD.status IN ('expired', 'failed') AND NEW.status = 'paid')
    OR (OLD.status = 'paid' AND NEW.status = 'cancelled')) THEN
    PERFORM startlijn.raise('invalid_transition',
      pg_catalog.format('An order cannot go from %s to %s.', OLD.status, NEW.status));
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER orders_guard BEFORE UPDATE ON startlijn.orders
  FOR EACH ROW EXECUTE FUNCTION startlijn.orders_guard();

CREATE FUNCTION startlijn.order_items_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM startlijn.raise('record_read_only', 'Order items are never deleted.');
  END IF;
  IF (NEW.quantity, NEW.unit_price, NEW.unit_discount, NEW.vat_rate, NEW.total, NEW.vat_amount,
      NEW.order_id, NEW.ticket_type_id, NEW.variant_id, NEW.item_id)
     IS DISTINCT FROM
     (OLD.quantity, OLD.unit_price, OLD.unit_discount, OLD.vat_rate, OLD.total, OLD.vat_amount,
      OLD.order_id, OLD.ticket_type_id, OLD.variant_id, OLD.item_id) THEN
    PERFORM startlijn.raise('record_read_only', 'What was sold and its price never change.');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER order_items_guard BEFORE UPDATE OR DELETE ON startlijn.order_items
  FOR EACH ROW EXECUTE FUNCTION startlijn.order_items_guard();

-- at commit: each touched order's totals are the sums of its items
CREATE FUNCTION startlijn.check_order_totals(order_id uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  s record;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = check_order_totals.order_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT COALESCE(pg_catalog.sum(i.quantity * i.unit_price), 0) AS subtotal,
         COALESCE(pg_catalog.sum(i.quantity * i.unit_discount), 0) AS discount,
         COALESCE(pg_catalog.sum(i.total), 0) AS total,
         COALESCE(pg_catalog.sum(i.vat_amount), 0) AS vat
    INTO s FROM startlijn.order_items i WHERE i.order_id = o.id;
  IF (s.subtotal, s.discount, s.total, s.vat) IS DISTINCT FROM (o.subtotal, o.discount_total, o.total, o.vat_total) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_totals',
      MESSAGE = 'order totals differ from the sum of its items',
      DETAIL = pg_catalog.format('Order %s: items %s/%s/%s/%s, order %s/%s/%s/%s.', o.id,
                                 s.subtotal, s.discount, s.total, s.vat,
                                 o.subtotal, o.discount_total, o.total, o.vat_total);
  END IF;
END
$$;

CREATE FUNCTION startlijn.orders_totals_trigger() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_TABLE_NAME = 'orders' THEN
    PERFORM startlijn.check_order_totals(NEW.id);
  ELSE
    PERFORM startlijn.check_order_totals(NEW.order_id);
  END IF;
  RETURN NULL;
END
$$;
-- (an update that sets none of the amounts cannot change them: the status
-- changes of checkout, payment and cancellation skip the check)
CREATE CONSTRAINT TRIGGER orders_totals AFTER INSERT OR UPDATE OF subtotal, discount_total, total, vat_total ON startlijn.orders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION startlijn.orders_totals_trigger();
CREATE CONSTRAINT TRIGGER orders_totals AFTER INSERT ON startlijn.order_items
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION startlijn.orders_totals_trigger();

-- The data subject of a guest: derived from the e-mail address (never the
-- address itself): the first 16 bytes of an HMAC-SHA-256 of the normalised
-- address under the platform's subject key, as a version 8 uuid. The same
-- guest is the same subject in every order and registration, and becomes
-- the user once they claim them; without the key nobody can tell whose
-- address a subject id is by hashing guesses.
CREATE FUNCTION startlijn.guest_subject(email text) RETURNS uuid
  LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN startlijn.keyed_subject((SELECT s.subject_key FROM startlijn.platform_settings s),
                                 pg_catalog.lower(pg_catalog.btrim(email)));
END
$$;

-- Is the answer to this question personal data? The question's "personal"
-- field, or by its type: text, long_text, date, email, phone and
-- emergency_contact are (docs/retention.md).
CREATE FUNCTION startlijn.question_is_personal(question jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE((question OPERATOR(pg_catalog.->>) 'personal')::boolean,
                  (question OPERATOR(pg_catalog.->>) 'type') IN ('text', 'long_text', 'date', 'email', 'phone', 'emergency_contact'))
$$;

-- The answers that are not personal data (kept when a participant is
-- anonymised): answers to questions whose question_is_personal is false;
-- an answer without a question (removed since) goes too.
CREATE FUNCTION startlijn.impersonal_answers(questions jsonb, answers jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(pg_catalog.jsonb_object_agg(a.key, a.value), '{}'::jsonb)
    FROM pg_catalog.jsonb_each(COALESCE(answers, '{}'::jsonb)) a
   WHERE EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(COALESCE(questions, '[]'::jsonb)) q
                  WHERE (q OPERATOR(pg_catalog.->>) 'key') OPERATOR(pg_catalog.=) a.key
                    AND NOT startlijn.question_is_personal(q))
$$;

-- answers are valid for the event's questions as they apply to the entry's
-- ticket type (the C validator), for every writer; the retention columns (subject, anchor, in use); and when
-- startlijn_retention anonymises the row (its period passed, or an erasure)
-- the participant is marked erased and only the impersonal answers stay
CREATE FUNCTION startlijn.registrations_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  q jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.organization_id <> OLD.organization_id OR NEW.event_id <> OLD.event_id
                           OR NEW.order_id <> OLD.order_id) THEN
    PERFORM startlijn.raise('record_read_only', 'A registration''s event and order never change.');
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT e.ends_at INTO NEW.event_ends_at FROM startlijn.events e WHERE e.id = NEW.event_id;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.anonymized_at IS NOT NULL AND OLD.anonymized_at IS NULL THEN
    NEW.erased_at := COALESCE(NEW.erased_at, pg_catalog.now());
    SELECT e.questions INTO q FROM startlijn.events e WHERE e.id = NEW.event_id;
    NEW.answers := startlijn.impersonal_answers(q, OLD.answers);
  END IF;
  IF NEW.erased_at IS NULL THEN
    -- the participant's account, else their e-mail, else the buyer (a
    -- parent naming a child without an e-mail of its own)
    NEW.subject_id := COALESCE(NEW.user_id, startlijn.guest_subject(NEW.email),
                               (SELECT COALESCE(o.buyer_user_id, startlijn.guest_subject(o.buyer_email))
                                  FROM startlijn.orders o WHERE o.id = NEW.order_id));
  END IF;
  NEW.in_use_until := CASE WHEN NEW.status IN ('pending', 'paid') AND NEW.erased_at IS NULL THEN NEW.event_ends_at END;
  IF NEW.erased_at IS NULL AND (TG_OP = 'INSERT' OR NEW.answers IS DISTINCT FROM OLD.answers
                                OR NEW.ticket_type_id <> OLD.ticket_type_id) THEN
    SELECT e.questions INTO q FROM startlijn.events e WHERE e.id = NEW.event_id;
    PERFORM startlijn.validate_answers(q, NEW.answers, NEW.ticket_type_id);
  END IF;
  NEW.person_key := CASE WHEN NEW.erased_at IS NULL THEN
    pg_catalog.lower(pg_catalog.btrim(NEW.first_name)) OPERATOR(pg_catalog.||) pg_catalog.chr(31)
    OPERATOR(pg_catalog.||) pg_catalog.lower(pg_catalog.btrim(NEW.last_name)) OPERATOR(pg_catalog.||)
    pg_catalog.chr(31) OPERATOR(pg_catalog.||) NEW.date_of_birth::text END;
  RETURN NEW;
END
$$;
CREATE TRIGGER registrations_guard BEFORE INSERT OR UPDATE ON startlijn.registrations
  FOR EACH ROW EXECUTE FUNCTION startlijn.registrations_guard();

-- the retention columns of an order: its anchor (the event's end) and the
-- buyer as data subject; fires before retention_guard (name order), which
-- computes retention_until from the anchor
CREATE FUNCTION startlijn.orders_retention() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT e.ends_at INTO NEW.event_ends_at FROM startlijn.events e WHERE e.id = NEW.event_id;
  END IF;
  IF NEW.personal_cleared_at IS NULL AND NEW.anonymized_at IS NULL THEN
    NEW.buyer_subject := COALESCE(NEW.buyer_user_id, startlijn.guest_subject(NEW.buyer_email));
  END IF;
  NEW.in_use_until := CASE WHEN NEW.status IN ('reserved', 'pending', 'paid') AND NEW.personal_cleared_at IS NULL
                           AND NEW.anonymized_at IS NULL THEN NEW.event_ends_at END;
  RETURN NEW;
END
$$;
CREATE TRIGGER orders_retention BEFORE INSERT OR UPDATE ON startlijn.orders
  FOR EACH ROW EXECUTE FUNCTION startlijn.orders_retention();

-- when the buyer's personal columns go (the participant period passed, an
-- erasure, or the end of the fiscal period), the add-ons' free texts
-- (an engraved name) go with them; what was sold and its price stay
CREATE FUNCTION startlijn.orders_personal_cleared() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE startlijn.order_items i
     SET texts = pg_catalog.array_fill('[verwijderd]'::text, ARRAY[i.quantity])
   WHERE i.order_id = NEW.id AND i.texts IS NOT NULL;
  RETURN NULL;
END
$$;
CREATE TRIGGER orders_personal_cleared AFTER UPDATE OF personal_cleared_at, anonymized_at ON startlijn.orders
  FOR EACH ROW WHEN ((OLD.personal_cleared_at IS NULL AND NEW.personal_cleared_at IS NOT NULL)
                     OR (OLD.anonymized_at IS NULL AND NEW.anonymized_at IS NOT NULL))
  EXECUTE FUNCTION startlijn.orders_personal_cleared();

-------------------------------------------------------------------------------
-- Row level security: members of the organisation read; buyers and
-- participants read their own through the RPCs (SECURITY DEFINER); nobody
-- writes directly
-------------------------------------------------------------------------------
DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['discount_codes', 'orders', 'order_items', 'registrations', 'entitlements',
                           'invoice_counters'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE startlijn.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE startlijn.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON startlijn.%I FROM PUBLIC', t);
    IF t <> 'invoice_counters' THEN
      EXECUTE pg_catalog.format(
        'CREATE POLICY %I ON startlijn.%I FOR SELECT TO authenticated USING (organization_id = ANY '
        '((SELECT startlijn.my_organization_ids())::uuid[]) OR (SELECT startlijn.is_superadmin()))',
        t || '_select_members', t);
      EXECUTE pg_catalog.format('CREATE POLICY %I ON startlijn.%I FOR SELECT TO service_role USING (true)',
                                t || '_service', t);
      EXECUTE pg_catalog.format('GRANT SELECT ON startlijn.%I TO authenticated, service_role', t);
    ELSE
      EXECUTE 'CREATE POLICY no_direct_access ON startlijn.invoice_counters USING (false)';
    END IF;
  END LOOP;
END
$rls$;
REVOKE ALL ON SEQUENCE startlijn.order_numbers FROM PUBLIC;
