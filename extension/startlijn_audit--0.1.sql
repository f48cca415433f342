-- startlijn_audit 0.1: a tamper-evident audit trail (schema trail).
--
-- Generic: it knows tables, organisations (as stream ids) and data subjects,
-- nothing of events or tickets. Writers append entries without touching any
-- shared row; trail.seal() integrates them into one RFC 6962 Merkle log per
-- organisation (plus the platform log) in a deterministic order and signs
-- C2SP checkpoints with Ed25519. See docs/audit.md.
--
-- Every table has RLS enabled and forced with no policy: only the extension
-- owner (superuser or BYPASSRLS) reads or writes them, through the functions
-- below. Entries, leaves and checkpoints are append-only for every role.

\echo Use "CREATE EXTENSION startlijn_audit" to load this file. \quit

DO $pre$
BEGIN
  IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'startlijn_audit requires a UTF8 database'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = pg_catalog.format('The database encoding is %s.', pg_catalog.getdatabaseencoding()),
            HINT = 'Create the database with ENCODING ''UTF8''.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn_audit must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

COMMENT ON SCHEMA trail IS 'startlijn_audit: append-only audit entries, Merkle logs, signed checkpoints';

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------

-- Deployment settings (one row).
CREATE TABLE trail.settings (
  id              boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- checkpoint origins are '<origin_prefix>/<log id>'; the signing key's name
  -- is origin_prefix itself (a schema-less URL, c2sp.org/signed-note)
  origin_prefix   text NOT NULL DEFAULT 'startlijn.local/trail'
                  CHECK (origin_prefix ~ '^[A-Za-z0-9][A-Za-z0-9._/:-]{0,190}$'),
  -- optional: a function () -> boolean telling whether the caller is a
  -- platform superadmin; evaluated at most once per transaction and caller
  superadmin_check regprocedure
);
INSERT INTO trail.settings DEFAULT VALUES;

-- The nil UUID names the platform log (entries without an organisation).
CREATE TABLE trail.logs (
  id          uuid PRIMARY KEY,
  origin      text NOT NULL UNIQUE,
  tree_size   bigint NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
  root        bytea NOT NULL CHECK (pg_catalog.octet_length(root) = 32),
  -- the compact range: popcount(tree_size) subtree roots, largest first
  frontier    bytea NOT NULL DEFAULT ''::bytea,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  sealed_at   timestamptz
);

CREATE SEQUENCE trail.entries_id_seq AS bigint;

-- Entries. body is the canonical encoding (RFC 8785, docs/audit.md) and
-- leaf_hash = SHA-256(0x00 || body), computed by the writer. The other
-- columns repeat fields of body for indexing; trail.verify() checks them.
CREATE TABLE trail.entries (
  id            bigint PRIMARY KEY,
  log_id        uuid NOT NULL,
  xact          bigint NOT NULL,       -- top-level transaction id (xid8)
  created_at    timestamptz NOT NULL,
  action        text NOT NULL,
  table_name    text,
  actor_uid     uuid,
  data_subject  uuid,
  body          text NOT NULL,
  leaf_hash     bytea NOT NULL
);
-- the sealer reads ranges of transaction ids: BRIN costs writers next to nothing
CREATE INDEX entries_xact_brin ON trail.entries USING brin (xact);
CREATE INDEX entries_log_id_idx ON trail.entries (log_id, id);

-- The Merkle tree. Row idx of a log holds the leaf hash followed by the
-- roots of the perfect subtrees completed by that leaf: node (level l,
-- index i) is stored at leaf ((i + 1) << l) - 1, offset 32 * l.
CREATE TABLE trail.leaves (
  log_id    uuid NOT NULL,
  idx       bigint NOT NULL CHECK (idx >= 0),
  entry_id  bigint NOT NULL UNIQUE,     -- an entry is sealed at most once
  hashes    bytea NOT NULL,
  PRIMARY KEY (log_id, idx)
);

-- The sealer's cursor: every entry with (xact, id) <= (sealed_xact, sealed_id)
-- is in its log; nothing with xact >= horizon has been looked at.
CREATE TABLE trail.sealer (
  id           boolean PRIMARY KEY DEFAULT true CHECK (id),
  sealed_xact  bigint NOT NULL DEFAULT 0,
  sealed_id    bigint NOT NULL DEFAULT 0,
  horizon      bigint NOT NULL DEFAULT 0,
  sealed_at    timestamptz
);
INSERT INTO trail.sealer DEFAULT VALUES;

