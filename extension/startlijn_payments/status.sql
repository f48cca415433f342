-- startlijn_payments/status.sql: the state machines of payments, refunds and
-- chargebacks (guard triggers) and the refunded/charged-back totals.

-------------------------------------------------------------------------------
-- Guards: state machines, append-only ledger, balance at commit
-------------------------------------------------------------------------------

-- created 0, open 1, pending 2, authorized 3, terminal 4 (and NULL or
-- unknown text 4). The one definition of the order is in C
-- (src/common/sl_payment_status.c), shared with the apply path.
CREATE FUNCTION payments._rank(status text) RETURNS integer
  LANGUAGE c IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'payments_rank';

CREATE FUNCTION payments._payments_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id OR NEW.amount <> OLD.amount
     OR NEW.currency <> OLD.currency OR NEW.account_id <> OLD.account_id
     OR NEW.payable_ref <> OLD.payable_ref OR NEW.split <> OLD.split
     OR (OLD.provider_ref IS NOT NULL AND NEW.provider_ref IS DISTINCT FROM OLD.provider_ref)
     OR (OLD.checkout_url IS NOT NULL AND NEW.checkout_url IS DISTINCT FROM OLD.checkout_url)
     OR (OLD.client_secret IS NOT NULL AND NEW.client_secret IS DISTINCT FROM OLD.client_secret) THEN
    PERFORM payments.raise('invalid_transition',
      'The organisation, amount, currency, account, payable reference, split, provider reference, checkout URL and client secret of a payment never change.');
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
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
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
