-- startlijn/checkout.sql: reserve, checkout, paid, failed and late (issue 25).
--
--   api.reserve   holds the places (and a discount code's use) for the
--                 lines, prices them from the catalog and makes a
--                 'reserved' order; a guest gets the order's token
--   api.checkout  names the buyer and participants (answers validated),
--                 creates the entitlements, registrations and the payment
--                 in startlijn_payments; a free order is paid at once
--   paid          the payments engine's status change of the order's
--                 payment (payments.listeners), in the same
--                 transaction, exactly once: the hold is confirmed,
--                 entitlements become valid and get their codes,
--                 registrations are paid, the invoice number is assigned
--   failed        a failed, canceled or expired payment releases the hold
--   late          a payment after the hold ran out gets new places when
--                 there are some, else a full refund
-- See docs/checkout.md (sequence diagrams) and docs/api.md (Checkout).

-------------------------------------------------------------------------------
-- Small helpers
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.new_order_token() RETURNS text
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.encode(startlijn.random_salt() OPERATOR(pg_catalog.||) startlijn.random_salt(), 'hex'); END $$;

CREATE FUNCTION startlijn.order_token_hash(token text) RETURNS bytea
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8')); END $$;

-- The code scope of an event's tickets (startlijn_tokens)
CREATE FUNCTION startlijn.event_scope(event_id uuid) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN 'event:' OPERATOR(pg_catalog.||) event_id::text; END $$;

-- The signed-in caller (profile created on first use), or NULL for anon.
CREATE FUNCTION startlijn.buyer_uid() RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF auth.role() IS NULL OR auth.role() = 'anon' THEN
    RETURN NULL;
  END IF;
  IF auth.role() = 'service_role' THEN
    PERFORM startlijn.raise('insufficient_role', 'Orders are placed by participants and guests, not by the service role.');
  END IF;
  RETURN startlijn.require_user();
END
$$;

-- The business code of a caught startlijn error ('sold_out', ...), from its detail.
CREATE FUNCTION startlijn.error_code_of(detail text) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT pg_catalog.substring(detail, '^([a-z_]+):') $$;

-- The order with this id when the caller may act on it as its buyer: the
-- signed-in buyer, or anyone with the order's token. order_not_found
-- otherwise (no existence leak). Locks the order when lock is true.
CREATE FUNCTION startlijn.buyer_order(order_id uuid, order_token text, lock boolean) RETURNS startlijn.orders
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  uid uuid := auth.uid();
BEGIN
  IF order_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument order_id is required.');
  END IF;
  IF order_token IS NOT NULL AND pg_catalog.length(order_token) > 200 THEN
    PERFORM startlijn.raise('order_not_found');
  END IF;
  IF lock THEN
    SELECT * INTO o FROM startlijn.orders x WHERE x.id = buyer_order.order_id FOR UPDATE;
  ELSE
    SELECT * INTO o FROM startlijn.orders x WHERE x.id = buyer_order.order_id;
  END IF;
  -- (IS TRUE: a guest order's buyer_user_id is NULL, and NOT NULL is no refusal)
  IF o.id IS NULL
     OR NOT ((uid IS NOT NULL AND o.buyer_user_id IS NOT DISTINCT FROM uid)
             OR (order_token IS NOT NULL
                 AND startlijn.bytes_equal(o.token_hash, startlijn.order_token_hash(order_token)) IS TRUE)) THEN
    PERFORM startlijn.raise('order_not_found', NULL,
      'Guests pass the order_token that api.reserve returned; signed-in buyers sign in.');
  END IF;
  RETURN o;
END
$$;

-------------------------------------------------------------------------------
-- JSON of an order (the buyer's view; organisers see the same)
-------------------------------------------------------------------------------
-- PL/pgSQL, not SQL: a SECURITY DEFINER SQL function is never inlined and
-- plans its query again on every call (2 ms for these), where PL/pgSQL keeps
-- the plan for the session (make bench part checkout, docs/checkout.md).
CREATE FUNCTION startlijn.registration_json(r startlijn.registrations) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN pg_catalog.jsonb_build_object(
    'registration_id', r.id, 'event_id', r.event_id, 'ticket_type_id', r.ticket_type_id, 'order_id', r.order_id,
    'status', r.status, 'user_id', r.user_id, 'email', r.email, 'first_name', r.first_name,
    'last_name', r.last_name, 'date_of_birth', r.date_of_birth, 'gender', r.gender, 'phone', r.phone,
    'nationality', r.nationality, 'club', r.club, 'answers', r.answers, 'refunded', r.refunded,
    'cancelled_at', r.cancelled_at, 'cancel_reason', r.cancel_reason, 'erased', r.erased_at IS NOT NULL,
    'subject', r.subject_id,
    'created_at', r.created_at);
END
$$;

CREATE FUNCTION startlijn.order_json(o startlijn.orders) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN pg_catalog.jsonb_build_object(
    'order_id', o.id, 'number', o.number, 'organization_id', o.organization_id,
    'event', (SELECT pg_catalog.jsonb_build_object('event_id', e.id, 'name', e.name, 'slug', e.slug,
                                                   'starts_at', e.starts_at, 'status', e.status)
                FROM startlijn.events e WHERE e.id = o.event_id),
    'status', o.status, 'hold_id', o.hold_id, 'expires_at', o.expires_at,
    'buyer', pg_catalog.jsonb_build_object('user_id', o.buyer_user_id, 'email', o.buyer_email, 'name', o.buyer_name),
    'currency', o.currency, 'subtotal', o.subtotal, 'discount_total', o.discount_total, 'total', o.total,
    'vat_total', o.vat_total, 'refunded', o.refunded, 'late_payment', o.late_payment,
    'discount_code', (SELECT d.code FROM startlijn.discount_codes d WHERE d.id = o.discount_code_id),
    'invoice_number', o.invoice_number,
    'items', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'item_id', i.id, 'kind', i.kind, 'ticket_type_id', i.ticket_type_id, 'variant_id', i.variant_id,
                 'name', i.name, 'tier', i.tier, 'quantity', i.quantity, 'unit_price', i.unit_price,
                 'unit_discount', i.unit_discount, 'vat_rate', i.vat_rate, 'total', i.total,
                 'vat_amount', i.vat_amount, 'texts', i.texts) ORDER BY i.position)
                 FROM startlijn.order_items i WHERE i.order_id = o.id), '[]'),
    'entitlements', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'entitlement_id', n.id, 'kind', n.kind, 'item_id', n.order_item_id, 'unit', n.unit,
                 'status', n.status, 'assign_by', n.assign_by, 'code', n.code, 'refunded', n.refunded,
                 'registration', (SELECT startlijn.registration_json(r) FROM startlijn.registrations r
                                   WHERE r.id = n.registration_id))
                 ORDER BY i.position, n.unit)
                 FROM startlijn.entitlements n JOIN startlijn.order_items i ON i.id = n.order_item_id
                WHERE n.order_id = o.id), '[]'),
    'payment', (SELECT pg_catalog.jsonb_build_object(
                  'payment_id', p.id, 'status', p.status, 'amount', p.amount, 'currency', p.currency,
                  'provider', p.provider, 'provider_ref', p.provider_ref,
                  'checkout_url', p.checkout_url, 'client_secret', p.client_secret,
                  'refunded', p.refunded, 'charged_back', p.charged_back, 'paid_at', p.paid_at)
                  FROM payments.payments p WHERE p.id = o.payment_id),
    'created_at', o.created_at, 'checked_out_at', o.checked_out_at, 'paid_at', o.paid_at,
    'closed_at', o.closed_at);
END
$$;

