-- startlijn_retention 0.1: retention periods, lifecycle, anonymisation,
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

-- 1 -> A, 26 -> Z, 27 -> AA
CREATE FUNCTION retention.letters(n bigint) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'retention_letters';

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
  id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
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
  UNIQUE (organization_id, id)
);
CREATE INDEX holds_active_idx ON retention.holds (organization_id) WHERE lifted_at IS NULL;

-- Signals for the organisation's admins; the platform delivers them and
-- sets delivered_at.
CREATE TABLE retention.notifications (
  id               bigserial PRIMARY KEY,
  organization_id  uuid NOT NULL,
  relid            oid NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('retention_expired')),
  record_count     bigint NOT NULL CHECK (record_count > 0),
  run_id           bigint,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  delivered_at     timestamptz,
  UNIQUE (organization_id, id)
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
  notes               jsonb NOT NULL DEFAULT '[]'
);

-- Subjects whose records the job changed; checked at the end of a run (or
-- the next one after a crash) to forget their audit-trail key.
CREATE TABLE retention.pending_subjects (
  subject  uuid PRIMARY KEY
);

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['config', 'profiles', 'periods', 'settings', 'overrides', 'holds',
                           'notifications', 'pseudonym_counters', 'pseudonyms', 'erasure_requests',
                           'runs', 'pending_subjects'] LOOP
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

SELECT pg_catalog.pg_extension_config_dump('retention.config', '');
SELECT pg_catalog.pg_extension_config_dump('retention.profiles', $$WHERE id NOT IN ('vng_2020', 'provisa')$$);
SELECT pg_catalog.pg_extension_config_dump('retention.periods', $$WHERE profile NOT IN ('vng_2020', 'provisa')$$);
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

-------------------------------------------------------------------------------
-- Who is acting: the JWT caller, or the job. Jobs (pg_cron) carry no
-- claims; they are recorded as job:<database role>, never as a user.
-------------------------------------------------------------------------------
CREATE FUNCTION retention.actor() RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = ''
  AS $fn$
DECLARE
  raw text := pg_catalog.current_setting('request.jwt.claims', true);
  claims jsonb;
  sub text := NULLIF(pg_catalog.current_setting('request.jwt.claim.sub', true), '');
  role text;
BEGIN
  IF raw IS NOT NULL AND raw <> '' THEN
    BEGIN
      claims := raw::jsonb;
      sub := COALESCE(claims OPERATOR(pg_catalog.->>) 'sub', sub);
      role := claims OPERATOR(pg_catalog.->>) 'role';
    EXCEPTION WHEN others THEN
      claims := NULL;
    END;
  END IF;
  IF sub IS NOT NULL THEN
    RETURN 'user:' OPERATOR(pg_catalog.||) sub;
  ELSIF role = 'service_role' THEN
    RETURN 'service_role';
  END IF;
  RETURN 'job:' OPERATOR(pg_catalog.||) session_user;
END
$fn$;

-------------------------------------------------------------------------------
-- Periods
-------------------------------------------------------------------------------

-- The retention period of a record: the organisation's override for the
-- classification and result, its override for the classification, the
-- profile's period for the result, the profile's period for the
-- classification. NULL when none applies (the record then never expires).
CREATE FUNCTION retention.period(organization_id uuid, classification text, result text DEFAULT NULL)
  RETURNS interval LANGUAGE sql STABLE SET search_path = ''
  AS $fn$
  WITH prof AS (
    SELECT COALESCE((SELECT s.profile FROM retention.settings s WHERE s.organization_id = $1),
                    (SELECT c.default_profile FROM retention.config c), 'vng_2020') AS id)
  SELECT COALESCE(
    (SELECT o.period FROM retention.overrides o
      WHERE o.organization_id = $1 AND o.classification = $2 AND o.result = COALESCE($3, '') AND $3 IS NOT NULL),
    (SELECT o.period FROM retention.overrides o
      WHERE o.organization_id = $1 AND o.classification = $2 AND o.result = ''),
    (SELECT p.period FROM retention.periods p, prof
      WHERE p.profile = prof.id AND p.classification = $2 AND p.result = COALESCE($3, '') AND $3 IS NOT NULL),
    (SELECT p.period FROM retention.periods p, prof
      WHERE p.profile = prof.id AND p.classification = $2 AND p.result = ''))
