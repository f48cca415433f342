-- startlijn/orders_api.sql: reading orders and registrations, discount codes,
-- claiming guest registrations, the start list (issue 25).
--
-- Buyers read their orders (api.my_orders, api.order with the order's
-- token for guests), participants their registrations; every member role
-- of the organisation reads its orders and registrations; owners and
-- admins manage discount codes.

-------------------------------------------------------------------------------
-- The buyer and the participant
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.get_order(order_id uuid, order_token text) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.orders;
BEGIN
  IF order_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument order_id is required.');
  END IF;
  IF auth.uid() IS NOT NULL THEN
    PERFORM startlijn.caller();
    SELECT * INTO o FROM startlijn.orders x WHERE x.id = get_order.order_id;
    IF o.id IS NOT NULL AND o.buyer_user_id IS DISTINCT FROM auth.uid()
       AND startlijn.caller_role(o.organization_id) IS NOT NULL THEN
      -- a member of the organisation: not the payer's client secret
      RETURN startlijn.order_json(o) OPERATOR(pg_catalog.#-) '{payment,client_secret}';
    END IF;
  END IF;
  o := startlijn.buyer_order(order_id, order_token, false);
  RETURN startlijn.order_json(o);
END
$$;
CREATE FUNCTION api."order"(order_id uuid, order_token text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.get_order(order_id, order_token) $$;

CREATE FUNCTION startlijn.my_orders() RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c record := startlijn.caller();
BEGIN
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.order_json(o) ORDER BY o.created_at DESC, o.id)
                     FROM (SELECT * FROM startlijn.orders x
                            WHERE x.buyer_user_id = c.uid AND x.status NOT IN ('expired')
                            ORDER BY x.created_at DESC LIMIT 200) o), '[]');
END
$$;
CREATE FUNCTION api.my_orders() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.my_orders() $$;

CREATE FUNCTION startlijn.my_registrations() RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c record := startlijn.caller();
BEGIN
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.registration_json(r) OPERATOR(pg_catalog.||)
                      pg_catalog.jsonb_build_object(
                        'event', pg_catalog.jsonb_build_object('event_id', e.id, 'name', e.name, 'starts_at', e.starts_at,
                                                               'status', e.status),
                        'ticket_type', t.name, 'code', n.code, 'entitlement_id', n.id)
                      ORDER BY e.starts_at, r.id)
                     FROM (SELECT * FROM startlijn.registrations x
                            WHERE (x.user_id = c.uid
                                   OR x.order_id IN (SELECT o.id FROM startlijn.orders o WHERE o.buyer_user_id = c.uid))
                              AND x.status IN ('pending', 'paid', 'cancelled')
                            ORDER BY x.created_at DESC LIMIT 500) r
                     JOIN startlijn.events e ON e.id = r.event_id
                     JOIN startlijn.ticket_types t ON t.id = r.ticket_type_id
                     LEFT JOIN startlijn.entitlements n ON n.registration_id = r.id), '[]');
END
$$;
CREATE FUNCTION api.my_registrations() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.my_registrations() $$;

-- Link the guest registrations and orders made with the caller's verified
-- e-mail (the profile's, which mirrors the sign-in's) to the account.
CREATE FUNCTION startlijn.claim_registrations() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  mail text;
  nr integer;
  no integer;
BEGIN
  SELECT pg_catalog.lower(p.email) INTO mail FROM startlijn.profiles p WHERE p.id = uid;
  IF mail IS NULL THEN
    PERFORM startlijn.raise('invalid_email', 'Your account has no verified e-mail address.');
  END IF;
  UPDATE startlijn.registrations x SET user_id = uid
   WHERE x.user_id IS NULL AND pg_catalog.lower(x.email) = mail AND x.erased_at IS NULL AND x.archive_status = 'active';
  GET DIAGNOSTICS nr = ROW_COUNT;
  UPDATE startlijn.orders x SET buyer_user_id = uid
   WHERE x.buyer_user_id IS NULL AND pg_catalog.lower(x.buyer_email) = mail AND x.archive_status = 'active'
     AND x.personal_cleared_at IS NULL;
  GET DIAGNOSTICS no = ROW_COUNT;
  IF nr + no > 0 THEN
    PERFORM trail.log(NULL, 'orders.claimed', 'profile:' OPERATOR(pg_catalog.||) uid::text,
                      pg_catalog.jsonb_build_object('registrations', nr, 'orders', no));
  END IF;
  RETURN pg_catalog.jsonb_build_object('registrations', nr, 'orders', no);
END
$$;
CREATE FUNCTION api.claim_registrations() RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.claim_registrations() $$;

