-- startlijn_payments 0.1 -> 0.2: backups that restore.
--
-- pg_dump writes the rows of an extension's tables only for tables the
-- extension registers: 0.1 registered the settings, accounts and secrets
-- alone, so a dump lost every payment, event, delivery, refund, chargeback,
-- fee rule and the whole ledger. And the settings row CREATE EXTENSION
-- inserts collided with the dumped one. See docs/operations.md, "Backup and
-- restore". Throttling state is not kept: idempotency keys are (a replay
-- after a restore still returns the stored response).

\echo Use "ALTER EXTENSION startlijn_payments UPDATE TO '0.2'" to load this file. \quit

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

-- Step 1 of a restore, on the new database: remove the install-time
-- settings row (the dump holds the real one). Refuses once accounts or
-- payments exist.
CREATE FUNCTION payments.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
BEGIN
  PERFORM trail._require_superuser('payments.prepare_restore()');  -- startlijn_audit 0.2
  IF EXISTS (SELECT 1 FROM payments.accounts) OR EXISTS (SELECT 1 FROM payments.payments)
     OR EXISTS (SELECT 1 FROM payments.journal) THEN
    RAISE EXCEPTION 'this payments schema is in use: it is no restore target'
      USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'It has provider accounts, payments or ledger entries.',
            HINT = 'Restore into a new database: CREATE DATABASE, pg_restore --schema-only, then this.';
  END IF;
  DELETE FROM payments.settings;
  RETURN pg_catalog.jsonb_build_object('settings', 1);
END
$$;
REVOKE ALL ON FUNCTION payments.prepare_restore() FROM PUBLIC;
