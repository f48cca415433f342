-- startlijn 0.1: Supabase/PostgREST compatibility, the tenancy core and its API.
--
-- Schemas: startlijn (tables and SECURITY DEFINER internals, not exposed),
-- api (what PostgREST exposes: SECURITY INVOKER wrappers only).
-- Every object is schema-qualified; every SECURITY DEFINER function pins
-- search_path to ''; EXECUTE is revoked from PUBLIC and granted explicitly;
-- every table has RLS enabled and forced.

\echo Use "CREATE EXTENSION startlijn CASCADE" to load this file. \quit

-------------------------------------------------------------------------------
-- 0. Preconditions
-------------------------------------------------------------------------------
DO $pre$
BEGIN
  IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'startlijn requires a UTF8 database'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.format('The database encoding is %s.', pg_catalog.getdatabaseencoding()),
            HINT = 'Create the database with ENCODING ''UTF8''.';
  END IF;
  -- SECURITY DEFINER internals write through forced RLS as the owner: the
  -- installing role must bypass RLS (superuser, or BYPASSRLS as postgres on Supabase).
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

-------------------------------------------------------------------------------
-- 1. Supabase-compatible roles and auth.* functions (created only when absent)
-------------------------------------------------------------------------------
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
    -- PostgREST logs in as authenticator; set its password before exposing it.
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'anon', 'MEMBER') THEN
    GRANT anon TO authenticator;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'authenticated', 'MEMBER') THEN
    GRANT authenticated TO authenticator;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'service_role', 'MEMBER') THEN
    GRANT service_role TO authenticator;
  END IF;
END
$roles$;

DO $auth$
DECLARE
  created_schema boolean := false;
  fn record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
    created_schema := true;
  END IF;

  -- Same definitions as Supabase's, reading request.jwt.claims (PostgREST >= 9)
  -- and the legacy request.jwt.claim.* settings. Each is created only if absent.
  FOR fn IN
    SELECT * FROM (VALUES
      ('uid', 'uuid', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim.sub'', true), ''''),
         (NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), '''')::jsonb OPERATOR(pg_catalog.->>) ''sub''))::uuid'),
      ('role', 'text', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim.role'', true), ''''),
         (NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), '''')::jsonb OPERATOR(pg_catalog.->>) ''role''))::text'),
      ('jwt', 'jsonb', 'SELECT COALESCE(NULLIF(pg_catalog.current_setting(''request.jwt.claim'', true), ''''),
         NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), ''''))::jsonb')
    ) AS f(name, rettype, body)
  LOOP
    IF pg_catalog.to_regprocedure(pg_catalog.format('auth.%I()', fn.name)) IS NULL THEN
      EXECUTE pg_catalog.format('CREATE FUNCTION auth.%I() RETURNS %s LANGUAGE sql STABLE AS %L',
                                fn.name, fn.rettype, fn.body);
      EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION auth.%I() FROM PUBLIC', fn.name);
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION auth.%I() TO anon, authenticated, service_role', fn.name);
    END IF;
  END LOOP;
  IF created_schema THEN
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;
END
$auth$;

-------------------------------------------------------------------------------
-- 2. Schemas and C helpers
-------------------------------------------------------------------------------
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'startlijn: the RPC surface PostgREST exposes (db-schemas = api)';
COMMENT ON SCHEMA startlijn IS 'startlijn: platform tables and internals (not exposed)';

GRANT USAGE ON SCHEMA api TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA startlijn TO authenticated, service_role;

-- Business errors (PTnnn). See docs/errors.md.
CREATE FUNCTION startlijn.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';
COMMENT ON FUNCTION startlijn.raise(text, text, text) IS
  'raise the business error with this stable code as SQLSTATE PTnnn (docs/errors.md)';

CREATE FUNCTION startlijn.error_codes(
    OUT code text, OUT sqlstate text, OUT http_status integer, OUT message text, OUT detail text)
  RETURNS SETOF record LANGUAGE c IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_error_codes';

CREATE FUNCTION startlijn.touch_timestamps() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'startlijn_touch_timestamps';

