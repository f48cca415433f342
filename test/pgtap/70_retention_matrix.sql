-- startlijn_retention: label validation, periods (profiles, overrides,
-- result types), every lifecycle transition, replace and remove outputs,
-- stable pseudonyms across tables, legal holds, erasure end to end with the
-- audit trail, destruction without dangling references, the job's report,
-- dry run and who may run it. The scenario is a small TenderManager-like
-- schema (seed 001) under the vng_2020 profile.
BEGIN;
SELECT plan(67);

CREATE SCHEMA tm;
CREATE TABLE tm.suppliers (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL,
  kvk_nummer varchar(8), company_name text NOT NULL, street text, postal_code varchar(7),
  last_project_end date,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz,
  UNIQUE (organization_id, id));
CREATE TABLE tm.supplier_contacts (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL, supplier_id uuid NOT NULL,
  name text NOT NULL, email text NOT NULL CHECK (email LIKE '%_@_%.__%'),
  phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'), last_project_end date,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz,
  FOREIGN KEY (organization_id, supplier_id) REFERENCES tm.suppliers (organization_id, id));
CREATE TABLE tm.project_suppliers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, supplier_id uuid NOT NULL,
  contact_id uuid, contract_end date, result text CHECK (result IN ('granted', 'not_granted')),
  signer_name text, offer_amount numeric(15,2),
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz,
  FOREIGN KEY (organization_id, supplier_id) REFERENCES tm.suppliers (organization_id, id));
CREATE TABLE tm.incoming_questions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, contact_id uuid,
  asked_by text, question_text text NOT NULL, contract_end date,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
-- AI conversations: operational, destroyed when expired
CREATE TABLE tm.ai_conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, project_end date,
  transcript text,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
CREATE TABLE tm.ai_notes (
  id serial PRIMARY KEY, conversation_id uuid REFERENCES tm.ai_conversations);

-- 1-12 labels -------------------------------------------------------------
SELECT lives_ok($$
  SECURITY LABEL FOR retention ON TABLE tm.suppliers IS
    'classification=personal;organization=organization_id;anchor=last_project_end;subject=id;subject_type=company' $$,
  'a table label naming existing columns is accepted');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON TABLE tm.suppliers IS 'classification=personal;organization=organization_id;anchor=last_project_end;colour=red' $$),
  'PT400 invalid_label', 'an unknown key is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON TABLE tm.suppliers IS 'classification=personal;organization=org;anchor=last_project_end' $$),
  'PT400 invalid_label', 'a column that does not exist is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON TABLE tm.suppliers IS 'classification=personal;organization=organization_id;anchor=company_name' $$),
  'PT400 invalid_label', 'an anchor that is not a date is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON TABLE tm.suppliers IS 'classification=personal;organization=kvk_nummer;anchor=last_project_end' $$),
  'PT400 invalid_label', 'an organisation column that is not a uuid is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON COLUMN tm.suppliers.company_name IS 'pii:naam' $$),
  'PT400 invalid_label', 'an unknown kind of personal data is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON COLUMN tm.suppliers.last_project_end IS 'pii:email' $$),
  'PT400 invalid_label', 'pii:email on a date column is refused');
SELECT is(pgrst.err($$ SECURITY LABEL FOR retention ON SCHEMA tm IS 'pii:name' $$),
  'PT400 invalid_label', 'labels on other objects than tables and columns are refused');
SELECT is(pgrst.err($$ SELECT retention.manage('tm.ai_notes') $$), 'PT400 table_not_managed',
  'manage() needs a table label');
