-- startlijn_tokens/codes.sql: signed codes: keys per scope, signing, verification,
-- revocation lists and the scanner bundle.

-------------------------------------------------------------------------------
-- Signed codes
-------------------------------------------------------------------------------

CREATE FUNCTION tokens._add_signing_key(scope text) RETURNS integer
  LANGUAGE c VOLATILE STRICT
  AS 'MODULE_PATHNAME', 'tokens_add_signing_key';

-- Revoke every version of payload up to up_to_version (re-issue or cancel).
CREATE FUNCTION tokens._revoke_versions(scope text, payload bytea, up_to_version integer, reason text)
  RETURNS bigint LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  WITH s AS (
    UPDATE tokens.scopes x SET revocation_seq = x.revocation_seq + 1
     WHERE x.scope = _revoke_versions.scope RETURNING x.revocation_seq, x.organization_id)
  INSERT INTO tokens.revocations (scope, organization_id, seq, payload, up_to_version, reason)
  SELECT _revoke_versions.scope, s.organization_id, s.revocation_seq, _revoke_versions.payload, up_to_version, reason FROM s
  RETURNING seq
$fn$;

CREATE FUNCTION tokens.public_keys(scope text)
  RETURNS TABLE (key_id integer, public_key text, state text, created_at timestamptz,
                 rotated_at timestamptz, retired_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT k.key_id, pg_catalog.encode(k.public_key, 'base64'), k.state, k.created_at, k.rotated_at, k.retired_at
    FROM tokens.signing_keys k WHERE k.scope = public_keys.scope ORDER BY k.key_id
$fn$;
COMMENT ON FUNCTION tokens.public_keys(text) IS 'every key of the scope (public halves only), for scanners';

-- The scope's active key; creates the scope and its first key when missing.
-- Every paid order of an event asks for its scope's key, so the common case
-- (the scope and its key exist) takes the scope row only FOR KEY SHARE, as
-- sign_code does: sales of one event never wait for each other here, and a
-- rotation (FOR UPDATE) waits for them. Only a scope without an active key
-- (its first call) locks the row FOR UPDATE to create the key; which path
-- is decided before any lock, so no call holds KEY SHARE and then asks for
-- UPDATE (two such calls would deadlock). An active key never goes away
-- (a rotation replaces it in one transaction; retiring needs a rotation
-- first), so a key seen active before the lock is still there after it.
CREATE FUNCTION tokens.signing_key(scope text, organization_id uuid DEFAULT NULL,
    OUT key_id integer, OUT public_key text, OUT created_at timestamptz)
  RETURNS record LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE s tokens.scopes;
BEGIN
  IF scope IS NULL OR scope !~ '^[a-z0-9][a-z0-9._:-]{0,63}$' THEN
    PERFORM tokens.raise('invalid_argument',
      'A scope is 1 to 64 characters of a-z, 0-9 and . _ : -, starting with a letter or digit.');
  END IF;
  IF EXISTS (SELECT 1 FROM tokens.signing_keys k WHERE k.scope = signing_key.scope AND k.state = 'active') THEN
    SELECT * INTO s FROM tokens.scopes x WHERE x.scope = signing_key.scope FOR KEY SHARE;
  ELSE
    s := NULL;
    SELECT * INTO s FROM tokens.scopes x WHERE x.scope = signing_key.scope;
    IF s.scope IS NULL THEN
      -- the name is unique on the platform while the key is per
      -- organisation: creating a scope takes a transaction lock on its name
      PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('tokens.scope:' || signing_key.scope, 0));
    END IF;
    SELECT * INTO s FROM tokens.scopes x WHERE x.scope = signing_key.scope FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO tokens.scopes AS x (scope, organization_id)
      VALUES (signing_key.scope, COALESCE(signing_key.organization_id, '00000000-0000-0000-0000-000000000000'::uuid))
      RETURNING * INTO s;
    END IF;
  END IF;
  s.organization_id := NULLIF(s.organization_id, '00000000-0000-0000-0000-000000000000'::uuid);
  IF signing_key.organization_id IS NOT NULL AND s.organization_id IS DISTINCT FROM signing_key.organization_id THEN
    PERFORM tokens.raise('scope_not_found', 'The scope belongs to another organization.');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM tokens.signing_keys k WHERE k.scope = signing_key.scope AND k.state = 'active') THEN
    PERFORM tokens._add_signing_key(signing_key.scope);
    PERFORM trail.log(s.organization_id, 'signing_key.created', 'scope:' || signing_key.scope,
                      pg_catalog.jsonb_build_object('scope', signing_key.scope));
  END IF;
  SELECT k.key_id, pg_catalog.encode(k.public_key, 'base64'), k.created_at
    INTO key_id, public_key, created_at
    FROM tokens.signing_keys k WHERE k.scope = signing_key.scope AND k.state = 'active';
END
$fn$;

