-- Retention of registrations, orders and answers (issue 25, item 11):
-- labels on every personal column of the checkout tables (a catalog check
-- that fails when a column is added without a decision), subjects of
-- participants and guests, the participant period anchored on the event's
-- end (not before, then anonymised), the buyer pseudonymised while the books
-- stay 7 years, personal answers cleared and the rest kept, erasure through
-- the API (a live registration is refused, a legal hold blocks, another
-- organisation cannot act), the audit trail and the ledger intact, the key
-- of a live account kept.
BEGIN;
SELECT plan(70);

CREATE TEMP TABLE k (k text PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.v(name text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM k WHERE k.k = name $$;
CREATE FUNCTION pg_temp.t(who text, fn text, args jsonb DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
  SELECT r ->> 'status' || CASE WHEN r ? 'code' THEN ' ' || COALESCE(NULLIF(split_part(r ->> 'details', ':', 1), ''), r ->> 'code')
                                ELSE '' END
    FROM pgrst.try(who, fn, args) r $$;

-------------------------------------------------------------------------------
-- 1-12 every personal column of the checkout tables has a retention label
-------------------------------------------------------------------------------
-- The decision for every column of the checkout tables: labelled personal
-- data (the label is checked below), or named here as not personal. A new
-- column without a label and not in this list fails the test, so whoever
-- adds a column decides whether it is personal data.
CREATE TEMP TABLE not_personal (tbl text, cols text[]);
INSERT INTO not_personal VALUES
 ('startlijn.registrations', '{id,organization_id,event_id,ticket_type_id,order_id,user_id,status,single_entry,person_key,'
   'refunded,cancelled_at,erased_at,created_at,updated_at,subject_id,event_ends_at,in_use_until,retention_result,'
   'archive_status,retention_until,anonymized_at}'),
 ('startlijn.orders', '{id,organization_id,event_id,number,status,hold_id,expires_at,buyer_user_id,token_hash,currency,'
   'subtotal,discount_total,total,vat_total,discount_code_id,payment_id,return_url,refunded,late_payment,invoice_year,'
   'invoice_seq,invoice_number,created_at,checked_out_at,paid_at,closed_at,updated_at,buyer_subject,event_ends_at,in_use_until,'
   'retention_result,archive_status,retention_until,anonymized_at,personal_cleared_at}'),
 -- texts (an engraved name) are cleared with the order's buyer (orders_personal_cleared)
 ('startlijn.order_items', '{id,organization_id,order_id,kind,ticket_type_id,variant_id,name,tier,item_id,allocation_id,'
   'quantity,unit_price,unit_discount,vat_rate,total,vat_amount,position,texts}'),
 ('startlijn.entitlements', '{id,organization_id,event_id,order_id,order_item_id,kind,unit,registration_id,status,'
   'assign_by,code,refunded,created_at,updated_at}'),
 ('startlijn.discount_codes', '{id,organization_id,event_id,code,kind,amount,percentage,ticket_type_ids,valid_from,'
   'valid_until,max_uses,pool_id,created_at,updated_at,deleted_at}'),
 ('startlijn.invoice_counters', '{organization_id,year,last_number}');

SELECT is((SELECT array_agg(n.tbl || '.' || a.attname ORDER BY n.tbl, a.attnum)
             FROM not_personal n JOIN pg_attribute a ON a.attrelid = n.tbl::regclass AND a.attnum > 0 AND NOT a.attisdropped
            WHERE a.attname <> ALL (n.cols)
              AND NOT EXISTS (SELECT 1 FROM pg_seclabel l WHERE l.provider = 'retention' AND l.objoid = a.attrelid
                                 AND l.objsubid = a.attnum)),
          NULL, 'every column of the checkout tables is labelled personal or listed as not personal');
SELECT is((SELECT array_agg(n.tbl || '.' || a.attname ORDER BY n.tbl, a.attnum)
             FROM not_personal n JOIN pg_attribute a ON a.attrelid = n.tbl::regclass AND a.attname = ANY (n.cols)
             JOIN pg_seclabel l ON l.provider = 'retention' AND l.objoid = a.attrelid AND l.objsubid = a.attnum),
          NULL, 'no column is both labelled and listed as not personal');
SELECT is(retention.describe('startlijn.registrations') -> 'personal',
          '{"first_name": "pii:name", "last_name": "pii:name", "email": "pii:email", "date_of_birth": "pii:date_of_birth",
            "gender": "pii:attribute", "phone": "pii:phone", "nationality": "pii:attribute", "club": "pii:attribute",
            "answers": "pii:free_text", "cancel_reason": "pii:free_text"}'::jsonb,
          'registrations: participant details, answers and the cancel reason are personal');
SELECT is(retention.describe('startlijn.orders') -> 'personal', '{"buyer_name": "pii:name", "buyer_email": "pii:email"}'::jsonb,
          'orders: the buyer''s name and e-mail are personal');
SELECT ok((retention.describe('startlijn.registrations') ->> 'guarded')::boolean
          AND (retention.describe('startlijn.orders') ->> 'guarded')::boolean, 'both tables are managed (guard trigger)');
SELECT is(retention._table_label('startlijn.registrations') ->> 'classification', 'personal', 'registrations: personal data');
SELECT is(retention._table_label('startlijn.orders') ->> 'classification', 'fiscal', 'orders: fiscal records');
SELECT is(retention.period('00000000-0000-4000-b000-000000000001', 'personal', 'participant'), '6 mons'::interval,
          'the default participant period is 6 months');
SELECT is(retention.period('00000000-0000-4000-b000-000000000001', 'fiscal', 'participant'), '7 years'::interval,
          'orders keep the fiscal 7 years');
SELECT is((SELECT array_agg(p.period ORDER BY p.period) FROM retention.periods p
            WHERE p.profile LIKE 'participants%' AND p.classification = 'personal' AND p.result = 'participant'),
          ARRAY['3 mons', '6 mons', '1 year']::interval[], 'profiles participants_3m, _6m and _12m');
SELECT is(pgrst.err($$ SELECT retention.label_column('startlijn.orders', 'currency', 'pii:attribute') $$), 'PT400 invalid_label',
          'pii:attribute on a NOT NULL column is refused (it becomes NULL)');
SELECT is(pgrst.err($$ SELECT retention.label_table('startlijn.registrations',
            'classification=personal;organization=organization_id;anchor=event_ends_at;personal_cleared=anonymized_at') $$),
          'PT400 invalid_label', 'personal_cleared on a personal table is refused');

-------------------------------------------------------------------------------
-- 13-16 questions say which answers are personal
-------------------------------------------------------------------------------
SELECT is(ARRAY[startlijn.question_is_personal('{"type": "emergency_contact"}'), startlijn.question_is_personal('{"type": "phone"}'),
                startlijn.question_is_personal('{"type": "date"}'), startlijn.question_is_personal('{"type": "long_text"}'),
                startlijn.question_is_personal('{"type": "single_select"}'), startlijn.question_is_personal('{"type": "number"}')],
          ARRAY[true, true, true, true, false, false], 'by type: emergency contact, phone, date, free text are personal');
SELECT is(ARRAY[startlijn.question_is_personal('{"type": "text", "personal": false}'),
                startlijn.question_is_personal('{"type": "boolean", "personal": true}')],
          ARRAY[false, true], 'the question''s personal field overrides its type');

-- an event of Loopgroep Utrecht with a question of each kind; kim buys for
-- herself, a guest buys for himself; both pay
DO $$
DECLARE ev uuid; course uuid; tt uuid; o jsonb; g jsonb; acc uuid;
BEGIN
  acc := payments.create_account('stripe', 'retreg');
  UPDATE startlijn.checkout_settings SET payment_account_id = acc;
  ev := (pgrst.call('anna', 'create_event', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001',
          'name', 'Bewaarloop', 'slug', 'bewaarloop', 'type', 'running',
          'starts_at', '2027-09-05T09:00:00+02:00', 'ends_at', '2027-09-05T14:00:00+02:00',
          'venue_name', 'Maliebaan', 'venue_country', 'NL', 'contact_email', 'info@bewaarloop.nl',
          'registration_opens_at', '2026-01-01T00:00:00+01:00', 'registration_closes_at', '2027-09-01T00:00:00+02:00'))
         ->> 'event_id')::uuid;
  course := (pgrst.call('anna', 'create_course', jsonb_build_object('event_id', ev, 'name', '10 km',
             'distance_m', 10000, 'capacity', 50)) ->> 'course_id')::uuid;
  tt := (pgrst.call('anna', 'create_ticket_type', jsonb_build_object('event_id', ev, 'course_id', course,
         'name', '10 km', 'price', 2500, 'vat_rate', 900)) ->> 'ticket_type_id')::uuid;
  PERFORM pgrst.call('anna', 'set_questions', jsonb_build_object('event_id', ev, 'questions', jsonb_build_array(
    jsonb_build_object('key', 'ice', 'type', 'emergency_contact', 'label', 'Noodcontact', 'required', true),
    jsonb_build_object('key', 'shirt', 'type', 'single_select', 'label', 'Shirtmaat',
                       'options', jsonb_build_array(jsonb_build_object('key', 'm', 'label', 'M'))),
    jsonb_build_object('key', 'wave', 'type', 'text', 'label', 'Startvak', 'personal', false),
    jsonb_build_object('key', 'note', 'type', 'long_text', 'label', 'Opmerking'))));
  PERFORM pgrst.call('anna', 'publish_event', jsonb_build_object('event_id', ev));
  o := pgrst.call('kim', 'reserve', jsonb_build_object('event_id', ev,
         'lines', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'quantity', 1))));
  o := pgrst.call('kim', 'checkout', jsonb_build_object('order_id', o ->> 'order_id', 'buyer', '{}'::jsonb,
         'participants', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'self', true, 'first_name', 'Kim',
           'last_name', 'Vos', 'date_of_birth', '1990-01-01', 'gender', 'female', 'phone', '+31612345011',
           'nationality', 'NL', 'club', 'AV Fit',
           'answers', '{"ice": {"name": "Pa Vos", "phone": "+31612345678"}, "shirt": "m", "wave": "B", "note": "Astma"}'::jsonb))));
  PERFORM payments.set_provider_ref((o -> 'payment' ->> 'payment_id')::uuid, 'pi_retreg_kim');
  PERFORM payments.record_status('stripe', 'pi_retreg_kim', 'paid', 2500, 'EUR');
  g := pgrst.call('anon', 'reserve', jsonb_build_object('event_id', ev,
         'lines', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'quantity', 2))));
  g := pgrst.call('anon', 'checkout', jsonb_build_object('order_id', g ->> 'order_id', 'order_token', g ->> 'order_token',
         'buyer', '{"email": "Gast.Loper@Example.nl", "name": "Gerrit Gast"}'::jsonb,
         'participants', jsonb_build_array(jsonb_build_object('ticket_type_id', tt, 'first_name', 'Gerrit',
           'last_name', 'Gast', 'date_of_birth', '1985-06-15', 'email', 'gast.loper@example.nl',
           'answers', '{"ice": {"name": "Ma Gast", "phone": "+31612345679"}, "shirt": "m"}'::jsonb),
           jsonb_build_object('ticket_type_id', tt, 'first_name', 'Joost', 'last_name', 'Bos', 'date_of_birth', '2001-05-30',
           'email', 'joost@example.nl', 'answers', '{"ice": {"name": "Ma Bos", "phone": "+31612345670"}}'::jsonb))));
  PERFORM payments.set_provider_ref((g -> 'payment' ->> 'payment_id')::uuid, 'pi_retreg_guest');
  PERFORM payments.record_status('stripe', 'pi_retreg_guest', 'paid', 5000, 'EUR');
  INSERT INTO k VALUES ('ev', ev), ('kim_order', o ->> 'order_id'), ('guest_order', g ->> 'order_id'),
    ('kim_reg', (SELECT r.id FROM startlijn.registrations r WHERE r.order_id = (o ->> 'order_id')::uuid)),
    ('guest_reg', (SELECT r.id FROM startlijn.registrations r WHERE r.order_id = (g ->> 'order_id')::uuid AND r.first_name = 'Gerrit')),
    ('joost_reg', (SELECT r.id FROM startlijn.registrations r WHERE r.order_id = (g ->> 'order_id')::uuid AND r.first_name = 'Joost')),
    ('joost', '00000000-0000-4000-a000-000000000010'),
    ('kim', '00000000-0000-4000-a000-000000000011'), ('org1', '00000000-0000-4000-b000-000000000001'),
    ('org2', '00000000-0000-4000-b000-000000000002'),
    ('guest', startlijn.guest_subject('gast.loper@example.nl')::text);