SELECT lives_ok($$
  SECURITY LABEL FOR retention ON COLUMN tm.suppliers.company_name IS 'pii:company';
  SECURITY LABEL FOR retention ON COLUMN tm.suppliers.street IS 'pii:address';
  SELECT retention.label_column('tm.suppliers', 'postal_code', 'pii:address');
  SECURITY LABEL FOR retention ON TABLE tm.supplier_contacts IS 'classification=personal;organization=organization_id;anchor=last_project_end;subject=id';
  SECURITY LABEL FOR retention ON COLUMN tm.supplier_contacts.name IS 'pii:name';
  SECURITY LABEL FOR retention ON COLUMN tm.supplier_contacts.email IS 'pii:email';
  SECURITY LABEL FOR retention ON COLUMN tm.supplier_contacts.phone IS 'pii:phone';
  SELECT retention.label_table('tm.project_suppliers', 'classification=archive;organization=organization_id;anchor=contract_end;subject=contact_id;result=result');
  SECURITY LABEL FOR retention ON COLUMN tm.project_suppliers.signer_name IS 'pii:name;required';
  SECURITY LABEL FOR retention ON TABLE tm.incoming_questions IS 'classification=archive;organization=organization_id;anchor=contract_end';
  SECURITY LABEL FOR retention ON COLUMN tm.incoming_questions.asked_by IS 'pii:name';
  SECURITY LABEL FOR retention ON COLUMN tm.incoming_questions.question_text IS 'pii:free_text';
  SECURITY LABEL FOR retention ON TABLE tm.ai_conversations IS 'classification=operational;organization=organization_id;anchor=project_end;expire=destroy' $$,
  'the scenario schema is labelled with SECURITY LABEL and the wrapper functions');
SELECT is(pgrst.err($$ SELECT retention.manage('tm.incoming_questions') $$), 'PT400 table_not_managed',
  'manage() refuses personal columns without a subject column');
SECURITY LABEL FOR retention ON TABLE tm.incoming_questions IS
  'classification=archive;organization=organization_id;anchor=contract_end;subject=contact_id';
SELECT retention.manage(t) FROM unnest(ARRAY['tm.suppliers', 'tm.supplier_contacts', 'tm.project_suppliers',
                                             'tm.incoming_questions', 'tm.ai_conversations']::regclass[]) t;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname = 'retention_guard' AND tgrelid::regclass::text LIKE 'tm.%'),
  5::bigint, 'manage() attached the guard trigger to the five managed tables');

-- 13-20 periods -----------------------------------------------------------
\set o1 '''10000000-0000-4000-a000-000000000001'''
\set o2 '''10000000-0000-4000-a000-000000000002'''
SELECT is(ARRAY[retention.period(:o1, 'archive', 'granted'), retention.period(:o1, 'archive', 'not_granted'),
                retention.period(:o1, 'archive'), retention.period(:o1, 'personal'),
                retention.period(:o1, 'operational'), retention.period(:o1, 'fiscal')],
  ARRAY['7 years', '5 years', '7 years', '1 year', '1 year', '7 years']::interval[],
  'vng_2020: archive 7 years (granted) or 5 (not granted), personal and operational 1 year, fiscal 7 years');
SELECT is(pgrst.err($$ SELECT retention.configure('10000000-0000-4000-a000-000000000002', profile => 'gemeente_x') $$),
  'PT404 retention_profile_not_found', 'an unknown profile is refused');
SELECT is(pgrst.err($$ SELECT retention.configure('10000000-0000-4000-a000-000000000002', strategy => 'shred') $$),
  'PT400 invalid_argument', 'an unknown strategy is refused');
SELECT is(pgrst.err($$ SELECT retention.set_override('10000000-0000-4000-a000-000000000002', 'archive', '-1 year') $$),
  'PT400 invalid_argument', 'a negative period is refused');
SELECT retention.set_override(:o2, 'archive', '10 years');
SELECT retention.set_override(:o2, 'archive', '3 years', 'not_granted');
SELECT is(ARRAY[retention.period(:o2, 'archive', 'granted'), retention.period(:o2, 'archive', 'not_granted'),
                retention.period(:o2, 'personal')],
  ARRAY['10 years', '3 years', '1 year']::interval[],
  'overrides: result type first, then the classification, then the profile');

INSERT INTO tm.suppliers (id, organization_id, kvk_nummer, company_name, street, postal_code, last_project_end) VALUES
 ('a0000000-0000-4000-a000-000000000001', :o1, '12345678', 'Bouwbedrijf Jansen B.V.', 'Dorpsstraat 1', '1234 AB', '2015-01-01'),
 ('a0000000-0000-4000-a000-000000000002', :o1, '87654321', 'Schoonmaak de Vries', 'Kerkweg 2', '2345 BC', '2098-06-01'),
 ('a0000000-0000-4000-a000-000000000003', :o2, '11223344', 'Groen BV', NULL, NULL, '2015-01-01'),
 ('a0000000-0000-4000-a000-000000000004', :o1, '44332211', 'Nieuw BV', 'Laan 4', '3456 CD', '2098-01-01');
