-- startlijn/payments_api.sql: payments through the API (startlijn_payments).
--
-- Providers post webhooks to api.stripe_webhook, api.standard_webhook and
-- api.mollie_webhook (one unnamed json parameter: PostgREST passes the raw
-- body verbatim) and api.mollie_classic_webhook (form-encoded id=tr_...), as
-- anon: the signature is the authentication. The relays (service role only,
-- docs/relays.md) create payments and send refunds at the provider
-- (api.payments_to_create, api.record_provider_payment, api.refunds_to_send,
-- api.record_refund_sent) and report what they fetched from Mollie
-- (api.payment_fetches, api.record_payment_status). Owners and
-- finance read their organisation's payments and ledger and request refunds
-- (with an idempotency key); the platform superadmin reads every
-- organisation's and sets fee rules. See docs/payments.md.

-- owner, finance or the platform superadmin; returns the organisation
CREATE FUNCTION startlijn.require_payments_reader(organization_id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_org_roles(organization_id, '{owner,finance,superadmin}',
                                      'Only owners and finance see payments.');
  RETURN organization_id;
END
$$;

-- the organisation of a payment the caller may see; payment_not_found
-- otherwise (no existence leak across tenants)
CREATE FUNCTION startlijn.payment_organization(payment_id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  org uuid;
BEGIN
  IF payment_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument payment_id is required.');
  END IF;
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  org := payments.organization_of(payment_id);
  IF org IS NULL OR startlijn.caller_role(org) IS NULL THEN
    PERFORM startlijn.raise('payment_not_found');
  END IF;
  PERFORM startlijn.require_payments_reader(org);
  RETURN org;
END
$$;

-------------------------------------------------------------------------------
-- Webhooks (anon: the signature authenticates)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.receive_webhook(provider text, body json) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN payments.receive(provider, body); END $$;

CREATE FUNCTION startlijn.receive_mollie_classic(id text) RETURNS jsonb
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT payments.receive_mollie_classic(id) $$;

CREATE FUNCTION api.stripe_webhook(json) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.receive_webhook('stripe', $1) $$;
CREATE FUNCTION api.standard_webhook(json) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.receive_webhook('standard', $1) $$;
CREATE FUNCTION api.mollie_webhook(json) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.receive_webhook('mollie', $1) $$;
CREATE FUNCTION api.mollie_classic_webhook(id text) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.receive_mollie_classic(id) $$;

-------------------------------------------------------------------------------
-- The Mollie relay (service role only)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.require_service_role() RETURNS void
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF auth.role() IS NULL OR auth.role() = 'anon' THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'The relay calls with the service role key.');
  END IF;
  IF auth.role() <> 'service_role' THEN
    PERFORM startlijn.raise('insufficient_role', 'Only the service role (a provider relay) calls this.');
  END IF;
END
$$;

CREATE FUNCTION startlijn.record_payment_status(provider text, provider_ref text, status text,
                                                amount bigint, currency text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN payments.record_status(provider, provider_ref, status, amount, currency);
END
$$;
CREATE FUNCTION api.record_payment_status(provider text, provider_ref text, status text,
                                          amount bigint DEFAULT NULL, currency text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.record_payment_status(provider, provider_ref, status, amount, currency) $$;

CREATE FUNCTION startlijn.payment_fetches(max_rows integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(f)), '[]'::jsonb)
            FROM payments.claim_fetches(max_rows) f);
END
$$;
CREATE FUNCTION api.payment_fetches(max_rows integer DEFAULT 10) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.payment_fetches(max_rows) $$;

-------------------------------------------------------------------------------
-- The relay that creates payments and sends refunds at the provider
-- (service role only; docs/relays.md)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.payments_to_create(max_rows integer, provider text, account text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.created_at, c.payment_id), '[]'::jsonb)
            FROM payments.claim_creations(max_rows, provider, account) c);