END
$$;
-- what the payments' commits would do: the deferred triggers (invoice numbers)
SET CONSTRAINTS ALL IMMEDIATE;
-- an engraved name on kim's item (as an add-on's free text would be)
UPDATE startlijn.order_items SET texts = ARRAY['KIM VOS'] WHERE order_id = pg_temp.v('kim_order')::uuid;
CREATE TEMP TABLE books AS
  SELECT o.id, o.status, o.number, o.invoice_number, o.total, o.vat_total, o.subtotal, o.refunded, o.payment_id,
         (SELECT sum(i.total) FROM startlijn.order_items i WHERE i.order_id = o.id) AS items_total,
         (SELECT sum(i.vat_amount) FROM startlijn.order_items i WHERE i.order_id = o.id) AS items_vat
    FROM startlijn.orders o WHERE o.event_id = pg_temp.v('ev')::uuid;
SELECT is(pgrst.call('joost', 'claim_registrations') ->> 'registrations', '1',
          'joost signs up and claims the registration the guest made for him');
CREATE TEMP TABLE joost_keys AS SELECT count(*) AS n FROM trail.subject_keys WHERE subject = pg_temp.v('joost')::uuid;

SELECT is((SELECT count(*) FROM books WHERE status = 'paid' AND invoice_number IS NOT NULL), 2::bigint,
          'two paid orders with invoice numbers');