INSERT INTO tm.supplier_contacts (id, organization_id, supplier_id, name, email, phone, last_project_end) VALUES
 ('c0000000-0000-4000-a000-000000000001', :o1, 'a0000000-0000-4000-a000-000000000001', 'Jan de Vries', 'jan@jansen.nl', '+31612345678', '2015-01-01'),
 ('c0000000-0000-4000-a000-000000000002', :o1, 'a0000000-0000-4000-a000-000000000001', 'Piet Klaassen', 'piet@jansen.nl', NULL, '2015-01-01'),
 ('c0000000-0000-4000-a000-000000000003', :o1, 'a0000000-0000-4000-a000-000000000004', 'Sanne Bakker', 'sanne@nieuw.nl', '+31687654321', '2098-01-01'),
 ('c0000000-0000-4000-a000-000000000004', :o2, 'a0000000-0000-4000-a000-000000000003', 'Els Groen', 'els@groen.nl', '+31611111111', '2015-01-01');
INSERT INTO tm.project_suppliers (organization_id, supplier_id, contact_id, contract_end, result, signer_name, offer_amount) VALUES
 (:o1, 'a0000000-0000-4000-a000-000000000001', 'c0000000-0000-4000-a000-000000000001', '2016-01-01', 'granted', 'Jan de Vries', 1000),
 (:o1, 'a0000000-0000-4000-a000-000000000001', 'c0000000-0000-4000-a000-000000000002', '2019-01-01', 'not_granted', 'Piet Klaassen', 2000),
 (:o1, 'a0000000-0000-4000-a000-000000000004', 'c0000000-0000-4000-a000-000000000003', '2098-01-01', 'granted', 'Sanne Bakker', 3000),
 (:o2, 'a0000000-0000-4000-a000-000000000003', 'c0000000-0000-4000-a000-000000000004', '2019-01-01', 'not_granted', 'Els Groen', 4000);
INSERT INTO tm.incoming_questions (organization_id, contact_id, asked_by, question_text, contract_end) VALUES
 (:o1, 'c0000000-0000-4000-a000-000000000001', 'Jan de Vries', 'Mag ik (Jan, 06-12345678) later inleveren?', '2016-01-01'),
 (:o1, 'c0000000-0000-4000-a000-000000000003', 'Sanne Bakker', 'Vraag van Sanne', '2098-01-01');
INSERT INTO tm.ai_conversations (id, organization_id, project_end, transcript) VALUES
 ('d0000000-0000-4000-a000-000000000001', :o1, '2015-01-01', 'gesprek 1'),
 ('d0000000-0000-4000-a000-000000000002', :o1, '2015-01-01', 'gesprek 2');
INSERT INTO tm.ai_notes (conversation_id) VALUES ('d0000000-0000-4000-a000-000000000002');

SELECT is((SELECT array_agg(retention_until::date ORDER BY contract_end, organization_id) FROM tm.project_suppliers),
  ARRAY['2023-01-01', '2024-01-01', '2022-01-01', '2105-01-01']::date[],
  'retention_until = anchor + period: 2016+7 granted, 2019+5 not granted, 2019+3 under the override, 2098+7');
INSERT INTO tm.incoming_questions (organization_id, asked_by, question_text, contract_end, retention_until)
  VALUES (:o1, 'Kees', 'Wanneer?', '2020-01-01', '2200-01-01');
SELECT is((SELECT retention_until::date FROM tm.incoming_questions WHERE asked_by = 'Kees'),
  '2027-01-01'::date, 'the database computes retention_until; a client value is overwritten');
SELECT is(retention.set_override(:o1, 'personal', '2 years'), 6::bigint,
  'an override recomputes the organisation''s active and archived records at once (3 suppliers and 3 contacts of o1)');
SELECT is((SELECT retention_until::date FROM tm.supplier_contacts WHERE id = 'c0000000-0000-4000-a000-000000000001'),
  '2017-01-01'::date, 'the recomputed date follows the override');
SELECT retention.set_override(:o1, 'personal', NULL);

