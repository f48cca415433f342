-- Retention and erasure through the API (startlijn 0.4), called as PostgREST
-- calls it: self-service erasure end to end (profile, memberships, audit
-- keys, receipt), erasure on behalf of a subject, legal holds, retention
-- settings and signals; who may call what; bad input writes nothing.
BEGIN;
SELECT plan(77);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
INSERT INTO k VALUES
  ('org1', '00000000-0000-4000-b000-000000000001'), ('org2', '00000000-0000-4000-b000-000000000002'),
  ('org3', '00000000-0000-4000-b000-000000000003'),
  ('anna', '00000000-0000-4000-a000-000000000001'), ('iris', '00000000-0000-4000-a000-000000000009'),
  ('joost', '00000000-0000-4000-a000-000000000010'), ('kim', '00000000-0000-4000-a000-000000000011'),
  ('lars', '00000000-0000-4000-a000-000000000012');
-- status and code of a call, or status and one field of its body
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}', field text DEFAULT NULL) RETURNS text
  LANGUAGE sql AS $$
  SELECT r ->> 'status' || ' ' || CASE WHEN r ? 'code' THEN COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                        WHEN field IS NULL THEN 'ok' ELSE r -> 'body' ->> field END
    FROM pgrst.try(who, fn, args) r $$;
CREATE FUNCTION pg_temp.o(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('organization_id', pg_temp.v('org1')) || extra $$;
CREATE FUNCTION pg_temp.requests() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM retention.erasure_requests $$;

-------------------------------------------------------------------------------
-- Self-service: ask, ask again, who may not
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('anon', 'request_erasure'), '401 not_authenticated', 'anon cannot ask for an erasure');
SELECT is(pg_temp.t('joost', 'request_erasure', '{"reason": "Ik stop met hardlopen."}', 'status'), '200 received',
          'a signed-in person asks for the erasure of their data');
INSERT INTO k SELECT 'joost_req', r -> 'body' ->> 'id' FROM pgrst.try('joost', 'request_erasure', '{}') r;
SELECT is((SELECT count(*) FROM retention.erasure_requests e WHERE e.subject = pg_temp.v('joost')::uuid), 1::bigint,
          'asking again returns the open request (one request, idempotent)');
SELECT is((SELECT e.organization_id FROM retention.erasure_requests e WHERE e.id = pg_temp.v('joost_req')::uuid), NULL,
          'a self-service request covers every organisation');
SELECT is((SELECT e.requested_by FROM retention.erasure_requests e WHERE e.id = pg_temp.v('joost_req')::uuid),
          'user:' || pg_temp.v('joost'), 'the request names who asked');
SELECT is(pg_temp.t('anna', 'request_erasure'), '409 last_owner', 'the only owner of an organisation must hand it over first');
SELECT is((pgrst.try('anna', 'request_erasure')) ->> 'hint',
          'Make another member owner first (change_member_role), then ask again.', '... and is told how');
SELECT is(pg_temp.t('bram', 'request_erasure', jsonb_build_object('reason', repeat('x', 2001))), '400 invalid_argument',
          'a reason above 2000 characters is refused');
SELECT is((SELECT count(*) FROM retention.erasure_requests e
            WHERE e.subject IN ('00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002')),
          0::bigint, 'refused requests write nothing');
SELECT is(pg_temp.t('anon', 'my_erasure_requests'), '401 not_authenticated', 'anon has no requests to read');
SELECT is(jsonb_array_length(pgrst.call('kim', 'my_erasure_requests')), 0, 'a person without requests reads an empty list');
SELECT is(pgrst.call('joost', 'my_erasure_requests') -> 0 ->> 'reason', 'Ik stop met hardlopen.',
          'the person reads their own request');

-------------------------------------------------------------------------------
-- On behalf of a subject: owners and admins of the organisation
-------------------------------------------------------------------------------
-- Joost ran with Loopgroep Utrecht last season: the organisation holds
-- records about him (an organisation may act only on such a person)
INSERT INTO startlijn.organization_members (organization_id, user_id, role, deleted_at)
  VALUES (pg_temp.v('org1')::uuid, pg_temp.v('joost')::uuid, 'support', now() - interval '30 days');
SELECT is(pg_temp.t('bram', 'request_subject_erasure',
                    pg_temp.o(jsonb_build_object('subject', pg_temp.v('joost'), 'reason', 'E-mail van 3 november.')), 'status'),
          '200 received', 'an admin asks for the erasure of a subject in the organisation');
SELECT is(pg_temp.t('carla', 'request_subject_erasure',
                    pg_temp.o(jsonb_build_object('subject', pg_temp.v('kim'), 'reason', 'x'))),
          '403 insufficient_role', 'support cannot');
