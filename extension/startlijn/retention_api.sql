-- startlijn/retention_api.sql: retention and erasure through the API (startlijn_retention).
--
-- A signed-in person asks for the erasure of their personal data
-- (api.request_erasure, GDPR art. 17) and follows it (api.my_erasure_requests).
-- Owners and admins request the erasure of a data subject in their
-- organisation, read its requests and retention signals, place and lift
-- legal holds; owners choose the organisation's retention profile. The job
-- (retention.run, pg_cron) executes the requests; when a self-service request
-- completes, the platform erases the person's profile and ends their
-- memberships, and the receipt says so. See docs/retention.md.

-------------------------------------------------------------------------------
-- Who may act
-------------------------------------------------------------------------------

-- owner, admin or the platform superadmin of the organisation (owner or
-- superadmin when owner_only); returns the caller's role
CREATE FUNCTION startlijn.require_retention_admin(organization_id uuid, owner_only boolean DEFAULT false)
  RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT CASE WHEN owner_only
    THEN startlijn.require_org_roles(organization_id, '{owner,superadmin}',
                                     'Only owners choose how long the organization keeps records.')
    ELSE startlijn.require_org_roles(organization_id, '{owner,admin,superadmin}',
                                     'Only owners and admins manage retention and erasure.') END
$$;

-- A request as its readers see it. The data subject (for_subject) is told
-- that a legal hold keeps records and how many, not the matter of the hold
-- (its reason is the organisation's: a dispute, an investigation), and that
-- a failed attempt is retried, not the internal error.
CREATE FUNCTION startlijn.erasure_json(e retention.erasure_requests, for_subject boolean DEFAULT false) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object('id', e.id, 'subject', e.subject, 'organization_id', e.organization_id,
           'status', e.status, 'reason', e.reason, 'received_at', e.received_at,
           'next_attempt_at', e.next_attempt_at, 'completed_at', e.completed_at,
           'receipt', CASE WHEN for_subject AND e.receipt OPERATOR(pg_catalog.?) 'blocked_by'
                           THEN (e.receipt OPERATOR(pg_catalog.-) 'blocked_by') OPERATOR(pg_catalog.||)
                                pg_catalog.jsonb_build_object(
                                  'legal_holds', pg_catalog.jsonb_array_length(e.receipt OPERATOR(pg_catalog.->) 'blocked_by'),
                                  -- which organisations (not the matter): the person can ask them
                                  'blocked_by', (SELECT pg_catalog.jsonb_agg(DISTINCT pg_catalog.jsonb_build_object(
                                                          'organization_id', o.id, 'organization_name', o.name))
                                                   FROM pg_catalog.jsonb_array_elements(e.receipt OPERATOR(pg_catalog.->) 'blocked_by') b
                                                   JOIN startlijn.organizations o
                                                     ON o.id = (b OPERATOR(pg_catalog.->>) 'organization_id')::pg_catalog.uuid),
                                  'why', 'An organization must keep records about you for a legal matter (a legal hold). '
                                         'Your request is carried out as soon as the hold is lifted; '
                                         'blocked_by names the organizations to ask.')
                           WHEN for_subject AND e.receipt OPERATOR(pg_catalog.?) 'error'
                           THEN (e.receipt OPERATOR(pg_catalog.-) 'error') OPERATOR(pg_catalog.||)
                                pg_catalog.jsonb_build_object('why',
                                  'The request could not be completed yet; it is retried automatically.')
                           ELSE e.receipt END)
$$;

-------------------------------------------------------------------------------
-- Self-service erasure
-------------------------------------------------------------------------------

-- The caller asks for the erasure of their personal data in every
-- organisation. Idempotent: while a request is open, asking again returns it.
-- The only owner of an organisation must hand it over first: an
-- organisation cannot be left without an owner.
CREATE FUNCTION startlijn.request_erasure(reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  sole text;
  req uuid;
  e retention.erasure_requests;
BEGIN
  IF pg_catalog.length(reason) > 2000 THEN
    PERFORM startlijn.raise('invalid_argument', 'The reason is at most 2000 characters.');
  END IF;
  SELECT pg_catalog.string_agg(o.name, ', ' ORDER BY o.name) INTO sole
    FROM startlijn.organization_members m
    JOIN startlijn.organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL
   WHERE m.user_id = uid AND m.deleted_at IS NULL AND m.role = 'owner' AND o.owner_count <= 1;
  IF sole IS NOT NULL THEN
    PERFORM startlijn.raise('last_owner',
      pg_catalog.format('You are the only owner of %s.', sole),
      'Make another member owner first (change_member_role), then ask again.');
  END IF;
  PERFORM startlijn.require_no_live_registrations(uid, NULL);
  req := retention.request_erasure(uid, NULL, NULLIF(pg_catalog.btrim(reason), ''),
                                  'user:' OPERATOR(pg_catalog.||) uid::text);
  SELECT * INTO e FROM retention.erasure_requests r WHERE r.id = req;
  RETURN startlijn.erasure_json(e, true);
END
$$;
CREATE FUNCTION api.request_erasure(reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.request_erasure(reason) $$;

CREATE FUNCTION startlijn.my_erasure_requests() RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.erasure_json(e, true) ORDER BY e.received_at DESC, e.id)
                     FROM retention.erasure_requests e WHERE e.subject = auth.uid()), '[]'::jsonb);