-- 21-27 lifecycle by hand ---------------------------------------------------
SELECT is(pgrst.err($$ UPDATE tm.suppliers SET archive_status = 'archived' WHERE kvk_nummer = '87654321' $$), 'ok',
  'active -> archived by hand');
SELECT is(pgrst.err($$ UPDATE tm.suppliers SET street = 'Elders 9' WHERE kvk_nummer = '87654321' $$),
  'PT409 record_read_only', 'an archived record refuses updates');
SELECT is(pgrst.err($$ DELETE FROM tm.suppliers WHERE kvk_nummer = '87654321' $$),
  'PT409 record_read_only', 'an archived record refuses deletes');
SELECT is(pgrst.err($$ UPDATE tm.suppliers SET archive_status = 'active' WHERE kvk_nummer = '87654321' $$),
  'PT409 record_read_only', 'archived -> active is refused');
SELECT is(pgrst.err($$ UPDATE tm.suppliers SET archive_status = 'anonymized' WHERE kvk_nummer = '44332211' $$),
  'PT409 invalid_transition', 'active -> anonymized by hand is refused');
SELECT is(pgrst.err($$ INSERT INTO tm.incoming_questions (organization_id, question_text, archive_status) VALUES ('10000000-0000-4000-a000-000000000001', 'x', 'retention_expired') $$),
  'PT409 invalid_transition', 'a record cannot be born expired');
SELECT is(pgrst.err($$ UPDATE tm.suppliers SET anonymized_at = now() WHERE kvk_nummer = '44332211' $$),
  'PT409 invalid_transition', 'only the job sets anonymized_at');

-- 28-36 the job: expire, then anonymize or destroy --------------------------
SELECT retention.set_defaults(grace => '0') IS NOT NULL AS defaults_set;
SELECT retention.place_hold(:o2, 'Bezwaarprocedure 2026-3') AS org_hold \gset
CALL retention.run(dry_run => true);
SELECT is((SELECT array[expired, anonymized, destroyed] FROM retention.runs ORDER BY id DESC LIMIT 1),
  ARRAY[8, 0, 0]::bigint[], 'a dry run counts what is due (8 records past their date outside the held organisation)');
SELECT is((SELECT count(*) FROM tm.supplier_contacts WHERE archive_status <> 'active'), 0::bigint,
  'a dry run changes nothing');
CALL retention.run();
SELECT is((SELECT array[expired, anonymized, destroyed] || (status = 'completed')::int::bigint FROM retention.runs ORDER BY id DESC LIMIT 1),
  ARRAY[8, 0, 0, 1]::bigint[], 'the first run expires the 8 due records and anonymizes none: admins are signalled first');
SELECT is((SELECT array_agg(record_count ORDER BY relid::regclass::text) FROM retention.notifications WHERE organization_id = :o1),
  ARRAY[2, 1, 2, 2, 1]::bigint[], 'one notification per organisation and table for its admins');
SELECT is(pgrst.err($$ UPDATE tm.supplier_contacts SET phone = NULL WHERE name = 'Jan de Vries' $$),
  'PT409 record_read_only', 'an expired record refuses updates');
SELECT is((SELECT archive_status FROM tm.supplier_contacts WHERE name = 'Els Groen'), 'active',
  'an organisation-wide legal hold blocks expiry');
CALL retention.run();
SELECT is((SELECT array[expired, anonymized, destroyed] FROM retention.runs ORDER BY id DESC LIMIT 1),
  ARRAY[0, 6, 1]::bigint[], 'the next run anonymizes 6 records and destroys 1 conversation');
SELECT is((SELECT array_agg(name || ' ' || email || ' ' || COALESCE(phone, '-') ORDER BY id) FROM tm.supplier_contacts WHERE organization_id = :o1 AND archive_status = 'anonymized'),
  ARRAY['Persoon A persoon-a@anoniem.invalid +31000000001', 'Persoon B persoon-b@anoniem.invalid -'],
  'replace: Persoon A/B, an email and an E.164 phone that satisfy the CHECK constraints, NULL stays NULL');
SELECT is((SELECT array_agg(company_name || '|' || street || '|' || postal_code ORDER BY id) FROM tm.suppliers WHERE archive_status = 'anonymized'),
  ARRAY['Bedrijf A|Adres A|Adres A'], 'replace: a company becomes Bedrijf A, its address Adres A (fits varchar(7))');
