-- startlijn_payments/reading.sql: reading payments (for the platform's readers).

-------------------------------------------------------------------------------
-- Reading
-------------------------------------------------------------------------------

CREATE FUNCTION payments.organization_of(payment_id uuid) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT p.organization_id FROM payments.payments p WHERE p.id = organization_of.payment_id $$;

CREATE FUNCTION payments.payment(payment_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  RETURNS SETOF jsonb LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT payments.payment_json(p) FROM payments.payments p
     WHERE p.organization_id = list.organization_id
       AND (list.status IS NULL OR p.status = list.status)
       AND (NOT list.exceptions_only OR (p.exception IS NOT NULL AND p.resolution IS NULL))
       AND (list.before IS NULL OR p.created_at < list.before)
     ORDER BY p.created_at DESC, p.id LIMIT LEAST(GREATEST(COALESCE(max_rows, 50), 1), 500)
  $$;
