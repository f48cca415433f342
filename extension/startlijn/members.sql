-- startlijn/members.sql: members of an organisation through the API.

CREATE FUNCTION startlijn.member_json(m startlijn.organization_members) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'organization_id', m.organization_id, 'user_id', m.user_id, 'role', m.role,
      'invited_by', m.invited_by, 'created_at', m.created_at, 'updated_at', m.updated_at,
      'removed_at', m.deleted_at)
  $$;

-- Resolve the target profile of add_member: by user id or by (verified) email.
CREATE FUNCTION startlijn.find_profile(user_id uuid, email text) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

CREATE FUNCTION startlijn.list_members(organization_id uuid)
  RETURNS TABLE (user_id uuid, full_name text, email text, role text, invited_by uuid, joined_at timestamptz)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  my_role text;
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
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

CREATE FUNCTION api.add_member(
    organization_id uuid, role text, user_id uuid DEFAULT NULL, email text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.add_member(organization_id, role, user_id, email) $$;

CREATE FUNCTION api.change_member_role(organization_id uuid, user_id uuid, role text)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.change_member_role(organization_id, user_id, role) $$;

CREATE FUNCTION api.remove_member(organization_id uuid, user_id uuid)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.remove_member(organization_id, user_id) $$;

CREATE FUNCTION api.leave_organization(organization_id uuid)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.leave_organization(organization_id) $$;

CREATE FUNCTION api.list_members(organization_id uuid)
  RETURNS TABLE (user_id uuid, full_name text, email text, role text, invited_by uuid, joined_at timestamptz)
  LANGUAGE sql STABLE
  AS $$ SELECT * FROM startlijn.list_members(organization_id) $$;

-- as for every RPC: anon is told not_authenticated (401) by the check inside
GRANT EXECUTE ON FUNCTION
  api.add_member(uuid, text, uuid, text),
  api.change_member_role(uuid, uuid, text),
  api.remove_member(uuid, uuid),
  api.leave_organization(uuid),
  api.list_members(uuid),
  startlijn.add_member(uuid, text, uuid, text),
  startlijn.change_member_role(uuid, uuid, text),
  startlijn.remove_member(uuid, uuid),
  startlijn.leave_organization(uuid),
  startlijn.list_members(uuid)
  TO anon, authenticated, service_role;