-- A new key signs from now on; the old one keeps verifying (its seed is wiped).
CREATE FUNCTION tokens.rotate_signing_key(scope text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE s tokens.scopes; old integer; new_id integer;
BEGIN
  SELECT * INTO s FROM tokens.scopes x WHERE x.scope = rotate_signing_key.scope FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM tokens.raise('scope_not_found', pg_catalog.format('No signing key exists for scope "%s".', scope),
                         'Create one with tokens.signing_key(scope).');
  END IF;
  UPDATE tokens.signing_keys k SET state = 'verify_only', seed = NULL, rotated_at = pg_catalog.now()
   WHERE k.scope = rotate_signing_key.scope AND k.state = 'active'
  RETURNING k.key_id INTO old;
  new_id := tokens._add_signing_key(rotate_signing_key.scope);
  PERFORM trail.log(NULLIF(s.organization_id, '00000000-0000-0000-0000-000000000000'::uuid), 'signing_key.rotated', 'scope:' || rotate_signing_key.scope,
                    pg_catalog.jsonb_build_object('scope', rotate_signing_key.scope, 'old_key_id', old, 'key_id', new_id));
  RETURN new_id;
END
$fn$;

-- Codes signed by a retired key no longer verify. The active key cannot be retired.
CREATE FUNCTION tokens.retire_signing_key(scope text, key_id integer) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE s tokens.scopes;
BEGIN
  SELECT * INTO s FROM tokens.scopes x WHERE x.scope = retire_signing_key.scope FOR UPDATE;
  UPDATE tokens.signing_keys k SET state = 'retired', retired_at = pg_catalog.now()
   WHERE k.scope = retire_signing_key.scope AND k.key_id = retire_signing_key.key_id AND k.state = 'verify_only';
  IF NOT FOUND THEN
    PERFORM tokens.raise('signing_key_not_found',
      pg_catalog.format('Scope "%s" has no verify-only key %s.', scope, key_id),
      'The active key cannot be retired: rotate first.');
  END IF;
  PERFORM trail.log(NULLIF(s.organization_id, '00000000-0000-0000-0000-000000000000'::uuid), 'signing_key.retired', 'scope:' || retire_signing_key.scope,
                    pg_catalog.jsonb_build_object('scope', retire_signing_key.scope, 'key_id', key_id));
END
$fn$;

CREATE FUNCTION tokens.sign_code(scope text, payload bytea) RETURNS text
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_sign_code';
COMMENT ON FUNCTION tokens.sign_code(text, bytea) IS
  'sign a new version of payload''s code (earlier versions are revoked); base45 text for a QR code';

CREATE FUNCTION tokens.verify_code(scope text, code text,
    OUT valid boolean, OUT status text, OUT payload bytea, OUT version integer, OUT key_id integer)
  RETURNS record LANGUAGE c STABLE
  AS 'MODULE_PATHNAME', 'tokens_verify_code';
COMMENT ON FUNCTION tokens.verify_code(text, text) IS
  'check a code: signature, key state and revocation; status valid, revoked, superseded, bad_signature, unknown_key, retired_key or unknown_code';

-- Cancel a payload's current code (a refunded ticket). NULL when never issued.
CREATE FUNCTION tokens.revoke_code(scope text, payload bytea, reason text DEFAULT NULL) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE c tokens.codes; seq bigint; org uuid;
BEGIN
  UPDATE tokens.codes x SET revoked_at = pg_catalog.now()
   WHERE x.scope = revoke_code.scope AND x.payload = revoke_code.payload AND x.revoked_at IS NULL
  RETURNING * INTO c;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM tokens.scopes x WHERE x.scope = revoke_code.scope) THEN
      PERFORM tokens.raise('scope_not_found', pg_catalog.format('No signing key exists for scope "%s".', scope));
    END IF;
    RETURN NULL;
  END IF;
  seq := tokens._revoke_versions(c.scope, c.payload, c.version, 'revoked');
  org := NULLIF(c.organization_id, '00000000-0000-0000-0000-000000000000'::uuid);
  PERFORM trail.log(org, 'code.revoked', 'code:' || c.scope,
                    pg_catalog.jsonb_build_object('scope', c.scope, 'payload', pg_catalog.encode(c.payload, 'hex'),
                                                  'version', c.version, 'seq', seq), reason);
  RETURN seq;
END
$fn$;

-- The delta feed: revocations of the scope after seq since, oldest first.
CREATE FUNCTION tokens.revocations(scope text, since bigint DEFAULT 0, max_rows integer DEFAULT 1000)
  RETURNS TABLE (seq bigint, payload bytea, up_to_version integer, reason text, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT r.seq, r.payload, r.up_to_version, r.reason, r.revoked_at
    FROM tokens.revocations r
   WHERE r.scope = revocations.scope AND r.seq > COALESCE(since, 0)
   ORDER BY r.seq
   LIMIT LEAST(GREATEST(COALESCE(max_rows, 1000), 1), 10000)
$fn$;

-- Everything an offline scanner needs, as one JSON document.
CREATE FUNCTION tokens.scanner_bundle(scope text, since bigint DEFAULT 0) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT pg_catalog.jsonb_build_object(
    'scope', s.scope,
    'format', 1,
    'signed_prefix', 'startlijn-code:v1' || pg_catalog.chr(10) || s.scope || pg_catalog.chr(10),
    'keys', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'key_id', k.key_id, 'public_key', pg_catalog.encode(k.public_key, 'base64')) ORDER BY k.key_id)
                        FROM tokens.signing_keys k WHERE k.scope = s.scope AND k.organization_id = s.organization_id
                          AND k.state <> 'retired'), '[]'::jsonb),
    'revocations', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'seq', r.seq, 'payload', pg_catalog.encode(r.payload, 'base64'),
                         'up_to_version', r.up_to_version) ORDER BY r.seq)
                        FROM tokens.revocations r WHERE r.scope = s.scope AND r.organization_id = s.organization_id
                          AND r.seq > COALESCE(since, 0)), '[]'::jsonb),
    'next_since', s.revocation_seq)
    FROM tokens.scopes s WHERE s.scope = scanner_bundle.scope
$fn$;