SELECT is((SELECT subject_id::text FROM startlijn.registrations WHERE id = pg_temp.v('joost_reg')::uuid), pg_temp.v('joost'),
          'a claimed registration''s subject becomes the account');
SELECT ok((SELECT n FROM joost_keys) > 0, 'joost''s account has an audit key');
SELECT is((SELECT subject_id::text FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid), pg_temp.v('kim'),
          'a signed-in participant''s subject is their user id');
SELECT is((SELECT subject_id::text FROM startlijn.registrations WHERE id = pg_temp.v('guest_reg')::uuid), pg_temp.v('guest'),
          'a guest''s subject is derived from the e-mail (case and spaces ignored)');
SELECT ok(pg_temp.v('guest') !~* 'gast' AND pg_temp.v('guest') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
          'the guest subject is a version 8 uuid, not the e-mail');
SELECT is((SELECT buyer_subject::text FROM startlijn.orders WHERE id = pg_temp.v('guest_order')::uuid), pg_temp.v('guest'),
          'the guest buyer is the same subject');
SELECT is((SELECT retention_until = event_ends_at + interval '6 months' FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid),
          true, 'a registration is kept 6 months after the event''s end');
SELECT is((SELECT retention_until = event_ends_at + interval '7 years' FROM startlijn.orders WHERE id = pg_temp.v('kim_order')::uuid),
          true, 'an order is kept 7 years after the event''s end');
