-- startlijn_retention's label keys for records in use and for personal
-- columns of kept records, and the kinds attribute and jsonb free_text, on a
-- schema that is not the platform's (a procurement system like seed 001):
-- the engine stays generic. The platform's use of them is in
-- 73_retention_registrations.sql.
BEGIN;
SELECT plan(19);

\set o '''20000000-0000-4000-a000-000000000001'''
CREATE SCHEMA tx;
CREATE TABLE tx.contacts (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL, sector text, intake jsonb,
  last_contact date, engaged_until timestamptz, kind text NOT NULL DEFAULT 'x',
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
CREATE TABLE tx.invoices (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL, contact_id uuid, invoice_date date NOT NULL,
  customer_name text, customer_email text, signer text, amount numeric(12,2) NOT NULL,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz,
  cleared_at timestamptz);

-- 1-6 labels
SELECT is(pgrst.err($$ SELECT retention.label_column('tx.contacts', 'kind', 'pii:attribute') $$), 'PT400 invalid_label',
  'pii:attribute on a NOT NULL column is refused');
SELECT is(pgrst.err($$ SELECT retention.label_column('tx.contacts', 'intake', 'pii:name') $$), 'PT400 invalid_label',
  'pii:name on a jsonb column is refused');
SELECT is(pgrst.err($$ SELECT retention.label_table('tx.contacts',
  'classification=personal;organization=organization_id;anchor=last_contact;in_use=name') $$), 'PT400 invalid_label',
  'in_use must name a timestamptz column');
SELECT is(pgrst.err($$ SELECT retention.label_table('tx.invoices',
  'classification=fiscal;organization=organization_id;anchor=invoice_date;personal_cleared=cleared_missing') $$),
  'PT400 invalid_label', 'personal_cleared must name an existing column');
SELECT lives_ok($$
  SELECT retention.label_table('tx.contacts',
    'classification=personal;organization=organization_id;anchor=last_contact;subject=id;in_use=engaged_until');
  SELECT retention.label_column('tx.contacts', 'name', 'pii:name');
  SELECT retention.label_column('tx.contacts', 'sector', 'pii:attribute');
  SELECT retention.label_column('tx.contacts', 'intake', 'pii:free_text');
  SELECT retention.label_table('tx.invoices',
    'classification=fiscal;organization=organization_id;anchor=invoice_date;subject=contact_id;personal_cleared=cleared_at');
  SELECT retention.label_column('tx.invoices', 'customer_name', 'pii:name');
  SELECT retention.label_column('tx.invoices', 'customer_email', 'pii:email');
  SELECT retention.label_column('tx.invoices', 'signer', 'pii:name;required');
  SELECT retention.manage('tx.contacts');
  SELECT retention.manage('tx.invoices') $$,
  'in_use, personal_cleared, pii:attribute and pii:free_text on jsonb are accepted');
SELECT is(retention._table_label('tx.invoices') ->> 'classification', 'fiscal', 'the labels parse');

SELECT retention.configure(:o, grace => '0') IS NOT NULL AS configured \gset
INSERT INTO tx.contacts (id, organization_id, name, sector, intake, last_contact, engaged_until) VALUES
 ('e0000000-0000-4000-a000-000000000001', :o, 'Jan Inkoop', 'bouw', '{"notes": "belt liever"}', '2015-01-01', NULL),
 ('e0000000-0000-4000-a000-000000000002', :o, 'Els Lopend', 'zorg', '{"notes": "lopend"}', '2015-01-01', now() + interval '1 year');
INSERT INTO tx.invoices (id, organization_id, contact_id, invoice_date, customer_name, customer_email, signer, amount) VALUES
 ('f0000000-0000-4000-a000-000000000001', :o, 'e0000000-0000-4000-a000-000000000001', current_date - 800,
  'Jan Inkoop', 'jan@inkoop.nl', 'Jan Inkoop', 100),
 ('f0000000-0000-4000-a000-000000000002', :o, 'e0000000-0000-4000-a000-000000000002', current_date - 30,
  'Els Lopend', 'els@lopend.nl', 'Els Lopend', 200);

-- 7-12 the job
CALL retention.run();
SELECT is((SELECT customer_name ~ '^Persoon [A-Z]+$' AND customer_email ~ '^persoon-[a-z]+@anoniem\.invalid$'
                  AND signer = 'Jan Inkoop' AND cleared_at IS NOT NULL AND archive_status = 'active' AND amount = 100
             FROM tx.invoices WHERE id = 'f0000000-0000-4000-a000-000000000001'), true,
  'personal_cleared: the personal period passed; the personal columns are pseudonymised, required ones and the record stay');
SELECT is((SELECT customer_name || ' ' || (cleared_at IS NULL) FROM tx.invoices WHERE id = 'f0000000-0000-4000-a000-000000000002'),
  'Els Lopend true', '... not before the personal period passed');
SELECT is((SELECT personal_cleared FROM retention.runs ORDER BY id DESC LIMIT 1), 1::bigint, 'the run reports it');
SELECT is((SELECT array_agg(archive_status ORDER BY id) FROM tx.contacts), ARRAY['retention_expired', 'active'],
  'in_use: a record in use is not expired though its date passed');
CALL retention.run();
SELECT is((SELECT name ~ '^Persoon [A-Z]+$' AND sector IS NULL AND intake = '{}'::jsonb AND archive_status = 'anonymized'
             FROM tx.contacts WHERE id = 'e0000000-0000-4000-a000-000000000001'), true,
  'anonymised: pii:attribute becomes NULL, a jsonb free_text {}');
SELECT is((SELECT name FROM tx.contacts WHERE id = 'e0000000-0000-4000-a000-000000000001'),
          (SELECT customer_name FROM tx.invoices WHERE id = 'f0000000-0000-4000-a000-000000000001'),
  'the same pseudonym in both tables');

-- 13-19 erasure of a subject with a record in use
INSERT INTO trail.subject_keys (subject, key) VALUES ('e0000000-0000-4000-a000-000000000002', gen_random_bytes(32));
SELECT ok(EXISTS (SELECT 1 FROM trail.subject_keys WHERE subject = 'e0000000-0000-4000-a000-000000000002'),
  'the subject has an audit key');
SELECT retention.request_erasure('e0000000-0000-4000-a000-000000000002', :o, 'verzoek', 'test') AS req \gset
SELECT is(retention.execute_erasure(:'req') ->> 'status', 'completed', 'the erasure completes');
SELECT is((SELECT name FROM tx.contacts WHERE id = 'e0000000-0000-4000-a000-000000000002'), 'Els Lopend',
  'the record in use is left alone');
SELECT is((SELECT customer_name ~ '^Persoon' AND signer = 'Els Lopend' AND cleared_at IS NOT NULL
             FROM tx.invoices WHERE id = 'f0000000-0000-4000-a000-000000000002'), true,
  'the kept fiscal record: pseudonymised except the required column, cleared_at set');
SELECT is((SELECT (x ->> 'in_use_records')::int FROM retention.erasure_requests e, jsonb_array_elements(e.receipt -> 'tables') x
            WHERE e.id = :'req' AND x ->> 'table' = 'tx.contacts'), 1, 'the receipt counts the record in use');
SELECT retention.request_erasure('e0000000-0000-4000-a000-000000000002', NULL, 'eigen verzoek', 'test') AS req2 \gset
SELECT is(retention.execute_erasure(:'req2') -> 'receipt' ->> 'audit_trail',
  'kept: records of the person are still in use; the key is destroyed once they are anonymised',
  'the person''s own request keeps the key while a record is in use');
SELECT ok(EXISTS (SELECT 1 FROM trail.subject_keys WHERE subject = 'e0000000-0000-4000-a000-000000000002')
          AND EXISTS (SELECT 1 FROM retention.pending_subjects WHERE subject = 'e0000000-0000-4000-a000-000000000002'),
  '... and leaves the subject pending for the lifecycle');

SELECT * FROM finish();
ROLLBACK;