END
$$;
CREATE FUNCTION api.my_erasure_requests() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.my_erasure_requests() $$;

-- When a request without an organisation (the person's own, in every
-- organisation) is executed, the platform erases what it holds itself: the
-- profile (name, email, phone, date of birth) and the memberships. A
-- membership that is the organisation's only owner is kept and the receipt
-- says why. retention calls this hook after the labelled tables and before
-- it destroys the subject's audit key, in the same transaction, so the trail
-- entries of these changes are shredded with the rest.
CREATE FUNCTION startlijn.erasure_hook(request uuid, subject uuid, organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m record;
  ended jsonb := '[]';
  kept jsonb := '[]';
  profile_erased boolean;
BEGIN
  IF organization_id IS NOT NULL THEN
    RETURN NULL;                   -- one organisation's records only: the profile stays
  END IF;
  FOR m IN SELECT om.id, om.organization_id, om.role FROM startlijn.organization_members om
            WHERE om.user_id = erasure_hook.subject AND om.deleted_at IS NULL
            ORDER BY om.organization_id LOOP
    BEGIN
      UPDATE startlijn.organization_members x SET deleted_at = pg_catalog.now() WHERE x.id = m.id;
      ended := ended OPERATOR(pg_catalog.||)
               pg_catalog.jsonb_build_object('organization_id', m.organization_id, 'role', m.role);
    EXCEPTION WHEN SQLSTATE 'PT409' THEN       -- last_owner
      kept := kept OPERATOR(pg_catalog.||)
              pg_catalog.jsonb_build_object('organization_id', m.organization_id, 'role', m.role,
                'why', 'The only owner of an organization stays until another member is made owner.');
    END;
  END LOOP;
  UPDATE startlijn.profiles p
     SET full_name = NULL, email = NULL, phone = NULL, date_of_birth = NULL, deleted_at = pg_catalog.now()
   WHERE p.id = erasure_hook.subject AND p.deleted_at IS NULL;
  profile_erased := FOUND;
  RETURN pg_catalog.jsonb_build_object(
      'profile', CASE WHEN profile_erased THEN 'erased' ELSE 'none' END,
      'profile_columns', pg_catalog.jsonb_build_array('full_name', 'email', 'phone', 'date_of_birth'),
      'memberships_ended', ended,
      'memberships_kept', kept,
      'sign_in_account', 'The sign-in account is held by the authentication service (Supabase Auth); '
                         'the operator deletes it with the Auth admin API.');
END
$$;
SELECT retention.add_erasure_hook('platform', 'startlijn.erasure_hook(uuid, uuid, uuid)', 10, 'startlijn');

-------------------------------------------------------------------------------
-- Organisation owners and admins
-------------------------------------------------------------------------------

-- Does the organisation hold records about the person: a membership, now or
-- in the past, or a row of a table managed by startlijn_retention? An
-- organisation may erase, or hold, only what concerns a person it has a
-- relationship with; anything else would let any organisation act on any
-- person of the platform.
CREATE FUNCTION startlijn.holds_records_of(organization_id uuid, subject uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT EXISTS (SELECT 1 FROM startlijn.organization_members m
                  WHERE m.organization_id = holds_records_of.organization_id AND m.user_id = holds_records_of.subject)
      OR retention.holds_records_of(organization_id, subject)
$$;

-- Erase a data subject's personal data in this organisation (a participant
-- who asked the organiser, a supplier contact). The reason is required.
-- The organisation must hold records about the person; its request erases
-- its own records and never destroys the person's audit key (only the
-- person's own request does that).
CREATE FUNCTION startlijn.request_subject_erasure(organization_id uuid, subject uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  req uuid;
  e retention.erasure_requests;
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  IF subject IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument subject (the person''s id) is required.');
  END IF;
  IF reason IS NULL OR pg_catalog.length(pg_catalog.btrim(reason)) = 0 THEN
    PERFORM startlijn.raise('missing_argument', 'An erasure on behalf of a person needs a reason.',
                            'Say how the request reached you, for example the date of the email.');
  END IF;
  IF NOT startlijn.holds_records_of(organization_id, subject) THEN
    PERFORM startlijn.raise('subject_not_found', NULL,
      'Only a person the organization has records about (a member, a participant) can be erased from it.');
  END IF;
  PERFORM startlijn.require_no_live_registrations(subject, organization_id);
  req := retention.request_erasure(subject, organization_id, reason, 'user:' OPERATOR(pg_catalog.||) auth.uid()::text);
  SELECT * INTO e FROM retention.erasure_requests r WHERE r.id = req;
  RETURN startlijn.erasure_json(e);
END
$$;
CREATE FUNCTION api.request_subject_erasure(organization_id uuid, subject uuid DEFAULT NULL, reason text DEFAULT NULL)
  RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.request_subject_erasure(organization_id, subject, reason) $$;

CREATE FUNCTION startlijn.erasure_requests(organization_id uuid, status text) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  IF status IS NOT NULL AND status NOT IN ('received', 'blocked', 'completed') THEN
    PERFORM startlijn.raise('invalid_argument', 'The status is received, blocked or completed.');
  END IF;
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.erasure_json(e) ORDER BY e.received_at DESC, e.id)
                     FROM retention.erasure_requests e
                    WHERE e.organization_id = erasure_requests.organization_id
                      AND (erasure_requests.status IS NULL OR e.status = erasure_requests.status)), '[]'::jsonb);
