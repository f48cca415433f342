-- startlijn/limits.sql: what the platform allows an organisation.
--
-- Anyone can sign up and create an organisation, so what one organisation
-- may make the database write is bounded: capacity units (every unit of a
-- pool is a row) across all its pools. Organisations the platform has not
-- verified get the small limit; verified organisers the large one; an
-- operator can set a limit per organisation. The capacity engine bounds the
-- rows of one call on its own (capacity.settings.max_growth).

CREATE TABLE startlijn.platform_settings (
  singleton                      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  new_organization_capacity      integer NOT NULL DEFAULT 2000 CHECK (new_organization_capacity >= 0),
  verified_organization_capacity integer NOT NULL DEFAULT 1000000 CHECK (verified_organization_capacity >= 0),
  -- the key of guests' data subjects (startlijn.guest_subject): without it
  -- a subject id in an audit export or a proof cannot be tested against
  -- guessed e-mail addresses. Random per installation, kept by a dump (it
  -- must: the subjects of existing rows are derived with it), never shown.
  subject_key                    bytea NOT NULL DEFAULT startlijn.random_salt() OPERATOR(pg_catalog.||) startlijn.random_salt()
                                 CHECK (pg_catalog.octet_length(subject_key) = 32)
);
INSERT INTO startlijn.platform_settings DEFAULT VALUES;
COMMENT ON TABLE startlijn.platform_settings IS
  'limits per organisation: capacity units across all pools, for unverified and verified organisations; the key of guest subjects';
ALTER TABLE startlijn.platform_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.platform_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY no_direct_access ON startlijn.platform_settings USING (false);
REVOKE ALL ON startlijn.platform_settings FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('startlijn.platform_settings', '');

-- The capacity units the organisation may have across its pools.
CREATE FUNCTION startlijn.capacity_limit(organization_id uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT COALESCE(o.capacity_limit, CASE WHEN o.verified_at IS NOT NULL THEN s.verified_organization_capacity
                                         ELSE s.new_organization_capacity END)
    FROM startlijn.organizations o, startlijn.platform_settings s
   WHERE o.id = capacity_limit.organization_id
$$;

-- Refuse (capacity_limit) a pool change that takes the organisation past
-- its limit: capacity is the pool's new capacity, pool_id the pool changed
-- (NULL for a new one). The organisation's row is locked until commit, so
-- two concurrent changes cannot both pass on the same headroom.
CREATE FUNCTION startlijn.check_capacity_limit(organization_id uuid, pool_id uuid, capacity integer) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  lim integer;
  others bigint;
BEGIN
  IF capacity IS NULL OR capacity < 0 OR capacity > (SELECT s.max_capacity FROM capacity.settings s) THEN
    RETURN;                        -- bad input: the engine says missing_argument or invalid_capacity
  END IF;
  PERFORM 1 FROM startlijn.organizations o WHERE o.id = check_capacity_limit.organization_id FOR UPDATE;
  lim := startlijn.capacity_limit(organization_id);
  SELECT COALESCE(pg_catalog.sum(p.capacity), 0) INTO others
    FROM capacity.pools p
   WHERE p.organization_id = check_capacity_limit.organization_id
     AND p.id IS DISTINCT FROM check_capacity_limit.pool_id;
  IF others + GREATEST(capacity, 0) > lim THEN
    PERFORM startlijn.raise('capacity_limit',
      pg_catalog.format('This organization may have %s capacity units across its pools; its other pools hold %s.',
                        lim, others),
      'Ask the platform to verify your organization for a higher limit, or lower another pool first.');
  END IF;
END
$$;

-- Operators (psql, superuser): verify an organisation and/or set its own
-- capacity limit (NULL: the platform's default for its verification).
CREATE FUNCTION startlijn.set_organization_limits(organization_id uuid, verified boolean DEFAULT NULL,
                                                  capacity_limit integer DEFAULT NULL, clear_limit boolean DEFAULT false)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  o startlijn.organizations;
BEGIN
  PERFORM trail._require_superuser('startlijn.set_organization_limits()');
  UPDATE startlijn.organizations x
     SET verified_at = CASE WHEN verified IS NULL THEN x.verified_at
                            WHEN verified THEN COALESCE(x.verified_at, pg_catalog.now()) END,
         capacity_limit = CASE WHEN clear_limit THEN NULL
                               ELSE COALESCE(set_organization_limits.capacity_limit, x.capacity_limit) END
   WHERE x.id = set_organization_limits.organization_id
  RETURNING x.* INTO o;
  IF o.id IS NULL THEN
    PERFORM startlijn.raise('organization_not_found');
  END IF;
  PERFORM trail.log(o.id, 'platform.limits_changed', 'organization:' OPERATOR(pg_catalog.||) o.id::text,
                    pg_catalog.jsonb_build_object('verified_at', o.verified_at, 'capacity_limit', o.capacity_limit));
  RETURN pg_catalog.jsonb_build_object('organization_id', o.id, 'verified_at', o.verified_at,
                                       'capacity_limit', startlijn.capacity_limit(o.id),
                                       'capacity_limit_set', o.capacity_limit);
END
$$;
