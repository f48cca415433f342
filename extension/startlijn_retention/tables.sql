-- startlijn_retention: retention periods, lifecycle, anonymisation,
-- erasure requests and destruction of labelled tables (schema retention).
--
-- Generic: it knows tables, organisations and data subjects through
-- security labels, not events or tenders. See docs/retention.md.
--
--   SECURITY LABEL FOR retention ON TABLE t IS
--     'classification=archive;organization=organization_id;anchor=contract_end;subject=contact_id';
--   SECURITY LABEL FOR retention ON COLUMN t.name IS 'pii:name';
--   SELECT retention.manage('t');            -- the guard trigger
--   CALL retention.run();                     -- the job (pg_cron: retention.schedule())
--
-- Every table has RLS enabled and forced with a deny-all policy and no
-- grants: only the extension owner (superuser or BYPASSRLS) reads or writes
-- them, through the functions below. Nothing is granted to PUBLIC.
--
-- The install script extension/startlijn_retention--<version>.sql is built by the Makefile
-- from extension/startlijn_retention/*.sql in the order listed there; this file comes first.
-- tables.sql: preconditions, the label provider, the tables, their row level
-- security, the shipped profiles and what pg_dump keeps.

\echo Use "CREATE EXTENSION startlijn_retention" to load this file. \quit

DO $pre$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn_retention must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

COMMENT ON SCHEMA retention IS 'startlijn_retention: retention periods, lifecycle, anonymisation, erasure requests, destruction';

CREATE FUNCTION retention.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

-- Loading startlijn.so registers the `retention` label provider in this
-- session; a restore (pg_restore, psql < dump) creates the extension before
-- it sets the labels, so this call is what lets the labels be restored.
CREATE FUNCTION retention._loaded() RETURNS boolean
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'retention_loaded';
SELECT retention._loaded();

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------

-- Platform-wide defaults; no row means the defaults below (the table
-- starts empty so that a restored dump does not collide with an install
-- row). Change them with retention.set_defaults().
CREATE TABLE retention.config (
  singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  default_profile  text NOT NULL DEFAULT 'vng_2020',
  -- how personal values are anonymised: replace (Persoon A) or remove ([verwijderd])
  strategy         text NOT NULL DEFAULT 'replace' CHECK (strategy IN ('replace', 'remove')),
  -- time between retention_expired (admins are signalled) and anonymisation or destruction
  grace            interval NOT NULL DEFAULT '30 days' CHECK (grace >= interval '0' AND grace <= interval '1 year')
);

-- Retention profiles (selection lists) and their periods per classification
-- and result type. The shipped numbers are the seed's defaults: examples to
-- configure, not legal advice (docs/retention.md).
CREATE TABLE retention.profiles (
  id           text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,39}$'),
  name         text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  description  text,
  source       text
);

CREATE TABLE retention.periods (
  profile         text NOT NULL REFERENCES retention.profiles ON DELETE CASCADE,
  classification  text NOT NULL CHECK (classification IN ('archive', 'personal', 'operational', 'fiscal')),
  -- '' is the default of the classification; other values are result types
  -- matched against the table's result column (e.g. granted, not_granted)
  result          text NOT NULL DEFAULT '' CHECK (result ~ '^[a-z0-9_]{0,40}$'),
  period          interval NOT NULL CHECK (period > interval '0' AND period <= interval '200 years'),
  PRIMARY KEY (profile, classification, result)
);

ALTER TABLE retention.config ADD FOREIGN KEY (default_profile) REFERENCES retention.profiles;

-- Per-organisation choices; missing rows mean the platform defaults.
CREATE TABLE retention.settings (
  organization_id  uuid PRIMARY KEY,
  profile          text REFERENCES retention.profiles,
  strategy         text CHECK (strategy IN ('replace', 'remove')),
  grace            interval CHECK (grace >= interval '0' AND grace <= interval '1 year'),
  notify           boolean NOT NULL DEFAULT true,
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE retention.overrides (
  organization_id  uuid NOT NULL,
  classification   text NOT NULL CHECK (classification IN ('archive', 'personal', 'operational', 'fiscal')),
  result           text NOT NULL DEFAULT '' CHECK (result ~ '^[a-z0-9_]{0,40}$'),
  period           interval NOT NULL CHECK (period > interval '0' AND period <= interval '200 years'),
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, classification, result)
);

-- Legal holds: on an organisation, a data subject or one record. An active
-- hold blocks expiry, anonymisation, destruction and erasure.
CREATE TABLE retention.holds (
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id  uuid NOT NULL,
  scope            text NOT NULL CHECK (scope IN ('organization', 'subject', 'record')),
  subject          uuid,
  relid            oid,
  record           text,
  reason           text NOT NULL CHECK (pg_catalog.length(reason) BETWEEN 1 AND 2000),
  placed_by        text NOT NULL,
  placed_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  lifted_at        timestamptz,
  lifted_by        text,
  lift_reason      text,
  CHECK ((scope = 'subject') = (subject IS NOT NULL)),
  CHECK ((scope = 'record') = (relid IS NOT NULL AND record IS NOT NULL)),
  CHECK ((lifted_at IS NULL) = (lifted_by IS NULL)),
  PRIMARY KEY (id, organization_id)
);
CREATE INDEX holds_active_idx ON retention.holds (organization_id) WHERE lifted_at IS NULL;

-- Signals for the organisation's admins; the platform delivers them and
-- sets delivered_at.
CREATE TABLE retention.notifications (
  id               bigserial,
  organization_id  uuid NOT NULL,
  relid            oid NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('retention_expired')),
  record_count     bigint NOT NULL CHECK (record_count > 0),
  run_id           bigint,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  delivered_at     timestamptz,
  PRIMARY KEY (id, organization_id)
);
CREATE INDEX notifications_pending_idx ON retention.notifications (organization_id, id) WHERE delivered_at IS NULL;

-- Stable pseudonyms: within an organisation's dossier a data subject is
-- "Persoon <letters(seq)>" (or "Bedrijf ...") in every table.
CREATE TABLE retention.pseudonym_counters (
  organization_id  uuid NOT NULL,
  class            text NOT NULL CHECK (class IN ('person', 'company')),
  last             integer NOT NULL DEFAULT 0 CHECK (last >= 0),
  PRIMARY KEY (organization_id, class)
);

CREATE TABLE retention.pseudonyms (
  organization_id  uuid NOT NULL,
  class            text NOT NULL CHECK (class IN ('person', 'company')),
  subject          uuid NOT NULL,
  seq              integer NOT NULL CHECK (seq >= 1),
  PRIMARY KEY (organization_id, class, subject),
  UNIQUE (organization_id, class, seq)
);

-- Erasure requests (GDPR art. 17), executed by the job or execute_erasure().
CREATE TABLE retention.erasure_requests (
  id                uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  subject           uuid NOT NULL,
  -- NULL: every organisation holding records of the subject
  organization_id   uuid,
  requested_by      text NOT NULL,
  reason            text CHECK (pg_catalog.length(reason) <= 2000),
  status            text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'blocked', 'completed')),
  received_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  next_attempt_at   timestamptz,
  completed_at      timestamptz,
  receipt           jsonb,
  CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
  UNIQUE (organization_id, id)
);
-- one open request per subject and scope: a repeated request returns the open one
CREATE UNIQUE INDEX erasure_requests_open_idx ON retention.erasure_requests
  (subject, COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid))
  WHERE status <> 'completed';

-- One report row per run of the job.
CREATE TABLE retention.runs (
  id                  bigserial PRIMARY KEY,
  started_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  finished_at         timestamptz,
  status              text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'completed', 'limit_reached', 'dry_run', 'skipped', 'interrupted')),
  dry_run             boolean NOT NULL,
  max_rows            bigint NOT NULL,
  max_seconds         double precision NOT NULL,
  actor               text NOT NULL,
  computed            bigint NOT NULL DEFAULT 0,
  expired             bigint NOT NULL DEFAULT 0,
  anonymized          bigint NOT NULL DEFAULT 0,
  destroyed           bigint NOT NULL DEFAULT 0,
  erasures            bigint NOT NULL DEFAULT 0,
  batches             bigint NOT NULL DEFAULT 0,
  subjects_forgotten  bigint NOT NULL DEFAULT 0,
  longest_batch_ms    double precision NOT NULL DEFAULT 0,
  notes               jsonb NOT NULL DEFAULT '[]',
  -- records whose personal columns were pseudonymised while the record stays (personal_cleared=)
  personal_cleared    bigint NOT NULL DEFAULT 0
);

-- Subjects whose records the job changed; checked at the end of a run (or
-- the next one after a crash) to forget their audit-trail key.
CREATE TABLE retention.pending_subjects (
  subject  uuid PRIMARY KEY
);

-- Erasure hooks. The system integrating retention may hold personal data of
-- a subject outside labelled tables (an account profile, memberships). An
-- erasure hook is a function `fn(request uuid, subject uuid, organization_id
-- uuid) RETURNS jsonb` called by the erasure step after the labelled tables
-- and before the subject's audit key is destroyed, in the same transaction;
-- its result (when not NULL) goes into the receipt under the hook's name.
-- organization_id is NULL for a request covering every organisation.
CREATE TABLE retention.erasure_hooks (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$' AND name NOT IN ('tables', 'audit_trail', 'run')),
  -- schema-qualified function name, resolved at each call as fn(uuid, uuid, uuid)
  function    text NOT NULL CHECK (pg_catalog.length(function) BETWEEN 3 AND 200),
  position    integer NOT NULL DEFAULT 100,
  -- the extension that registered the hook recreates it on restore; hooks
  -- registered by hand (extension NULL) are dumped
  extension   name,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Subject checks. The job destroys the audit-trail key of a subject whose
-- personal records are all anonymised, unless one of these functions
-- `fn(subject uuid) RETURNS boolean` says the integrating system still
-- knows the subject (a live account whose own audit entries need the key).
-- Such a subject stays pending and is checked again by the next run.
CREATE TABLE retention.subject_checks (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  -- schema-qualified function name, resolved at each run as fn(uuid)
  function    text NOT NULL CHECK (pg_catalog.length(function) BETWEEN 3 AND 200),
  -- the extension that registered it recreates it on install (no created_at:
  -- a restore reproduces an extension's rows exactly)
  extension   name
);

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['config', 'profiles', 'periods', 'settings', 'overrides', 'holds',
                           'notifications', 'pseudonym_counters', 'pseudonyms', 'erasure_requests',
                           'runs', 'pending_subjects', 'erasure_hooks', 'subject_checks'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE retention.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE retention.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY no_direct_access ON retention.%I USING (false)', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON retention.%I FROM PUBLIC', t);
  END LOOP;
END
$rls$;

INSERT INTO retention.profiles (id, name, description, source) VALUES
  ('vng_2020', 'VNG Selectielijst 2020', 'Standaard voor gemeenten',
   'VNG Selectielijst gemeentelijke en intergemeentelijke organen 2020'),
  ('provisa', 'PROVISA', 'Provinciale selectielijst',
   'Selectielijst archiefbescheiden provinciale organen');
INSERT INTO retention.periods (profile, classification, result, period)
SELECT p.id, v.classification, v.result, v.period::interval
  FROM retention.profiles p,
       (VALUES ('archive', '', '7 years'), ('archive', 'granted', '7 years'), ('archive', 'not_granted', '5 years'),
               ('personal', '', '1 year'), ('operational', '', '1 year'),
               ('fiscal', '', '7 years')) v(classification, result, period);

-- Participant data (registrations of events, docs/retention.md): the result
-- type 'participant' of the personal classification. The two selection
-- lists keep it 6 months; an organisation picks 3, 6 or 12 months with the
-- participants_* profiles (api.configure_retention), whose other periods
-- are those of vng_2020.
INSERT INTO retention.profiles (id, name, description, source) VALUES
  ('participants_3m', 'Deelnemers 3 maanden', 'Deelnemersgegevens 3 maanden na het evenement', 'startlijn'),
  ('participants_6m', 'Deelnemers 6 maanden', 'Deelnemersgegevens 6 maanden na het evenement', 'startlijn'),
  ('participants_12m', 'Deelnemers 12 maanden', 'Deelnemersgegevens 12 maanden na het evenement', 'startlijn');
INSERT INTO retention.periods (profile, classification, result, period)
SELECT p.id, v.classification, v.result, v.period::interval
  FROM retention.profiles p,
       (VALUES ('archive', '', '7 years'), ('archive', 'granted', '7 years'), ('archive', 'not_granted', '5 years'),
               ('personal', '', '1 year'), ('operational', '', '1 year'),
               ('fiscal', '', '7 years')) v(classification, result, period)
 WHERE p.id LIKE 'participants%';
INSERT INTO retention.periods (profile, classification, result, period) VALUES
  ('vng_2020', 'personal', 'participant', '6 months'), ('provisa', 'personal', 'participant', '6 months'),
  ('participants_3m', 'personal', 'participant', '3 months'), ('participants_6m', 'personal', 'participant', '6 months'),
  ('participants_12m', 'personal', 'participant', '12 months');

SELECT pg_catalog.pg_extension_config_dump('retention.config', '');
SELECT pg_catalog.pg_extension_config_dump('retention.profiles',
  $$WHERE id NOT IN ('vng_2020', 'provisa', 'participants_3m', 'participants_6m', 'participants_12m')$$);
SELECT pg_catalog.pg_extension_config_dump('retention.periods',
  $$WHERE profile NOT IN ('vng_2020', 'provisa', 'participants_3m', 'participants_6m', 'participants_12m')$$);
SELECT pg_catalog.pg_extension_config_dump('retention.settings', '');
SELECT pg_catalog.pg_extension_config_dump('retention.overrides', '');
SELECT pg_catalog.pg_extension_config_dump('retention.holds', '');
SELECT pg_catalog.pg_extension_config_dump('retention.notifications', '');
SELECT pg_catalog.pg_extension_config_dump('retention.notifications_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('retention.pseudonym_counters', '');
SELECT pg_catalog.pg_extension_config_dump('retention.pseudonyms', '');
SELECT pg_catalog.pg_extension_config_dump('retention.erasure_requests', '');
SELECT pg_catalog.pg_extension_config_dump('retention.runs', '');
SELECT pg_catalog.pg_extension_config_dump('retention.runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('retention.pending_subjects', '');
SELECT pg_catalog.pg_extension_config_dump('retention.erasure_hooks', 'WHERE extension IS NULL');
SELECT pg_catalog.pg_extension_config_dump('retention.subject_checks', 'WHERE extension IS NULL');