END
$$;
CREATE FUNCTION api.erasure_requests(organization_id uuid, status text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.erasure_requests(organization_id, status) $$;

-- Signals of the job: records whose retention period passed (they are
-- anonymised or destroyed after the grace period unless a hold is placed).
CREATE FUNCTION startlijn.retention_notifications(organization_id uuid, include_delivered boolean, max_rows integer)
  RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  IF max_rows IS NULL OR max_rows < 1 OR max_rows > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows lies between 1 and 500.');
  END IF;
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                            'id', x.id, 'table', x.relid::pg_catalog.regclass::text, 'kind', x.kind,
                            'record_count', x.record_count, 'created_at', x.created_at,
                            'delivered_at', x.delivered_at) ORDER BY x.id DESC)
                     FROM (SELECT n.* FROM retention.notifications n
                            WHERE n.organization_id = retention_notifications.organization_id
                              AND (COALESCE(include_delivered, false) OR n.delivered_at IS NULL)
                            ORDER BY n.id DESC LIMIT max_rows) x), '[]'::jsonb);
END
$$;
CREATE FUNCTION api.retention_notifications(organization_id uuid, include_delivered boolean DEFAULT false,
                                            max_rows integer DEFAULT 50) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.retention_notifications(organization_id, include_delivered, max_rows) $$;

CREATE FUNCTION startlijn.acknowledge_retention_notifications(organization_id uuid, ids bigint[]) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  IF ids IS NULL OR pg_catalog.cardinality(ids) = 0 OR pg_catalog.cardinality(ids) > 500
     OR pg_catalog.array_ndims(ids) <> 1 OR pg_catalog.array_position(ids, NULL) IS NOT NULL THEN
    PERFORM startlijn.raise('invalid_argument', 'ids lists 1 to 500 notification ids.');
  END IF;
  WITH d AS (UPDATE retention.notifications x SET delivered_at = pg_catalog.now()
              WHERE x.organization_id = acknowledge_retention_notifications.organization_id
                AND x.id = ANY (ids) AND x.delivered_at IS NULL RETURNING 1)
  SELECT pg_catalog.count(*) INTO n FROM d;
  RETURN pg_catalog.jsonb_build_object('acknowledged', n);
END
$$;
CREATE FUNCTION api.acknowledge_retention_notifications(organization_id uuid, ids bigint[] DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.acknowledge_retention_notifications(organization_id, ids) $$;

-- The organisation's retention choices and the periods they give.
CREATE FUNCTION startlijn.retention_settings(organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s retention.settings;
  c retention.config;
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  SELECT * INTO s FROM retention.settings x WHERE x.organization_id = retention_settings.organization_id;
  SELECT * INTO c FROM retention.config x;
  RETURN pg_catalog.jsonb_build_object(
    'organization_id', organization_id,
    'profile', COALESCE(s.profile, c.default_profile, 'vng_2020'),
    'strategy', COALESCE(s.strategy, c.strategy, 'replace'),
    'grace', COALESCE(s.grace, c.grace, interval '30 days')::text,
    'notify', COALESCE(s.notify, true),
    'periods', (SELECT pg_catalog.jsonb_object_agg(k.cl, retention.period(retention_settings.organization_id, k.cl)::text)
                  FROM pg_catalog.unnest(ARRAY['archive', 'personal', 'operational', 'fiscal']) k(cl)),
    'overrides', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                              'classification', o.classification, 'result', o.result, 'period', o.period::text)
                              ORDER BY o.classification, o.result)
                             FROM retention.overrides o
                            WHERE o.organization_id = retention_settings.organization_id), '[]'::jsonb));