$fn$;

-- Validate a profile, strategy and grace period (NULL = not given).
CREATE FUNCTION retention._check_choices(profile text, strategy text, grace interval) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = ''
  AS $fn$
BEGIN
  IF profile IS NOT NULL AND NOT EXISTS (SELECT 1 FROM retention.profiles p WHERE p.id = profile) THEN
    PERFORM retention.raise('retention_profile_not_found', pg_catalog.format('There is no retention profile %L.', profile),
                            'The shipped profiles are vng_2020 and provisa.');
  END IF;
  IF strategy IS NOT NULL AND strategy NOT IN ('replace', 'remove') THEN
    PERFORM retention.raise('invalid_argument', 'The anonymisation strategy is replace or remove.');
  END IF;
  IF grace IS NOT NULL AND (grace < interval '0' OR grace > interval '1 year') THEN
    PERFORM retention.raise('invalid_argument', 'The grace period lies between 0 and 1 year.');
  END IF;
END
$fn$;

CREATE FUNCTION retention.configure(
    organization_id uuid, profile text DEFAULT NULL, strategy text DEFAULT NULL,
    grace interval DEFAULT NULL, notify boolean DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE s retention.settings;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  PERFORM retention._check_choices(profile, strategy, grace);
  INSERT INTO retention.settings AS x (organization_id, profile, strategy, grace, notify)
  VALUES (configure.organization_id, configure.profile, configure.strategy, configure.grace, COALESCE(configure.notify, true))
  ON CONFLICT ON CONSTRAINT settings_pkey DO UPDATE
     SET profile = COALESCE(EXCLUDED.profile, x.profile),
         strategy = COALESCE(EXCLUDED.strategy, x.strategy),
         grace = COALESCE(configure.grace, x.grace),
         notify = COALESCE(configure.notify, x.notify),
         updated_at = pg_catalog.now()
  RETURNING * INTO s;
  PERFORM retention._recompute(configure.organization_id);
  PERFORM trail.log(configure.organization_id, 'retention.configured', 'retention.settings',
                    pg_catalog.to_jsonb(s), NULL);
  RETURN pg_catalog.to_jsonb(s);
END
$fn$;

-- Platform-wide defaults (NULL keeps the current value).
CREATE FUNCTION retention.set_defaults(profile text DEFAULT NULL, strategy text DEFAULT NULL, grace interval DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE c retention.config;
BEGIN
  PERFORM retention._check_choices(profile, strategy, grace);
  INSERT INTO retention.config AS x (singleton, default_profile, strategy, grace)
  VALUES (true, COALESCE(set_defaults.profile, 'vng_2020'), COALESCE(set_defaults.strategy, 'replace'),
          COALESCE(set_defaults.grace, interval '30 days'))
  ON CONFLICT ON CONSTRAINT config_pkey DO UPDATE
     SET default_profile = COALESCE(set_defaults.profile, x.default_profile),
         strategy = COALESCE(set_defaults.strategy, x.strategy),
         grace = COALESCE(set_defaults.grace, x.grace)
  RETURNING * INTO c;
  PERFORM trail.log(NULL, 'retention.defaults_set', 'retention.config', pg_catalog.to_jsonb(c), NULL);
  RETURN pg_catalog.to_jsonb(c);
END
$fn$;

CREATE FUNCTION retention._recompute(organization_id uuid) RETURNS bigint
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_recompute';

-- Override (or with period NULL, remove the override of) one period.
CREATE FUNCTION retention.set_override(
    organization_id uuid, classification text, period interval, result text DEFAULT '')
  RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE changed bigint;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  IF classification IS NULL OR classification NOT IN ('archive', 'personal', 'operational', 'fiscal') THEN
    PERFORM retention.raise('invalid_argument', 'The classification is archive, personal, operational or fiscal.');
  END IF;
  IF period IS NOT NULL AND (period <= interval '0' OR period > interval '200 years') THEN
    PERFORM retention.raise('invalid_argument', 'A retention period lies between 1 second and 200 years.');
  END IF;
  IF COALESCE(result, '') !~ '^[a-z0-9_]{0,40}$' THEN
    PERFORM retention.raise('invalid_argument', 'A result type is up to 40 characters of a-z, 0-9 and _.');
  END IF;
  IF period IS NULL THEN
    DELETE FROM retention.overrides o
     WHERE o.organization_id = set_override.organization_id AND o.classification = set_override.classification
       AND o.result = COALESCE(set_override.result, '');
  ELSE
    INSERT INTO retention.overrides AS o (organization_id, classification, result, period)
    VALUES (set_override.organization_id, set_override.classification, COALESCE(set_override.result, ''), set_override.period)
    ON CONFLICT ON CONSTRAINT overrides_pkey DO UPDATE SET period = EXCLUDED.period, updated_at = pg_catalog.now();
  END IF;
  changed := retention._recompute(set_override.organization_id);
  PERFORM trail.log(set_override.organization_id, 'retention.override_set', 'retention.overrides',
                    pg_catalog.jsonb_build_object('classification', set_override.classification,
                      'result', COALESCE(set_override.result, ''), 'period', set_override.period::text,
                      'records_recomputed', changed), NULL);
  RETURN changed;
END
$fn$;

-------------------------------------------------------------------------------
-- Labels and managed tables
-------------------------------------------------------------------------------

-- SECURITY LABEL needs the provider loaded in the session; these wrappers
-- load it first. The caller must own the table, as for SECURITY LABEL.
CREATE FUNCTION retention.label_table(tbl regclass, label text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  PERFORM retention._loaded();
  EXECUTE pg_catalog.format('SECURITY LABEL FOR retention ON TABLE %s IS %L', tbl, label);
END
$fn$;

CREATE FUNCTION retention.label_column(tbl regclass, col name, label text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  PERFORM retention._loaded();
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
    PERFORM retention.raise('invalid_label', pg_catalog.format('Table %s has no column %I.', tbl, col));
  END IF;
  EXECUTE pg_catalog.format('SECURITY LABEL FOR retention ON COLUMN %s.%I IS %L', tbl, col, label);
END
$fn$;

CREATE FUNCTION retention._table_label(tbl regclass) RETURNS jsonb
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'retention_table_label';

CREATE FUNCTION retention.guard() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'retention_guard';
COMMENT ON FUNCTION retention.guard() IS
  'BEFORE row trigger of managed tables: computes retention_until, allows active -> archived by hand, refuses changes to archived, expired and anonymized records';

-- The labels of a table as the job reads them.
CREATE FUNCTION retention.describe(tbl regclass) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = ''
  AS $fn$
  SELECT pg_catalog.jsonb_build_object(
    'table', tbl::text,
    'label', (SELECT l.label FROM pg_catalog.pg_seclabel l
               WHERE l.provider = 'retention' AND l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND l.objoid = tbl AND l.objsubid = 0),
    'personal', COALESCE((SELECT pg_catalog.jsonb_object_agg(a.attname, l.label ORDER BY a.attnum)
                  FROM pg_catalog.pg_seclabel l JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = l.objoid AND a.attnum = l.objsubid
                 WHERE l.provider = 'retention' AND l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND l.objoid = tbl AND l.objsubid > 0), '{}'::jsonb),
    'guarded', EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = tbl
                        AND g.tgfoid = 'retention.guard()'::pg_catalog.regprocedure))
$fn$;

-- Put a labelled table under management: check its labels, attach the
-- guard trigger, and tell the audit trail which columns are personal.
CREATE FUNCTION retention.manage(tbl regclass) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
DECLARE
  d jsonb;
  parsed jsonb;
  subject name;
  cols name[];
BEGIN
  PERFORM retention._loaded();
  d := retention.describe(tbl);
  -- parsed by the same C code as the job uses; an invalid label raises table_not_managed
  parsed := retention._table_label(tbl);
  IF parsed IS NULL THEN
    PERFORM retention.raise('table_not_managed', pg_catalog.format('Table %s has no retention label.', tbl),
      'SECURITY LABEL FOR retention ON TABLE ... IS ''classification=...;organization=...;anchor=...''.');
  END IF;
  subject := parsed OPERATOR(pg_catalog.->>) 'subject';
  SELECT pg_catalog.array_agg(k::name ORDER BY k) INTO cols
    FROM pg_catalog.jsonb_object_keys(d OPERATOR(pg_catalog.->) 'personal') k;
  IF cols IS NOT NULL AND subject IS NULL THEN
    PERFORM retention.raise('table_not_managed',
      pg_catalog.format('Table %s has personal columns but its label names no subject column.', tbl),
      'Add subject=<uuid column> to the table label.');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary AND i.indnatts = 1) THEN
    PERFORM retention.raise('table_not_managed',
      pg_catalog.format('Table %s needs a single-column primary key: holds and trail entries name records by it.', tbl));
  END IF;
  IF NOT (d OPERATOR(pg_catalog.->>) 'guarded')::boolean THEN
    EXECUTE pg_catalog.format('CREATE TRIGGER retention_guard BEFORE INSERT OR UPDATE OR DELETE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION retention.guard()', tbl);
  END IF;
  -- audited tables store personal values encrypted under the subject's key
  IF EXISTS (SELECT 1 FROM trail.tracked_tables t WHERE t.relid = tbl) THEN
    PERFORM trail.set_personal(tbl, COALESCE(cols, '{}'), subject);
  END IF;
  RETURN retention.describe(tbl);
END
$fn$;

-------------------------------------------------------------------------------
-- Pseudonyms
-------------------------------------------------------------------------------

-- The number of a subject's pseudonym in an organisation (stable). A row
-- without a subject is numbered by its value (fallback), so the same text
-- gets the same pseudonym.
CREATE FUNCTION retention._pseudonym(organization_id uuid, subject uuid, class text, fallback text)
  RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
DECLARE
  who uuid := COALESCE(subject, pg_catalog.md5(pg_catalog.lower(pg_catalog.btrim(COALESCE(fallback, ''))))::uuid);
  n integer;
BEGIN
  SELECT p.seq INTO n FROM retention.pseudonyms p
   WHERE p.organization_id = _pseudonym.organization_id AND p.class = _pseudonym.class AND p.subject = who;
  IF FOUND THEN
    RETURN n;
  END IF;
  INSERT INTO retention.pseudonym_counters AS c (organization_id, class, last)
  VALUES (_pseudonym.organization_id, _pseudonym.class, 1)
  ON CONFLICT ON CONSTRAINT pseudonym_counters_pkey DO UPDATE SET last = c.last + 1
  RETURNING c.last INTO n;
  INSERT INTO retention.pseudonyms (organization_id, class, subject, seq)
  VALUES (_pseudonym.organization_id, _pseudonym.class, who, n)
  ON CONFLICT ON CONSTRAINT pseudonyms_pkey DO NOTHING;
  IF NOT FOUND THEN
    -- a concurrent run numbered the subject first; its number wins (ours is a gap)
    SELECT p.seq INTO n FROM retention.pseudonyms p
     WHERE p.organization_id = _pseudonym.organization_id AND p.class = _pseudonym.class AND p.subject = who;
  END IF;
  RETURN n;
END
$fn$;

-------------------------------------------------------------------------------
-- Legal holds
-------------------------------------------------------------------------------

CREATE FUNCTION retention.place_hold(
    organization_id uuid, reason text, subject uuid DEFAULT NULL,
    tbl regclass DEFAULT NULL, record text DEFAULT NULL)
  RETURNS uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE
  id uuid;
  scope text := CASE WHEN tbl IS NOT NULL OR record IS NOT NULL THEN 'record'
                     WHEN subject IS NOT NULL THEN 'subject' ELSE 'organization' END;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  IF reason IS NULL OR pg_catalog.length(pg_catalog.btrim(reason)) = 0 OR pg_catalog.length(reason) > 2000 THEN
    PERFORM retention.raise('missing_argument', 'A legal hold needs a reason of 1 to 2000 characters.',
                            'Name the matter, for example the case number of the dispute.');
  END IF;
  IF scope = 'record' AND (tbl IS NULL OR record IS NULL OR subject IS NOT NULL) THEN
    PERFORM retention.raise('invalid_argument', 'A record hold names the table and the primary key of the record, and no subject.');
  END IF;
  INSERT INTO retention.holds (organization_id, scope, subject, relid, record, reason, placed_by)
  VALUES (place_hold.organization_id, scope, place_hold.subject, tbl, place_hold.record, reason, retention.actor())
  RETURNING holds.id INTO id;
  PERFORM trail.log(place_hold.organization_id, 'retention.hold_placed', 'retention.holds:' OPERATOR(pg_catalog.||) id::text,
                    pg_catalog.jsonb_build_object('hold', id, 'scope', scope, 'subject', place_hold.subject,
                                                  'table', tbl::text, 'record', place_hold.record), reason);
  RETURN id;
END
$fn$;

CREATE FUNCTION retention.lift_hold(hold uuid, reason text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE h retention.holds;
BEGIN
  IF reason IS NULL OR pg_catalog.length(pg_catalog.btrim(reason)) = 0 THEN
    PERFORM retention.raise('missing_argument', 'Lifting a legal hold needs a reason.');
  END IF;
  UPDATE retention.holds x SET lifted_at = pg_catalog.now(), lifted_by = retention.actor(), lift_reason = lift_hold.reason
   WHERE x.id = hold AND x.lifted_at IS NULL
  RETURNING * INTO h;
  IF NOT FOUND THEN
    PERFORM retention.raise('legal_hold_not_found');
  END IF;
  -- erasure requests it blocked are retried by the next run
  UPDATE retention.erasure_requests e SET next_attempt_at = NULL WHERE e.status = 'blocked';
  PERFORM trail.log(h.organization_id, 'retention.hold_lifted', 'retention.holds:' OPERATOR(pg_catalog.||) h.id::text,
                    pg_catalog.jsonb_build_object('hold', h.id, 'scope', h.scope), reason);
END
$fn$;

-------------------------------------------------------------------------------
-- Erasure requests
-------------------------------------------------------------------------------

-- Record a request to erase a subject's personal data (in one organisation,
-- or in every one when organization_id is NULL). Returns the request id; a
-- repeated request returns the open one. The job executes it.
CREATE FUNCTION retention.request_erasure(
    subject uuid, organization_id uuid DEFAULT NULL, reason text DEFAULT NULL, requested_by text DEFAULT NULL)
  RETURNS uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE id uuid;
BEGIN
  IF subject IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The data subject is required.');
  END IF;
  IF pg_catalog.length(reason) > 2000 THEN
    PERFORM retention.raise('invalid_argument', 'The reason is at most 2000 characters.');
  END IF;
  INSERT INTO retention.erasure_requests AS e (subject, organization_id, reason, requested_by)
  VALUES (request_erasure.subject, request_erasure.organization_id, request_erasure.reason,
          COALESCE(request_erasure.requested_by, retention.actor()))
  ON CONFLICT DO NOTHING
  RETURNING e.id INTO id;
  IF id IS NULL THEN
    SELECT e.id INTO id FROM retention.erasure_requests e
     WHERE e.subject = request_erasure.subject AND e.status <> 'completed'
       AND e.organization_id IS NOT DISTINCT FROM request_erasure.organization_id;
    RETURN id;
  END IF;
  PERFORM trail.log(request_erasure.organization_id, 'retention.erasure_requested',
                    'retention.erasure_requests:' OPERATOR(pg_catalog.||) id::text,
                    pg_catalog.jsonb_build_object('request', id, 'subject', request_erasure.subject),
                    request_erasure.reason);
  RETURN id;
END
$fn$;

CREATE FUNCTION retention.execute_erasure(request uuid) RETURNS jsonb
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_execute_erasure';
COMMENT ON FUNCTION retention.execute_erasure(uuid) IS
  'execute one erasure request now, in this transaction; returns its receipt (the job does the same for every open request)';

CREATE FUNCTION retention.erasure_request(request uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT pg_catalog.jsonb_build_object('id', e.id, 'subject', e.subject, 'organization_id', e.organization_id,
           'status', e.status, 'received_at', e.received_at, 'completed_at', e.completed_at, 'receipt', e.receipt)
    FROM retention.erasure_requests e WHERE e.id = request
$fn$;

-------------------------------------------------------------------------------
-- Notifications
-------------------------------------------------------------------------------

CREATE FUNCTION retention.pending_notifications(max_rows integer DEFAULT 100)
  RETURNS TABLE (id bigint, organization_id uuid, table_name text, kind text, record_count bigint, created_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT n.id, n.organization_id, n.relid::pg_catalog.regclass::text, n.kind, n.record_count, n.created_at
    FROM retention.notifications n WHERE n.delivered_at IS NULL
   ORDER BY n.id LIMIT LEAST(GREATEST(max_rows, 1), 10000)
$fn$;

CREATE FUNCTION retention.mark_delivered(ids bigint[]) RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
  WITH d AS (UPDATE retention.notifications n SET delivered_at = pg_catalog.now()
              WHERE n.id = ANY (ids) AND n.delivered_at IS NULL RETURNING 1)
  SELECT pg_catalog.count(*) FROM d
$fn$;

-------------------------------------------------------------------------------
-- The job
-------------------------------------------------------------------------------

CREATE PROCEDURE retention.run(max_rows integer DEFAULT 100000, max_seconds integer DEFAULT 60,
                               dry_run boolean DEFAULT false)
  LANGUAGE c AS 'MODULE_PATHNAME', 'retention_run';
COMMENT ON PROCEDURE retention.run(integer, integer, boolean) IS
  'erasure requests, then per managed table: compute retention dates, expire (signal admins), anonymize or destroy; commits between batches when called with CALL outside a transaction';

CREATE FUNCTION retention.schedule(cron_expression text DEFAULT '23 3 * * *',
                                   max_rows integer DEFAULT 100000, max_seconds integer DEFAULT 600)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM retention.raise('invalid_argument', 'The retention job runs through pg_cron, which is not installed.',
                            'CREATE EXTENSION pg_cron, or CALL retention.run() from your own scheduler.');
  END IF;
  IF max_rows IS NULL OR max_rows < 1 OR max_seconds IS NULL OR max_seconds < 1 OR max_seconds > 86400 THEN
    PERFORM retention.raise('invalid_argument', 'max_rows is at least 1 and max_seconds lies between 1 and 86400.');
  END IF;
  RETURN cron.schedule('startlijn-retention', cron_expression,
                       pg_catalog.format('CALL retention.run(max_rows => %s, max_seconds => %s)', max_rows, max_seconds));
END
$fn$;

CREATE FUNCTION retention.last_runs(max_rows integer DEFAULT 10) RETURNS SETOF retention.runs
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT * FROM retention.runs r ORDER BY r.id DESC LIMIT LEAST(GREATEST(max_rows, 1), 1000)
$fn$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs.
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'retention'::regnamespace AND p.prokind = 'f' LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
  REVOKE ALL ON PROCEDURE retention.run(integer, integer, boolean) FROM PUBLIC;
END
$priv$;