-------------------------------------------------------------------------------
-- Reserve
-------------------------------------------------------------------------------
-- The capacity lines and prices of the requested lines, checked against
-- the catalog. lines: [{"ticket_type_id": uuid, "quantity": n} |
-- {"variant_id": uuid, "quantity": n, "texts": [..]}]
CREATE FUNCTION startlijn.price_lines(e startlijn.events, lines jsonb, access_code text, d startlijn.discount_codes,
                                      OUT items jsonb, OUT caplines jsonb, OUT entries integer, OUT currency text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  l jsonb;
  t startlijn.ticket_types;
  v startlijn.addon_variants;
  a startlijn.addons;
  q integer;
  n integer := 0;
  seen uuid[] := '{}';
  pr record;
  disc bigint;
  key text;
  addon_units jsonb := '{}';
  txt text;
  texts text[];
  applies boolean := false;
BEGIN
  items := '[]';
  caplines := '[]';
  entries := 0;
  IF lines IS NULL OR pg_catalog.jsonb_typeof(lines) <> 'array'
     OR pg_catalog.jsonb_array_length(lines) NOT BETWEEN 1 AND 20 THEN
    PERFORM startlijn.raise('invalid_lines', 'lines is an array of 1 to 20 objects.');
  END IF;
  FOR l IN SELECT x FROM pg_catalog.jsonb_array_elements(lines) x LOOP
    n := n + 1;
    key := CASE WHEN pg_catalog.jsonb_typeof(l) = 'object' AND l ? 'ticket_type_id' THEN 'ticket_type_id' ELSE 'variant_id' END;
    IF pg_catalog.jsonb_typeof(l) <> 'object'
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(l) k WHERE k NOT IN ('ticket_type_id', 'variant_id', 'quantity', 'texts'))
       OR (l ? 'ticket_type_id') = (l ? 'variant_id')
       OR pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) key) <> 'string'
       OR (l OPERATOR(pg_catalog.->>) key) !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
      PERFORM startlijn.raise('invalid_lines', pg_catalog.format(
        'Line %s: an object with a ticket_type_id or a variant_id (a uuid), a quantity and, for a text add-on, texts.', n));
    END IF;
    IF pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) 'quantity') IS DISTINCT FROM 'number'
       OR (l OPERATOR(pg_catalog.->>) 'quantity') !~ '^[0-9]{1,3}$'
       OR (l OPERATOR(pg_catalog.->>) 'quantity')::integer NOT BETWEEN 1 AND 100 THEN
      PERFORM startlijn.raise('invalid_quantity', pg_catalog.format('Line %s: the quantity is a whole number from 1 to 100.', n));
    END IF;
    q := (l OPERATOR(pg_catalog.->>) 'quantity')::integer;
    IF l ? 'ticket_type_id' THEN
      SELECT * INTO t FROM startlijn.ticket_types x
       WHERE x.id = (l OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid AND x.event_id = e.id AND x.deleted_at IS NULL;
      IF t.id IS NULL OR (t.visibility = 'hidden' AND NOT (access_code IS NOT NULL AND pg_catalog.length(access_code) <= 64
                          AND startlijn.bytes_equal(t.access_code_hash, startlijn.access_code_hash(t.access_code_salt, access_code)))) THEN
        IF t.id IS NOT NULL AND access_code IS NOT NULL THEN
          PERFORM startlijn.code_guess_failed(e.id);          -- a wrong access code (checkout_limits.sql)
        END IF;
        PERFORM startlijn.raise('ticket_type_not_found', pg_catalog.format('Line %s names no ticket type of this event.', n),
          'A hidden ticket type needs its access code.');
      END IF;
      IF t.id = ANY (seen) THEN
        PERFORM startlijn.raise('duplicate_line', pg_catalog.format('Line %s repeats a ticket type.', n));
      END IF;
      IF COALESCE(t.sales_start, '-infinity') > pg_catalog.now() OR COALESCE(t.sales_end, 'infinity') <= pg_catalog.now() THEN
        PERFORM startlijn.raise('not_on_sale', pg_catalog.format('%s is on sale from %s until %s.', t.name,
          COALESCE(t.sales_start::text, 'now'), COALESCE(t.sales_end::text, 'the registration closes')));
      END IF;
      IF q NOT BETWEEN t.min_per_order AND t.max_per_order THEN
        PERFORM startlijn.raise('invalid_quantity', pg_catalog.format('%s: %s to %s per order.', t.name, t.min_per_order, t.max_per_order));
      END IF;
      IF l ? 'texts' THEN
        PERFORM startlijn.raise('invalid_lines', pg_catalog.format('Line %s: only a text add-on takes texts.', n));
      END IF;
      seen := seen OPERATOR(pg_catalog.||) t.id;
      currency := COALESCE(currency, t.currency);
      IF currency <> t.currency THEN
        PERFORM startlijn.raise('invalid_lines', 'Every line of an order is in the same currency.');
      END IF;
      pr := startlijn.current_price(t);
      disc := 0;
      IF d.id IS NOT NULL AND (d.ticket_type_ids IS NULL OR t.id = ANY (d.ticket_type_ids)) THEN
        applies := true;
        disc := CASE d.kind WHEN 'amount' THEN LEAST(d.amount, pr.price)
                            ELSE pg_catalog.floor(pr.price::numeric * d.percentage / 100 + 0.5)::bigint END;
      END IF;
      entries := entries + q;
      items := items OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
        'kind', 'entry', 'ticket_type_id', t.id, 'name', t.name, 'tier', pr.tier, 'item_id', t.item_id,
        'quantity', q, 'unit_price', pr.price, 'unit_discount', disc, 'vat_rate', t.vat_rate);
      caplines := caplines OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('item_id', t.item_id, 'quantity', q);
    ELSE
      SELECT * INTO v FROM startlijn.addon_variants x
       WHERE x.id = (l OPERATOR(pg_catalog.->>) 'variant_id')::uuid AND x.event_id = e.id AND x.deleted_at IS NULL;
      SELECT * INTO a FROM startlijn.addons x WHERE x.id = v.addon_id AND x.deleted_at IS NULL;
      IF v.id IS NULL OR a.id IS NULL THEN
        PERFORM startlijn.raise('addon_variant_not_found', pg_catalog.format('Line %s names no add-on of this event.', n));
      END IF;
      IF v.id = ANY (seen) THEN
        PERFORM startlijn.raise('duplicate_line', pg_catalog.format('Line %s repeats an add-on variant.', n));
      END IF;
      seen := seen OPERATOR(pg_catalog.||) v.id;
      currency := COALESCE(currency, v.currency);
      IF currency <> v.currency THEN
        PERFORM startlijn.raise('invalid_lines', 'Every line of an order is in the same currency.');
      END IF;
      texts := NULL;
      IF a.text_max_length IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) 'texts') IS DISTINCT FROM 'array'
           OR pg_catalog.jsonb_array_length(l OPERATOR(pg_catalog.->) 'texts') <> q THEN
          PERFORM startlijn.raise('invalid_lines', pg_catalog.format('Line %s: %s takes one text per unit (texts, %s of them).', n, a.name, q));
        END IF;
        texts := '{}';
        FOR txt IN SELECT CASE WHEN pg_catalog.jsonb_typeof(x) = 'string' THEN x OPERATOR(pg_catalog.#>>) '{}' END
                     FROM pg_catalog.jsonb_array_elements(l OPERATOR(pg_catalog.->) 'texts') x LOOP
          IF txt IS NULL OR pg_catalog.length(txt) NOT BETWEEN 1 AND a.text_max_length OR NOT startlijn.valid_name(txt) THEN
            PERFORM startlijn.raise('invalid_lines', pg_catalog.format(
              'Line %s: each text has 1 to %s characters, without control or invisible characters.', n, a.text_max_length));
          END IF;
          texts := texts OPERATOR(pg_catalog.||) txt;
        END LOOP;
      ELSIF l ? 'texts' THEN
        PERFORM startlijn.raise('invalid_lines', pg_catalog.format('Line %s: only a text add-on takes texts.', n));
      END IF;
      addon_units := addon_units OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(a.id::text,
        COALESCE((addon_units OPERATOR(pg_catalog.->>) a.id::text)::integer, 0) + q);
      items := items OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
        'kind', 'addon', 'variant_id', v.id, 'name', a.name OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) v.name OPERATOR(pg_catalog.||) ')',
        'item_id', v.item_id, 'quantity', q, 'unit_price', v.price, 'unit_discount', 0, 'vat_rate', v.vat_rate,
        'texts', pg_catalog.to_jsonb(texts), 'addon_id', a.id);
      IF v.item_id IS NOT NULL THEN
        caplines := caplines OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('item_id', v.item_id, 'quantity', q);
      END IF;
    END IF;
  END LOOP;
  IF entries > e.max_entries_per_order THEN
    PERFORM startlijn.raise('invalid_quantity', pg_catalog.format('At most %s entries per order.', e.max_entries_per_order));
  END IF;
  -- add-ons: with an entry (unless standalone), at most max_per_entry per entry
  SELECT * INTO a FROM startlijn.addons x
   WHERE x.id IN (SELECT k::uuid FROM pg_catalog.jsonb_object_keys(addon_units) k)
     AND ((NOT x.standalone AND entries = 0)
          OR (addon_units OPERATOR(pg_catalog.->>) x.id::text)::integer > x.max_per_entry * GREATEST(entries, 1))
   LIMIT 1;
  IF a.id IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_quantity', CASE WHEN NOT a.standalone AND entries = 0
      THEN pg_catalog.format('%s is sold with an entry only.', a.name)
      ELSE pg_catalog.format('%s: at most %s per entry.', a.name, a.max_per_entry) END);
  END IF;
  IF d.id IS NOT NULL AND NOT applies THEN
    PERFORM startlijn.raise('discount_code_not_valid', 'The code is not for these ticket types.');
  END IF;
  IF d.pool_id IS NOT NULL THEN
    caplines := caplines OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pool_id', d.pool_id, 'quantity', 1);
  END IF;
END
$$;

-- A hold for caplines, or NULL when nothing is limited. A discount code's
-- last use sold out says discount_code_used_up.
CREATE FUNCTION startlijn.hold_lines(organization_id uuid, caplines jsonb, ttl interval, holder text,
                                     discount_pool uuid) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  h jsonb;
  detail text;
BEGIN
  IF pg_catalog.jsonb_array_length(caplines) = 0 THEN
    RETURN NULL;
  END IF;
  BEGIN
    h := capacity.hold(organization_id, caplines, ttl, holder, NULL);
  EXCEPTION WHEN SQLSTATE 'PT409' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    IF startlijn.error_code_of(detail) = 'sold_out' AND discount_pool IS NOT NULL
       AND capacity.available(discount_pool) < 1 THEN
      PERFORM startlijn.raise('discount_code_used_up');
    END IF;
    RAISE;
  END;
  RETURN (h OPERATOR(pg_catalog.->>) 'hold_id')::uuid;