SELECT is(pg_temp.t('daan', 'request_subject_erasure',
                    pg_temp.o(jsonb_build_object('subject', pg_temp.v('kim'), 'reason', 'x'))),
          '403 insufficient_role', 'finance cannot');
SELECT is(pg_temp.t('eva', 'request_subject_erasure',
                    pg_temp.o(jsonb_build_object('subject', pg_temp.v('kim'), 'reason', 'x'))),
          '404 organization_not_found', 'another organisation''s owner does not see the organisation');
SELECT is(pg_temp.t('lars', 'request_subject_erasure',
                    pg_temp.o(jsonb_build_object('subject', pg_temp.v('kim'), 'reason', 'x'))),
          '403 insufficient_role', 'a partner with a granted role cannot');
SELECT is(pg_temp.t('anna', 'request_subject_erasure', pg_temp.o(jsonb_build_object('subject', pg_temp.v('kim')))),
          '400 missing_argument', 'the reason is required');
SELECT is(pg_temp.t('anna', 'request_subject_erasure', pg_temp.o('{"reason": "x"}')),
          '400 missing_argument', 'the subject is required');
SELECT is(pg_temp.t('anna', 'request_subject_erasure', pg_temp.o('{"subject": "not-a-uuid", "reason": "x"}')),
          '400 22P02', 'a malformed subject is refused by the argument type');
SELECT is((SELECT count(*) FROM retention.erasure_requests e WHERE e.subject = pg_temp.v('kim')::uuid), 0::bigint,
          'refused requests on behalf write nothing');
SELECT is(jsonb_array_length(pgrst.call('anna', 'erasure_requests', pg_temp.o())), 1,
          'the owner lists the organisation''s requests');
SELECT is(jsonb_array_length(pgrst.call('sanne', 'erasure_requests', pg_temp.o('{"status": "received"}'))), 1,
          'the superadmin too, filtered by status');
SELECT is(pg_temp.t('daan', 'erasure_requests', pg_temp.o()), '403 insufficient_role', 'finance cannot list them');
SELECT is(pg_temp.t('anna', 'erasure_requests', pg_temp.o('{"status": "done"}')), '400 invalid_argument',
          'an unknown status filter is refused');
SELECT is(jsonb_array_length(pgrst.call('joost', 'my_erasure_requests')), 2,
          'the subject sees the request made on their behalf too');

-------------------------------------------------------------------------------
-- Legal holds
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('bram', 'place_legal_hold', pg_temp.o(jsonb_build_object('subject', pg_temp.v('iris'),
                    'reason', 'Geschil 2026-17 met de verzekeraar.')), 'scope'),
          '200 subject', 'an admin places a legal hold on a subject');
INSERT INTO k SELECT 'hold', h.id FROM retention.holds h WHERE h.subject = pg_temp.v('iris')::uuid;
SELECT is(pg_temp.t('bram', 'place_legal_hold', pg_temp.o(jsonb_build_object('subject', pg_temp.v('iris')))),
          '400 missing_argument', 'a hold needs a reason');
SELECT is(pg_temp.t('carla', 'place_legal_hold', pg_temp.o('{"reason": "x"}')), '403 insufficient_role',
          'support cannot place a hold');
SELECT is(jsonb_array_length(pgrst.call('anna', 'legal_holds', pg_temp.o())), 1, 'the owner lists the active holds');
SELECT is(pg_temp.t('iris', 'request_erasure', '{}', 'status'), '200 received', 'the held subject asks for erasure');
CALL retention.run();
SELECT is(pgrst.call('iris', 'my_erasure_requests') -> 0 ->> 'status', 'blocked', 'the job blocks it: a legal hold');
SELECT is(pgrst.call('iris', 'my_erasure_requests') -> 0 -> 'receipt' ->> 'legal_holds', '1',
          'the subject is told that one hold keeps records');
SELECT ok(pgrst.call('iris', 'my_erasure_requests')::text NOT LIKE '%Geschil%',
              '... but not the matter of the hold');
SELECT is(pgrst.call('anna', 'erasure_requests', pg_temp.o()) IS NOT NULL, true, 'owners read the requests');
SELECT is((SELECT p.full_name FROM startlijn.profiles p WHERE p.id = pg_temp.v('iris')::uuid), 'Iris de Groot',
          'a blocked request erases nothing');
SELECT is(pg_temp.t('eva', 'lift_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org2'),
                    'hold_id', pg_temp.v('hold'), 'reason', 'x')),
          '404 legal_hold_not_found', 'another organisation''s owner cannot lift the hold (not found)');
SELECT is(pg_temp.t('bram', 'lift_legal_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold')))),
          '400 missing_argument', 'lifting needs a reason');
