-- startlijn/audit_api.sql: the tenancy core audited through startlijn_audit.
--
-- Every change to organisations, memberships, relationships and profiles is
-- recorded by trail's capture trigger (who, from which request, what changed);
-- profile names, emails and phone numbers are stored encrypted under the
-- profile's key (crypto-shredding). Owners, admins and finance read their
-- organisation's trail through api.audit_entries; the superadmin reads all.

-------------------------------------------------------------------------------
-- Capture
-------------------------------------------------------------------------------
SELECT trail.enable('startlijn.organizations', organization_column => 'id');
SELECT trail.enable('startlijn.organization_members', subject_column => 'user_id');
SELECT trail.enable('startlijn.organization_relationships');
-- profiles belong to no organisation: the platform log
SELECT trail.enable('startlijn.profiles', organization_column => NULL, subject_column => 'id',
                    personal_columns => '{full_name,email,phone,date_of_birth}');
-- the actor of an entry is marked superadmin through the platform's own rule
UPDATE trail.settings SET superadmin_check = 'startlijn.is_superadmin()'::regprocedure;

-------------------------------------------------------------------------------
-- Reading: owner, admin and finance of the organisation; the superadmin
--    for every organisation and the platform log (organization_id => NULL).
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.require_audit_reader(organization_id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF organization_id IS NULL THEN
    IF auth.uid() IS NULL THEN
      PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
    END IF;
    IF NOT startlijn.is_superadmin() THEN
      PERFORM startlijn.raise('insufficient_role', 'Only the platform superadmin reads the platform audit log.');
    END IF;
    RETURN '00000000-0000-0000-0000-000000000000';
  END IF;
  PERFORM startlijn.require_org_roles(organization_id, '{owner,admin,finance,superadmin}',
                                      'Only owners, admins and finance read the audit trail.');
  RETURN organization_id;
END
$$;

CREATE FUNCTION startlijn.audit_entries(
    organization_id uuid, subject text, table_name text, action text,
    since timestamptz, until timestamptz, before bigint, page_size integer)
  RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  log uuid := startlijn.require_audit_reader(organization_id);
  page jsonb;
  n integer := COALESCE(page_size, 50);
BEGIN
  IF n < 1 OR n > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'page_size must be between 1 and 500.');
  END IF;
  IF pg_catalog.octet_length(subject) > 200 OR pg_catalog.octet_length(table_name) > 200
     OR pg_catalog.octet_length(action) > 200 THEN
    PERFORM startlijn.raise('invalid_argument', 'The filters subject, table_name and action have at most 200 bytes.');
  END IF;
  IF since IS NOT NULL AND until IS NOT NULL AND until <= since THEN
    PERFORM startlijn.raise('invalid_argument', 'until must be after since.');
  END IF;
  SELECT COALESCE(pg_catalog.jsonb_agg(e ORDER BY (e OPERATOR(pg_catalog.->>) 'id')::bigint DESC), '[]')
    INTO page
    FROM trail.entries_page(log, subject, table_name, action, since, until, before, n) AS e;
  RETURN pg_catalog.jsonb_build_object(
    'entries', page,
    'next_before', CASE WHEN pg_catalog.jsonb_array_length(page) = n
                        THEN page OPERATOR(pg_catalog.->) (n - 1) OPERATOR(pg_catalog.->) 'id' END);
END
$$;

CREATE FUNCTION startlijn.audit_checkpoint(organization_id uuid) RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN trail.checkpoint(startlijn.require_audit_reader(organization_id));
END
$$;

CREATE FUNCTION startlijn.audit_proof(entry_id bigint, tree_size bigint) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  log uuid;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  IF entry_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument entry_id is required.');
  END IF;
  SELECT e.log_id INTO log FROM trail.entries e WHERE e.id = entry_id;
  IF log IS NULL THEN
    PERFORM startlijn.raise('entry_not_found');
  END IF;
  -- not_found, not forbidden, for entries the caller cannot know of
  IF log = '00000000-0000-0000-0000-000000000000' AND NOT startlijn.is_superadmin() THEN
    PERFORM startlijn.raise('entry_not_found');
  END IF;
  BEGIN
    PERFORM startlijn.require_audit_reader(NULLIF(log, '00000000-0000-0000-0000-000000000000'));
  EXCEPTION WHEN SQLSTATE 'PT404' THEN
    PERFORM startlijn.raise('entry_not_found');
  END;
  -- with the entry's stored bytes: a verifier with API access alone hashes
  -- exactly these (the parsed entry, re-encoded, may differ: 1/7.0 is kept
  -- as 0.14285714285714285714, which a JSON parser rounds)
  RETURN trail.inclusion_proof(entry_id, tree_size) OPERATOR(pg_catalog.||)
         (SELECT pg_catalog.jsonb_build_object('body', e.body, 'body_base64',
                   pg_catalog.translate(pg_catalog.encode(pg_catalog.convert_to(e.body, 'UTF8'), 'base64'), E'\n', ''))
            FROM trail.entries e WHERE e.id = audit_proof.entry_id);
END
$$;

CREATE FUNCTION api.audit_entries(
    organization_id uuid, subject text DEFAULT NULL, table_name text DEFAULT NULL,
    action text DEFAULT NULL, since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
    before bigint DEFAULT NULL, page_size integer DEFAULT 50)
  RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT startlijn.audit_entries(organization_id, subject, table_name, action, since, until, before, page_size) $$;

CREATE FUNCTION api.audit_checkpoint(organization_id uuid) RETURNS text
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.audit_checkpoint(organization_id) $$;

CREATE FUNCTION api.audit_proof(entry_id bigint, tree_size bigint DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.audit_proof(entry_id, tree_size) $$;

-- The verifier key is public: anyone may pin it.
CREATE FUNCTION startlijn.audit_public_key() RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT trail.public_key() $$;
CREATE FUNCTION api.audit_public_key() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.audit_public_key() $$;

GRANT EXECUTE ON FUNCTION
  startlijn.audit_entries(uuid, text, text, text, timestamptz, timestamptz, bigint, integer),
  startlijn.audit_checkpoint(uuid), startlijn.audit_proof(bigint, bigint), startlijn.audit_public_key(),
  api.audit_entries(uuid, text, text, text, timestamptz, timestamptz, bigint, integer),
  api.audit_checkpoint(uuid), api.audit_proof(bigint, bigint), api.audit_public_key()
  TO anon, authenticated, service_role;