-- Validators (C, src/common/sl_validate.c). Used by CHECK constraints and RPCs.
CREATE FUNCTION startlijn.valid_slug(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_slug';
CREATE FUNCTION startlijn.valid_kvk(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_kvk';
CREATE FUNCTION startlijn.valid_country(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_country';
CREATE FUNCTION startlijn.valid_email(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_email';
CREATE FUNCTION startlijn.valid_phone(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_phone';
CREATE FUNCTION startlijn.valid_locale(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_locale';
CREATE FUNCTION startlijn.valid_name(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_name';

-------------------------------------------------------------------------------
-- 3. Tables
-------------------------------------------------------------------------------
CREATE TABLE startlijn.profiles (
  id             uuid PRIMARY KEY,                -- = auth user id (JWT sub)
  full_name      text CHECK (full_name IS NULL OR startlijn.valid_name(full_name)),
  email          text CHECK (email IS NULL OR startlijn.valid_email(email)),
  phone          text CHECK (phone IS NULL OR startlijn.valid_phone(phone)),
  date_of_birth  date CHECK (date_of_birth IS NULL OR date_of_birth >= DATE '1900-01-01'),
  locale         text NOT NULL DEFAULT 'nl' CHECK (startlijn.valid_locale(locale)),
  is_superadmin  boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at     timestamptz
);
CREATE UNIQUE INDEX profiles_email_key ON startlijn.profiles (pg_catalog.lower(email))
  WHERE deleted_at IS NULL AND email IS NOT NULL;
COMMENT ON TABLE startlijn.profiles IS
  'one row per auth user (id = JWT sub); email mirrors the verified auth email, never client-set';

CREATE TABLE startlijn.organizations (
  id           uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name         text NOT NULL CHECK (startlijn.valid_name(name)),
  slug         text NOT NULL CHECK (startlijn.valid_slug(slug)),
  kvk_number   text CHECK (kvk_number IS NULL OR startlijn.valid_kvk(kvk_number)),
  country      text NOT NULL DEFAULT 'NL' CHECK (startlijn.valid_country(country)),
  settings     jsonb NOT NULL DEFAULT '{}'::jsonb
               CHECK (pg_catalog.jsonb_typeof(settings) = 'object'
                      AND pg_catalog.octet_length(settings::text) <= 65536),
  owner_count  integer NOT NULL DEFAULT 0 CHECK (owner_count >= 0),
  created_by   uuid REFERENCES startlijn.profiles (id),
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at   timestamptz,
  -- slugs stay reserved after a soft delete: old links must not reach a new owner
  CONSTRAINT organizations_slug_key UNIQUE (slug)
);
COMMENT ON COLUMN startlijn.organizations.owner_count IS
  'active owners, maintained by the organization_members trigger; must be >= 1 at commit';

CREATE TABLE startlijn.organization_members (
  id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES startlijn.organizations (id),
  user_id          uuid NOT NULL REFERENCES startlijn.profiles (id),
  role             text NOT NULL CHECK (role IN ('owner', 'admin', 'support', 'finance')),
  invited_by       uuid REFERENCES startlijn.profiles (id),
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at       timestamptz,
  CONSTRAINT organization_members_org_id_key UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX organization_members_active_key
  ON startlijn.organization_members (organization_id, user_id) WHERE deleted_at IS NULL;
CREATE INDEX organization_members_user_idx
  ON startlijn.organization_members (user_id) WHERE deleted_at IS NULL;

-- An agency, timing company, advisor or auditor (source) working for an
-- organisation (organization_id, the tenant that owns the row). Members of
-- the source act in the target with granted_role while the relationship is
-- active and inside its validity period.
CREATE TABLE startlijn.organization_relationships (
  id                      uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  organization_id         uuid NOT NULL REFERENCES startlijn.organizations (id),
  source_organization_id  uuid NOT NULL REFERENCES startlijn.organizations (id),
  relationship_type       text NOT NULL
                          CHECK (relationship_type IN ('agency', 'timing', 'advisor', 'auditor', 'partner')),
  granted_role            text NOT NULL CHECK (granted_role IN ('support', 'finance')),
  status                  text NOT NULL DEFAULT 'active'
                          CHECK (status IN ('pending', 'active', 'suspended', 'ended')),
  valid_from              timestamptz NOT NULL DEFAULT pg_catalog.now(),
  valid_until             timestamptz,
  created_by              uuid REFERENCES startlijn.profiles (id),
  created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at              timestamptz,
  CONSTRAINT organization_relationships_org_id_key UNIQUE (organization_id, id),
  CONSTRAINT organization_relationships_distinct CHECK (source_organization_id <> organization_id),
  CONSTRAINT organization_relationships_period CHECK (valid_until IS NULL OR valid_until > valid_from)
);
CREATE UNIQUE INDEX organization_relationships_open_key
  ON startlijn.organization_relationships (organization_id, source_organization_id, relationship_type)
  WHERE deleted_at IS NULL AND status <> 'ended';
CREATE INDEX organization_relationships_source_idx
  ON startlijn.organization_relationships (source_organization_id) WHERE deleted_at IS NULL;

-- The one definition of "this relationship grants its role right now".
-- security_invoker: reading it is subject to the caller's own RLS.
CREATE VIEW startlijn.active_relationships WITH (security_invoker = true) AS
  SELECT r.* FROM startlijn.organization_relationships r
   WHERE r.deleted_at IS NULL AND r.status = 'active'
     AND r.valid_from <= pg_catalog.now()
     AND (r.valid_until IS NULL OR r.valid_until > pg_catalog.now());
REVOKE ALL ON startlijn.active_relationships FROM PUBLIC;

CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.profiles
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.organizations
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.organization_members
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.organization_relationships
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();

-------------------------------------------------------------------------------
-- 4. Invariants (triggers): they hold for every writer, the RPCs included
-------------------------------------------------------------------------------

-- Profiles: only an operator (a role other than the API roles) sets the
-- superadmin flag; soft-deleted rows are frozen.
CREATE FUNCTION startlijn.profiles_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = ''
  AS $$
BEGIN
  IF OLD.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION 'deleted profiles cannot be changed'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'Soft-deleted rows cannot be changed.';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    RAISE EXCEPTION 'profile id cannot change' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  -- SECURITY INVOKER on purpose: current_user is the writing role. None of
  -- the definer RPCs touches this column.
  IF NEW.is_superadmin IS DISTINCT FROM OLD.is_superadmin
     AND current_user::text IN ('anon', 'authenticated', 'service_role', 'authenticator') THEN
    RAISE EXCEPTION 'only an operator can change the superadmin flag'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'The platform superadmin flag is set by operators in psql, never through the API.';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER profiles_guard BEFORE UPDATE ON startlijn.profiles
  FOR EACH ROW EXECUTE FUNCTION startlijn.profiles_guard();

-- Members: identity columns are immutable, removed rows are frozen, and the
-- organisation's owner_count follows every change. The counter lives on the
-- organisation row, so concurrent demotions serialise on that row and the
-- CHECK/trigger sees the true count in every isolation level.
CREATE FUNCTION startlijn.organization_members_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
  AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.deleted_at IS NOT NULL THEN
      RAISE EXCEPTION 'removed memberships cannot be changed'
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'Removed memberships are history; add the member again instead.';
    END IF;
    IF NEW.organization_id IS DISTINCT FROM OLD.organization_id
       OR NEW.user_id IS DISTINCT FROM OLD.user_id THEN
      RAISE EXCEPTION 'membership organization and user cannot change'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER organization_members_guard BEFORE UPDATE ON startlijn.organization_members
  FOR EACH ROW EXECUTE FUNCTION startlijn.organization_members_guard();

CREATE FUNCTION startlijn.organization_members_count_owners() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  was_owner boolean := TG_OP <> 'INSERT' AND OLD.role = 'owner' AND OLD.deleted_at IS NULL;
  is_owner  boolean := TG_OP <> 'DELETE' AND NEW.role = 'owner' AND NEW.deleted_at IS NULL;
  org       uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END;
  remaining integer;
  org_gone  boolean;
BEGIN
  IF was_owner = is_owner THEN
    RETURN NULL;
  END IF;
  UPDATE startlijn.organizations o
     SET owner_count = o.owner_count + CASE WHEN is_owner THEN 1 ELSE -1 END
   WHERE o.id = org
  RETURNING o.owner_count, o.deleted_at IS NOT NULL INTO remaining, org_gone;
  IF remaining < 1 AND NOT org_gone THEN
    PERFORM startlijn.raise('last_owner', NULL,
      'Make another member owner first, or ask support to close the organization.');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER organization_members_count_owners
  AFTER INSERT OR UPDATE OF role, deleted_at OR DELETE ON startlijn.organization_members
  FOR EACH ROW EXECUTE FUNCTION startlijn.organization_members_count_owners();

-- An organisation must have an owner when its creating transaction commits.
CREATE FUNCTION startlijn.organizations_require_owner() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  n integer;
  gone boolean;
BEGIN
  SELECT o.owner_count, o.deleted_at IS NOT NULL INTO n, gone
    FROM startlijn.organizations o WHERE o.id = NEW.id;
  IF FOUND AND NOT gone AND n < 1 THEN
    PERFORM startlijn.raise('last_owner', 'An organization must have at least one owner when it is created.');
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER organizations_require_owner
  AFTER INSERT OR UPDATE OF owner_count ON startlijn.organizations
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION startlijn.organizations_require_owner();

-------------------------------------------------------------------------------
-- 5. Who is calling: helpers evaluated once per statement in RLS policies
--    ((select ...) initplans), never per row.
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.is_superadmin() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT COALESCE((SELECT p.is_superadmin FROM startlijn.profiles p
                      WHERE p.id = auth.uid() AND p.deleted_at IS NULL), false)
  $$;

-- Organisations where the caller is an active direct member (optionally with one of roles).
CREATE FUNCTION startlijn.my_member_organization_ids(roles text[] DEFAULT NULL) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(m.organization_id), '{}')
      FROM startlijn.organization_members m
      JOIN startlijn.organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL
     WHERE m.user_id = auth.uid() AND m.deleted_at IS NULL
       AND (roles IS NULL OR m.role = ANY (roles))
  $$;

-- Organisations the caller may act in: direct memberships plus active
-- relationships of organisations the caller belongs to.
CREATE FUNCTION startlijn.my_organization_ids(roles text[] DEFAULT NULL) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT x.org), '{}')
      FROM (
        SELECT m.organization_id AS org
          FROM startlijn.organization_members m
         WHERE m.user_id = auth.uid() AND m.deleted_at IS NULL
           AND (roles IS NULL OR m.role = ANY (roles))
        UNION ALL
        SELECT r.organization_id
          FROM startlijn.organization_members m
          JOIN startlijn.active_relationships r
            ON r.source_organization_id = m.organization_id
         WHERE m.user_id = auth.uid() AND m.deleted_at IS NULL
           AND (roles IS NULL OR r.granted_role = ANY (roles))
      ) x
      JOIN startlijn.organizations o ON o.id = x.org AND o.deleted_at IS NULL
  $$;

-- Profiles the caller may see: co-members of organisations they belong to.
CREATE FUNCTION startlijn.visible_profile_ids() RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT other.user_id), '{}')
      FROM startlijn.organization_members me
      JOIN startlijn.organization_members other
        ON other.organization_id = me.organization_id AND other.deleted_at IS NULL
     WHERE me.user_id = auth.uid() AND me.deleted_at IS NULL
  $$;

-- The caller's effective role in an organisation: 'superadmin', a direct
-- member role, a role granted through a relationship, or NULL.
CREATE FUNCTION startlijn.caller_role(organization_id uuid) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT CASE
      WHEN NOT EXISTS (SELECT 1 FROM startlijn.organizations o
                        WHERE o.id = caller_role.organization_id AND o.deleted_at IS NULL) THEN NULL
      WHEN startlijn.is_superadmin() THEN 'superadmin'
      ELSE COALESCE(
        (SELECT m.role FROM startlijn.organization_members m
          WHERE m.organization_id = caller_role.organization_id
            AND m.user_id = auth.uid() AND m.deleted_at IS NULL),
        (SELECT r.granted_role
           FROM startlijn.active_relationships r
           JOIN startlijn.organization_members m
             ON m.organization_id = r.source_organization_id
            AND m.user_id = auth.uid() AND m.deleted_at IS NULL
          WHERE r.organization_id = caller_role.organization_id
          ORDER BY r.granted_role = 'finance' DESC
          LIMIT 1))
    END
  $$;

-- May a caller with role `actor` grant, change or revoke the member role `target`?
-- Owners (and the superadmin) manage every role; admins manage support and finance.
CREATE FUNCTION startlijn.can_manage_role(actor text, target text) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = ''
  AS $$
    SELECT CASE
      WHEN actor IN ('superadmin', 'owner') THEN true
      WHEN actor = 'admin' THEN target IN ('support', 'finance')
      ELSE false
    END
  $$;

-------------------------------------------------------------------------------
-- 6. Row level security: enabled and forced everywhere
-------------------------------------------------------------------------------
ALTER TABLE startlijn.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organization_members FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organization_relationships ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.organization_relationships FORCE ROW LEVEL SECURITY;

-- authenticated: read-only through RLS; every write goes through api.*.
-- anon: no privileges and no policies here.
-- service_role: BYPASSRLS as on Supabase, plus explicit policies so the
-- grants below mean the same on a server where it lacks BYPASSRLS.
CREATE POLICY profiles_select_authenticated ON startlijn.profiles
  FOR SELECT TO authenticated
  USING (deleted_at IS NULL
         AND (id = (SELECT auth.uid())
              OR id = ANY ((SELECT startlijn.visible_profile_ids())::uuid[])
              OR (SELECT startlijn.is_superadmin())));
CREATE POLICY profiles_service ON startlijn.profiles
  FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY organizations_select_authenticated ON startlijn.organizations
  FOR SELECT TO authenticated
  USING (deleted_at IS NULL
         AND (id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
              OR (SELECT startlijn.is_superadmin())));
CREATE POLICY organizations_service ON startlijn.organizations
  FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY organization_members_select_authenticated ON startlijn.organization_members
  FOR SELECT TO authenticated
  USING (deleted_at IS NULL
         AND (organization_id = ANY ((SELECT startlijn.my_member_organization_ids())::uuid[])
              OR (SELECT startlijn.is_superadmin())));
CREATE POLICY organization_members_service ON startlijn.organization_members
  FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY organization_relationships_select_authenticated ON startlijn.organization_relationships
  FOR SELECT TO authenticated
  USING (deleted_at IS NULL
         AND (organization_id = ANY ((SELECT startlijn.my_member_organization_ids(ARRAY['owner', 'admin']))::uuid[])
              OR source_organization_id = ANY ((SELECT startlijn.my_member_organization_ids(ARRAY['owner', 'admin']))::uuid[])
              OR (SELECT startlijn.is_superadmin())));
CREATE POLICY organization_relationships_service ON startlijn.organization_relationships
  FOR ALL TO service_role USING (true) WITH CHECK (true);

-- Table privileges. Nobody but the owner deletes physically (retention does).
REVOKE ALL ON ALL TABLES IN SCHEMA startlijn FROM PUBLIC;
GRANT SELECT (id, full_name, email, phone, locale, is_superadmin, created_at, updated_at, deleted_at)
  ON startlijn.profiles TO authenticated;
GRANT SELECT ON startlijn.organizations, startlijn.organization_members,
  startlijn.organization_relationships TO authenticated;
GRANT SELECT, INSERT ON startlijn.profiles TO service_role;
GRANT UPDATE (full_name, email, phone, date_of_birth, locale, deleted_at)
  ON startlijn.profiles TO service_role;
GRANT SELECT, INSERT, UPDATE ON startlijn.organizations, startlijn.organization_members,
  startlijn.organization_relationships TO service_role;

-------------------------------------------------------------------------------
-- 7. Internals of the RPCs (SECURITY DEFINER, outside the exposed schema)
-------------------------------------------------------------------------------

-- The calling user's id; raises not_authenticated for anon. Creates the
-- caller's profile on first use from the JWT (sub, email).
CREATE FUNCTION startlijn.require_user() RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  uid uuid;
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
  IF NOT EXISTS (SELECT 1 FROM startlijn.profiles p WHERE p.id = uid) THEN
    claim_email := NULLIF(pg_catalog.btrim(auth.jwt() OPERATOR(pg_catalog.->>) 'email'), '');
    IF claim_email IS NOT NULL AND NOT startlijn.valid_email(claim_email) THEN
      claim_email := NULL;
    END IF;
    INSERT INTO startlijn.profiles (id, email) VALUES (uid, pg_catalog.lower(claim_email))
      ON CONFLICT DO NOTHING;
  ELSIF EXISTS (SELECT 1 FROM startlijn.profiles p WHERE p.id = uid AND p.deleted_at IS NOT NULL) THEN
    PERFORM startlijn.raise('not_authenticated', 'This account has been deleted.');
  END IF;
  RETURN uid;
END
$$;

CREATE FUNCTION startlijn.organization_json(o startlijn.organizations) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'id', o.id, 'name', o.name, 'slug', o.slug, 'kvk_number', o.kvk_number,
      'country', o.country, 'settings', o.settings,
      'created_at', o.created_at, 'updated_at', o.updated_at)
  $$;

CREATE FUNCTION startlijn.member_json(m startlijn.organization_members) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'organization_id', m.organization_id, 'user_id', m.user_id, 'role', m.role,
      'invited_by', m.invited_by, 'created_at', m.created_at, 'updated_at', m.updated_at,
      'removed_at', m.deleted_at)
  $$;

CREATE FUNCTION startlijn.profile_json(p startlijn.profiles) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'id', p.id, 'full_name', p.full_name, 'email', p.email, 'phone', p.phone,
      'date_of_birth', p.date_of_birth, 'locale', p.locale,
      'created_at', p.created_at, 'updated_at', p.updated_at)
  $$;