SELECT isnt(pg_temp.t('bram', 'lift_legal_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold'),
                      'reason', 'Geschil geschikt.')), 'lifted_at'),
            '200 ', 'the admin lifts the hold');
SELECT is(pg_temp.t('bram', 'lift_legal_hold', pg_temp.o(jsonb_build_object('hold_id', pg_temp.v('hold'), 'reason', 'x'))),
          '404 legal_hold_not_found', 'a lifted hold cannot be lifted again');

-------------------------------------------------------------------------------
-- The job executes the requests; the platform erases the profile and ends
-- the memberships, except an organisation's only owner
-------------------------------------------------------------------------------
-- Kim becomes the second owner of Tijdwaarneming Snel and asks; then Lars
-- leaves: when the job runs, Kim is the only owner.
INSERT INTO startlijn.organization_members (organization_id, user_id, role) VALUES (pg_temp.v('org3')::uuid, pg_temp.v('kim')::uuid, 'owner');
SELECT is(pg_temp.t('kim', 'request_erasure', '{}', 'status'), '200 received', 'a co-owner may ask');
SELECT is(pg_temp.t('lars', 'leave_organization', jsonb_build_object('organization_id', pg_temp.v('org3')), 'role'),
          '200 owner', 'the other owner leaves');
CALL retention.run();
SELECT is((SELECT string_agg(e.status, ',' ORDER BY e.received_at) FROM retention.erasure_requests e), 'completed,completed,completed,completed',
          'the job completes every request');
SELECT is((SELECT row(p.full_name, p.email, p.phone, p.date_of_birth)::text || (p.deleted_at IS NOT NULL)
             FROM startlijn.profiles p WHERE p.id = pg_temp.v('joost')::uuid), '(,,,)true',
          'the profile has no name, email, phone or date of birth left and is closed');
SELECT is((SELECT e.receipt -> 'platform' ->> 'profile' FROM retention.erasure_requests e WHERE e.id = pg_temp.v('joost_req')::uuid),
          'erased', 'the receipt says the profile was erased');
SELECT ok((SELECT e.receipt -> 'platform' ->> 'sign_in_account' FROM retention.erasure_requests e
            WHERE e.id = pg_temp.v('joost_req')::uuid) LIKE '%Auth admin API%',
          'and that the sign-in account is deleted by the operator');
SELECT is((SELECT count(*) FROM startlijn.organization_members m WHERE m.user_id = pg_temp.v('iris')::uuid AND m.deleted_at IS NULL),
          0::bigint, 'the person''s memberships have ended');
SELECT is((SELECT jsonb_array_length(e.receipt -> 'platform' -> 'memberships_ended') FROM retention.erasure_requests e
            WHERE e.subject = pg_temp.v('iris')::uuid), 2, 'the receipt lists both');
SELECT is((SELECT m.deleted_at FROM startlijn.organization_members m
            WHERE m.user_id = pg_temp.v('kim')::uuid AND m.organization_id = pg_temp.v('org3')::uuid), NULL,
          'the only owner''s membership stays');
SELECT is((SELECT e.receipt -> 'platform' -> 'memberships_kept' -> 0 ->> 'organization_id' FROM retention.erasure_requests e
            WHERE e.subject = pg_temp.v('kim')::uuid), pg_temp.v('org3'), 'and the receipt says why');
SELECT is((SELECT o.owner_count FROM startlijn.organizations o WHERE o.id = pg_temp.v('org3')::uuid), 1,
          'the organisation keeps its owner');
SELECT is((SELECT count(*) FROM trail.subject_keys s WHERE s.subject = pg_temp.v('joost')::uuid), 0::bigint,
          'no audit key of the person is left, not even one made by the erasure''s own changes');
SELECT ok((SELECT count(*) FROM trail.forgotten_subjects f WHERE f.subject = pg_temp.v('joost')::uuid) >= 1,
          'the destroyed key is receipted');
SELECT is(pgrst.call(pg_temp.v('joost'), 'my_erasure_requests') -> 0 ->> 'status', 'completed',
          'the person reads the completed request');
SELECT is((SELECT trail.seal() IS NOT NULL), true, 'the trail seals');
SELECT is(trail.verify() ->> 'ok' || ' ' || (trail.verify(pg_temp.v('org1')::uuid) ->> 'ok'), 'true true',
          'the platform log and the organisation''s log still verify, with the person''s keys gone');

-------------------------------------------------------------------------------
-- Settings and signals
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('bram', 'retention_settings', pg_temp.o(), 'profile'), '200 vng_2020', 'admins read the settings');
SELECT is(pg_temp.t('bram', 'configure_retention', pg_temp.o('{"profile": "provisa"}')), '403 insufficient_role',
          'only owners configure');
