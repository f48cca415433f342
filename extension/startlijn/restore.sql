-- startlijn/restore.sql: backup and restore (docs/operations.md, "Backup and restore").
--
-- pg_dump writes the rows of an extension's tables only for tables the
-- extension registers: the platform registers its tables here.

SELECT pg_catalog.pg_extension_config_dump('startlijn.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.organizations', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.organization_members', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.organization_relationships', '');
-- the catalog (catalog.sql)
SELECT pg_catalog.pg_extension_config_dump('startlijn.events', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.courses', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.waves', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.ticket_types', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.price_tiers', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.addons', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.addon_variants', '');
-- orders and registrations (orders.sql); checkout_settings registers itself
SELECT pg_catalog.pg_extension_config_dump('startlijn.discount_codes', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.orders', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.order_items', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.registrations', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.entitlements', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.invoice_counters', '');
SELECT pg_catalog.pg_extension_config_dump('startlijn.order_numbers', '');

-- Step 1 of a restore into a new database (after CREATE EXTENSION or
-- pg_restore --schema-only): every installed startlijn extension removes
-- the install-time rows its dump holds too. Refuses on a database in use.
CREATE FUNCTION startlijn.prepare_restore() RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  res jsonb := '{}';
  one jsonb;
  e record;
BEGIN
  PERFORM trail._require_superuser('startlijn.prepare_restore()');
  IF EXISTS (SELECT 1 FROM startlijn.organizations) OR EXISTS (SELECT 1 FROM startlijn.profiles) THEN
    RAISE EXCEPTION 'this platform database is in use: it is no restore target'
      USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'It has organizations or profiles.',
            HINT = 'Restore into a new database: CREATE DATABASE, pg_restore --schema-only, then this.';
  END IF;
  -- the platform's install-time settings row (the dump holds the real one)
  DELETE FROM startlijn.platform_settings;
  DELETE FROM startlijn.checkout_settings;
  res := res OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('startlijn',
           pg_catalog.jsonb_build_object('platform_settings', 1, 'checkout_settings', 1));
  -- the generic extensions, when installed, each with its own step
  FOR e IN SELECT x.extname, n.nspname FROM pg_catalog.pg_extension x
             JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
            WHERE x.extname IN ('startlijn_audit', 'startlijn_capacity', 'startlijn_payments', 'startlijn_tokens')
            ORDER BY x.extname LOOP
    EXECUTE pg_catalog.format('SELECT %I.prepare_restore()', e.nspname) INTO STRICT one;
    res := res OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.extname, one);
  END LOOP;
  RETURN res;
END
$$;

-- Step 3, after pg_restore --data-only --disable-triggers: the audit
-- triggers back to ENABLE ALWAYS and every log verified (trail), and the
-- platform's own invariants checked on the restored rows.
CREATE FUNCTION startlijn.finish_restore(verify boolean DEFAULT true) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  trail_report jsonb;
  owners bigint;
BEGIN
  PERFORM trail._require_superuser('startlijn.finish_restore()');
  trail_report := trail.finish_restore(verify);
  SELECT pg_catalog.count(*) INTO owners FROM startlijn.organizations o
   WHERE o.deleted_at IS NULL
     AND o.owner_count <> (SELECT pg_catalog.count(*) FROM startlijn.organization_members m
                            WHERE m.organization_id = o.id AND m.role = 'owner' AND m.deleted_at IS NULL);
  RETURN pg_catalog.jsonb_build_object(
    'organizations', (SELECT pg_catalog.count(*) FROM startlijn.organizations),
    'profiles', (SELECT pg_catalog.count(*) FROM startlijn.profiles),
    'owner_count_mismatches', owners,
    'trail', trail_report,
    'ok', owners = 0 AND pg_catalog.jsonb_array_length(trail_report OPERATOR(pg_catalog.->) 'problems') = 0);
END
$$;