SELECT is((SELECT asked_by || ' / ' || question_text FROM tm.incoming_questions WHERE contract_end = '2016-01-01'),
  'Persoon A / [verwijderd]', 'the same person is Persoon A in every table of the dossier; free text is removed');
SELECT is((SELECT array_agg(signer_name ORDER BY contract_end) FROM tm.project_suppliers WHERE organization_id = :o1 AND archive_status = 'anonymized'),
  ARRAY['Persoon A', 'Persoon B'], 'stable pseudonyms in the archive table as well');
SELECT is((SELECT array_agg(id::text) FROM tm.ai_conversations),
  ARRAY['d0000000-0000-4000-a000-000000000002'], 'destroy: the expired conversation is deleted, the one still referenced is kept');
SELECT is(pgrst.err($$ UPDATE tm.supplier_contacts SET name = 'Jan' WHERE name = 'Persoon A' $$),
  'PT409 record_read_only', 'an anonymized record refuses updates');

-- 37-42 remove strategy and holds ---------------------------------------------
SELECT retention.lift_hold(:'org_hold', 'Procedure afgerond');
SELECT retention.configure(:o2, strategy => 'remove');
SELECT retention.place_hold(:o2, 'Dossier opgevraagd', subject => 'c0000000-0000-4000-a000-000000000004') AS subj_hold \gset
SELECT retention.place_hold(:o2, 'Accountantscontrole', tbl => 'tm.suppliers', record => 'a0000000-0000-4000-a000-000000000003') AS rec_hold \gset
CALL retention.run();
CALL retention.run();
SELECT is((SELECT archive_status FROM tm.supplier_contacts WHERE name = 'Els Groen'), 'active',
  'a subject hold blocks expiry of the subject''s records');
SELECT is((SELECT archive_status FROM tm.suppliers WHERE kvk_nummer = '11223344'), 'active',
  'a record hold blocks expiry of that record');
SELECT is((SELECT archive_status FROM tm.project_suppliers WHERE organization_id = :o2), 'active',
  'the subject hold also covers the subject''s rows in other tables');
SELECT retention.lift_hold(:'subj_hold', 'Klaar');
SELECT retention.lift_hold(:'rec_hold', 'Klaar');
CALL retention.run();
CALL retention.run();
SELECT is((SELECT name || '|' || email || '|' || COALESCE(phone, 'NULL') FROM tm.supplier_contacts WHERE organization_id = :o2),
  '[verwijderd]|persoon-a@anoniem.invalid|NULL',
  'remove: [verwijderd] for names, NULL where allowed, a valid placeholder for a NOT NULL email');
SELECT is((SELECT company_name || '|' || COALESCE(street, 'NULL') FROM tm.suppliers WHERE organization_id = :o2),
  '[verwijderd]|NULL', 'remove: the company name is [verwijderd], NULL stays NULL');
SELECT is(pgrst.err($$ SELECT retention.lift_hold(gen_random_uuid(), 'x') $$), 'PT404 legal_hold_not_found',
  'lifting an unknown hold');

-- 43-47 bad input -------------------------------------------------------------
SELECT is(pgrst.err($$ SELECT retention.place_hold('10000000-0000-4000-a000-000000000001', '  ') $$),
  'PT400 missing_argument', 'a legal hold needs a reason');
SELECT is(pgrst.err($$ SELECT retention.place_hold('10000000-0000-4000-a000-000000000001', 'x', tbl => 'tm.suppliers') $$),
  'PT400 invalid_argument', 'a record hold needs the record');
SELECT is(pgrst.err($$ SELECT retention.request_erasure(NULL) $$), 'PT400 missing_argument',
  'an erasure request needs a subject');
SELECT is(pgrst.err($$ SELECT retention.execute_erasure(gen_random_uuid()) $$), 'PT404 erasure_request_not_found',
  'executing an unknown erasure request');
SELECT is(pgrst.err($$ CALL retention.run(max_rows => 0) $$), 'PT400 invalid_argument',
  'max_rows must be positive');

-- 48-58 erasure end to end, with the audit trail ----------------------------
SELECT trail.enable('tm.supplier_contacts', 'organization_id');
SELECT retention.manage('tm.supplier_contacts');
SELECT is((SELECT personal_columns FROM trail.tracked_tables WHERE relid = 'tm.supplier_contacts'::regclass),
  ARRAY['email', 'name', 'phone']::name[], 'manage() tells the audit trail which columns are personal');
