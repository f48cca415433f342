-- startlijn_retention benchmark: :rows labelled personal records of 100
-- organisations, all past their period, and an unlabelled copy for the
-- baseline (one UPDATE over the whole table).
CREATE EXTENSION IF NOT EXISTS startlijn_retention CASCADE;
DROP SCHEMA IF EXISTS bench_r CASCADE;
CREATE SCHEMA bench_r;
CREATE TABLE bench_r.people (
  id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL, email text NOT NULL,
  phone text, ended date, archive_status text NOT NULL DEFAULT 'active',
  retention_until timestamptz, anonymized_at timestamptz);
INSERT INTO bench_r.people (id, organization_id, name, email, phone, ended)
SELECT md5('p' || i)::uuid, md5('o' || (i % 100))::uuid, 'Deelnemer ' || i, 'd' || i || '@example.nl',
       '+3161' || lpad(i::text, 7, '0'), date '2015-01-01' + (i % 365)
  FROM generate_series(1, :rows) i;
CREATE TABLE bench_r.plain AS SELECT * FROM bench_r.people;
ALTER TABLE bench_r.plain ADD PRIMARY KEY (id);
CREATE INDEX ON bench_r.people (id);
SECURITY LABEL FOR retention ON TABLE bench_r.people IS
  'classification=personal;organization=organization_id;anchor=ended;subject=id';
SECURITY LABEL FOR retention ON COLUMN bench_r.people.name IS 'pii:name';
SECURITY LABEL FOR retention ON COLUMN bench_r.people.email IS 'pii:email';
SECURITY LABEL FOR retention ON COLUMN bench_r.people.phone IS 'pii:phone';
SELECT retention.manage('bench_r.people');
SELECT retention.set_defaults(grace => '0');
VACUUM ANALYZE bench_r.people;
VACUUM ANALYZE bench_r.plain;