END
$$;

-- The totals of price_lines' items (the same arithmetic the items' CHECKs
-- hold; orders_totals compares them at commit).
CREATE FUNCTION startlijn.items_totals(items jsonb, OUT subtotal bigint, OUT discount bigint, OUT total bigint, OUT vat bigint)
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  SELECT COALESCE(pg_catalog.sum(x.q * x.price), 0)::bigint, COALESCE(pg_catalog.sum(x.q * x.disc), 0)::bigint,
         COALESCE(pg_catalog.sum(x.q * (x.price - x.disc)), 0)::bigint,
         COALESCE(pg_catalog.sum(startlijn.vat_of(x.q * (x.price - x.disc), x.rate)), 0)::bigint
    INTO subtotal, discount, total, vat
    FROM pg_catalog.jsonb_array_elements(items) i,
         LATERAL (SELECT (i OPERATOR(pg_catalog.->>) 'quantity')::bigint AS q,
                         (i OPERATOR(pg_catalog.->>) 'unit_price')::bigint AS price,
                         (i OPERATOR(pg_catalog.->>) 'unit_discount')::bigint AS disc,
                         (i OPERATOR(pg_catalog.->>) 'vat_rate')::integer AS rate) x;
END
$$;

-- Insert the order's items from price_lines' JSON.
CREATE FUNCTION startlijn.insert_items(o startlijn.orders, items jsonb) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  INSERT INTO startlijn.order_items (organization_id, order_id, kind, ticket_type_id, variant_id, name, tier, item_id,
                                     quantity, unit_price, unit_discount, vat_rate, total, vat_amount, position, texts)
  SELECT o.organization_id, o.id, i OPERATOR(pg_catalog.->>) 'kind', (i OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid,
         (i OPERATOR(pg_catalog.->>) 'variant_id')::uuid, i OPERATOR(pg_catalog.->>) 'name', i OPERATOR(pg_catalog.->>) 'tier',
         (i OPERATOR(pg_catalog.->>) 'item_id')::uuid, x.q, x.price, x.disc, x.rate,
         x.q * (x.price - x.disc), startlijn.vat_of(x.q * (x.price - x.disc), x.rate), ord::integer,
         CASE WHEN pg_catalog.jsonb_typeof(i OPERATOR(pg_catalog.->) 'texts') = 'array' THEN
           ARRAY(SELECT pg_catalog.jsonb_array_elements_text(i OPERATOR(pg_catalog.->) 'texts')) END
    FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS l(i, ord),
         LATERAL (SELECT (i OPERATOR(pg_catalog.->>) 'quantity')::integer AS q,
                         (i OPERATOR(pg_catalog.->>) 'unit_price')::bigint AS price,
                         (i OPERATOR(pg_catalog.->>) 'unit_discount')::bigint AS disc,
                         (i OPERATOR(pg_catalog.->>) 'vat_rate')::integer AS rate) x;
END
$$;

-- The body of api.reserve (idempotent through payments.idempotent).
CREATE FUNCTION startlijn.reserve_body(req jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events;
  d startlijn.discount_codes;
  s startlijn.checkout_settings;
  o startlijn.orders;
  uid uuid := (req OPERATOR(pg_catalog.->>) 'uid')::uuid;
  dcode text := pg_catalog.upper(pg_catalog.btrim(req OPERATOR(pg_catalog.->>) 'discount_code'));
  pl record;
  oid uuid := pg_catalog.gen_random_uuid();
  token text := startlijn.new_order_token();
  salt bytea;
  hold uuid;
  me text;
  bound integer;
BEGIN
  SELECT * INTO s FROM startlijn.checkout_settings;
  SELECT * INTO e FROM startlijn.events x
   WHERE x.id = (req OPERATOR(pg_catalog.->>) 'event_id')::uuid AND x.deleted_at IS NULL
     AND x.status IN ('published', 'closed', 'cancelled');
  IF e.id IS NULL THEN
    PERFORM startlijn.raise('event_not_found');
  END IF;
  IF e.status <> 'published' OR COALESCE(e.registration_opens_at, '-infinity') > pg_catalog.now()
     OR COALESCE(e.registration_closes_at, e.starts_at) <= pg_catalog.now() THEN
    PERFORM startlijn.raise('registration_closed', CASE
      WHEN e.status <> 'published' THEN pg_catalog.format('The event is %s.', e.status)
      WHEN e.registration_opens_at > pg_catalog.now() THEN pg_catalog.format('Registration opens at %s.', e.registration_opens_at)
      ELSE 'Registration has closed.' END);
  END IF;
  -- a caller with too many wrong codes for the event tries none (checkout_limits.sql)
  IF dcode IS NOT NULL OR (req OPERATOR(pg_catalog.->>) 'access_code') IS NOT NULL THEN
    PERFORM startlijn.code_guess_check(e.id);
  END IF;
  IF dcode IS NOT NULL THEN
    SELECT * INTO d FROM startlijn.discount_codes x
     WHERE x.event_id = e.id AND x.code = dcode AND x.deleted_at IS NULL;
    IF d.id IS NULL THEN
      PERFORM startlijn.code_guess_failed(e.id);
      PERFORM startlijn.raise('discount_code_not_found');
    END IF;
    IF COALESCE(d.valid_from, '-infinity') > pg_catalog.now() OR COALESCE(d.valid_until, 'infinity') <= pg_catalog.now() THEN
      PERFORM startlijn.raise('discount_code_not_valid', 'The code is not valid now.');
    END IF;
  END IF;
  -- the ticket types and variants named, FOR SHARE before they are priced
  -- and held: delete_ticket_type, update_ticket_type (a move) and the
  -- add-on deletes take them FOR UPDATE, so either they wait for this
  -- order (and see it) or price_lines, a statement later, sees them gone
  PERFORM 1 FROM startlijn.ticket_types x
   WHERE x.id IN (SELECT (l OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid
                    FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(req OPERATOR(pg_catalog.->) 'lines') = 'array'
                                                              THEN req OPERATOR(pg_catalog.->) 'lines' ELSE '[]' END) l
                   WHERE pg_catalog.jsonb_typeof(l) = 'object'
                     AND (l OPERATOR(pg_catalog.->>) 'ticket_type_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
     AND x.event_id = e.id
   ORDER BY x.id FOR SHARE;
  PERFORM 1 FROM startlijn.addon_variants x
   WHERE x.id IN (SELECT (l OPERATOR(pg_catalog.->>) 'variant_id')::uuid
                    FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(req OPERATOR(pg_catalog.->) 'lines') = 'array'
                                                              THEN req OPERATOR(pg_catalog.->) 'lines' ELSE '[]' END) l
                   WHERE pg_catalog.jsonb_typeof(l) = 'object'
                     AND (l OPERATOR(pg_catalog.->>) 'variant_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
     AND x.event_id = e.id
   ORDER BY x.id FOR SHARE;
  pl := startlijn.price_lines(e, req OPERATOR(pg_catalog.->) 'lines', req OPERATOR(pg_catalog.->>) 'access_code', d);
  -- at most max_open_reservations open reservations holding places per
  -- caller and event (a signed-in user; a guest by client address, kept
  -- only as a short hash in the hold's holder; the guests without a client
  -- address together, max_unaddressed_reservations): nobody holds without
  -- bound (startlijn.reservation_caller, checkout_limits.sql).
  SELECT c.caller, c.bound INTO me, bound FROM startlijn.reservation_caller(uid) c;
  IF pg_catalog.jsonb_array_length(pl.caplines) > 0 THEN
    IF bound = 0 THEN
      PERFORM startlijn.raise('too_many_reservations',
        'This platform takes no reservations from guests whose client address is unknown (no X-Forwarded-For).',
        'Reserve through the platform''s API address, or sign in.');
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(me OPERATOR(pg_catalog.||) e.id::text, 0));
    IF (SELECT pg_catalog.count(*) FROM startlijn.orders x JOIN capacity.holds h ON h.id = x.hold_id
         WHERE x.event_id = e.id AND x.status = 'reserved' AND h.state = 'held' AND h.expires_at > pg_catalog.now()
           AND CASE WHEN uid IS NOT NULL THEN x.buyer_user_id = uid
                    ELSE x.buyer_user_id IS NULL AND pg_catalog.starts_with(h.holder, me OPERATOR(pg_catalog.||) ':') END)
       >= bound THEN
      PERFORM startlijn.raise('too_many_reservations', CASE WHEN me = 'guest:unknown' THEN pg_catalog.format(
        'Guests without a known client address hold %s open reservations for this event together already.', bound)
        ELSE pg_catalog.format('You hold %s open reservations for this event already.', bound) END,
        'Check out or release one (api.release_reservation), or wait until it runs out.');
    END IF;
  END IF;
  -- an idempotent reservation's token is derived from the caller's key: its
  -- stored answer keeps the salt, never the token (checkout_limits.sql)
  IF req OPERATOR(pg_catalog.?) 'token_key' THEN
    salt := startlijn.random_salt();
    token := startlijn.derived_order_token(pg_catalog.decode(req OPERATOR(pg_catalog.->>) 'token_key', 'hex'), salt);
  END IF;
  hold := startlijn.hold_lines(e.organization_id, pl.caplines, s.reservation_ttl,
                               COALESCE(uid::text, me OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) oid::text),
                               d.pool_id);
  INSERT INTO startlijn.orders AS x (id, organization_id, event_id, hold_id, expires_at, buyer_user_id, token_hash,
                                     currency, discount_code_id, subtotal, discount_total, total, vat_total)
  SELECT oid, e.organization_id, e.id, hold,
          COALESCE((SELECT h.expires_at FROM capacity.holds h WHERE h.id = hold), pg_catalog.now() + s.reservation_ttl),
          uid, startlijn.order_token_hash(token),
          pl.currency, d.id, tot.subtotal, tot.discount, tot.total, tot.vat
    FROM startlijn.items_totals(pl.items) tot
  RETURNING x.* INTO o;
  PERFORM startlijn.insert_items(o, pl.items);
  PERFORM trail.log(o.organization_id, 'orders.reserved', 'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'event_id', o.event_id, 'hold_id', o.hold_id,
      'lines', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('ticket_type_id', i.ticket_type_id,
                  'variant_id', i.variant_id, 'quantity', i.quantity, 'unit_price', i.unit_price,
                  'unit_discount', i.unit_discount) ORDER BY i.position)
                  FROM startlijn.order_items i WHERE i.order_id = o.id),
      'total', o.total, 'currency', o.currency, 'discount_code_id', o.discount_code_id));
  RETURN startlijn.order_json(o) OPERATOR(pg_catalog.||) CASE WHEN salt IS NULL
    THEN pg_catalog.jsonb_build_object('order_token', token)
    ELSE pg_catalog.jsonb_build_object('order_token_salt', pg_catalog.encode(salt, 'hex')) END;