UPDATE tm.supplier_contacts SET phone = '+31600000000' WHERE id = 'c0000000-0000-4000-a000-000000000003';
SELECT ok(EXISTS (SELECT 1 FROM trail.subject_keys WHERE subject = 'c0000000-0000-4000-a000-000000000003'),
  'the audited change is encrypted under the subject''s key');
SELECT retention.request_erasure('c0000000-0000-4000-a000-000000000003', reason => 'AVG art. 17') AS req \gset
SELECT is(retention.request_erasure('c0000000-0000-4000-a000-000000000003'), :'req'::uuid,
  'a repeated request returns the open one');
SELECT retention.place_hold(:o1, 'Geschil 2026-17', subject => 'c0000000-0000-4000-a000-000000000003') AS hold3 \gset
SELECT is(retention.execute_erasure(:'req') ->> 'status', 'blocked', 'a legal hold on the subject blocks the erasure');
SELECT is((SELECT name FROM tm.supplier_contacts WHERE id = 'c0000000-0000-4000-a000-000000000003'), 'Sanne Bakker',
  'nothing is erased while the hold lasts');
SELECT retention.lift_hold(:'hold3', 'Geschil geschikt');
CALL retention.run();
SELECT is((SELECT status FROM retention.erasure_requests WHERE id = :'req'), 'completed',
  'the job executes the request once the hold is lifted');
SELECT is((SELECT name || '|' || archive_status FROM tm.supplier_contacts WHERE id = 'c0000000-0000-4000-a000-000000000003'),
  'Persoon C|anonymized', 'personal records are pseudonymised and marked anonymized');
SELECT is((SELECT signer_name || '|' || archive_status FROM tm.project_suppliers WHERE contact_id = 'c0000000-0000-4000-a000-000000000003'),
  'Sanne Bakker|active', 'a record the law requires to keep keeps its required column and stays in force');
SELECT is((SELECT asked_by || '|' || question_text FROM tm.incoming_questions WHERE contact_id = 'c0000000-0000-4000-a000-000000000003'),
  'Persoon C|[verwijderd]', 'a kept archive record without required columns is pseudonymised');
SELECT is((SELECT jsonb_agg(jsonb_build_object('t', t ->> 'table', 'e', t -> 'erased_records', 'k', t -> 'kept_records', 'c', t -> 'kept_columns'))
             FROM retention.erasure_requests e, jsonb_array_elements(e.receipt -> 'tables') t WHERE e.id = :'req'),
  '[{"c": [], "e": 0, "k": 1, "t": "tm.incoming_questions"}, {"c": ["signer_name"], "e": 0, "k": 1, "t": "tm.project_suppliers"}, {"c": null, "e": 1, "k": 0, "t": "tm.supplier_contacts"}]'::jsonb,
  'the receipt lists what was erased and what was kept');
SELECT ok(NOT EXISTS (SELECT 1 FROM trail.subject_keys WHERE subject = 'c0000000-0000-4000-a000-000000000003')
          AND (SELECT trail.seal() IS NOT NULL) AND (trail.verify('10000000-0000-4000-a000-000000000001') ->> 'ok')::boolean,
  'the subject''s audit key is destroyed and the organisation''s log still verifies');

-- 59-62 the report, overlap and who may run ----------------------------------
SELECT is((SELECT count(*) FROM retention.runs WHERE status NOT IN ('completed', 'dry_run')), 0::bigint,
  'every run left a completed report row');
SELECT ok((SELECT bool_and(actor = 'job:' || session_user AND longest_batch_ms >= 0 AND finished_at IS NOT NULL) FROM retention.runs),
  'runs without claims are recorded as the job, with their longest batch');
SELECT ok((SELECT count(*) FROM trail.entries WHERE action IN ('retention.expired', 'retention.anonymized', 'retention.destroyed', 'retention.erased')) >= 6,
  'every expiry, anonymisation, destruction and erasure batch is in the audit trail');
SET LOCAL ROLE authenticated;
SELECT is(pgrst.err($$ CALL retention.run() $$), '42501 ', 'clients cannot run the job');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