SELECT is((SELECT in_use_until FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid),
          '2027-09-05T14:00:00+02:00'::timestamptz, 'a paid registration is in use until the event ends');
SELECT ok(NOT (pgrst.call('anon', 'event', jsonb_build_object('org_slug', 'loopgroep-utrecht', 'event_slug', 'bewaarloop'))::text
               ~ 'retention|pii:|subject'), 'the public event shows nothing of retention''s internals');

-------------------------------------------------------------------------------
-- before the deadline: the job changes nothing; a live registration is not erased
-------------------------------------------------------------------------------
SELECT ok(retention.configure(pg_temp.v('org1')::uuid, grace => '0') IS NOT NULL, 'no grace period for this test');
CALL retention.run();
SELECT is((SELECT array_agg(archive_status || ' ' || (erased_at IS NULL) ORDER BY id) FROM startlijn.registrations
            WHERE event_id = pg_temp.v('ev')::uuid), ARRAY['active true', 'active true', 'active true'],
          'before the event ends the job leaves the registrations alone');
SELECT is((SELECT count(*) FROM startlijn.orders WHERE event_id = pg_temp.v('ev')::uuid AND personal_cleared_at IS NULL
             AND buyer_email IS NOT NULL AND buyer_name = 'Gerrit Gast' OR id = pg_temp.v('kim_order')::uuid AND personal_cleared_at IS NULL),
          2::bigint, '... and the buyers');