END
$$;

CREATE FUNCTION startlijn.reserve(event_id uuid, lines jsonb, access_code text, discount_code text,
                                  idempotency_key text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  req jsonb;
  tk bytea;
  r jsonb;
BEGIN
  IF event_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument event_id is required.');
  END IF;
  IF lines IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument lines is required.');
  END IF;
  IF pg_catalog.octet_length(lines::text) > 16384 THEN
    PERFORM startlijn.raise('invalid_lines', 'lines is an array of 1 to 20 objects.');
  END IF;
  IF access_code IS NOT NULL AND pg_catalog.length(access_code) > 64 THEN
    PERFORM startlijn.raise('ticket_type_not_found', NULL, 'A hidden ticket type needs its access code.');
  END IF;
  IF discount_code IS NOT NULL AND pg_catalog.length(discount_code) > 64 THEN
    PERFORM startlijn.raise('discount_code_not_found');
  END IF;
  req := pg_catalog.jsonb_build_object('event_id', event_id, 'lines', lines, 'access_code', access_code,
                                       'discount_code', discount_code, 'uid', uid);
  IF idempotency_key IS NULL THEN
    RETURN startlijn.reserve_body(req);
  END IF;
  -- the key is the only claim to the answer, and the order's token is
  -- derived from it (checkout_limits.sql): long enough not to be guessed,
  -- for guests and signed-in callers alike
  IF pg_catalog.length(idempotency_key) < 20 THEN
    PERFORM startlijn.raise('invalid_idempotency_key',
      'The idempotency key of a reservation has at least 20 characters: use a fresh UUID.');
  END IF;
  tk := startlijn.order_token_key(idempotency_key);
  req := req OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('token_key', pg_catalog.encode(tk, 'hex'));
  r := payments.idempotent(COALESCE(uid::text, 'guest'), idempotency_key, 'startlijn.reserve_body(jsonb)', req);
  IF r OPERATOR(pg_catalog.?) 'order_token_salt' THEN
    r := (r OPERATOR(pg_catalog.-) 'order_token_salt') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('order_token',
           startlijn.derived_order_token(tk, pg_catalog.decode(r OPERATOR(pg_catalog.->>) 'order_token_salt', 'hex')));
  END IF;
  RETURN r;
END
$$;
CREATE FUNCTION api.reserve(event_id uuid, lines jsonb, access_code text DEFAULT NULL, discount_code text DEFAULT NULL,
                            idempotency_key text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.reserve(event_id, lines, access_code, discount_code, idempotency_key) $$;

-------------------------------------------------------------------------------
-- A waitlist offer becomes an order (the participant accepts it)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.accept_offer(hold_id uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  h capacity.holds;
  o startlijn.orders;
  e startlijn.events;
  lines jsonb;
  items jsonb;
  token text := startlijn.new_order_token();
  oid uuid := pg_catalog.gen_random_uuid();
BEGIN
  IF uid IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  IF hold_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument hold_id is required.');
  END IF;
  SELECT * INTO o FROM startlijn.orders x WHERE x.hold_id = accept_offer.hold_id;
  IF o.id IS NOT NULL AND o.buyer_user_id = uid THEN
    RETURN startlijn.order_json(o);              -- accepted before: the same order
  END IF;
  SELECT * INTO h FROM capacity.holds x WHERE x.id = accept_offer.hold_id FOR UPDATE;
  IF h.id IS NULL OR h.holder <> uid::text OR h.waitlist_entry_id IS NULL OR o.id IS NOT NULL THEN
    PERFORM startlijn.raise('hold_not_found', 'No waitlist offer of yours has this id.');
  END IF;
  IF h.state <> 'held' OR h.expires_at <= pg_catalog.now() THEN
    PERFORM startlijn.raise('hold_expired', 'The offer has ended.', 'Join the waitlist again.');
  END IF;
  -- the offer's units are of one ticket type (the waitlist was on its item)
  SELECT * INTO e FROM startlijn.events x
   WHERE x.id = (SELECT t.event_id FROM startlijn.ticket_types t
                  WHERE t.item_id = (h.lines OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'item_id')::uuid LIMIT 1);
  IF e.id IS NULL THEN
    PERFORM startlijn.raise('hold_not_found', 'This offer is not for a ticket type.');
  END IF;
  IF e.status = 'cancelled' OR e.deleted_at IS NOT NULL THEN
    PERFORM startlijn.raise('registration_closed', 'The event is cancelled.');
  END IF;
  -- an offer is a sale like any other: while registration is open and the
  -- ticket type on sale (a place freed later is not sold past either)
  IF COALESCE(e.registration_closes_at, e.starts_at) <= pg_catalog.now() THEN
    PERFORM startlijn.raise('registration_closed', 'Registration has closed.');
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(h.lines) l
               JOIN startlijn.ticket_types t ON t.item_id = (l OPERATOR(pg_catalog.->>) 'item_id')::uuid
                                            AND t.event_id = e.id
              WHERE COALESCE(t.sales_end, 'infinity') <= pg_catalog.now() OR t.deleted_at IS NOT NULL) THEN
    PERFORM startlijn.raise('not_on_sale', 'The ticket type of this offer is no longer on sale.');
  END IF;
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'kind', 'entry', 'ticket_type_id', t.id, 'name', t.name, 'tier', (startlijn.current_price(t)).tier,
           'item_id', t.item_id, 'quantity', (l OPERATOR(pg_catalog.->>) 'quantity')::integer,
           'unit_price', (startlijn.current_price(t)).price, 'unit_discount', 0, 'vat_rate', t.vat_rate))
    INTO items
    FROM pg_catalog.jsonb_array_elements(h.lines) l
    JOIN startlijn.ticket_types t ON t.item_id = (l OPERATOR(pg_catalog.->>) 'item_id')::uuid AND t.event_id = e.id;
  IF items IS NULL OR pg_catalog.jsonb_array_length(items) <> pg_catalog.jsonb_array_length(h.lines) THEN
    PERFORM startlijn.raise('hold_not_found', 'This offer is not for a ticket type.');
  END IF;
  INSERT INTO startlijn.orders AS x (id, organization_id, event_id, hold_id, expires_at, buyer_user_id, token_hash, currency,
                                     subtotal, discount_total, total, vat_total)
  SELECT oid, e.organization_id, e.id, h.id, h.expires_at, uid, startlijn.order_token_hash(token),
         (SELECT t.currency FROM startlijn.ticket_types t
           WHERE t.id = (items OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid),
         tot.subtotal, tot.discount, tot.total, tot.vat
    FROM startlijn.items_totals(items) tot
  RETURNING x.* INTO o;
  PERFORM startlijn.insert_items(o, items);
  PERFORM trail.log(o.organization_id, 'orders.offer_accepted', 'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'event_id', o.event_id, 'hold_id', h.id,
                                  'waitlist_entry_id', h.waitlist_entry_id, 'total', o.total));
  RETURN startlijn.order_json(o) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('order_token', token);
END
$$;
CREATE FUNCTION api.accept_offer(hold_id uuid) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.accept_offer(hold_id) $$;

