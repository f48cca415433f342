-- startlijn_audit/sealing.sql: sealing entries into Merkle logs, signed checkpoints,
-- signing keys, proofs and verification (C); the first key at install.

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
  RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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


-- The first signing key, generated at install.
SELECT trail.rotate_key('0 seconds');