-------------------------------------------------------------------------------
-- The organisation
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.list_orders(event_id uuid, status text, q text, before timestamptz, max_rows integer) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  IF status IS NOT NULL AND status NOT IN ('reserved', 'pending', 'paid', 'expired', 'failed', 'cancelled') THEN
    PERFORM startlijn.raise('invalid_argument', 'status is reserved, pending, paid, expired, failed or cancelled.');
  END IF;
  IF q IS NOT NULL AND pg_catalog.length(q) > 100 THEN
    PERFORM startlijn.raise('invalid_argument', 'A search text has at most 100 characters.');
  END IF;
  IF COALESCE(max_rows, 50) NOT BETWEEN 1 AND 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows is 1 to 500.');
  END IF;
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.order_json(o) OPERATOR(pg_catalog.#-) '{payment,client_secret}'
                                               ORDER BY o.created_at DESC, o.id)
                     FROM (SELECT * FROM startlijn.orders x
                            WHERE x.event_id = e.id
                              AND (list_orders.status IS NULL OR x.status = list_orders.status)
                              AND (list_orders.before IS NULL OR x.created_at < list_orders.before)
                              AND (q IS NULL OR x.number::text = q
                                   OR pg_catalog.strpos(pg_catalog.lower(COALESCE(x.buyer_email, '') || ' ' || COALESCE(x.buyer_name, '')),
                                                        pg_catalog.lower(q)) > 0)
                            ORDER BY x.created_at DESC, x.id LIMIT COALESCE(max_rows, 50)) o), '[]');
END
$$;
CREATE FUNCTION api.orders(event_id uuid, status text DEFAULT NULL, q text DEFAULT NULL, before timestamptz DEFAULT NULL,
                           max_rows integer DEFAULT 50) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.list_orders(event_id, status, q, before, max_rows) $$;

CREATE FUNCTION startlijn.list_registrations(event_id uuid, status text, ticket_type_id uuid, q text,
                                             after_name text, max_rows integer) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  IF status IS NOT NULL AND status NOT IN ('pending', 'paid', 'cancelled', 'transferred') THEN
    PERFORM startlijn.raise('invalid_argument', 'status is pending, paid, cancelled or transferred.');
  END IF;
  IF (q IS NOT NULL AND pg_catalog.length(q) > 100) OR (after_name IS NOT NULL AND pg_catalog.length(after_name) > 400) THEN
    PERFORM startlijn.raise('invalid_argument', 'A search text has at most 100 characters.');
  END IF;
  IF COALESCE(max_rows, 100) NOT BETWEEN 1 AND 1000 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows is 1 to 1000.');
  END IF;
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.registration_json(r.reg) OPERATOR(pg_catalog.||)
                            pg_catalog.jsonb_build_object('ticket_type', t.name, 'sort_name', r.sort_name)
                            ORDER BY r.sort_name)
                     FROM (SELECT x AS reg, x.ticket_type_id,
                                  pg_catalog.lower(COALESCE(x.last_name, '') || ' ' || COALESCE(x.first_name, '')
                                                   || ' ' || x.id::text) AS sort_name
                             FROM startlijn.registrations x
                            WHERE x.event_id = e.id
                              AND (list_registrations.status IS NULL OR x.status = list_registrations.status)
                              AND (list_registrations.ticket_type_id IS NULL OR x.ticket_type_id = list_registrations.ticket_type_id)
                              AND (q IS NULL OR pg_catalog.strpos(pg_catalog.lower(COALESCE(x.first_name, '') || ' ' ||
                                     COALESCE(x.last_name, '') || ' ' || COALESCE(x.email, '') || ' ' || COALESCE(x.club, '')),
                                     pg_catalog.lower(q)) > 0)
                              AND (after_name IS NULL OR pg_catalog.lower(COALESCE(x.last_name, '') || ' ' || COALESCE(x.first_name, '')
                                                                          || ' ' || x.id::text) > after_name)
                            ORDER BY sort_name LIMIT COALESCE(max_rows, 100)) r
                     JOIN startlijn.ticket_types t ON t.id = r.ticket_type_id), '[]');
END
$$;
CREATE FUNCTION api.registrations(event_id uuid, status text DEFAULT NULL, ticket_type_id uuid DEFAULT NULL,
                                  q text DEFAULT NULL, after_name text DEFAULT NULL, max_rows integer DEFAULT 100)
  RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT startlijn.list_registrations(event_id, status, ticket_type_id, q, after_name, max_rows) $$;