-- Join a sold-out ticket type's waitlist (signed-in participants)
CREATE FUNCTION startlijn.join_ticket_waitlist(ticket_type_id uuid, quantity integer, access_code text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  t startlijn.ticket_types;
  e startlijn.events;
BEGIN
  IF uid IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  IF ticket_type_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument ticket_type_id is required.');
  END IF;
  -- as in reserve: a code longer than any access code is refused, whether or not one is needed (issue 26.3)
  IF access_code IS NOT NULL AND pg_catalog.length(access_code) > 64 THEN
    PERFORM startlijn.raise('ticket_type_not_found', NULL, 'A hidden ticket type needs its access code.');
  END IF;
  SELECT * INTO t FROM startlijn.ticket_types x WHERE x.id = join_ticket_waitlist.ticket_type_id AND x.deleted_at IS NULL;
  SELECT * INTO e FROM startlijn.events x WHERE x.id = t.event_id AND x.deleted_at IS NULL AND x.status = 'published';
  IF e.id IS NOT NULL AND access_code IS NOT NULL THEN
    PERFORM startlijn.code_guess_check(e.id);        -- as in reserve (checkout_limits.sql)
  END IF;
  IF e.id IS NULL OR (t.visibility = 'hidden' AND NOT (access_code IS NOT NULL AND pg_catalog.length(access_code) <= 64
                      AND startlijn.bytes_equal(t.access_code_hash, startlijn.access_code_hash(t.access_code_salt, access_code)))) THEN
    IF e.id IS NOT NULL AND access_code IS NOT NULL THEN
      PERFORM startlijn.code_guess_failed(e.id);
    END IF;
    PERFORM startlijn.raise('ticket_type_not_found');
  END IF;
  IF COALESCE(e.registration_closes_at, e.starts_at) <= pg_catalog.now() THEN
    PERFORM startlijn.raise('registration_closed', 'Registration has closed.');
  END IF;
  IF COALESCE(t.sales_start, '-infinity') > pg_catalog.now() OR COALESCE(t.sales_end, 'infinity') <= pg_catalog.now() THEN
    PERFORM startlijn.raise('not_on_sale', pg_catalog.format('%s is on sale from %s until %s.', t.name,
      COALESCE(t.sales_start::text, 'now'), COALESCE(t.sales_end::text, 'the registration closes')));
  END IF;
  IF quantity IS NULL OR quantity NOT BETWEEN 1 AND LEAST(t.max_per_order, e.max_entries_per_order) THEN
    PERFORM startlijn.raise('invalid_quantity', pg_catalog.format('1 to %s.', LEAST(t.max_per_order, e.max_entries_per_order)));
  END IF;
  RETURN capacity.join_waitlist(t.organization_id, uid::text, quantity, NULL, t.item_id, 0);
END
$$;
CREATE FUNCTION api.join_ticket_waitlist(ticket_type_id uuid, quantity integer DEFAULT 1, access_code text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.join_ticket_waitlist(ticket_type_id, quantity, access_code) $$;

-------------------------------------------------------------------------------
-- Checkout
-------------------------------------------------------------------------------
-- A participant from checkout's JSON, checked: {ticket_type_id, first_name,
-- last_name, date_of_birth, gender, email, phone, nationality, club,
-- answers, self}. Returns the registration row to insert (not inserted).
CREATE FUNCTION startlijn.participant_row(e startlijn.events, t startlijn.ticket_types, p jsonb, o startlijn.orders,
                                          uid uuid, n integer) RETURNS startlijn.registrations
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r startlijn.registrations;
  age integer;
  k text;
  day date;
BEGIN
  FOR k IN SELECT x FROM pg_catalog.jsonb_object_keys(p) x LOOP
    IF k NOT IN ('ticket_type_id', 'entitlement_id', 'first_name', 'last_name', 'date_of_birth', 'gender', 'email',
                 'phone', 'nationality', 'club', 'answers', 'self') THEN
      PERFORM startlijn.raise('invalid_participants', pg_catalog.format('Participant %s: unknown field %s.', n, k));
    END IF;
    IF k NOT IN ('answers', 'self') AND pg_catalog.jsonb_typeof(p OPERATOR(pg_catalog.->) k) NOT IN ('string', 'null') THEN
      PERFORM startlijn.raise('invalid_participants', pg_catalog.format('Participant %s: %s is a string.', n, k));
    END IF;
  END LOOP;
  r.id := pg_catalog.gen_random_uuid();
  r.organization_id := e.organization_id;
  r.event_id := e.id;
  r.ticket_type_id := t.id;
  r.order_id := o.id;
  r.first_name := NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'first_name'), '');
  r.last_name := NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'last_name'), '');
  IF r.first_name IS NULL OR r.last_name IS NULL OR NOT startlijn.valid_name(r.first_name)
     OR NOT startlijn.valid_name(r.last_name) THEN
    PERFORM startlijn.raise('invalid_name', pg_catalog.format('Participant %s: a first and a last name are required.', n));
  END IF;
  BEGIN
    r.date_of_birth := (p OPERATOR(pg_catalog.->>) 'date_of_birth')::date;
  EXCEPTION WHEN OTHERS THEN
    r.date_of_birth := NULL;
  END;
  IF r.date_of_birth IS NULL OR (p OPERATOR(pg_catalog.->>) 'date_of_birth') !~ '^\d{4}-\d{2}-\d{2}$'
     OR r.date_of_birth < DATE '1900-01-01' OR r.date_of_birth > pg_catalog.now()::date THEN
    PERFORM startlijn.raise('invalid_date_of_birth', pg_catalog.format('Participant %s: date_of_birth is YYYY-MM-DD, in the past.', n));
  END IF;
  r.gender := p OPERATOR(pg_catalog.->>) 'gender';
  IF r.gender IS NOT NULL AND r.gender NOT IN ('female', 'male', 'x') THEN
    PERFORM startlijn.raise('invalid_participants', pg_catalog.format('Participant %s: gender is female, male or x.', n));
  END IF;
  r.email := pg_catalog.lower(NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'email'), ''));
  IF r.email IS NOT NULL AND NOT startlijn.valid_email(r.email) THEN
    PERFORM startlijn.raise('invalid_email', pg_catalog.format('Participant %s: the e-mail address is not valid.', n));
  END IF;
  r.phone := NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'phone'), '');
  IF r.phone IS NOT NULL AND NOT startlijn.valid_phone(r.phone) THEN
    PERFORM startlijn.raise('invalid_phone', pg_catalog.format('Participant %s: the phone number is not valid.', n));
  END IF;
  r.nationality := pg_catalog.upper(NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'nationality'), ''));
  IF r.nationality IS NOT NULL AND NOT startlijn.valid_country(r.nationality) THEN
    PERFORM startlijn.raise('invalid_country', pg_catalog.format('Participant %s: nationality is an ISO 3166 country code.', n));
  END IF;
  r.club := NULLIF(pg_catalog.btrim(p OPERATOR(pg_catalog.->>) 'club'), '');
  IF r.club IS NOT NULL AND NOT startlijn.valid_name(r.club) THEN
    PERFORM startlijn.raise('invalid_name', pg_catalog.format('Participant %s: the club name is not valid.', n));
  END IF;
  r.answers := COALESCE(p OPERATOR(pg_catalog.->) 'answers', '{}');
  IF pg_catalog.jsonb_typeof(r.answers) <> 'object' THEN
    PERFORM startlijn.raise('invalid_answers', pg_catalog.format('Participant %s: answers is an object.', n));
  END IF;
  IF p ? 'self' AND p OPERATOR(pg_catalog.->) 'self' NOT IN ('true'::jsonb, 'false'::jsonb) THEN
    PERFORM startlijn.raise('invalid_participants', pg_catalog.format('Participant %s: self is true or false.', n));
  END IF;
  IF COALESCE((p OPERATOR(pg_catalog.->>) 'self')::boolean, false) THEN
    IF uid IS NULL THEN
      PERFORM startlijn.raise('not_authenticated', pg_catalog.format('Participant %s: self needs a signed-in buyer.', n),
        'Sign in and send the access token as a Bearer token.');
    END IF;
    r.user_id := uid;
    r.email := COALESCE(r.email, (SELECT pr.email FROM startlijn.profiles pr WHERE pr.id = uid));
  END IF;
  -- eligibility: age on the event day, in the event's time zone
  day := (e.starts_at AT TIME ZONE e.time_zone)::date;
  age := pg_catalog.date_part('year', pg_catalog.age(day::timestamp, r.date_of_birth::timestamp))::integer;
  IF age < COALESCE(t.min_age, e.minimum_age, 0) OR age < COALESCE(e.minimum_age, 0) OR age > COALESCE(t.max_age, 200) THEN
    PERFORM startlijn.raise('not_eligible', pg_catalog.format('Participant %s is %s on the event day; %s is for ages %s to %s.',
      n, age, t.name, GREATEST(COALESCE(t.min_age, 0), COALESCE(e.minimum_age, 0)), COALESCE(t.max_age::text, 'any')));
  END IF;
  r.single_entry := t.one_entry_per_person;   -- one entry per person per event, unless the type allows more
  r.status := 'pending';
  RETURN r;
END
$$;

-- Insert a registration; one entry per person per event (already_registered).
CREATE FUNCTION startlijn.insert_registration(r startlijn.registrations, n integer) RETURNS startlijn.registrations
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  cname text;
  stale uuid;
