-- startlijn/checks.sql: who may act and the shared argument checks of the RPCs.

-------------------------------------------------------------------------------
-- Internals of the RPCs (SECURITY DEFINER, outside the exposed schema)
-------------------------------------------------------------------------------

-- The state of the caller's profile, without writing: raises
-- not_authenticated for anon, account_erased for an erased profile, and
-- email_in_use when there is no profile yet and the token's e-mail belongs
-- to another one (the profile could never be created). Returns the caller's
-- id and whether the profile exists. Every RPC that acts as a user passes
-- here (require_user, require_org_role, my_profile).
CREATE FUNCTION startlijn.caller(OUT uid uuid, OUT has_profile boolean)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  erased boolean;
  claim_email text;
BEGIN
  BEGIN
    uid := auth.uid();
  EXCEPTION WHEN invalid_text_representation THEN
    uid := NULL;
  END;
  IF uid IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  SELECT p.deleted_at IS NOT NULL INTO erased FROM startlijn.profiles p WHERE p.id = uid;
  has_profile := FOUND;
  IF erased THEN
    PERFORM startlijn.raise('account_erased', NULL,
      'The operator deletes the sign-in account; a new account starts afresh.');
  END IF;
  IF NOT has_profile THEN
    claim_email := startlijn.claim_email();
    IF claim_email IS NOT NULL AND EXISTS (
         SELECT 1 FROM startlijn.profiles p
          WHERE pg_catalog.lower(p.email) = claim_email AND p.deleted_at IS NULL) THEN
      PERFORM startlijn.raise('email_in_use', 'Another account already uses the e-mail address of this sign-in.',
        'Sign in with that account, or ask support to merge the two accounts.');
    END IF;
  END IF;
END
$$;

-- The e-mail of the caller's token, lowercased, when it is a valid address.
CREATE FUNCTION startlijn.claim_email() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT CASE WHEN startlijn.valid_email(e) THEN pg_catalog.lower(e) END
    FROM (SELECT NULLIF(pg_catalog.btrim(auth.jwt() OPERATOR(pg_catalog.->>) 'email'), '') AS e) x
$$;

-- The calling user's id (startlijn.caller's checks). Creates the caller's
-- profile on first use from the JWT (sub, email).
CREATE FUNCTION startlijn.require_user() RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  c record;
BEGIN
  c := startlijn.caller();
  IF NOT c.has_profile THEN
    BEGIN
      INSERT INTO startlijn.profiles (id, email) VALUES (c.uid, startlijn.claim_email())
        ON CONFLICT (id) DO NOTHING;
    EXCEPTION WHEN unique_violation THEN      -- the e-mail, taken by a concurrent sign-up
      PERFORM startlijn.raise('email_in_use', 'Another account already uses the e-mail address of this sign-in.',
        'Sign in with that account, or ask support to merge the two accounts.');
    END;
  END IF;
  RETURN c.uid;
END
$$;

-- Shared argument checks: one place per kind of value.
CREATE FUNCTION startlijn.check_name(value text, what text DEFAULT 'name') RETURNS text
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF value IS NULL THEN
    PERFORM startlijn.raise('missing_argument', pg_catalog.format('The argument %s is required.', what));
  END IF;
  IF NOT startlijn.valid_name(value) THEN
    PERFORM startlijn.raise('invalid_name', NULL, 'Use 1 to 200 characters without leading or trailing spaces.');
  END IF;
  RETURN value;
END
$$;

CREATE FUNCTION startlijn.check_slug(value text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF value IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument slug is required.');
  END IF;
  IF NOT startlijn.valid_slug(value) THEN
    PERFORM startlijn.raise('invalid_slug', NULL,
      'Use lowercase letters, digits and hyphens, for example "loopgroep-utrecht".');
  END IF;
  RETURN value;
END
$$;

CREATE FUNCTION startlijn.check_role(value text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF value IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument role is required.');
  END IF;
  IF value NOT IN ('owner', 'admin', 'support', 'finance') THEN
    PERFORM startlijn.raise('invalid_role');
  END IF;
  RETURN value;
END
$$;

CREATE FUNCTION startlijn.check_clear(clear text[], allowed text[]) RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY COALESCE(clear, '{}') LOOP
    IF f IS NULL OR NOT f = ANY (allowed) THEN
      PERFORM startlijn.raise('invalid_argument',
        pg_catalog.format('Only these fields can be cleared: %s.', pg_catalog.array_to_string(allowed, ', ')));
    END IF;
  END LOOP;
  RETURN COALESCE(clear, '{}');
END
$$;

-- Resolve an organisation the caller can see; not_found otherwise (no
-- existence leak across tenants). Returns the caller's effective role.
CREATE FUNCTION startlijn.require_org_role(organization_id uuid) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r text;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  -- an erased account keeps no rights, not even where it stays the last owner
  IF auth.uid() IS NOT NULL THEN
    PERFORM startlijn.caller();
  END IF;
  r := startlijn.caller_role(organization_id);
  IF r IS NULL THEN
    PERFORM startlijn.raise('organization_not_found');
  END IF;
  RETURN r;
END
$$;

-- The one role check of the organisation-scoped RPCs: a signed-in caller
-- (not_authenticated), an organisation they can see (organization_not_found,
-- no existence leak), one of the roles (insufficient_role with the detail).
-- Returns the caller's role.
CREATE FUNCTION startlijn.require_org_roles(organization_id uuid, roles text[], detail text)
  RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r text;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  r := startlijn.require_org_role(organization_id);
  IF NOT (r = ANY (roles)) THEN
    PERFORM startlijn.raise('insufficient_role', detail);
  END IF;
  RETURN r;
END
$$;
