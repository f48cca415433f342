-- startlijn/profiles.sql: the caller's own profile through the API.

CREATE FUNCTION startlijn.profile_json(p startlijn.profiles) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'id', p.id, 'full_name', p.full_name, 'email', p.email, 'phone', p.phone,
      'date_of_birth', p.date_of_birth, 'locale', p.locale,
      'created_at', p.created_at, 'updated_at', p.updated_at)
  $$;

CREATE FUNCTION startlijn.update_my_profile(
    full_name text, phone text, date_of_birth date, locale text, clear text[])
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  cleared text[];
  claim_email text := NULLIF(pg_catalog.btrim(auth.jwt() OPERATOR(pg_catalog.->>) 'email'), '');
  p startlijn.profiles;
BEGIN
  IF full_name IS NOT NULL THEN PERFORM startlijn.check_name(full_name, 'full_name'); END IF;
  IF phone IS NOT NULL AND NOT startlijn.valid_phone(phone) THEN
    PERFORM startlijn.raise('invalid_phone');
  END IF;
  IF date_of_birth IS NOT NULL
     AND (date_of_birth < DATE '1900-01-01' OR date_of_birth > pg_catalog.now()::date) THEN
    PERFORM startlijn.raise('invalid_date_of_birth');
  END IF;
  IF locale IS NOT NULL AND NOT startlijn.valid_locale(locale) THEN
    PERFORM startlijn.raise('invalid_locale');
  END IF;
  cleared := startlijn.check_clear(clear, ARRAY['full_name', 'phone', 'date_of_birth']);
  IF ('full_name' = ANY (cleared) AND full_name IS NOT NULL)
     OR ('phone' = ANY (cleared) AND phone IS NOT NULL)
     OR ('date_of_birth' = ANY (cleared) AND date_of_birth IS NOT NULL) THEN
    PERFORM startlijn.raise('invalid_argument', 'A field cannot be set and cleared at once.');
  END IF;
  IF claim_email IS NOT NULL AND NOT startlijn.valid_email(claim_email) THEN
    claim_email := NULL;
  END IF;

  BEGIN
    UPDATE startlijn.profiles pr
       SET full_name = CASE WHEN 'full_name' = ANY (cleared) THEN NULL
                            ELSE COALESCE(update_my_profile.full_name, pr.full_name) END,
           phone = CASE WHEN 'phone' = ANY (cleared) THEN NULL
                        ELSE COALESCE(update_my_profile.phone, pr.phone) END,
           date_of_birth = CASE WHEN 'date_of_birth' = ANY (cleared) THEN NULL
                                ELSE COALESCE(update_my_profile.date_of_birth, pr.date_of_birth) END,
           locale = COALESCE(update_my_profile.locale, pr.locale),
           -- the email follows the authenticated identity, never a client argument
           email = COALESCE(pg_catalog.lower(claim_email), pr.email)
     WHERE pr.id = uid
    RETURNING pr.* INTO p;
  EXCEPTION WHEN unique_violation THEN
    PERFORM startlijn.raise('email_in_use', NULL, 'Contact support to merge the two accounts.');
  END;
  RETURN startlijn.profile_json(p);
END
$$;

CREATE FUNCTION startlijn.my_profile() RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p startlijn.profiles;
BEGIN
  PERFORM startlijn.caller();
  SELECT * INTO p FROM startlijn.profiles pr WHERE pr.id = auth.uid() AND pr.deleted_at IS NULL;
  IF p.id IS NULL THEN
    PERFORM startlijn.raise('profile_not_found', 'You have no profile yet.', 'Call update_my_profile to create it.');
  END IF;
  RETURN startlijn.profile_json(p);
END
$$;

CREATE FUNCTION api.update_my_profile(
    full_name text DEFAULT NULL, phone text DEFAULT NULL, date_of_birth date DEFAULT NULL,
    locale text DEFAULT NULL, clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_my_profile(full_name, phone, date_of_birth, locale, clear) $$;

CREATE FUNCTION api.my_profile()
  RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT startlijn.my_profile() $$;

-- as for every RPC: anon is told not_authenticated (401) by the check inside
GRANT EXECUTE ON FUNCTION
  api.update_my_profile(text, text, date, text, text[]),
  api.my_profile(),
  startlijn.update_my_profile(text, text, date, text, text[]),
  startlijn.my_profile()
  TO anon, authenticated, service_role;