END
$$;
CREATE FUNCTION api.payments_to_create(max_rows integer DEFAULT 10, provider text DEFAULT NULL,
                                       account text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.payments_to_create(max_rows, provider, account) $$;

CREATE FUNCTION startlijn.record_provider_payment(payment_id uuid, provider_ref text, checkout_url text,
                                                  client_secret text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN payments.set_provider_ref(payment_id, provider_ref, checkout_url, client_secret);
END
$$;
CREATE FUNCTION api.record_provider_payment(payment_id uuid, provider_ref text, checkout_url text DEFAULT NULL,
                                            client_secret text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.record_provider_payment(payment_id, provider_ref, checkout_url, client_secret) $$;

CREATE FUNCTION startlijn.refunds_to_send(max_rows integer, provider text, account text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.created_at, c.refund_id), '[]'::jsonb)
            FROM payments.claim_refunds(max_rows, provider, account) c);
END
$$;
CREATE FUNCTION api.refunds_to_send(max_rows integer DEFAULT 10, provider text DEFAULT NULL,
                                    account text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.refunds_to_send(max_rows, provider, account) $$;

CREATE FUNCTION startlijn.record_refund_sent(refund_id uuid, status text, provider_ref text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_service_role();
  RETURN payments.record_refund_sent(refund_id, status, provider_ref);
END
$$;
CREATE FUNCTION api.record_refund_sent(refund_id uuid, status text, provider_ref text) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.record_refund_sent(refund_id, status, provider_ref) $$;

-------------------------------------------------------------------------------
-- Reading and refunds (owners and finance)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.list_payments(organization_id uuid, status text, exceptions_only boolean,
                                        before timestamptz, max_rows integer) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_payments_reader(organization_id);
  IF status IS NOT NULL AND status NOT IN ('created', 'open', 'pending', 'authorized', 'paid', 'failed', 'canceled', 'expired') THEN
    PERFORM startlijn.raise('invalid_argument',
      'The status is created, open, pending, authorized, paid, failed, canceled or expired.');
  END IF;
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(x), '[]'::jsonb)
            FROM payments.list(organization_id, status, COALESCE(exceptions_only, false), before, max_rows) x);
END
$$;
CREATE FUNCTION api.payments(organization_id uuid, status text DEFAULT NULL, exceptions_only boolean DEFAULT false,
                             before timestamptz DEFAULT NULL, max_rows integer DEFAULT 50) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.list_payments(organization_id, status, exceptions_only, before, max_rows) $$;

CREATE FUNCTION startlijn.get_payment(payment_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.payment_organization(payment_id);
  RETURN payments.payment(payment_id);
END
$$;
CREATE FUNCTION api.payment(payment_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.get_payment(payment_id) $$;

CREATE FUNCTION startlijn.ledger_balances(organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_payments_reader(organization_id);
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(b)), '[]'::jsonb)
            FROM payments.balances(organization_id) b);
END
$$;
CREATE FUNCTION api.ledger_balances(organization_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.ledger_balances(organization_id) $$;

-- the body of an idempotent refund request: {payment_id, amount, reason}
CREATE FUNCTION startlijn.refund_payment(request jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  pid uuid;
BEGIN
  BEGIN
    pid := (request OPERATOR(pg_catalog.->>) 'payment_id')::uuid;
  EXCEPTION WHEN invalid_text_representation THEN
    PERFORM startlijn.raise('invalid_argument', 'The payment_id must be a uuid.');
  END;
  PERFORM startlijn.payment_organization(pid);
  RETURN payments.request_refund(pid, (request OPERATOR(pg_catalog.->>) 'amount')::bigint,
                                 request OPERATOR(pg_catalog.->>) 'reason', auth.uid()::text);
END
$$;

CREATE FUNCTION startlijn.request_refund(payment_id uuid, amount bigint, reason text, idempotency_key text)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  req jsonb := pg_catalog.jsonb_build_object('payment_id', payment_id, 'amount', amount, 'reason', reason);
BEGIN
  PERFORM startlijn.require_user();
  IF idempotency_key IS NULL THEN
    RETURN startlijn.refund_payment(req);
  END IF;
  RETURN payments.idempotent(auth.uid()::text, idempotency_key, 'startlijn.refund_payment(jsonb)', req);
END
$$;
CREATE FUNCTION api.request_refund(payment_id uuid, amount bigint DEFAULT NULL, reason text DEFAULT NULL,
                                   idempotency_key text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.request_refund(payment_id, amount, reason, idempotency_key) $$;

CREATE FUNCTION startlijn.resolve_payment_exception(payment_id uuid, resolution text, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.payment_organization(payment_id);
  RETURN payments.resolve_exception(payment_id, resolution, reason, auth.uid()::text);
END
$$;
CREATE FUNCTION api.resolve_payment_exception(payment_id uuid, resolution text, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.resolve_payment_exception(payment_id, resolution, reason) $$;

-- Fee rules are the platform's commercial terms: the superadmin sets them.
CREATE FUNCTION startlijn.set_fee_rule(organization_id uuid, name text, account text, basis_points integer,
                                       fixed bigint, "position" integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF startlijn.require_org_role(organization_id) IS DISTINCT FROM 'superadmin' THEN
    PERFORM startlijn.raise('insufficient_role', 'Only the platform superadmin sets fee rules.');
  END IF;
  RETURN payments.set_fee_rule(organization_id, name, account, basis_points, fixed, "position");
END
$$;
CREATE FUNCTION api.set_fee_rule(organization_id uuid, name text, account text, basis_points integer DEFAULT 0,
                                 fixed bigint DEFAULT 0, "position" integer DEFAULT 1) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_fee_rule(organization_id, name, account, basis_points, fixed, "position") $$;

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION
  startlijn.receive_webhook(text, json), startlijn.receive_mollie_classic(text),
  api.stripe_webhook(json), api.standard_webhook(json), api.mollie_webhook(json), api.mollie_classic_webhook(text)
  TO anon, authenticated, service_role;
-- every role may call the relay's functions and is told why not: the check is inside
GRANT EXECUTE ON FUNCTION
  startlijn.record_payment_status(text, text, text, bigint, text), startlijn.payment_fetches(integer),
  api.record_payment_status(text, text, text, bigint, text), api.payment_fetches(integer),
  startlijn.payments_to_create(integer, text, text), startlijn.record_provider_payment(uuid, text, text, text),
  startlijn.refunds_to_send(integer, text, text), startlijn.record_refund_sent(uuid, text, text),
  api.payments_to_create(integer, text, text), api.record_provider_payment(uuid, text, text, text),
  api.refunds_to_send(integer, text, text), api.record_refund_sent(uuid, text, text)
  TO anon, authenticated, service_role;
-- as for every RPC: anon is told not_authenticated (401) by the check inside
GRANT EXECUTE ON FUNCTION
  startlijn.list_payments(uuid, text, boolean, timestamptz, integer), startlijn.get_payment(uuid),
  startlijn.ledger_balances(uuid), startlijn.request_refund(uuid, bigint, text, text),
  startlijn.resolve_payment_exception(uuid, text, text),
  startlijn.set_fee_rule(uuid, text, text, integer, bigint, integer),
  api.payments(uuid, text, boolean, timestamptz, integer), api.payment(uuid), api.ledger_balances(uuid),
  api.request_refund(uuid, bigint, text, text), api.resolve_payment_exception(uuid, text, text),
  api.set_fee_rule(uuid, text, text, integer, bigint, integer)
  TO anon, authenticated, service_role;