END
$$;
CREATE FUNCTION api.retention_settings(organization_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.retention_settings(organization_id) $$;

CREATE FUNCTION startlijn.configure_retention(organization_id uuid, profile text, strategy text,
                                              grace interval, notify boolean) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id, true);
  PERFORM retention.configure(organization_id, profile, strategy, grace, notify);
  RETURN startlijn.retention_settings(organization_id);
END
$$;
CREATE FUNCTION api.configure_retention(organization_id uuid, profile text DEFAULT NULL, strategy text DEFAULT NULL,
                                        grace interval DEFAULT NULL, notify boolean DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.configure_retention(organization_id, profile, strategy, grace, notify) $$;

-- Legal holds on the organisation or on one data subject in it.
CREATE FUNCTION startlijn.hold_json(h retention.holds) RETURNS jsonb
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object('id', h.id, 'organization_id', h.organization_id, 'scope', h.scope,
           'subject', h.subject, 'reason', h.reason, 'placed_by', h.placed_by, 'placed_at', h.placed_at,
           'lifted_at', h.lifted_at, 'lifted_by', h.lifted_by, 'lift_reason', h.lift_reason)
$$;

CREATE FUNCTION startlijn.place_legal_hold(organization_id uuid, reason text, subject uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  hid uuid;
  h retention.holds;
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  -- a hold on a person blocks their own erasure everywhere: only for a
  -- person the organisation holds records about
  IF subject IS NOT NULL AND NOT startlijn.holds_records_of(organization_id, subject) THEN
    PERFORM startlijn.raise('subject_not_found', NULL,
      'A legal hold can name only a person the organization has records about.');
  END IF;
  hid := retention.place_hold(organization_id, reason, subject);
  SELECT * INTO h FROM retention.holds x WHERE x.id = hid;
  RETURN startlijn.hold_json(h);
END
$$;
CREATE FUNCTION api.place_legal_hold(organization_id uuid, reason text DEFAULT NULL, subject uuid DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.place_legal_hold(organization_id, reason, subject) $$;

CREATE FUNCTION startlijn.lift_legal_hold(organization_id uuid, hold_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  h retention.holds;
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  IF hold_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument hold_id is required.');
  END IF;
  -- a hold of another organisation is not found (no existence leak)
  IF NOT EXISTS (SELECT 1 FROM retention.holds x
                  WHERE x.id = hold_id AND x.organization_id = lift_legal_hold.organization_id) THEN
    PERFORM startlijn.raise('legal_hold_not_found');
  END IF;
  PERFORM retention.lift_hold(hold_id, reason);
  SELECT * INTO h FROM retention.holds x WHERE x.id = hold_id;
  RETURN startlijn.hold_json(h);
END
$$;
CREATE FUNCTION api.lift_legal_hold(organization_id uuid, hold_id uuid DEFAULT NULL, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.lift_legal_hold(organization_id, hold_id, reason) $$;

CREATE FUNCTION startlijn.legal_holds(organization_id uuid, include_lifted boolean) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_retention_admin(organization_id);
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.hold_json(h) ORDER BY h.placed_at DESC, h.id)
                     FROM retention.holds h
                    WHERE h.organization_id = legal_holds.organization_id
                      AND h.scope IN ('organization', 'subject')
                      AND (COALESCE(include_lifted, false) OR h.lifted_at IS NULL)), '[]'::jsonb);
END
$$;
CREATE FUNCTION api.legal_holds(organization_id uuid, include_lifted boolean DEFAULT false) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.legal_holds(organization_id, include_lifted) $$;

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------
-- as for every RPC: anon is told not_authenticated (401) by the check inside
GRANT EXECUTE ON FUNCTION
  startlijn.request_erasure(text), startlijn.my_erasure_requests(),
  startlijn.request_subject_erasure(uuid, uuid, text), startlijn.erasure_requests(uuid, text),
  startlijn.retention_notifications(uuid, boolean, integer),
  startlijn.acknowledge_retention_notifications(uuid, bigint[]),
  startlijn.retention_settings(uuid), startlijn.configure_retention(uuid, text, text, interval, boolean),
  startlijn.place_legal_hold(uuid, text, uuid), startlijn.lift_legal_hold(uuid, uuid, text),
  startlijn.legal_holds(uuid, boolean),
  api.request_erasure(text), api.my_erasure_requests(),
  api.request_subject_erasure(uuid, uuid, text), api.erasure_requests(uuid, text),
  api.retention_notifications(uuid, boolean, integer), api.acknowledge_retention_notifications(uuid, bigint[]),
  api.retention_settings(uuid), api.configure_retention(uuid, text, text, interval, boolean),
  api.place_legal_hold(uuid, text, uuid), api.lift_legal_hold(uuid, uuid, text), api.legal_holds(uuid, boolean)
  TO anon, authenticated, service_role;
