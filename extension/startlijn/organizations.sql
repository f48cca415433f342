-- startlijn/organizations.sql: organisations through the API.

CREATE FUNCTION startlijn.organization_json(o startlijn.organizations) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'id', o.id, 'name', o.name, 'slug', o.slug, 'kvk_number', o.kvk_number,
      'country', o.country, 'settings', o.settings,
      'created_at', o.created_at, 'updated_at', o.updated_at)
  $$;

CREATE FUNCTION startlijn.create_organization(
    name text, slug text, kvk_number text, country text, settings jsonb)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  org startlijn.organizations;
BEGIN
  PERFORM startlijn.check_name(name);
  PERFORM startlijn.check_slug(slug);
  IF kvk_number IS NOT NULL AND NOT startlijn.valid_kvk(kvk_number) THEN
    PERFORM startlijn.raise('invalid_kvk_number', NULL, 'Leave kvk_number out when the organization has none.');
  END IF;
  IF country IS NULL OR NOT startlijn.valid_country(country) THEN
    PERFORM startlijn.raise('invalid_country');
  END IF;
  IF settings IS NULL OR pg_catalog.jsonb_typeof(settings) <> 'object'
     OR pg_catalog.octet_length(settings::text) > 65536 THEN
    PERFORM startlijn.raise('invalid_settings');
  END IF;

  INSERT INTO startlijn.organizations AS o (name, slug, kvk_number, country, settings, created_by)
  VALUES (create_organization.name, create_organization.slug, create_organization.kvk_number,
          create_organization.country, create_organization.settings, uid)
  ON CONFLICT ON CONSTRAINT organizations_slug_key DO NOTHING
  RETURNING o.* INTO org;
  IF org.id IS NULL THEN
    PERFORM startlijn.raise('slug_taken', NULL, 'Choose another slug.');
  END IF;

  INSERT INTO startlijn.organization_members (organization_id, user_id, role, invited_by)
  VALUES (org.id, uid, 'owner', NULL);
  -- the platform's fee on every payment (checkout_settings; docs/checkout.md)
  PERFORM payments.set_fee_rule(org.id, 'platform', 'platform_fee_revenue', c.platform_fee_basis_points,
                                c.platform_fee_fixed, 1)
     FROM startlijn.checkout_settings c
    WHERE c.platform_fee_basis_points > 0 OR c.platform_fee_fixed > 0;

  RETURN startlijn.organization_json(org) || pg_catalog.jsonb_build_object('role', 'owner');
END
$$;

CREATE FUNCTION startlijn.update_organization(
    organization_id uuid, name text, slug text, kvk_number text, country text,
    settings jsonb, clear text[])
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  my_role text;
  cleared text[];
  org startlijn.organizations;
BEGIN
  my_role := startlijn.require_org_role(organization_id);
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  IF slug IS NOT NULL THEN PERFORM startlijn.check_slug(slug); END IF;
  IF kvk_number IS NOT NULL AND NOT startlijn.valid_kvk(kvk_number) THEN
    PERFORM startlijn.raise('invalid_kvk_number', NULL, 'To remove the KvK number pass clear => ["kvk_number"].');
  END IF;
  IF country IS NOT NULL AND NOT startlijn.valid_country(country) THEN
    PERFORM startlijn.raise('invalid_country');
  END IF;
  IF settings IS NOT NULL AND (pg_catalog.jsonb_typeof(settings) <> 'object'
                               OR pg_catalog.octet_length(settings::text) > 65536) THEN
    PERFORM startlijn.raise('invalid_settings');
  END IF;
  cleared := startlijn.check_clear(clear, ARRAY['kvk_number']);
  IF 'kvk_number' = ANY (cleared) AND kvk_number IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_argument', 'kvk_number cannot be set and cleared at once.');
  END IF;
  IF my_role NOT IN ('superadmin', 'owner', 'admin') THEN
    PERFORM startlijn.raise('insufficient_role', 'Only owners and admins can change the organization.');
  END IF;

  BEGIN
    UPDATE startlijn.organizations o
       SET name = COALESCE(update_organization.name, o.name),
           slug = COALESCE(update_organization.slug, o.slug),
           kvk_number = CASE WHEN 'kvk_number' = ANY (cleared) THEN NULL
                             ELSE COALESCE(update_organization.kvk_number, o.kvk_number) END,
           country = COALESCE(update_organization.country, o.country),
           settings = COALESCE(update_organization.settings, o.settings)
     WHERE o.id = update_organization.organization_id AND o.deleted_at IS NULL
    RETURNING o.* INTO org;
  EXCEPTION WHEN unique_violation THEN
    PERFORM startlijn.raise('slug_taken', NULL, 'Choose another slug.');
  END;
  IF org.id IS NULL THEN
    PERFORM startlijn.raise('organization_not_found');
  END IF;
  RETURN startlijn.organization_json(org);
END
$$;

CREATE FUNCTION startlijn.my_organizations()
  RETURNS TABLE (id uuid, name text, slug text, role text, via text, joined_at timestamptz)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  RETURN QUERY
    SELECT o.id, o.name, o.slug, m.role, 'member'::text, m.created_at
      FROM startlijn.organization_members m
      JOIN startlijn.organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL
     WHERE m.user_id = auth.uid() AND m.deleted_at IS NULL
    UNION ALL
    SELECT o.id, o.name, o.slug, r.granted_role, r.relationship_type, r.valid_from
      FROM startlijn.organization_members m
      JOIN startlijn.active_relationships r
        ON r.source_organization_id = m.organization_id
      JOIN startlijn.organizations o ON o.id = r.organization_id AND o.deleted_at IS NULL
     WHERE m.user_id = auth.uid() AND m.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM startlijn.organization_members d
                        WHERE d.organization_id = r.organization_id
                          AND d.user_id = auth.uid() AND d.deleted_at IS NULL)
    ORDER BY 2, 1;
END
$$;

-------------------------------------------------------------------------------
-- The API (schema api): SECURITY INVOKER wrappers with client-facing names
-------------------------------------------------------------------------------
CREATE FUNCTION api.create_organization(
    name text, slug text, kvk_number text DEFAULT NULL, country text DEFAULT 'NL',
    settings jsonb DEFAULT '{}'::jsonb)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_organization(name, slug, kvk_number, country, settings) $$;

CREATE FUNCTION api.update_organization(
    organization_id uuid, name text DEFAULT NULL, slug text DEFAULT NULL,
    kvk_number text DEFAULT NULL, country text DEFAULT NULL, settings jsonb DEFAULT NULL,
    clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_organization(organization_id, name, slug, kvk_number, country, settings, clear) $$;

CREATE FUNCTION api.my_organizations()
  RETURNS TABLE (id uuid, name text, slug text, role text, via text, joined_at timestamptz)
  LANGUAGE sql STABLE
  AS $$ SELECT * FROM startlijn.my_organizations() $$;

-- The API: invoker wrappers and the definer internals they call. anon may
-- call them too, so PostgREST answers with a clean not_authenticated (PT401)
-- instead of a permission error on the function.
GRANT EXECUTE ON FUNCTION
  api.create_organization(text, text, text, text, jsonb),
  api.update_organization(uuid, text, text, text, text, jsonb, text[]),
  api.my_organizations(),
  startlijn.create_organization(text, text, text, text, jsonb),
  startlijn.update_organization(uuid, text, text, text, text, jsonb, text[]),
  startlijn.my_organizations()
  TO anon, authenticated, service_role;
