-- startlijn_retention/periods.sql: retention periods, platform defaults and
-- per-organisation choices and overrides.

-------------------------------------------------------------------------------
-- Periods
-------------------------------------------------------------------------------

-- The retention period of a record: the organisation's override for the
-- classification and result, its override for the classification, the
-- profile's period for the result, the profile's period for the
-- classification. NULL when none applies (the record then never expires).
-- In C: the same lookup the guard trigger and the job use (one query,
-- prepared once per session).
CREATE FUNCTION retention.period(organization_id uuid, classification text, result text DEFAULT NULL)
  RETURNS interval LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'retention_period';

-- Validate a profile, strategy and grace period (NULL = not given).
CREATE FUNCTION retention._check_choices(profile text, strategy text, grace interval) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF profile IS NOT NULL AND NOT EXISTS (SELECT 1 FROM retention.profiles p WHERE p.id = profile) THEN
    PERFORM retention.raise('retention_profile_not_found', pg_catalog.format('There is no retention profile %L.', profile),
                            'The shipped profiles are vng_2020 and provisa.');
  END IF;
  IF strategy IS NOT NULL AND strategy NOT IN ('replace', 'remove') THEN
    PERFORM retention.raise('invalid_argument', 'The anonymisation strategy is replace or remove.');
  END IF;
  IF grace IS NOT NULL AND (grace < interval '0' OR grace > interval '1 year') THEN
    PERFORM retention.raise('invalid_argument', 'The grace period lies between 0 and 1 year.');
  END IF;
END
$fn$;

CREATE FUNCTION retention.configure(
    organization_id uuid, profile text DEFAULT NULL, strategy text DEFAULT NULL,
    grace interval DEFAULT NULL, notify boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE s retention.settings;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  PERFORM retention._check_choices(profile, strategy, grace);
  INSERT INTO retention.settings AS x (organization_id, profile, strategy, grace, notify)
  VALUES (configure.organization_id, configure.profile, configure.strategy, configure.grace, COALESCE(configure.notify, true))
  ON CONFLICT ON CONSTRAINT settings_pkey DO UPDATE
     SET profile = COALESCE(EXCLUDED.profile, x.profile),
         strategy = COALESCE(EXCLUDED.strategy, x.strategy),
         grace = COALESCE(configure.grace, x.grace),
         notify = COALESCE(configure.notify, x.notify),
         updated_at = pg_catalog.now()
  RETURNING * INTO s;
  PERFORM retention._recompute(configure.organization_id);
  PERFORM trail.log(configure.organization_id, 'retention.configured', 'retention.settings',
                    pg_catalog.to_jsonb(s), NULL);
  RETURN pg_catalog.to_jsonb(s);
END
$fn$;

-- Platform-wide defaults (NULL keeps the current value).
CREATE FUNCTION retention.set_defaults(profile text DEFAULT NULL, strategy text DEFAULT NULL, grace interval DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE c retention.config;
BEGIN
  PERFORM retention._check_choices(profile, strategy, grace);
  INSERT INTO retention.config AS x (singleton, default_profile, strategy, grace)
  VALUES (true, COALESCE(set_defaults.profile, 'vng_2020'), COALESCE(set_defaults.strategy, 'replace'),
          COALESCE(set_defaults.grace, interval '30 days'))
  ON CONFLICT ON CONSTRAINT config_pkey DO UPDATE
     SET default_profile = COALESCE(set_defaults.profile, x.default_profile),
         strategy = COALESCE(set_defaults.strategy, x.strategy),
         grace = COALESCE(set_defaults.grace, x.grace)
  RETURNING * INTO c;
  PERFORM trail.log(NULL, 'retention.defaults_set', 'retention.config', pg_catalog.to_jsonb(c), NULL);
  RETURN pg_catalog.to_jsonb(c);
END
$fn$;

CREATE FUNCTION retention._recompute(organization_id uuid) RETURNS bigint
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_recompute';

-- Override (or with period NULL, remove the override of) one period.
CREATE FUNCTION retention.set_override(
    organization_id uuid, classification text, period interval, result text DEFAULT '')
  RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE changed bigint;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  IF classification IS NULL OR classification NOT IN ('archive', 'personal', 'operational', 'fiscal') THEN
    PERFORM retention.raise('invalid_argument', 'The classification is archive, personal, operational or fiscal.');
  END IF;
  IF period IS NOT NULL AND (period <= interval '0' OR period > interval '200 years') THEN
    PERFORM retention.raise('invalid_argument', 'A retention period lies between 1 second and 200 years.');
  END IF;
  IF COALESCE(result, '') !~ '^[a-z0-9_]{0,40}$' THEN
    PERFORM retention.raise('invalid_argument', 'A result type is up to 40 characters of a-z, 0-9 and _.');
  END IF;
  IF period IS NULL THEN
    DELETE FROM retention.overrides o
     WHERE o.organization_id = set_override.organization_id AND o.classification = set_override.classification
       AND o.result = COALESCE(set_override.result, '');
  ELSE
    INSERT INTO retention.overrides AS o (organization_id, classification, result, period)
    VALUES (set_override.organization_id, set_override.classification, COALESCE(set_override.result, ''), set_override.period)
    ON CONFLICT ON CONSTRAINT overrides_pkey DO UPDATE SET period = EXCLUDED.period, updated_at = pg_catalog.now();
  END IF;
  changed := retention._recompute(set_override.organization_id);
  PERFORM trail.log(set_override.organization_id, 'retention.override_set', 'retention.overrides',
                    pg_catalog.jsonb_build_object('classification', set_override.classification,
                      'result', COALESCE(set_override.result, ''), 'period', set_override.period::text,
                      'records_recomputed', changed), NULL);
  RETURN changed;
END
$fn$;