SELECT is(pg_temp.t('anna', 'configure_retention', pg_temp.o('{"profile": "selectielijst"}')), '404 retention_profile_not_found',
          'an unknown profile is refused');
SELECT is(pg_temp.t('anna', 'configure_retention', pg_temp.o('{"strategy": "shred"}')), '400 invalid_argument',
          'an unknown strategy is refused');
SELECT is(pg_temp.t('anna', 'configure_retention', pg_temp.o('{"profile": "provisa", "grace": "14 days"}'), 'grace'),
          '200 14 days', 'the owner configures profile and grace');
INSERT INTO retention.notifications (organization_id, relid, kind, record_count) VALUES
  (pg_temp.v('org1')::uuid, 'startlijn.profiles'::regclass, 'retention_expired', 3),
  (pg_temp.v('org2')::uuid, 'startlijn.profiles'::regclass, 'retention_expired', 5);
SELECT is(pgrst.call('bram', 'retention_notifications', pg_temp.o()) -> 0 ->> 'record_count', '3',
          'admins read their organisation''s signals only');
SELECT is(pg_temp.t('anna', 'acknowledge_retention_notifications',
                    pg_temp.o(jsonb_build_object('ids', (SELECT jsonb_agg(n.id) FROM retention.notifications n))), 'acknowledged'),
          '200 1', 'acknowledging another organisation''s signal does nothing');
SELECT is((SELECT count(*) FROM retention.notifications n WHERE n.delivered_at IS NULL), 1::bigint,
          'the other organisation''s signal is still pending');
SELECT is(pg_temp.t('carla', 'retention_notifications', pg_temp.o()), '403 insufficient_role', 'support does not read signals');

-------------------------------------------------------------------------------
-- The erasure hook the platform registered (startlijn_retention 0.2)
-------------------------------------------------------------------------------
SELECT is((SELECT h.function || ' ' || h.extension FROM retention.erasure_hooks h WHERE h.name = 'platform'),
          'startlijn.erasure_hook startlijn', 'the platform registered its erasure hook');
SELECT is(pgrst.err($$ SELECT retention.add_erasure_hook('other', 'pg_catalog.length(text)') $$), 'PT400 invalid_argument',
          'a function of another shape is refused as a hook');
SELECT is(pgrst.err($$ SELECT retention.add_erasure_hook('tables', 'startlijn.erasure_hook(uuid, uuid, uuid)') $$),
          'PT400 invalid_argument', 'a hook cannot take a name the receipt uses');

-- a hook that fails stops its request only: recorded, retried later, the run goes on
CREATE FUNCTION public.broken_hook(request uuid, subject uuid, organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql AS $$
BEGIN
  IF subject = '00000000-0000-4000-a000-000000000008' THEN
    RAISE EXCEPTION 'the crm is down';
  END IF;
  RETURN NULL;
END $$;
SELECT retention.add_erasure_hook('crm', 'public.broken_hook(uuid, uuid, uuid)');
SELECT is(pg_temp.t('hanna', 'request_erasure', '{}', 'status'), '200 received', 'Hanna asks');
SELECT is(pg_temp.t('gijs', 'request_erasure', '{}', 'status'), '200 received', 'Gijs asks');
CALL retention.run();
SELECT is((SELECT e.status || ' ' || (e.receipt ->> 'error') || ' ' || (e.next_attempt_at > now())
             FROM retention.erasure_requests e WHERE e.subject = '00000000-0000-4000-a000-000000000008'),
          'received the crm is down true', 'the failing request stays open with its error and a later attempt');
SELECT is((SELECT p.full_name FROM startlijn.profiles p WHERE p.id = '00000000-0000-4000-a000-000000000008'), 'Hanna Meijer',
          'and nothing of it was done (the platform hook''s changes rolled back too)');
SELECT is((SELECT e.status FROM retention.erasure_requests e WHERE e.subject = '00000000-0000-4000-a000-000000000007'),
          'completed', 'the other request completed in the same run');
SELECT ok((SELECT r.notes::text FROM retention.runs r ORDER BY r.id DESC LIMIT 1) LIKE '%the crm is down%',
          'the run report names the failure');
SELECT is(pgrst.call('00000000-0000-4000-a000-000000000008', 'my_erasure_requests') -> 0 -> 'receipt' ->> 'why',
          'The request could not be completed yet; it is retried automatically.',
          'the person is told it is retried, not the internal error');
SELECT ok(retention.remove_erasure_hook('crm'), 'a hook is removed');

-- the operator's view of the job (docs/operations.md, docs/retention.md)
SELECT lives_ok('SELECT * FROM retention.last_runs(5)', 'retention.last_runs(5) answers (its argument is not shadowed by the column max_rows)');

SELECT * FROM finish();
ROLLBACK;