-- Shared argument checks: one place per kind of value.
CREATE FUNCTION startlijn.check_name(value text, what text DEFAULT 'name') RETURNS text
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
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
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
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
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
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
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
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
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  r text;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  r := startlijn.caller_role(organization_id);
  IF r IS NULL THEN
    PERFORM startlijn.raise('organization_not_found');
  END IF;
  RETURN r;
END
$$;

CREATE FUNCTION startlijn.create_organization(
    name text, slug text, kvk_number text, country text, settings jsonb)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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

  RETURN startlijn.organization_json(org) || pg_catalog.jsonb_build_object('role', 'owner');
END
$$;

CREATE FUNCTION startlijn.update_organization(
    organization_id uuid, name text, slug text, kvk_number text, country text,
    settings jsonb, clear text[])
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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

-- Resolve the target profile of add_member: by user id or by (verified) email.
CREATE FUNCTION startlijn.find_profile(user_id uuid, email text) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  found_id uuid;
BEGIN
  IF (user_id IS NULL) = (email IS NULL) THEN
    PERFORM startlijn.raise('missing_argument', 'Pass exactly one of user_id and email.');
  END IF;
  IF email IS NOT NULL THEN
    IF NOT startlijn.valid_email(email) THEN
      PERFORM startlijn.raise('invalid_email');
    END IF;
    SELECT p.id INTO found_id FROM startlijn.profiles p
     WHERE pg_catalog.lower(p.email) = pg_catalog.lower(find_profile.email) AND p.deleted_at IS NULL;
  ELSE
    SELECT p.id INTO found_id FROM startlijn.profiles p
     WHERE p.id = find_profile.user_id AND p.deleted_at IS NULL;
  END IF;
  IF found_id IS NULL THEN
    PERFORM startlijn.raise('profile_not_found', NULL, 'The person must sign up before they can be added.');
  END IF;
  RETURN found_id;