-- The start list as CSV (PostgREST serves a function returning the domain
-- "text/csv" with Content-Type text/csv when the client sends
-- Accept: text/csv). Paid registrations, ordered by course, wave, name.
CREATE DOMAIN api."text/csv" AS text;
CREATE FUNCTION startlijn.csv_field(v text) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  -- quoted; a leading = + - @ is prefixed with ' so that spreadsheets do not run it
  SELECT '"' || pg_catalog.replace(CASE WHEN v ~ '^[=+@\t\r-]' THEN '''' || v ELSE COALESCE(v, '') END, '"', '""') || '"'
$$;
CREATE FUNCTION startlijn.start_list(event_id uuid) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  RETURN 'registration_id,course,wave,ticket_type,last_name,first_name,gender,date_of_birth,nationality,club,email,phone'
    || pg_catalog.chr(10) || COALESCE((
    SELECT pg_catalog.string_agg(pg_catalog.concat_ws(',', r.id::text, startlijn.csv_field(c.name),
             startlijn.csv_field(w.name), startlijn.csv_field(t.name), startlijn.csv_field(r.last_name),
             startlijn.csv_field(r.first_name), COALESCE(r.gender, ''), COALESCE(r.date_of_birth::text, ''),
             COALESCE(r.nationality, ''), startlijn.csv_field(r.club), startlijn.csv_field(r.email),
             startlijn.csv_field(r.phone)), pg_catalog.chr(10)
             ORDER BY c.sort_order, c.name, w.starts_at NULLS FIRST, pg_catalog.lower(r.last_name), pg_catalog.lower(r.first_name), r.id)
           || pg_catalog.chr(10)
      FROM startlijn.registrations r
      JOIN startlijn.ticket_types t ON t.id = r.ticket_type_id
      JOIN startlijn.courses c ON c.id = t.course_id
      LEFT JOIN startlijn.waves w ON w.id = t.wave_id
     WHERE r.event_id = e.id AND r.status = 'paid'), '');
END
$$;
CREATE FUNCTION api.start_list(event_id uuid) RETURNS api."text/csv"
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.start_list(event_id)::api."text/csv" $$;

-- Revenue of an event: per ticket type and add-on variant, per day (in the
-- event's time zone), from paid orders: gross, discount, net, VAT, refunded.
CREATE FUNCTION startlijn.event_revenue(event_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  RETURN pg_catalog.jsonb_build_object(
    'currency', (SELECT pg_catalog.min(o.currency) FROM startlijn.orders o WHERE o.event_id = e.id),
    'orders_paid', (SELECT pg_catalog.count(*) FROM startlijn.orders o WHERE o.event_id = e.id AND o.status IN ('paid', 'cancelled')),
    'total', (SELECT COALESCE(pg_catalog.sum(o.total), 0) FROM startlijn.orders o
               WHERE o.event_id = e.id AND o.status IN ('paid', 'cancelled')),
    'refunded', (SELECT COALESCE(pg_catalog.sum(o.refunded), 0) FROM startlijn.orders o WHERE o.event_id = e.id),
    'late_payments', (SELECT pg_catalog.jsonb_build_object(
                        'allocated', pg_catalog.count(*) FILTER (WHERE o.late_payment = 'allocated'),
                        'refunded', pg_catalog.count(*) FILTER (WHERE o.late_payment = 'refunded'))
                        FROM startlijn.orders o WHERE o.event_id = e.id AND o.late_payment IS NOT NULL),
    'per_item', COALESCE((SELECT pg_catalog.jsonb_agg(x ORDER BY x.kind, x.name) FROM (
                   SELECT i.kind, i.ticket_type_id, i.variant_id, pg_catalog.min(i.name) AS name,
                          pg_catalog.sum(i.quantity) AS units, pg_catalog.sum(i.quantity * i.unit_price) AS gross,
                          pg_catalog.sum(i.quantity * i.unit_discount) AS discount, pg_catalog.sum(i.total) AS net,
                          pg_catalog.sum(i.vat_amount) AS vat
                     FROM startlijn.orders o JOIN startlijn.order_items i ON i.order_id = o.id
                    WHERE o.event_id = e.id AND o.status IN ('paid', 'cancelled')
                    GROUP BY i.kind, i.ticket_type_id, i.variant_id) x), '[]'),
    'per_day', COALESCE((SELECT pg_catalog.jsonb_agg(x ORDER BY x.day) FROM (
                   SELECT (o.paid_at AT TIME ZONE e.time_zone)::date AS day, pg_catalog.count(*) AS orders,
                          pg_catalog.sum(o.total) AS total, pg_catalog.sum(o.refunded) AS refunded
                     FROM startlijn.orders o
                    WHERE o.event_id = e.id AND o.status IN ('paid', 'cancelled')
                    GROUP BY 1) x), '[]'));
END
$$;
CREATE FUNCTION api.event_revenue(event_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.event_revenue(event_id) $$;

-------------------------------------------------------------------------------
-- Discount codes (owners and admins)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.discount_code_json(d startlijn.discount_codes) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'discount_code_id', d.id, 'event_id', d.event_id, 'code', d.code, 'kind', d.kind, 'amount', d.amount,
    'percentage', d.percentage, 'ticket_type_ids', d.ticket_type_ids, 'valid_from', d.valid_from,
    'valid_until', d.valid_until, 'max_uses', d.max_uses,
    'used', CASE WHEN d.pool_id IS NOT NULL THEN (SELECT pg_catalog.count(*) FROM capacity.allocations a
                                                   WHERE a.pool_id = d.pool_id AND a.returned < a.quantity) END,
    'held', CASE WHEN d.pool_id IS NOT NULL THEN d.max_uses - COALESCE(capacity.available(d.pool_id), 0)
                                                 - (SELECT pg_catalog.count(*) FROM capacity.allocations a
                                                     WHERE a.pool_id = d.pool_id AND a.returned < a.quantity) END,
    'created_at', d.created_at)
$$;

CREATE FUNCTION startlijn.create_discount_code(event_id uuid, code text, kind text, amount bigint, percentage integer,
                                               ticket_type_ids uuid[], valid_from timestamptz, valid_until timestamptz,
                                               max_uses integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  d startlijn.discount_codes;
  c text := pg_catalog.upper(pg_catalog.btrim(code));
  pool uuid;
BEGIN
  IF c IS NULL OR kind IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The arguments code and kind are required.');
  END IF;
  IF c !~ '^[A-Z0-9][A-Z0-9_-]{2,31}$' THEN
    PERFORM startlijn.raise('invalid_argument', 'A code has 3 to 32 letters, digits, hyphens or underscores.');
  END IF;
  IF kind NOT IN ('amount', 'percentage') OR (kind = 'amount') <> (amount IS NOT NULL)
     OR (kind = 'percentage') <> (percentage IS NOT NULL) THEN
    PERFORM startlijn.raise('invalid_argument', 'kind amount takes amount (minor units), kind percentage takes percentage.');
  END IF;
  IF amount IS NOT NULL AND amount NOT BETWEEN 1 AND 100000000 THEN
    PERFORM startlijn.raise('invalid_amount', 'The amount is 1 to 100000000 minor units.');
  END IF;
  IF percentage IS NOT NULL AND percentage NOT BETWEEN 1 AND 100 THEN
    PERFORM startlijn.raise('invalid_argument', 'The percentage is 1 to 100.');
  END IF;
  IF ticket_type_ids IS NOT NULL AND (pg_catalog.cardinality(ticket_type_ids) NOT BETWEEN 1 AND 100
       OR EXISTS (SELECT 1 FROM pg_catalog.unnest(ticket_type_ids) u
                   WHERE NOT EXISTS (SELECT 1 FROM startlijn.ticket_types t
                                      WHERE t.id = u AND t.event_id = e.id AND t.deleted_at IS NULL))) THEN
    PERFORM startlijn.raise('ticket_type_not_found', 'ticket_type_ids names 1 to 100 ticket types of this event.');
  END IF;
  IF NOT (startlijn.valid_moment(valid_from) AND startlijn.valid_moment(valid_until)) THEN
    PERFORM startlijn.raise('invalid_period', 'Dates and times lie between the years 1900 and 9999.');
  END IF;
  IF valid_from IS NOT NULL AND valid_until IS NOT NULL AND valid_until <= valid_from THEN
    PERFORM startlijn.raise('invalid_period', 'valid_until is after valid_from.');
  END IF;
  IF max_uses IS NOT NULL AND max_uses NOT BETWEEN 1 AND 100000 THEN
    PERFORM startlijn.raise('invalid_capacity', 'max_uses is 1 to 100000.');
  END IF;
  IF max_uses IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(e.organization_id, NULL, max_uses);
    pool := (capacity.create_pool(e.organization_id, 'discount ' || c, max_uses) OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
  END IF;
  BEGIN
    INSERT INTO startlijn.discount_codes AS x (organization_id, event_id, code, kind, amount, percentage, ticket_type_ids,
                                               valid_from, valid_until, max_uses, pool_id)
    VALUES (e.organization_id, e.id, c, kind, amount, percentage, ticket_type_ids, valid_from, valid_until, max_uses, pool)
    RETURNING x.* INTO d;
  EXCEPTION WHEN unique_violation THEN
    PERFORM startlijn.raise('slug_taken', 'The event has a discount code with this text already.');
  END;
  PERFORM trail.log(d.organization_id, 'catalog.discount_code_created', 'discount_code:' || d.id::text,
                    startlijn.discount_code_json(d));
  RETURN startlijn.discount_code_json(d);
END
$$;
CREATE FUNCTION api.create_discount_code(event_id uuid, code text DEFAULT NULL, kind text DEFAULT NULL,
                                         amount bigint DEFAULT NULL, percentage integer DEFAULT NULL,
                                         ticket_type_ids uuid[] DEFAULT NULL, valid_from timestamptz DEFAULT NULL,
                                         valid_until timestamptz DEFAULT NULL, max_uses integer DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_discount_code(event_id, code, kind, amount, percentage, ticket_type_ids, valid_from,
                                              valid_until, max_uses) $$;

CREATE FUNCTION startlijn.delete_discount_code(discount_code_id uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  d startlijn.discount_codes;
BEGIN
  IF discount_code_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument discount_code_id is required.');
  END IF;
  SELECT * INTO d FROM startlijn.discount_codes x WHERE x.id = delete_discount_code.discount_code_id AND x.deleted_at IS NULL;
  IF d.id IS NULL OR startlijn.caller_role(d.organization_id) IS NULL THEN
    PERFORM startlijn.raise('discount_code_not_found');
  END IF;
  PERFORM startlijn.catalog_event(d.event_id, 'write');
  UPDATE startlijn.discount_codes x SET deleted_at = pg_catalog.now() WHERE x.id = d.id RETURNING x.* INTO d;
  PERFORM trail.log(d.organization_id, 'catalog.discount_code_deleted', 'discount_code:' || d.id::text,
                    pg_catalog.jsonb_build_object('discount_code_id', d.id, 'code', d.code));
  RETURN startlijn.discount_code_json(d) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('deleted', true);
END
$$;
CREATE FUNCTION api.delete_discount_code(discount_code_id uuid) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_discount_code(discount_code_id) $$;

CREATE FUNCTION startlijn.discount_codes(event_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'read');
BEGIN
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.discount_code_json(d) ORDER BY d.code)
                     FROM startlijn.discount_codes d WHERE d.event_id = e.id AND d.deleted_at IS NULL), '[]');
END
$$;
CREATE FUNCTION api.discount_codes(event_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.discount_codes(event_id) $$;

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION
  startlijn.reserve(uuid, jsonb, text, text, text), api.reserve(uuid, jsonb, text, text, text),
  startlijn.accept_offer(uuid), api.accept_offer(uuid),
  startlijn.join_ticket_waitlist(uuid, integer, text), api.join_ticket_waitlist(uuid, integer, text),
  startlijn.checkout(uuid, jsonb, jsonb, text, text, text, uuid), api.checkout(uuid, jsonb, jsonb, text, text, text, uuid),
  startlijn.assign_entry(uuid, jsonb, text), api.assign_entry(uuid, jsonb, text),
  startlijn.release_reservation(uuid, text), api.release_reservation(uuid, text),
  startlijn.cancel_registration(uuid, text, bigint, text), api.cancel_registration(uuid, text, bigint, text),
  startlijn.cancel_order(uuid, text, bigint), api.cancel_order(uuid, text, bigint),
  startlijn.get_order(uuid, text), api."order"(uuid, text),
  startlijn.my_orders(), api.my_orders(), startlijn.my_registrations(), api.my_registrations(),
  startlijn.claim_registrations(), api.claim_registrations(),
  startlijn.list_orders(uuid, text, text, timestamptz, integer), api.orders(uuid, text, text, timestamptz, integer),
  startlijn.list_registrations(uuid, text, uuid, text, text, integer),
  api.registrations(uuid, text, uuid, text, text, integer),
  startlijn.start_list(uuid), api.start_list(uuid), startlijn.event_revenue(uuid), api.event_revenue(uuid),
  startlijn.create_discount_code(uuid, text, text, bigint, integer, uuid[], timestamptz, timestamptz, integer),
  api.create_discount_code(uuid, text, text, bigint, integer, uuid[], timestamptz, timestamptz, integer),
  startlijn.delete_discount_code(uuid), api.delete_discount_code(uuid),
  startlijn.discount_codes(uuid), api.discount_codes(uuid)
  TO anon, authenticated, service_role;
GRANT USAGE ON DOMAIN api."text/csv" TO anon, authenticated, service_role;