BEGIN
  FOR attempt IN 1..2 LOOP
    BEGIN
      INSERT INTO startlijn.registrations AS x (id, organization_id, event_id, ticket_type_id, order_id, user_id, email,
                                                first_name, last_name, date_of_birth, gender, phone, nationality, club,
                                                answers, status, single_entry)
      VALUES (r.id, r.organization_id, r.event_id, r.ticket_type_id, r.order_id, r.user_id, r.email, r.first_name,
              r.last_name, r.date_of_birth, r.gender, r.phone, r.nationality, r.club, r.answers, r.status, r.single_entry)
      RETURNING x.* INTO r;
      RETURN r;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
      IF cname <> 'registrations_one_per_person' THEN
        RAISE;
      END IF;
    END;
    -- the person's entry is in another order that was checked out and never
    -- paid in its payment window: that order failed (a payment arriving
    -- after all takes the late path, and is refunded), the person is free.
    -- (person_key as registrations_guard computes it)
    SELECT o.id INTO stale FROM startlijn.registrations x JOIN startlijn.orders o ON o.id = x.order_id
     WHERE x.event_id = r.event_id AND x.single_entry AND x.status = 'pending' AND x.order_id <> r.order_id
       AND x.person_key = pg_catalog.lower(pg_catalog.btrim(r.first_name)) OPERATOR(pg_catalog.||) pg_catalog.chr(31)
             OPERATOR(pg_catalog.||) pg_catalog.lower(pg_catalog.btrim(r.last_name)) OPERATOR(pg_catalog.||)
             pg_catalog.chr(31) OPERATOR(pg_catalog.||) r.date_of_birth::text
       AND o.status = 'pending' AND o.expires_at <= pg_catalog.now();
    IF attempt = 2 OR stale IS NULL THEN
      PERFORM startlijn.raise('already_registered', pg_catalog.format(
        'Participant %s (%s %s) already has an entry for this event.', n, r.first_name, r.last_name));
    END IF;
    PERFORM startlijn.fail_order(stale, 'payment window ended; the participant registered again');
  END LOOP;
  RETURN r;
END
$$;

-- Sign the code of a paid, named entry entitlement.
CREATE FUNCTION startlijn.issue_code(n startlijn.entitlements) RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  scope text := startlijn.event_scope(n.event_id);
  signed text;
BEGIN
  PERFORM tokens.signing_key(scope, n.organization_id);
  signed := tokens.sign_code(scope, pg_catalog.uuid_send(n.id));
  UPDATE startlijn.entitlements x SET code = signed WHERE x.id = n.id;
  RETURN signed;
END
$$;

-- The organisation's next invoice number of the year (gapless: it moves
-- in the paying transaction). Format: <year>-<6 digits>.
CREATE FUNCTION startlijn.next_invoice(organization_id uuid, OUT year integer, OUT seq integer, OUT number text)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  year := pg_catalog.date_part('year', pg_catalog.now() AT TIME ZONE 'Europe/Amsterdam')::integer;
  INSERT INTO startlijn.invoice_counters AS c (organization_id, year, last_number)
  VALUES (next_invoice.organization_id, next_invoice.year, 1)
  ON CONFLICT ON CONSTRAINT invoice_counters_pkey DO UPDATE SET last_number = c.last_number + 1
  RETURNING c.last_number INTO seq;
  number := pg_catalog.format('%s-%s', year, pg_catalog.lpad(seq::text, 6, '0'));
END
$$;

-- The audit entry of a paid order (with its invoice number, if any)
CREATE FUNCTION startlijn.log_order_paid(o startlijn.orders) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM trail.log(o.organization_id, 'orders.paid', 'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'total', o.total, 'currency', o.currency,
      'payment_id', o.payment_id, 'invoice_number', o.invoice_number, 'late', o.late_payment IS NOT NULL,
      'entitlements', (SELECT pg_catalog.count(*) FROM startlijn.entitlements x WHERE x.order_id = o.id)));
END
$$;

-- A paid priced order without an invoice number takes the organisation's
-- next one now, and its orders.paid entry is written with it (nothing for
-- any other order). The counter row stays locked until the transaction
-- ends: the paid transactions of one organisation pass it one at a time.
-- Called at commit by orders_invoice_number (below), and first by a
-- cancellation in the transaction that paid the order, so that the trail
-- says paid before it says cancelled.
CREATE FUNCTION startlijn.invoice_order(order_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  inv_year integer;
  inv_seq integer;
  inv_number text;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = invoice_order.order_id;
  IF o.id IS NULL OR o.paid_at IS NULL OR o.invoice_seq IS NOT NULL OR o.total <= 0 THEN
    RETURN;
  END IF;
  SELECT x.year, x.seq, x.number INTO inv_year, inv_seq, inv_number FROM startlijn.next_invoice(o.organization_id) x;
  -- paid_at becomes the moment the number was taken (under the counter's
  -- lock): the invoices of an organisation are dated in number order
  UPDATE startlijn.orders x SET invoice_year = inv_year, invoice_seq = inv_seq, invoice_number = inv_number,
                                paid_at = pg_catalog.clock_timestamp()
   WHERE x.id = o.id RETURNING x.* INTO o;
  PERFORM startlijn.log_order_paid(o);
END
$$;

-- At commit, a priced order made paid in this transaction takes the
-- organisation's next invoice number, and its orders.paid entry is written
-- with it. The counter row is locked from here to the end of the commit:
-- the shorter that stretch the more paid transactions per second
-- (docs/checkout.md, "Invoice numbers"). A transaction that rolls back
-- gives its number back.
CREATE FUNCTION startlijn.orders_invoice() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.invoice_order(NEW.id);
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER orders_invoice_number AFTER UPDATE OF status ON startlijn.orders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'paid' AND OLD.status <> 'paid')
  EXECUTE FUNCTION startlijn.orders_invoice();

-- The order is paid (or free): confirm the places, make the entitlements
-- valid with their codes, registrations paid, the invoice number. Once:
-- a paid order changes nothing. late: the hold ran out, places are
-- taken anew when there are some (returns false when there are none).
CREATE FUNCTION startlijn.complete_order(order_id uuid) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  h capacity.holds;
  hold uuid;
  late boolean := false;
  detail text;
  n startlijn.entitlements;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = complete_order.order_id FOR UPDATE;
  IF o.status IN ('paid', 'cancelled') THEN
    RETURN true;
  END IF;
  hold := o.hold_id;
  IF hold IS NOT NULL THEN
    SELECT * INTO h FROM capacity.holds x WHERE x.id = hold;
    IF h.state = 'confirmed' THEN
      NULL;
    ELSIF h.state = 'held' AND h.expires_at > pg_catalog.now() THEN
      PERFORM capacity.confirm(hold);
    ELSE
      -- late: the same lines again, all or nothing
      late := true;
      BEGIN
        hold := capacity.hold(o.organization_id, h.lines, '5 minutes', h.holder, NULL) OPERATOR(pg_catalog.->>) 'hold_id';
        PERFORM capacity.confirm(hold);
        -- the participants again (one of them may have entered meanwhile)
        UPDATE startlijn.registrations x SET status = 'pending', cancelled_at = NULL, cancel_reason = NULL
         WHERE x.order_id = o.id AND x.status = 'cancelled' AND x.refunded = 0;
      EXCEPTION
        WHEN SQLSTATE 'PT409' THEN
          GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
          IF startlijn.error_code_of(detail) <> 'sold_out' THEN
            RAISE;
          END IF;
          RETURN false;
        WHEN unique_violation THEN
          RETURN false;
      END;
    END IF;
    UPDATE startlijn.order_items i SET allocation_id = a.id
      FROM capacity.allocations a
     WHERE i.order_id = o.id AND a.hold_id = hold AND a.item_id = i.item_id;
  ELSIF o.status IN ('expired', 'failed') THEN
    late := true;
    BEGIN
      UPDATE startlijn.registrations x SET status = 'pending', cancelled_at = NULL, cancel_reason = NULL
       WHERE x.order_id = o.id AND x.status = 'cancelled' AND x.refunded = 0;
    EXCEPTION WHEN unique_violation THEN
      RETURN false;
    END;
  END IF;
  -- valid, and a named entry signed, in one write per entitlement
  PERFORM tokens.signing_key(startlijn.event_scope(o.event_id), o.organization_id);
  UPDATE startlijn.entitlements x
     SET status = 'valid',
         code = CASE WHEN x.kind = 'entry' AND x.registration_id IS NOT NULL
                     THEN tokens.sign_code(startlijn.event_scope(x.event_id), pg_catalog.uuid_send(x.id)) END
   WHERE x.order_id = o.id AND x.status IN ('pending', 'void');
  UPDATE startlijn.registrations x SET status = 'paid' WHERE x.order_id = o.id AND x.status = 'pending';
  -- paid. A priced order's invoice number and its orders.paid entry come
  -- at commit (orders_invoice_number, above): the counter's row lock is then held
  -- only for the commit itself, not for the rest of the webhook
  UPDATE startlijn.orders x
     SET status = 'paid', paid_at = pg_catalog.now(), closed_at = NULL, hold_id = hold,
         late_payment = CASE WHEN late THEN 'allocated' END
   WHERE x.id = o.id RETURNING x.* INTO o;
  IF o.total = 0 THEN
    PERFORM startlijn.log_order_paid(o);
  END IF;
  RETURN true;