END
$$;

CREATE FUNCTION startlijn.add_member(organization_id uuid, role text, user_id uuid, email text)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
#variable_conflict use_column
DECLARE
  uid uuid := startlijn.require_user();
  my_role text;
  target uuid;
  m startlijn.organization_members;
BEGIN
  PERFORM startlijn.check_role(role);
  my_role := startlijn.require_org_role(organization_id);
  IF NOT startlijn.can_manage_role(my_role, role) THEN
    IF my_role = 'admin' THEN
      PERFORM startlijn.raise('owner_required');
    END IF;
    PERFORM startlijn.raise('insufficient_role', 'Only owners and admins can add members.');
  END IF;
  target := startlijn.find_profile(user_id, email);

  INSERT INTO startlijn.organization_members AS om (organization_id, user_id, role, invited_by)
  VALUES (add_member.organization_id, target, add_member.role, uid)
  ON CONFLICT (organization_id, user_id) WHERE deleted_at IS NULL DO NOTHING
  RETURNING om.* INTO m;
  IF m.id IS NULL THEN
    PERFORM startlijn.raise('already_member', NULL, 'Use change_member_role to change their role.');
  END IF;
  RETURN startlijn.member_json(m);
END
$$;

-- Lock and return the active membership of user_id in organization_id.
CREATE FUNCTION startlijn.lock_member(organization_id uuid, user_id uuid)
  RETURNS startlijn.organization_members
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  m startlijn.organization_members;
BEGIN
  IF user_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument user_id is required.');
  END IF;
  SELECT * INTO m FROM startlijn.organization_members om
   WHERE om.organization_id = lock_member.organization_id
     AND om.user_id = lock_member.user_id AND om.deleted_at IS NULL
   FOR UPDATE;
  IF m.id IS NULL THEN
    PERFORM startlijn.raise('member_not_found');
  END IF;
  RETURN m;
