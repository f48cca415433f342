-- The storm's fixture in SQL (test/tools/storm.sh loads it after the demo
-- data); test/storm/fixture.py builds the rest through the API.
--
-- storm.people: personal records under retention, enough of them that the
-- retention job runs for several seconds under load and is still running
-- when the crash comes (it commits after every slice; docs/retention.md).
CREATE SCHEMA storm;
CREATE TABLE storm.people (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL, email text NOT NULL,
  phone text, ended date, archive_status text NOT NULL DEFAULT 'active',
  retention_until timestamptz, anonymized_at timestamptz);
INSERT INTO storm.people (id, organization_id, name, email, phone, ended)
SELECT md5('storm-p' || i)::uuid,
       (ARRAY['00000000-0000-4000-b000-000000000001', '00000000-0000-4000-b000-000000000002']::uuid[])[1 + i % 2],
       'Deelnemer ' || i, 'd' || i || '@example.nl', '+3161' || lpad(i::text, 7, '0'), date '2015-01-01' + (i % 365)
  FROM generate_series(1, 30000) i;
SECURITY LABEL FOR retention ON TABLE storm.people IS
  'classification=personal;organization=organization_id;anchor=ended;subject=id';
SECURITY LABEL FOR retention ON COLUMN storm.people.name IS 'pii:name';
SECURITY LABEL FOR retention ON COLUMN storm.people.email IS 'pii:email';
SECURITY LABEL FOR retention ON COLUMN storm.people.phone IS 'pii:phone';
SELECT retention.manage('storm.people');
SELECT retention.set_defaults(grace => '0');
ANALYZE storm.people;

-- single-use tokens redeemed by racing clients
SELECT tokens.define_purpose('storm', 'slstorm', max_failures => 10000);