SELECT is(pg_temp.t('anna', 'request_subject_erasure', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'subject', pg_temp.v('guest'), 'reason', 'Mail van de deelnemer')), '409 registration_in_use',
          'erasing a participant of an event that has not ended is refused');
SELECT is(pg_temp.t('kim', 'request_erasure', '{"reason": "weg"}'), '409 registration_in_use',
          '... also the person''s own request');
SELECT is((SELECT count(*) FROM retention.erasure_requests WHERE subject IN (pg_temp.v('guest')::uuid, pg_temp.v('kim')::uuid)),
          0::bigint, 'refused requests write nothing');

-------------------------------------------------------------------------------
-- another organisation cannot act on the participant
-------------------------------------------------------------------------------
SELECT is(pg_temp.t('floris', 'request_subject_erasure', jsonb_build_object('organization_id', pg_temp.v('org2'),
            'subject', pg_temp.v('guest'), 'reason', 'x')), '404 subject_not_found',
          'org B''s admin cannot erase org A''s participant in org B''s name');
SELECT is(pg_temp.t('floris', 'request_subject_erasure', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'subject', pg_temp.v('guest'), 'reason', 'x')), '404 organization_not_found',
          '... nor in org A''s name (not a member: not even told it exists)');
SELECT is(pg_temp.t('floris', 'place_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org2'),
            'subject', pg_temp.v('guest'), 'reason', 'x')), '404 subject_not_found',
          '... nor hold them');