END
$$;

CREATE FUNCTION startlijn.change_member_role(organization_id uuid, user_id uuid, role text)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  my_role text;
  m startlijn.organization_members;
BEGIN
  PERFORM startlijn.check_role(role);
  my_role := startlijn.require_org_role(organization_id);
  IF my_role NOT IN ('superadmin', 'owner', 'admin') THEN
    PERFORM startlijn.raise('insufficient_role', 'Only owners and admins can change roles.');
  END IF;
  m := startlijn.lock_member(organization_id, user_id);
  IF NOT (startlijn.can_manage_role(my_role, m.role) AND startlijn.can_manage_role(my_role, role)) THEN
    PERFORM startlijn.raise('owner_required');
  END IF;
  IF m.role = change_member_role.role THEN
    RETURN startlijn.member_json(m);
  END IF;
  UPDATE startlijn.organization_members om SET role = change_member_role.role
   WHERE om.id = m.id
  RETURNING om.* INTO m;
  RETURN startlijn.member_json(m);
END
$$;

CREATE FUNCTION startlijn.remove_member(organization_id uuid, user_id uuid)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  my_role text;
  m startlijn.organization_members;
BEGIN
  my_role := startlijn.require_org_role(organization_id);
  m := startlijn.lock_member(organization_id, user_id);
  IF m.user_id <> uid AND NOT startlijn.can_manage_role(my_role, m.role) THEN
    IF my_role = 'admin' THEN
      PERFORM startlijn.raise('owner_required');
    END IF;
    PERFORM startlijn.raise('insufficient_role', 'Only owners and admins can remove members.');
  END IF;
  UPDATE startlijn.organization_members om SET deleted_at = pg_catalog.now()
   WHERE om.id = m.id
  RETURNING om.* INTO m;
  RETURN startlijn.member_json(m);
