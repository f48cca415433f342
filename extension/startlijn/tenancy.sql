-- startlijn/tenancy.sql: the tenancy core: profiles, organisations, members and
-- relationships, their invariants, who is calling (the helpers of the RLS
-- policies), row level security and table privileges.

-------------------------------------------------------------------------------
-- Tables
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
  -- set by the platform's operators (startlijn.set_organization_limits):
  -- a verified organiser gets the verified limits, anyone else the limits
  -- of an organisation a stranger made a minute ago (limits.sql)
  verified_at    timestamptz,
  capacity_limit integer CHECK (capacity_limit IS NULL OR capacity_limit >= 0),
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at   timestamptz,
  -- slugs stay reserved after a soft delete: old links must not reach a new owner
  CONSTRAINT organizations_slug_key UNIQUE (slug)
);
COMMENT ON COLUMN startlijn.organizations.owner_count IS
  'active owners, maintained by the organization_members trigger; must be >= 1 at commit';

CREATE TABLE startlijn.organization_members (
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES startlijn.organizations (id),
  user_id          uuid NOT NULL REFERENCES startlijn.profiles (id),
  role             text NOT NULL CHECK (role IN ('owner', 'admin', 'support', 'finance')),
  invited_by       uuid REFERENCES startlijn.profiles (id),
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at       timestamptz,
  CONSTRAINT organization_members_pkey PRIMARY KEY (id, organization_id)
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
  id                      uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
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
  CONSTRAINT organization_relationships_pkey PRIMARY KEY (id, organization_id),
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
-- Invariants (triggers): they hold for every writer, the RPCs included
-------------------------------------------------------------------------------

-- Profiles: only an operator (a role other than the API roles) sets the
-- superadmin flag, on insert as on update; soft-deleted rows are frozen.
CREATE FUNCTION startlijn.profiles_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.is_superadmin AND current_user::text IN ('anon', 'authenticated', 'service_role', 'authenticator') THEN
      RAISE EXCEPTION 'only an operator can set the superadmin flag'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'The platform superadmin flag is set by operators in psql, never through the API.';
    END IF;
    RETURN NEW;
  END IF;
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
CREATE TRIGGER profiles_guard BEFORE INSERT OR UPDATE ON startlijn.profiles
  FOR EACH ROW EXECUTE FUNCTION startlijn.profiles_guard();

-- Members: identity columns are immutable, removed rows are frozen, and the
-- organisation's owner_count follows every change. The counter lives on the
-- organisation row, so concurrent demotions serialise on that row and the
-- CHECK/trigger sees the true count in every isolation level.
CREATE FUNCTION startlijn.organization_members_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
-- Who is calling: helpers evaluated once per statement in RLS policies
--    ((select ...) initplans), never per row.
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.is_superadmin() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT COALESCE((SELECT p.is_superadmin FROM startlijn.profiles p
                      WHERE p.id = auth.uid() AND p.deleted_at IS NULL), false)
  $$;

-- Organisations where the caller is an active direct member (optionally with one of roles).
CREATE FUNCTION startlijn.my_member_organization_ids(roles text[] DEFAULT NULL) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE
      WHEN actor IN ('superadmin', 'owner') THEN true
      WHEN actor = 'admin' THEN target IN ('support', 'finance')
      ELSE false
    END
  $$;

-------------------------------------------------------------------------------
-- Row level security: enabled and forced everywhere
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
-- service_role inserts profiles without the superadmin flag (the column is
-- not granted; the guard refuses it too, for any API role)
GRANT SELECT ON startlijn.profiles TO service_role;
GRANT INSERT (id, full_name, email, phone, date_of_birth, locale, created_at, updated_at)
  ON startlijn.profiles TO service_role;
GRANT UPDATE (full_name, email, phone, date_of_birth, locale, deleted_at)
  ON startlijn.profiles TO service_role;
GRANT SELECT, INSERT, UPDATE ON startlijn.organizations, startlijn.organization_members,
  startlijn.organization_relationships TO service_role;

-- used inside CHECK constraints and RLS policies evaluated as these roles
GRANT EXECUTE ON FUNCTION
  startlijn.valid_slug(text), startlijn.valid_kvk(text), startlijn.valid_country(text),
  startlijn.valid_email(text), startlijn.valid_phone(text), startlijn.valid_locale(text),
  startlijn.valid_name(text),
  startlijn.is_superadmin(), startlijn.my_member_organization_ids(text[]),
  startlijn.my_organization_ids(text[]), startlijn.visible_profile_ids()
  TO authenticated, service_role;
