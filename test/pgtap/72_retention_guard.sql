-- The guard's retention date, computed in C with a per-statement cache of
-- the label and of each organisation's period: the same value as
-- (anchor + retention.period(...))::timestamptz for date, timestamp and
-- timestamptz anchors, per organisation and result type, also when one
-- statement writes rows of several organisations.
BEGIN;
SELECT plan(10);

CREATE SCHEMA g;
CREATE TABLE g.d (id bigserial PRIMARY KEY, organization_id uuid NOT NULL, outcome text, ended date,
  archive_status text NOT NULL DEFAULT 'active', retention_until timestamptz, anonymized_at timestamptz);
CREATE TABLE g.ts (LIKE g.d INCLUDING ALL);
ALTER TABLE g.ts ALTER COLUMN ended TYPE timestamp;
CREATE TABLE g.tz (LIKE g.d INCLUDING ALL);
ALTER TABLE g.tz ALTER COLUMN ended TYPE timestamptz;
SELECT retention.label_table('g.d', 'classification=archive;organization=organization_id;anchor=ended;result=outcome');
SELECT retention.label_table('g.ts', 'classification=archive;organization=organization_id;anchor=ended;result=outcome');
SELECT retention.label_table('g.tz', 'classification=archive;organization=organization_id;anchor=ended;result=outcome');
SELECT retention.manage('g.d'), retention.manage('g.ts'), retention.manage('g.tz');
-- organisation 2 keeps archive records 3 years, granted ones 12
SELECT retention.set_override('00000000-0000-4000-b000-0000000000f2', 'archive', '3 years');
SELECT retention.set_override('00000000-0000-4000-b000-0000000000f2', 'archive', '12 years', 'granted');
SET LOCAL TimeZone = 'Europe/Amsterdam';

INSERT INTO g.d (organization_id, outcome, ended)
SELECT ('00000000-0000-4000-b000-0000000000f' || (1 + i % 2))::uuid,
       (ARRAY[NULL, 'granted', 'not_granted'])[1 + i % 3], date '2020-03-01' + i
  FROM generate_series(1, 60) i;
INSERT INTO g.ts (organization_id, outcome, ended) SELECT organization_id, outcome, ended + time '23:30' FROM g.d;
INSERT INTO g.tz (organization_id, outcome, ended) SELECT organization_id, outcome, ended + time '23:30' FROM g.d;

SELECT is((SELECT count(*) FROM g.d WHERE retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'date anchors: the same date as anchor + retention.period(), for every organisation and result in one statement');
SELECT is((SELECT count(*) FROM g.ts WHERE retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'timestamp anchors too (across the DST change of 2020-03-29)');
SELECT is((SELECT count(*) FROM g.tz WHERE retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'timestamptz anchors too');
SELECT is((SELECT count(DISTINCT retention_until - ended::timestamptz > interval '11 years') FROM g.d
            WHERE organization_id = '00000000-0000-4000-b000-0000000000f2' AND outcome = 'granted'), 1::bigint,
          'the override for a result type applies');
SELECT is((SELECT min(extract(year FROM age(retention_until, ended::timestamptz)))::int FROM g.d
            WHERE organization_id = '00000000-0000-4000-b000-0000000000f2' AND outcome IS NULL), 3,
          'the organisation''s override applies to its rows');
SELECT is((SELECT min(extract(year FROM age(retention_until, ended::timestamptz)))::int FROM g.d
            WHERE organization_id = '00000000-0000-4000-b000-0000000000f1' AND outcome = 'not_granted'), 5,
          'the other organisation keeps the profile''s period for its result type');
-- a client value is overwritten, also in a multi-row UPDATE that changes the anchor
UPDATE g.d SET ended = ended + 1, retention_until = '2000-01-01' WHERE id <= 10;
SELECT is((SELECT count(*) FROM g.d WHERE id <= 10 AND retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'an update recomputes the date and ignores the client''s value');
-- a period changed by an earlier statement is seen by the next one
SELECT retention.set_override('00000000-0000-4000-b000-0000000000f1', 'archive', '9 years');
INSERT INTO g.d (organization_id, ended) VALUES ('00000000-0000-4000-b000-0000000000f1', date '2024-01-01');
SELECT is((SELECT retention_until FROM g.d ORDER BY id DESC LIMIT 1), timestamptz '2033-01-01 00:00 Europe/Amsterdam',
          'a new override is used by the next statement');

SELECT is((SELECT count(*) FROM g.d WHERE retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'the override recomputed the organisation''s existing rows to the same dates (_recompute)');
-- rows written before the table was managed get their dates from the job
CREATE TABLE g.late (LIKE g.ts INCLUDING ALL);
INSERT INTO g.late (organization_id, outcome, ended) SELECT organization_id, outcome, ended FROM g.ts;
SELECT retention.label_table('g.late', 'classification=archive;organization=organization_id;anchor=ended;result=outcome');
SELECT retention.manage('g.late');
CALL retention.run();
SELECT is((SELECT count(*) FROM g.late WHERE retention_until IS DISTINCT FROM
             (ended + retention.period(organization_id, 'archive', outcome))::timestamptz), 0::bigint,
          'the job computes the same dates for rows written before the table was managed');

SELECT * FROM finish();
ROLLBACK;