END
$$;

CREATE FUNCTION startlijn.leave_organization(organization_id uuid)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  m startlijn.organization_members;
BEGIN
  PERFORM startlijn.require_org_role(organization_id);
  SELECT * INTO m FROM startlijn.organization_members om
   WHERE om.organization_id = leave_organization.organization_id
     AND om.user_id = uid AND om.deleted_at IS NULL
   FOR UPDATE;
  IF m.id IS NULL THEN
    PERFORM startlijn.raise('member_not_found', 'You are not a direct member of this organization.');
  END IF;
  UPDATE startlijn.organization_members om SET deleted_at = pg_catalog.now()
   WHERE om.id = m.id
  RETURNING om.* INTO m;
  RETURN startlijn.member_json(m);
END
$$;

CREATE FUNCTION startlijn.my_organizations()
  RETURNS TABLE (id uuid, name text, slug text, role text, via text, joined_at timestamptz)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated');
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

CREATE FUNCTION startlijn.list_members(organization_id uuid)
  RETURNS TABLE (user_id uuid, full_name text, email text, role text, invited_by uuid, joined_at timestamptz)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  my_role text;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated');
  END IF;
  my_role := startlijn.require_org_role(organization_id);
  IF my_role <> 'superadmin' AND NOT EXISTS (
       SELECT 1 FROM startlijn.organization_members m
        WHERE m.organization_id = list_members.organization_id
          AND m.user_id = auth.uid() AND m.deleted_at IS NULL) THEN
    PERFORM startlijn.raise('insufficient_role', 'Only members of the organization can list its members.');
  END IF;
  RETURN QUERY
    SELECT m.user_id, p.full_name, p.email, m.role, m.invited_by, m.created_at
      FROM startlijn.organization_members m
      JOIN startlijn.profiles p ON p.id = m.user_id
     WHERE m.organization_id = list_members.organization_id AND m.deleted_at IS NULL
     ORDER BY CASE m.role WHEN 'owner' THEN 1 WHEN 'admin' THEN 2 WHEN 'finance' THEN 3 ELSE 4 END,
              p.full_name, m.user_id;