END
$$;

-- The order's payment failed, was canceled or expired: give the places back.
CREATE FUNCTION startlijn.fail_order(order_id uuid, reason text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = fail_order.order_id FOR UPDATE;
  IF o.status NOT IN ('reserved', 'pending') THEN
    RETURN;
  END IF;
  IF o.hold_id IS NOT NULL AND EXISTS (SELECT 1 FROM capacity.holds h WHERE h.id = o.hold_id AND h.state = 'held') THEN
    PERFORM capacity.release(o.hold_id, reason);
  END IF;
  UPDATE startlijn.orders x
     SET status = CASE WHEN o.status = 'reserved' THEN 'expired' ELSE 'failed' END, closed_at = pg_catalog.now()
   WHERE x.id = o.id;
  UPDATE startlijn.entitlements x SET status = 'void' WHERE x.order_id = o.id AND x.status = 'pending';
  UPDATE startlijn.registrations x SET status = 'cancelled', cancelled_at = pg_catalog.now(), cancel_reason = fail_order.reason
   WHERE x.order_id = o.id AND x.status = 'pending';
  PERFORM trail.log(o.organization_id, 'orders.' OPERATOR(pg_catalog.||) CASE WHEN o.status = 'reserved' THEN 'expired' ELSE 'failed' END,
    'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'payment_id', o.payment_id, 'reason', reason));
END
$$;

-- The body of api.checkout (idempotent through payments.idempotent).
CREATE FUNCTION startlijn.checkout_body(req jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := (req OPERATOR(pg_catalog.->>) 'uid')::uuid;
  o startlijn.orders := startlijn.buyer_order((req OPERATOR(pg_catalog.->>) 'order_id')::uuid,
                                             req OPERATOR(pg_catalog.->>) 'order_token', true);
  e startlijn.events;
  s startlijn.checkout_settings;
  t startlijn.ticket_types;
  buyer jsonb := req OPERATOR(pg_catalog.->) 'buyer';
  parts jsonb := COALESCE(req OPERATOR(pg_catalog.->) 'participants', '[]');
  bemail text;
  bname text;
  i startlijn.order_items;
  p jsonb;
  r startlijn.registrations;
  k integer;
  named jsonb := '[]';
  pay jsonb;
  ok boolean;
BEGIN
  SELECT * INTO s FROM startlijn.checkout_settings;
  SELECT * INTO e FROM startlijn.events x WHERE x.id = o.event_id;
  IF o.status <> 'reserved' THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('The order is %s.', o.status),
      'Read it with api.order; place a new reservation for a new order.');
  END IF;
  -- (the event may have been cancelled since the reservation: nobody pays for it)
  IF e.status = 'cancelled' OR e.deleted_at IS NOT NULL THEN
    PERFORM startlijn.raise('registration_closed', 'The event is cancelled.');
  END IF;
  IF o.expires_at <= pg_catalog.now()
     OR (o.hold_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM capacity.holds h WHERE h.id = o.hold_id
                                                  AND h.state = 'held' AND h.expires_at > pg_catalog.now())) THEN
    PERFORM startlijn.raise('order_expired', NULL, 'Reserve again.');
  END IF;
  -- the buyer
  IF buyer IS NULL OR pg_catalog.jsonb_typeof(buyer) <> 'object'
     OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(buyer) x WHERE x NOT IN ('email', 'name'))
     OR pg_catalog.jsonb_typeof(buyer OPERATOR(pg_catalog.->) 'email') NOT IN ('string', 'null')
     OR pg_catalog.jsonb_typeof(buyer OPERATOR(pg_catalog.->) 'name') NOT IN ('string', 'null') THEN
    PERFORM startlijn.raise('invalid_argument', 'buyer is an object {"email": ..., "name": ...}.');
  END IF;
  bemail := pg_catalog.lower(NULLIF(pg_catalog.btrim(buyer OPERATOR(pg_catalog.->>) 'email'), ''));
  IF uid IS NOT NULL THEN
    bemail := COALESCE((SELECT pr.email FROM startlijn.profiles pr WHERE pr.id = uid), bemail);
  END IF;
  IF bemail IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The buyer''s e-mail address is required.');
  END IF;
  IF NOT startlijn.valid_email(bemail) THEN
    PERFORM startlijn.raise('invalid_email', 'The buyer''s e-mail address is not valid.');
  END IF;
  bname := NULLIF(pg_catalog.btrim(buyer OPERATOR(pg_catalog.->>) 'name'), '');
  IF bname IS NOT NULL AND NOT startlijn.valid_name(bname) THEN
    PERFORM startlijn.raise('invalid_name', 'The buyer''s name is not valid.');
  END IF;
  IF pg_catalog.jsonb_typeof(parts) <> 'array' OR pg_catalog.jsonb_array_length(parts) > 100 THEN
    PERFORM startlijn.raise('invalid_participants', 'participants is an array of at most 100 objects.');
  END IF;
  -- participants first (each names the next entry of its ticket type, in
  -- order), then one entitlement per unit, named as it is written
  k := 0;
  FOR p IN SELECT x FROM pg_catalog.jsonb_array_elements(parts) x LOOP
    k := k + 1;
    IF pg_catalog.jsonb_typeof(p) <> 'object' OR pg_catalog.jsonb_typeof(p OPERATOR(pg_catalog.->) 'ticket_type_id') <> 'string'
       OR (p OPERATOR(pg_catalog.->>) 'ticket_type_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
      PERFORM startlijn.raise('invalid_participants', pg_catalog.format('Participant %s: an object with the ticket_type_id of an entry in the order.', k));
    END IF;
    SELECT * INTO i FROM startlijn.order_items x
     WHERE x.order_id = o.id AND x.ticket_type_id = (p OPERATOR(pg_catalog.->>) 'ticket_type_id')::uuid;
    IF i.id IS NULL OR i.quantity <= (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(named) y
                                       WHERE y OPERATOR(pg_catalog.->>) 'item' = i.id::text) THEN
      PERFORM startlijn.raise('invalid_participants', pg_catalog.format(
        'Participant %s: the order has no further entry of this ticket type.', k));
    END IF;
    SELECT * INTO t FROM startlijn.ticket_types x WHERE x.id = i.ticket_type_id;
    r := startlijn.insert_registration(startlijn.participant_row(e, t, p, o, uid, k), k);
    named := named OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('item', i.id, 'registration', r.id);
  END LOOP;
  INSERT INTO startlijn.entitlements (organization_id, event_id, order_id, order_item_id, kind, unit, assign_by,
                                      registration_id)
  SELECT o.organization_id, o.event_id, o.id, i2.id, i2.kind, u,
         CASE WHEN i2.kind = 'entry' THEN e.starts_at - s.assign_before_start END,
         (SELECT (y OPERATOR(pg_catalog.->>) 'registration')::uuid
            FROM pg_catalog.jsonb_array_elements(named) WITH ORDINALITY AS z(y, ord)
           WHERE y OPERATOR(pg_catalog.->>) 'item' = i2.id::text ORDER BY z.ord OFFSET u - 1 LIMIT 1)
    FROM startlijn.order_items i2, pg_catalog.generate_series(1, i2.quantity) u
   WHERE i2.order_id = o.id;
  IF o.total > 0 THEN
    IF s.payment_account_id IS NULL THEN
      PERFORM startlijn.raise('payments_not_configured', NULL,
        'The operator sets startlijn.checkout_settings.payment_account_id (docs/operations.md).');
    END IF;
    IF o.hold_id IS NOT NULL THEN
      PERFORM capacity.extend(o.hold_id, s.payment_ttl);
    END IF;
    pay := payments.create_payment(o.organization_id, 'order:' OPERATOR(pg_catalog.||) o.id::text, o.total, o.currency,
      s.payment_account_id, NULL,
      pg_catalog.jsonb_build_object('order_id', o.id, 'order_number', o.number,
        'description', pg_catalog.left(e.name, 200) OPERATOR(pg_catalog.||) ' #' OPERATOR(pg_catalog.||) o.number::text,
        'return_url', req OPERATOR(pg_catalog.->>) 'return_url'));
  END IF;
  UPDATE startlijn.orders x
     SET status = 'pending', buyer_email = bemail, buyer_name = bname, checked_out_at = pg_catalog.now(),
         return_url = req OPERATOR(pg_catalog.->>) 'return_url',
         payment_id = (pay OPERATOR(pg_catalog.->>) 'id')::uuid,
         expires_at = CASE WHEN o.total = 0 THEN o.expires_at ELSE pg_catalog.now() + s.payment_ttl END
   WHERE x.id = o.id RETURNING x.* INTO o;
  IF o.total = 0 THEN
    ok := startlijn.complete_order(o.id);
  END IF;
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = o.id;
  PERFORM trail.log(o.organization_id, 'orders.checked_out', 'order:' OPERATOR(pg_catalog.||) o.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'total', o.total, 'currency', o.currency,
      'payment_id', o.payment_id, 'participants', k, 'guest', o.buyer_user_id IS NULL));
  RETURN startlijn.order_json(o);
END
$$;