SELECT is(pg_temp.t('floris', 'place_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'subject', pg_temp.v('guest'), 'reason', 'x')), '404 organization_not_found', '... not even in org A''s name');

-------------------------------------------------------------------------------
-- the event ended 7 months ago
-------------------------------------------------------------------------------
UPDATE startlijn.events SET registration_opens_at = now() - interval '2 years',
       registration_closes_at = now() - interval '7 months 2 days', starts_at = now() - interval '7 months 1 day',
       ends_at = now() - interval '7 months 1 day' + interval '5 hours'
 WHERE id = pg_temp.v('ev')::uuid;
SELECT is((SELECT count(*) FROM startlijn.registrations WHERE event_id = pg_temp.v('ev')::uuid
             AND retention_until < now() AND in_use_until < now()), 3::bigint,
          'moving the event''s end moves the registrations'' dates');

-- a legal hold on the guest blocks their erasure
SELECT is(pg_temp.t('anna', 'place_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'subject', pg_temp.v('guest'), 'reason', 'Geschil over de inschrijving')), '200',
          'the organiser places a legal hold on the guest');
INSERT INTO k SELECT 'hold', id FROM retention.holds WHERE subject = pg_temp.v('guest')::uuid AND lifted_at IS NULL;
SELECT is(pg_temp.t('anna', 'request_subject_erasure', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'subject', pg_temp.v('guest'), 'reason', 'Mail van de deelnemer')), '200',
          'after the event, the organiser asks to erase the guest (as PostgREST calls it)');
INSERT INTO k SELECT 'req', id FROM retention.erasure_requests WHERE subject = pg_temp.v('guest')::uuid;
SELECT ok((SELECT retention.execute_erasure(pg_temp.v('req')::uuid) ->> 'status') = 'blocked'
          AND (SELECT first_name FROM startlijn.registrations WHERE id = pg_temp.v('guest_reg')::uuid) = 'Gerrit',
          'the hold blocks the erasure; nothing changes');
SELECT is(pg_temp.t('anna', 'lift_legal_hold', jsonb_build_object('organization_id', pg_temp.v('org1'),
            'hold_id', pg_temp.v('hold'), 'reason', 'Geschikt')), '200', 'the hold is lifted');

-- the job: the erasure, the buyer's personal columns, the registrations expire
CALL retention.run();
SELECT is((SELECT status FROM retention.erasure_requests WHERE id = pg_temp.v('req')::uuid), 'completed',
          'the job executes the erasure');
SELECT is((SELECT first_name || ' ' || last_name || ' ' || email || ' ' || COALESCE(date_of_birth::text, '-') || ' '
                  || (erased_at IS NOT NULL) || ' ' || archive_status
             FROM startlijn.registrations WHERE id = pg_temp.v('guest_reg')::uuid) ~
          '^Persoon [A-Z]+ Persoon [A-Z]+ persoon-[a-z]+@anoniem\.invalid - true anonymized$', true,
          'the guest''s registration: pseudonymised, erased, anonymised');
SELECT is((SELECT answers FROM startlijn.registrations WHERE id = pg_temp.v('guest_reg')::uuid), '{"shirt": "m"}'::jsonb,
          '... the emergency contact is gone, the shirt size stays');
SELECT is((SELECT buyer_name || ' ' || buyer_email || ' ' || archive_status || ' ' || (personal_cleared_at IS NOT NULL)
             FROM startlijn.orders WHERE id = pg_temp.v('guest_order')::uuid) ~
          '^Persoon [A-Z]+ persoon-[a-z]+@anoniem\.invalid active true$', true,
          'the guest''s order: the buyer is pseudonymised, the order stays active for the books');
SELECT is((SELECT receipt -> 'tables' FROM retention.erasure_requests WHERE id = pg_temp.v('req')::uuid) @>
          '[{"table": "startlijn.orders", "classification": "fiscal", "kept_records": 1, "kept_columns": []},
            {"table": "startlijn.registrations", "classification": "personal", "erased_records": 1, "in_use_records": 0}]'::jsonb,
          true, 'the receipt: the order kept for the fiscal period (nothing of the buyer), the registration erased');
SELECT is((SELECT receipt ->> 'audit_trail' FROM retention.erasure_requests WHERE id = pg_temp.v('req')::uuid) LIKE 'kept:%',
          true, 'an organisation''s request keeps the audit key');
SELECT is((SELECT buyer_email || ' ' || (personal_cleared_at IS NOT NULL) FROM startlijn.orders WHERE id = pg_temp.v('kim_order')::uuid)
          ~ '^persoon-[a-z]+@anoniem\.invalid true$', true, 'kim''s order: the buyer''s e-mail goes when the participant period passed');
SELECT is((SELECT texts FROM startlijn.order_items WHERE order_id = pg_temp.v('kim_order')::uuid),
          ARRAY['[verwijderd]'], '... and the free text on her order''s item with it');
SELECT is((SELECT archive_status || ' ' || first_name FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid),
          'retention_expired Kim', 'kim''s registration expired (signalled), not yet anonymised in the same run');
SELECT is(pgrst.err($$ UPDATE startlijn.registrations SET club = 'x' WHERE id = '$$ || pg_temp.v('kim_reg') || $$' $$),
          'PT409 record_read_only', 'an expired registration is read-only');
SELECT ok(EXISTS (SELECT 1 FROM retention.notifications WHERE organization_id = pg_temp.v('org1')::uuid
                    AND relid = 'startlijn.registrations'::regclass), 'the organisation is signalled');

CALL retention.run();
SELECT is((SELECT first_name ~ '^Persoon [A-Z]+$' AND email ~ '^persoon-[a-z]+@anoniem\.invalid$' AND phone ~ '^\+31[0-9]{9}$' AND date_of_birth IS NULL
                  AND gender IS NULL AND nationality IS NULL AND club IS NULL AND person_key IS NULL
                  AND erased_at IS NOT NULL AND archive_status = 'anonymized'
             FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid), true,
          'the next run anonymises kim''s registration: names, phone, date of birth, gender, nationality, club');
SELECT is((SELECT answers FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid),
          '{"shirt": "m", "wave": "B"}'::jsonb, 'personal answers (emergency contact, free text) gone, the others kept');
SELECT is((SELECT status FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid), 'paid',
          'the registration stays paid (counts and revenue unchanged)');
SELECT is((SELECT email FROM startlijn.registrations WHERE id = pg_temp.v('kim_reg')::uuid),
          (SELECT buyer_email FROM startlijn.orders WHERE id = pg_temp.v('kim_order')::uuid),
          'kim is the same pseudonym as participant and as buyer');

-------------------------------------------------------------------------------
-- the books
-------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM books b JOIN startlijn.orders o ON o.id = b.id
            WHERE (o.status, o.number, o.invoice_number, o.total, o.vat_total, o.subtotal, o.refunded, o.payment_id)
                  IS NOT DISTINCT FROM (b.status, b.number, b.invoice_number, b.total, b.vat_total, b.subtotal, b.refunded, b.payment_id)
              AND (SELECT sum(i.total) FROM startlijn.order_items i WHERE i.order_id = o.id) = b.items_total
              AND (SELECT sum(i.vat_amount) FROM startlijn.order_items i WHERE i.order_id = o.id) = b.items_vat),
          2::bigint, 'invoice numbers, amounts, VAT and items are unchanged');