-- Ed25519 signing keys. seed is the secret (32 bytes); it is wiped (set to
-- NULL) once the key retires. Public keys stay to verify old checkpoints.
CREATE TABLE trail.signing_keys (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL,
  key_id        bytea NOT NULL CHECK (pg_catalog.octet_length(key_id) = 4),
  public_key    bytea NOT NULL UNIQUE CHECK (pg_catalog.octet_length(public_key) = 32),
  seed          bytea CHECK (pg_catalog.octet_length(seed) = 32),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  retire_after  timestamptz,
  retired_at    timestamptz
);

-- Every checkpoint ever signed. Unique per (log, size): the log never signs
-- two different roots for one size.
CREATE TABLE trail.checkpoints (
  log_id     uuid NOT NULL,
  tree_size  bigint NOT NULL CHECK (tree_size >= 0),
  root       bytea NOT NULL,
  note       text NOT NULL,
  signed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (log_id, tree_size)
);

-- Crypto-shredding: one random XChaCha20-Poly1305 key per data subject.
CREATE TABLE trail.subject_keys (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject     uuid NOT NULL UNIQUE,
  key         bytea NOT NULL CHECK (pg_catalog.octet_length(key) = 32),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Receipts of destroyed keys (no key material).
CREATE TABLE trail.forgotten_subjects (
  key_id        bigint PRIMARY KEY,
  subject       uuid NOT NULL,
  reason        text,
  forgotten_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX forgotten_subjects_subject_idx ON trail.forgotten_subjects (subject);

-- Tables with the capture trigger, and how their rows map to entries.
CREATE TABLE trail.tracked_tables (
  relid               regclass PRIMARY KEY,
  organization_column name,
  subject_column      name,
  soft_delete_column  name,
  personal_columns    name[] NOT NULL DEFAULT '{}',
  ignore_columns      name[] NOT NULL DEFAULT '{}',
  enabled_at          timestamptz NOT NULL DEFAULT pg_catalog.now()
);

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['settings','logs','entries','leaves','sealer','signing_keys',
                           'checkpoints','subject_keys','forgotten_subjects','tracked_tables'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON trail.%I FROM PUBLIC', t);
    -- explicit: no role reads or writes rows directly; the owner (superuser
    -- or BYPASSRLS) works through the functions of this extension
    EXECUTE pg_catalog.format(
      'CREATE POLICY no_direct_access ON trail.%I AS PERMISSIVE FOR ALL TO PUBLIC USING (false) WITH CHECK (false)', t);
  END LOOP;
END
$rls$;
REVOKE ALL ON SEQUENCE trail.entries_id_seq FROM PUBLIC;

-- pg_dump keeps the audit trail, keys and settings (extension config tables).
SELECT pg_catalog.pg_extension_config_dump('trail.settings', '');
SELECT pg_catalog.pg_extension_config_dump('trail.logs', '');
SELECT pg_catalog.pg_extension_config_dump('trail.entries', '');
SELECT pg_catalog.pg_extension_config_dump('trail.entries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('trail.leaves', '');
SELECT pg_catalog.pg_extension_config_dump('trail.sealer', '');
SELECT pg_catalog.pg_extension_config_dump('trail.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('trail.checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('trail.subject_keys', '');
SELECT pg_catalog.pg_extension_config_dump('trail.forgotten_subjects', '');
SELECT pg_catalog.pg_extension_config_dump('trail.tracked_tables', '');

-------------------------------------------------------------------------------
-- Append-only guard (C). 'never': no UPDATE/DELETE/TRUNCATE at all.
-- 'internal': only from inside trail's own C functions (sealer, keys).
-- ENABLE ALWAYS: the guard fires under session_replication_role = replica too.
-------------------------------------------------------------------------------
CREATE FUNCTION trail.guard() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'trail_guard';

DO $guard$
DECLARE
  t text;
  mode text;
BEGIN
  FOR t, mode IN SELECT * FROM (VALUES
      ('entries', 'never'), ('leaves', 'never'), ('checkpoints', 'never'),
      ('forgotten_subjects', 'never'), ('logs', 'internal'), ('sealer', 'internal'),
      ('subject_keys', 'internal'), ('signing_keys', 'internal')) v(t, mode) LOOP
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER trail_append_only BEFORE UPDATE OR DELETE ON trail.%I
         FOR EACH ROW EXECUTE FUNCTION trail.guard(%L)', t, mode);
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER trail_no_truncate BEFORE TRUNCATE ON trail.%I
         FOR EACH STATEMENT EXECUTE FUNCTION trail.guard(%L)', t, 'never');
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I ENABLE ALWAYS TRIGGER trail_append_only', t);
    EXECUTE pg_catalog.format('ALTER TABLE trail.%I ENABLE ALWAYS TRIGGER trail_no_truncate', t);
  END LOOP;
END
$guard$;

-------------------------------------------------------------------------------
-- Recording
-------------------------------------------------------------------------------
CREATE FUNCTION trail.capture() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'trail_capture';
COMMENT ON FUNCTION trail.capture() IS
  'row trigger attached by trail.enable(): records INSERT, UPDATE, soft delete, restore, DELETE and TRUNCATE';

CREATE FUNCTION trail.log(
    organization_id uuid, action text, subject text,
    details jsonb DEFAULT '{}'::jsonb, reason text DEFAULT NULL,
    data_subject uuid DEFAULT NULL, personal jsonb DEFAULT NULL)
  RETURNS bigint LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'trail_log';
COMMENT ON FUNCTION trail.log(uuid, text, text, jsonb, text, uuid, jsonb) IS
  'record a business event; personal (a JSON object) is encrypted under data_subject''s key';

-- Business errors through the shared registry of startlijn.so (docs/errors.md).
CREATE FUNCTION trail.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

-- Attach (or re-attach with new settings) the capture trigger.
CREATE FUNCTION trail.enable(
    tbl regclass,
    organization_column name DEFAULT 'organization_id',
    subject_column name DEFAULT NULL,
    personal_columns name[] DEFAULT '{}',
    soft_delete_column name DEFAULT 'deleted_at',
    ignore_columns name[] DEFAULT '{updated_at}')
  RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
DECLARE
  col name;
  what text;
  soft name := soft_delete_column;
  ign name[] := '{}';
  personal name[] := COALESCE(personal_columns, '{}');
  args text;
  -- the live columns of tbl and their types
  cols CONSTANT jsonb := (SELECT pg_catalog.jsonb_object_agg(a.attname, a.atttypid::regtype::text)
                            FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped);
BEGIN
  IF tbl IS NULL THEN
    PERFORM trail.raise('missing_argument', 'Pass the table to audit.');
  END IF;
  IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
    PERFORM trail.raise('invalid_argument', pg_catalog.format('%s is not a table.', tbl));
  END IF;
  IF (SELECT c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid = tbl) = 'trail'::regnamespace THEN
    PERFORM trail.raise('invalid_argument', 'Tables of schema trail are append-only already.');
  END IF;
  -- the organisation column names the stream; the subject column the data subject
  FOR col, what IN SELECT * FROM (VALUES (organization_column, 'organization'), (subject_column, 'subject')) v
                    WHERE v.column1 IS NOT NULL LOOP
    IF cols OPERATOR(pg_catalog.->>) col IS DISTINCT FROM 'uuid' THEN
      PERFORM trail.raise('invalid_argument',
        pg_catalog.format('The %s column must be a uuid column: %s has no uuid column %I.', what, tbl, col),
        CASE WHEN what = 'organization' THEN 'Pass organization_column => NULL to record into the platform log.' END);
    END IF;
  END LOOP;
  FOREACH col IN ARRAY personal LOOP
    IF NOT cols OPERATOR(pg_catalog.?) col THEN
      PERFORM trail.raise('invalid_argument', pg_catalog.format('Unknown personal column: %s has no column %I.', tbl, col));
    END IF;
  END LOOP;
  IF pg_catalog.cardinality(personal) > 0 AND subject_column IS NULL THEN
    PERFORM trail.raise('invalid_argument',
      'Personal data is encrypted under the key of the data subject the row belongs to.',
      'Pass subject_column => the uuid column naming the data subject.');
  END IF;
  -- the defaults are optional: a table without deleted_at has no soft delete
  IF soft IS NOT NULL AND NOT cols OPERATOR(pg_catalog.?) soft THEN
    IF soft_delete_column IS DISTINCT FROM 'deleted_at' THEN
      PERFORM trail.raise('invalid_argument', pg_catalog.format('Unknown soft delete column: %s has no column %I.', tbl, soft));
    END IF;
    soft := NULL;
  END IF;
  SELECT COALESCE(pg_catalog.array_agg(c), '{}') INTO ign
    FROM pg_catalog.unnest(COALESCE(ignore_columns, '{}')) c WHERE cols OPERATOR(pg_catalog.?) c;

  -- the same five arguments for the row trigger and the TRUNCATE trigger
  args := pg_catalog.format('%L, %L, %L, %L, %L', COALESCE(organization_column, ''), COALESCE(subject_column, ''),
            COALESCE(soft, ''), pg_catalog.array_to_string(personal, ','), pg_catalog.array_to_string(ign, ','));
  PERFORM trail.disable(tbl);
  EXECUTE pg_catalog.format('CREATE TRIGGER trail_capture AFTER INSERT OR UPDATE OR DELETE ON %s
                               FOR EACH ROW EXECUTE FUNCTION trail.capture(%s)', tbl, args);
  EXECUTE pg_catalog.format('CREATE TRIGGER trail_capture_truncate AFTER TRUNCATE ON %s
                               FOR EACH STATEMENT EXECUTE FUNCTION trail.capture(%s)', tbl, args);
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture', tbl);
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER trail_capture_truncate', tbl);

  INSERT INTO trail.tracked_tables
         (relid, organization_column, subject_column, soft_delete_column, personal_columns, ignore_columns)
  VALUES (tbl, organization_column, subject_column, soft, personal, ign);
END
$fn$;

CREATE FUNCTION trail.disable(tbl regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  -- quietly: enable() re-attaches through here
  SET LOCAL client_min_messages = warning;
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS trail_capture ON %s', tbl);
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS trail_capture_truncate ON %s', tbl);
  DELETE FROM trail.tracked_tables t WHERE t.relid = tbl;
END
$fn$;

-- The hook startlijn_retention uses: declare which columns of an audited
-- table hold personal data of which subject. Values of these columns are
-- stored encrypted under the subject's key from now on.
CREATE FUNCTION trail.set_personal(tbl regclass, columns name[], subject_column name)
  RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
DECLARE t trail.tracked_tables;
BEGIN
  SELECT * INTO t FROM trail.tracked_tables x WHERE x.relid = tbl;
  IF NOT FOUND THEN
    PERFORM trail.raise('log_not_found', pg_catalog.format('%s has no trail capture trigger.', tbl),
                        'Call trail.enable() first.');
  END IF;
  PERFORM trail.enable(tbl, t.organization_column, subject_column, columns,
                       COALESCE(t.soft_delete_column, 'deleted_at'), t.ignore_columns);
END
$fn$;

-------------------------------------------------------------------------------
-- Sealing, checkpoints, proofs, verification (C)
-------------------------------------------------------------------------------
CREATE FUNCTION trail.seal(max_entries integer DEFAULT 1000000) RETURNS jsonb
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_seal';
COMMENT ON FUNCTION trail.seal(integer) IS
  'append every entry of finished transactions to its log, in (transaction id, entry id) order, and sign checkpoints';

CREATE FUNCTION trail.checkpoint(log uuid DEFAULT '00000000-0000-0000-0000-000000000000')
  RETURNS text LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_checkpoint';
COMMENT ON FUNCTION trail.checkpoint(uuid) IS
  'the C2SP signed note of the log''s current tree head (tlog-checkpoint body, Ed25519)';

CREATE FUNCTION trail.public_key(log uuid DEFAULT '00000000-0000-0000-0000-000000000000')
  RETURNS text LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'trail_public_key';
COMMENT ON FUNCTION trail.public_key(uuid) IS 'the current verifier key, signed-note vkey form name+keyid+base64';

CREATE FUNCTION trail.public_keys(
    OUT vkey text, OUT created_at timestamptz, OUT retire_after timestamptz, OUT signing boolean)
  RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT trail.vkey(k.name, k.public_key), k.created_at, k.retire_after,
           k.seed IS NOT NULL AND (k.retire_after IS NULL OR k.retire_after > pg_catalog.now())
      FROM trail.signing_keys k ORDER BY k.id
  $$;

CREATE FUNCTION trail.vkey(name text, public_key bytea) RETURNS text
  LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'trail_vkey';

CREATE FUNCTION trail.rotate_key(overlap interval DEFAULT '7 days') RETURNS text
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_rotate_key';
COMMENT ON FUNCTION trail.rotate_key(interval) IS
  'generate a new signing key; older keys co-sign checkpoints for overlap, then their secret is wiped';

CREATE FUNCTION trail.inclusion_proof(entry bigint, tree_size bigint DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_inclusion_proof';
CREATE FUNCTION trail.consistency_proof(log uuid, old_size bigint, new_size bigint DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_consistency_proof';
CREATE FUNCTION trail.verify(log uuid DEFAULT '00000000-0000-0000-0000-000000000000')
  RETURNS jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_verify';

-- Canonical form of any JSON text (RFC 8785 with the deviation in docs/audit.md).
CREATE FUNCTION trail.canonical_json(doc text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'trail_canonical_json';

-------------------------------------------------------------------------------
-- Personal data
-------------------------------------------------------------------------------
-- The entry as JSON with its personal part decrypted when the key still
-- exists ("personal": {"subject", "forgotten": true} once it does not).
CREATE FUNCTION trail.open_entry(entry trail.entries) RETURNS jsonb
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'trail_open_entry';

CREATE FUNCTION trail.forget_subject(subject uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_forget_subject';
COMMENT ON FUNCTION trail.forget_subject(uuid, text) IS
  'crypto-shredding: destroy the subject''s key; its personal values in entries become unreadable, every proof still verifies';

-------------------------------------------------------------------------------
-- Reading (for the owner and SECURITY DEFINER wrappers of the platform)
-------------------------------------------------------------------------------
CREATE FUNCTION trail.entries_page(
    log uuid, subject text DEFAULT NULL, table_name text DEFAULT NULL, action text DEFAULT NULL,
    since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
    before bigint DEFAULT NULL, page_size integer DEFAULT 50)
  RETURNS SETOF jsonb LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$
    SELECT trail.open_entry(e) OPERATOR(pg_catalog.||)
           pg_catalog.jsonb_build_object('sealed', EXISTS (SELECT 1 FROM trail.leaves l WHERE l.entry_id = e.id))
      FROM trail.entries e
     WHERE e.log_id = log
       AND (before IS NULL OR e.id < before)
       AND (entries_page.table_name IS NULL OR e.table_name = entries_page.table_name)
       AND (entries_page.action IS NULL OR e.action = entries_page.action)
       AND (since IS NULL OR e.created_at >= since)
       AND (until IS NULL OR e.created_at < until)
       AND (subject IS NULL
            OR (e.body::jsonb OPERATOR(pg_catalog.->>) 'subject') = subject
            OR (e.body::jsonb OPERATOR(pg_catalog.->) 'pk')::text = subject
            OR e.data_subject::text = subject)
     ORDER BY e.id DESC
     LIMIT LEAST(GREATEST(COALESCE(page_size, 50), 1), 500)
  $$;

-------------------------------------------------------------------------------
-- Scheduling (pg_cron, when installed)
-------------------------------------------------------------------------------
CREATE FUNCTION trail.schedule_sealing(every interval DEFAULT '1 minute') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
DECLARE
  cron_version text;
  spec text;
  secs integer := EXTRACT(epoch FROM every)::integer;
BEGIN
  SELECT e.extversion INTO cron_version FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron';
  IF cron_version IS NULL THEN
    PERFORM trail.raise('invalid_argument', 'Scheduled sealing runs through pg_cron, which is not installed.',
                        'CREATE EXTENSION pg_cron, or call trail.seal() from your own scheduler.');
  END IF;
  IF secs IS NULL OR secs < 1 OR secs > 86400 THEN
    PERFORM trail.raise('invalid_argument', 'The sealing interval must be between 1 second and 1 day.');
  END IF;
  -- pg_cron >= 1.5 takes '[1-59] seconds'; older versions run at most once a minute
  IF secs < 60 AND pg_catalog.string_to_array(cron_version, '.')::int[] >= ARRAY[1, 5] THEN
    spec := secs || ' seconds';
  ELSIF secs < 3600 THEN
    spec := '*/' || GREATEST(secs / 60, 1) || ' * * * *';
  ELSE
    spec := '0 */' || LEAST(secs / 3600, 23) || ' * * *';
  END IF;
  RETURN cron.schedule('trail-seal', spec, 'SELECT trail.seal()');
END
$fn$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs
-- (the platform exposes reads through its own api functions).
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'trail'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$priv$;

-- The first signing key, generated at install.
SELECT trail.rotate_key('0 seconds');