CREATE FUNCTION startlijn.checkout(order_id uuid, buyer jsonb, participants jsonb, idempotency_key text,
                                   order_token text, return_url text, hold_id uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  oid uuid := order_id;
  req jsonb;
BEGIN
  IF (order_id IS NULL) = (hold_id IS NULL) THEN
    PERFORM startlijn.raise('missing_argument', 'Pass order_id (from api.reserve) or hold_id (a waitlist offer).');
  END IF;
  IF return_url IS NOT NULL AND (return_url !~ '^https://[^\s]+$' OR pg_catalog.length(return_url) > 500) THEN
    PERFORM startlijn.raise('invalid_argument', 'return_url is an https URL of at most 500 characters.');
  END IF;
  IF pg_catalog.octet_length(participants::text) > 262144 OR pg_catalog.octet_length(buyer::text) > 4096 THEN
    PERFORM startlijn.raise('invalid_participants', 'The participants are too large.');
  END IF;
  IF hold_id IS NOT NULL THEN
    oid := (startlijn.accept_offer(hold_id) OPERATOR(pg_catalog.->>) 'order_id')::uuid;
  END IF;
  req := pg_catalog.jsonb_build_object('order_id', oid, 'order_token', order_token, 'buyer', buyer,
                                       'participants', participants, 'return_url', return_url, 'uid', uid);
  IF idempotency_key IS NULL THEN
    RETURN startlijn.checkout_body(req);
  END IF;
  IF uid IS NULL AND pg_catalog.length(idempotency_key) < 20 THEN
    PERFORM startlijn.raise('invalid_idempotency_key', 'A guest''s idempotency key has at least 20 characters: use a fresh UUID.');
  END IF;
  RETURN payments.idempotent(COALESCE(uid::text, 'guest'), idempotency_key, 'startlijn.checkout_body(jsonb)', req);
END
$$;
CREATE FUNCTION api.checkout(order_id uuid DEFAULT NULL, buyer jsonb DEFAULT NULL, participants jsonb DEFAULT NULL,
                             idempotency_key text DEFAULT NULL, order_token text DEFAULT NULL,
                             return_url text DEFAULT NULL, hold_id uuid DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.checkout(order_id, buyer, participants, idempotency_key, order_token, return_url, hold_id) $$;

-- Name an entry bought without a participant (before its assign_by).
CREATE FUNCTION startlijn.assign_entry(entitlement_id uuid, participant jsonb, order_token text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  n startlijn.entitlements;
  o startlijn.orders;
  e startlijn.events;
  t startlijn.ticket_types;
  r startlijn.registrations;
BEGIN
  IF entitlement_id IS NULL OR participant IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The arguments entitlement_id and participant are required.');
  END IF;
  IF pg_catalog.jsonb_typeof(participant) <> 'object' OR pg_catalog.octet_length(participant::text) > 65536 THEN
    PERFORM startlijn.raise('invalid_participants', 'participant is an object.');
  END IF;
  SELECT * INTO n FROM startlijn.entitlements x WHERE x.id = assign_entry.entitlement_id;
  IF n.id IS NULL THEN
    PERFORM startlijn.raise('entitlement_not_found');
  END IF;
  BEGIN
    o := startlijn.buyer_order(n.order_id, order_token, true);
  EXCEPTION WHEN SQLSTATE 'PT404' THEN
    PERFORM startlijn.raise('entitlement_not_found');
  END;
  SELECT * INTO n FROM startlijn.entitlements x WHERE x.id = assign_entry.entitlement_id FOR UPDATE;
  IF n.kind <> 'entry' OR n.registration_id IS NOT NULL OR n.status NOT IN ('pending', 'valid') THEN
    PERFORM startlijn.raise('invalid_transition', 'Only an unnamed, unused entry is named.');
  END IF;
  IF n.assign_by <= pg_catalog.now() THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('Entries are named until %s.', n.assign_by));
  END IF;
  SELECT * INTO e FROM startlijn.events x WHERE x.id = n.event_id;
  SELECT t2.* INTO t FROM startlijn.ticket_types t2 JOIN startlijn.order_items i ON i.ticket_type_id = t2.id
   WHERE i.id = n.order_item_id;
  r := startlijn.participant_row(e, t, participant OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('ticket_type_id', t.id), o, uid, 1);
  IF o.status = 'paid' THEN
    r.status := 'paid';
  END IF;
  r := startlijn.insert_registration(r, 1);
  UPDATE startlijn.entitlements x SET registration_id = r.id WHERE x.id = n.id RETURNING x.* INTO n;
  IF n.status = 'valid' THEN
    PERFORM startlijn.issue_code(n);
  END IF;
  PERFORM trail.log(o.organization_id, 'orders.entry_named', 'entitlement:' OPERATOR(pg_catalog.||) n.id::text,
    pg_catalog.jsonb_build_object('order_id', o.id, 'entitlement_id', n.id, 'registration_id', r.id));
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = o.id;
  RETURN startlijn.order_json(o);
END
$$;
CREATE FUNCTION api.assign_entry(entitlement_id uuid, participant jsonb, order_token text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.assign_entry(entitlement_id, participant, order_token) $$;

-------------------------------------------------------------------------------
-- The payments engine's status changes of an order's payment (same
-- transaction as the webhook that made them; payments.listeners)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.payment_changed(was payments.payments, now payments.payments) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
  ok boolean;
BEGIN
  SELECT * INTO o FROM startlijn.orders x WHERE x.payment_id = now.id;
  IF o.id IS NULL THEN
    RETURN;                                    -- not an order's payment
  END IF;
  IF now.captured > 0 AND was.captured = 0 THEN
    ok := startlijn.complete_order(o.id);
    IF now.exception IS NOT NULL AND now.resolution IS NULL AND ok THEN
      PERFORM payments.resolve_exception(now.id, 'allocated', 'Places were still free: the order is paid.');
    END IF;
    IF NOT ok THEN
      -- paid too late and sold out: a full refund, visible to the organiser
      PERFORM startlijn.fail_order(o.id, 'paid after the reservation ended; sold out');
      UPDATE startlijn.orders x SET late_payment = 'refunded', refunded = x.total WHERE x.id = o.id;
      PERFORM payments.request_refund(now.id, NULL, 'Paid after the reservation ended and the event is sold out.',
                                      'startlijn:late_payment');
      IF now.exception IS NOT NULL AND now.resolution IS NULL THEN
        PERFORM payments.resolve_exception(now.id, 'refunded', 'Sold out when the late payment arrived.');
      END IF;
      PERFORM trail.log(o.organization_id, 'orders.late_payment_refunded', 'order:' OPERATOR(pg_catalog.||) o.id::text,
        pg_catalog.jsonb_build_object('order_id', o.id, 'number', o.number, 'payment_id', now.id, 'amount', now.captured));
    END IF;
  ELSIF now.status IN ('failed', 'canceled', 'expired') AND now.captured = 0 AND now.status IS DISTINCT FROM was.status THEN
    PERFORM startlijn.fail_order(o.id, 'payment ' OPERATOR(pg_catalog.||) now.status);
  END IF;
  -- refunds and chargebacks, requested here or made at the provider (cancellations.sql)
  IF now.refunded IS DISTINCT FROM was.refunded OR now.charged_back IS DISTINCT FROM was.charged_back THEN
    PERFORM startlijn.payment_refunded(o.id, now);
  END IF;
END
$$;
-- (payments.listeners: called by the payments engine after each change of
-- an "order:" payment, in the same transaction)
INSERT INTO payments.listeners (prefix, handler)
VALUES ('order:', 'startlijn.payment_changed(payments.payments,payments.payments)')
ON CONFLICT (prefix) DO UPDATE SET handler = EXCLUDED.handler;

-- The buyer gives a reservation back before checkout (a changed cart): the
-- places are free at once and the order is expired.
CREATE FUNCTION startlijn.release_reservation(order_id uuid, order_token text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.buyer_uid();
  o startlijn.orders := startlijn.buyer_order(order_id, order_token, true);
BEGIN
  IF o.status <> 'reserved' THEN
    PERFORM startlijn.raise('invalid_transition', pg_catalog.format('The order is %s.', o.status),
      'Only a reservation that is not checked out is given back; a checked-out order ends with its payment.');
  END IF;
  PERFORM startlijn.fail_order(o.id, 'released by the buyer');
  SELECT * INTO o FROM startlijn.orders x WHERE x.id = o.id;
  RETURN startlijn.order_json(o);
END
$$;
CREATE FUNCTION api.release_reservation(order_id uuid, order_token text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.release_reservation(order_id, order_token) $$;

-------------------------------------------------------------------------------
-- Housekeeping for pg_cron: reservations that ran out become expired
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.expire_orders(max_rows integer DEFAULT 1000) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  oid uuid;
  k integer := 0;
BEGIN
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 100000 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows is 1 to 100000.');
  END IF;
  FOR oid IN SELECT x.id FROM startlijn.orders x
              WHERE x.status = 'reserved' AND x.expires_at <= pg_catalog.now()
              ORDER BY x.expires_at LIMIT max_rows FOR UPDATE SKIP LOCKED LOOP
    PERFORM startlijn.fail_order(oid, 'reservation expired');
    k := k + 1;
  END LOOP;
  RETURN k;
END
$$;