SELECT is((SELECT count(*) FROM payments.ledger_problems()), 0::bigint, 'the ledger balances');
SELECT is((SELECT count(*) FROM startlijn.orders WHERE event_id = pg_temp.v('ev')::uuid AND retention_until > now() + interval '6 years'),
          2::bigint, 'the orders are kept until 7 years after the event');
SELECT is(trail.verify() ->> 'ok', 'true', 'the audit chain still verifies');
SELECT is((SELECT archive_status FROM startlijn.registrations WHERE id = pg_temp.v('joost_reg')::uuid), 'anonymized',
          'joost''s registration (his only labelled record) is anonymised');
SELECT is((SELECT count(*) FROM trail.subject_keys WHERE subject = pg_temp.v('joost')::uuid), (SELECT n FROM joost_keys),
          'joost''s account is live: his audit key is kept (subject check)');
SELECT is((SELECT count(*) FROM retention.pending_subjects WHERE subject = pg_temp.v('joost')::uuid), 1::bigint,
          '... he stays pending and is checked again by the next run');
SELECT ok(EXISTS (SELECT 1 FROM trail.entries WHERE action = 'retention.personal_cleared'),
          'the buyer''s pseudonymisation is in the audit trail');
SELECT ok((SELECT personal_cleared > 0 FROM retention.runs WHERE personal_cleared > 0 ORDER BY id DESC LIMIT 1),
          'the run reports it');

-- kim can now ask herself (nothing in use): completed, her account is erased
SELECT is(pg_temp.t('kim', 'request_erasure', '{"reason": "weg"}'), '200', 'after the event the person''s own request is taken');
SELECT ok((SELECT retention.execute_erasure(e.id) ->> 'status' FROM retention.erasure_requests e
            WHERE e.subject = pg_temp.v('kim')::uuid AND e.organization_id IS NULL) = 'completed',
          'and completes');
SELECT is((SELECT count(*) FROM trail.subject_keys WHERE subject = pg_temp.v('kim')::uuid), 0::bigint,
          'her own request destroys her audit key');
SELECT is(trail.verify() ->> 'ok', 'true', 'the audit chain still verifies');

-- a question flag that is not a boolean is refused
SELECT is(pg_temp.t('anna', 'set_questions', jsonb_build_object('event_id', pg_temp.v('ev'), 'questions',
            '[{"key": "a", "type": "text", "label": "A", "personal": "ja"}]'::jsonb)), '400 invalid_questions',
          'personal must be true or false');

SELECT * FROM finish();
ROLLBACK;
