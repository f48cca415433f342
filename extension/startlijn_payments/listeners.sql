-- startlijn_payments/listeners.sql: telling the system that sells what a
-- payment is for when the payment changes.
--
-- The engine knows payable references ("order:<id>"), not orders. A system
-- built on it registers a listener for a prefix of the references it
-- creates: a function (old payments.payments, new payments.payments)
-- called in the same transaction, after every change of a payment's status,
-- captured amount, refunded amount or charged-back amount (a webhook, the
-- relay, an operator, a refund requested or started at the provider, a
-- dispute opened or won). An error in the
-- listener rolls the change back: the provider retries the webhook, so the
-- listener's effects happen exactly when the payment's do.
--
-- Rows are written by the install scripts of the listening extensions
-- (not dumped: each install writes its own again). A listener whose
-- function no longer exists (its extension was dropped) is skipped.

CREATE TABLE payments.listeners (
  prefix     text PRIMARY KEY CHECK (prefix ~ '^[a-z][a-z0-9_]{0,30}:$'),
  handler    text NOT NULL CHECK (pg_catalog.length(handler) BETWEEN 1 AND 300)
);
COMMENT ON TABLE payments.listeners IS
  'listeners of payment changes per payable_ref prefix: handler(old payments.payments, new payments.payments), same transaction';
ALTER TABLE payments.listeners ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.listeners FORCE ROW LEVEL SECURITY;
CREATE POLICY no_direct_access ON payments.listeners USING (false);
REVOKE ALL ON payments.listeners FROM PUBLIC;

CREATE FUNCTION payments._notify_listeners() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  l payments.listeners;
  fn regprocedure;
  call text;
BEGIN
  FOR l IN SELECT * FROM payments.listeners x
            WHERE pg_catalog.starts_with(NEW.payable_ref, x.prefix) ORDER BY x.prefix LOOP
    fn := pg_catalog.to_regprocedure(l.handler);
    IF fn IS NULL THEN
      CONTINUE;                                  -- its extension was dropped
    END IF;
    SELECT pg_catalog.format('SELECT %I.%I($1, $2)', n.nspname, p.proname) INTO call
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.oid = fn;
    EXECUTE call USING OLD, NEW;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER notify_listeners AFTER UPDATE OF status, captured, refunded, charged_back ON payments.payments
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.captured IS DISTINCT FROM NEW.captured
                     OR OLD.refunded IS DISTINCT FROM NEW.refunded OR OLD.charged_back IS DISTINCT FROM NEW.charged_back)
  EXECUTE FUNCTION payments._notify_listeners();