END
$$;

CREATE FUNCTION startlijn.update_my_profile(
    full_name text, phone text, date_of_birth date, locale text, clear text[])
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
DECLARE
  p startlijn.profiles;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated');
  END IF;
  SELECT * INTO p FROM startlijn.profiles pr WHERE pr.id = auth.uid() AND pr.deleted_at IS NULL;
  IF p.id IS NULL THEN
    PERFORM startlijn.raise('profile_not_found', 'You have no profile yet.', 'Call update_my_profile to create it.');
  END IF;
  RETURN startlijn.profile_json(p);
END
$$;

-------------------------------------------------------------------------------
-- 8. The API (schema api): SECURITY INVOKER wrappers with client-facing names
-------------------------------------------------------------------------------
CREATE FUNCTION api.create_organization(
    name text, slug text, kvk_number text DEFAULT NULL, country text DEFAULT 'NL',
    settings jsonb DEFAULT '{}'::jsonb)
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.create_organization(name, slug, kvk_number, country, settings) $$;

CREATE FUNCTION api.update_organization(
    organization_id uuid, name text DEFAULT NULL, slug text DEFAULT NULL,
    kvk_number text DEFAULT NULL, country text DEFAULT NULL, settings jsonb DEFAULT NULL,
    clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.update_organization(organization_id, name, slug, kvk_number, country, settings, clear) $$;

CREATE FUNCTION api.add_member(
    organization_id uuid, role text, user_id uuid DEFAULT NULL, email text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.add_member(organization_id, role, user_id, email) $$;

CREATE FUNCTION api.change_member_role(organization_id uuid, user_id uuid, role text)
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.change_member_role(organization_id, user_id, role) $$;

CREATE FUNCTION api.remove_member(organization_id uuid, user_id uuid)
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.remove_member(organization_id, user_id) $$;

CREATE FUNCTION api.leave_organization(organization_id uuid)
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.leave_organization(organization_id) $$;

CREATE FUNCTION api.my_organizations()
  RETURNS TABLE (id uuid, name text, slug text, role text, via text, joined_at timestamptz)
  LANGUAGE sql STABLE SET search_path = ''
  AS $$ SELECT * FROM startlijn.my_organizations() $$;

CREATE FUNCTION api.list_members(organization_id uuid)
  RETURNS TABLE (user_id uuid, full_name text, email text, role text, invited_by uuid, joined_at timestamptz)
  LANGUAGE sql STABLE SET search_path = ''
  AS $$ SELECT * FROM startlijn.list_members(organization_id) $$;

CREATE FUNCTION api.update_my_profile(
    full_name text DEFAULT NULL, phone text DEFAULT NULL, date_of_birth date DEFAULT NULL,
    locale text DEFAULT NULL, clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = ''
  AS $$ SELECT startlijn.update_my_profile(full_name, phone, date_of_birth, locale, clear) $$;

CREATE FUNCTION api.my_profile()
  RETURNS jsonb LANGUAGE sql STABLE SET search_path = ''
  AS $$ SELECT startlijn.my_profile() $$;

-------------------------------------------------------------------------------
-- 9. Function privileges: nothing for PUBLIC; explicit grants
-------------------------------------------------------------------------------
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA startlijn FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;

-- used inside CHECK constraints and RLS policies evaluated as these roles
GRANT EXECUTE ON FUNCTION
  startlijn.valid_slug(text), startlijn.valid_kvk(text), startlijn.valid_country(text),
  startlijn.valid_email(text), startlijn.valid_phone(text), startlijn.valid_locale(text),
  startlijn.valid_name(text),
  startlijn.is_superadmin(), startlijn.my_member_organization_ids(text[]),
  startlijn.my_organization_ids(text[]), startlijn.visible_profile_ids()
  TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION startlijn.error_codes() TO anon, authenticated, service_role;

-- The API: invoker wrappers and the definer internals they call. anon may
-- call them too, so PostgREST answers with a clean not_authenticated (PT401)
-- instead of a permission error on the function.
GRANT EXECUTE ON FUNCTION
  api.create_organization(text, text, text, text, jsonb),
  api.update_organization(uuid, text, text, text, text, jsonb, text[]),
  api.add_member(uuid, text, uuid, text),
  api.change_member_role(uuid, uuid, text),
  api.remove_member(uuid, uuid),
  api.leave_organization(uuid),
  api.my_organizations(),
  api.list_members(uuid),
  api.update_my_profile(text, text, date, text, text[]),
  api.my_profile(),
  startlijn.create_organization(text, text, text, text, jsonb),
  startlijn.update_organization(uuid, text, text, text, text, jsonb, text[]),
  startlijn.add_member(uuid, text, uuid, text),
  startlijn.change_member_role(uuid, uuid, text),
  startlijn.remove_member(uuid, uuid),
  startlijn.leave_organization(uuid),
  startlijn.my_organizations(),
  startlijn.list_members(uuid),
  startlijn.update_my_profile(text, text, date, text, text[]),
  startlijn.my_profile()
  TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA startlijn TO anon;
