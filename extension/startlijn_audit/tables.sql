-- startlijn_audit: a tamper-evident audit trail (schema trail).
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
--
-- The install script extension/startlijn_audit--<version>.sql is built by the Makefile
-- from extension/startlijn_audit/*.sql in the order listed there; this file comes first.
-- tables.sql: preconditions, the tables, their row level security and
-- what pg_dump keeps.

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
-- the identity sequences too: a restore keeps the ids of keys
SELECT pg_catalog.pg_extension_config_dump('trail.signing_keys_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('trail.subject_keys_id_seq', '');
