-- startlijn_tokens 0.1: secret tokens and signed codes (schema tokens).
--
-- Generic: it knows purposes, subjects (text) and scopes, nothing of tickets.
-- Secret tokens are returned once and stored only as a keyed BLAKE2b hash;
-- signed codes are Ed25519 signatures over a compact binary layout, encoded
-- in base45 for QR codes, with a per-scope revocation list and delta feed.
-- See docs/tokens.md.
--
-- Every table has RLS enabled and forced with a deny-all policy and no
-- grants: only the extension owner (superuser or BYPASSRLS) reads or writes
-- them, through the functions below. Nothing is granted to PUBLIC; the
-- integrating system grants what it exposes.

\echo Use "CREATE EXTENSION startlijn_tokens" to load this file. \quit

DO $pre$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) THEN
    RAISE EXCEPTION 'startlijn_tokens must be installed by a role that bypasses row level security'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Role %I is neither superuser nor BYPASSRLS.', current_user),
            HINT = 'Install as a superuser, or grant BYPASSRLS to the installing role.';
  END IF;
END
$pre$;

COMMENT ON SCHEMA tokens IS 'startlijn_tokens: hashed secret tokens and signed codes';

CREATE FUNCTION tokens.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';

CREATE FUNCTION tokens._new_secret() RETURNS bytea
  LANGUAGE c VOLATILE STRICT
  AS 'MODULE_PATHNAME', 'tokens_new_secret';

-------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------

-- One row: the pepper (the BLAKE2b key of token hashes and throttling
-- buckets) and how the caller's address is taken from X-Forwarded-For.
CREATE TABLE tokens.settings (
  singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  pepper            bytea NOT NULL CHECK (pg_catalog.octet_length(pepper) = 32),
  forwarded_for_hop integer NOT NULL DEFAULT 1 CHECK (forwarded_for_hop BETWEEN 0 AND 10)
);
COMMENT ON COLUMN tokens.settings.forwarded_for_hop IS
  'which X-Forwarded-For entry identifies an anonymous caller, counted from the right (1 = the address your own proxy saw); 0 ignores the header';

-- What tokens are for: prefix, lifetimes, use and failure limits.
CREATE TABLE tokens.purposes (
  purpose         text PRIMARY KEY CHECK (purpose ~ '^[a-z][a-z0-9_]{0,39}$'),
  prefix          text NOT NULL UNIQUE CHECK (prefix ~ '^[a-z][a-z0-9]{1,11}$'),
  default_ttl     interval NOT NULL CHECK (default_ttl > interval '0'),
  max_ttl         interval NOT NULL,
  max_uses_limit  integer NOT NULL DEFAULT 100 CHECK (max_uses_limit BETWEEN 1 AND 1000000),
  max_failures    integer NOT NULL DEFAULT 10 CHECK (max_failures BETWEEN 1 AND 10000),
  failure_window  interval NOT NULL DEFAULT '15 minutes'
                  CHECK (failure_window >= interval '1 second' AND failure_window <= interval '1 day'
                         AND pg_catalog.date_part('month', failure_window) = 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CHECK (max_ttl >= default_ttl)
);

-- Issued tokens: only the keyed hash of the secret, never the text.
CREATE TABLE tokens.tokens (
  id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  purpose         text NOT NULL REFERENCES tokens.purposes,
  organization_id uuid,
  subject         text NOT NULL CHECK (pg_catalog.length(subject) BETWEEN 1 AND 200),
  hash            bytea NOT NULL UNIQUE CHECK (pg_catalog.octet_length(hash) = 32),
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  max_uses        integer NOT NULL CHECK (max_uses >= 1),
  uses            integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at      timestamptz NOT NULL,
  last_used_at    timestamptz,
  revoked_at      timestamptz,
  revoke_reason   text CHECK (pg_catalog.length(revoke_reason) <= 200),
  CHECK (expires_at > created_at),
  UNIQUE (organization_id, id)
);
CREATE INDEX tokens_subject_idx ON tokens.tokens (purpose, subject);
CREATE INDEX tokens_expires_idx ON tokens.tokens (expires_at);

-- Failed attempts per bucket (keyed hash of caller or subject) and window.
-- Written by a background worker, so counts survive the failed call's rollback.
CREATE TABLE tokens.failures (
  bucket       bytea NOT NULL CHECK (pg_catalog.octet_length(bucket) = 16),
  window_start timestamptz NOT NULL,
  failures     integer NOT NULL CHECK (failures >= 1),
  PRIMARY KEY (bucket, window_start)
);

-- Code scopes (an event, a venue): signing keys and revocation sequence.
CREATE TABLE tokens.scopes (
  scope           text PRIMARY KEY CHECK (scope ~ '^[a-z0-9][a-z0-9._:-]{0,63}$'),
  id              uuid NOT NULL UNIQUE DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid,
  revocation_seq  bigint NOT NULL DEFAULT 0 CHECK (revocation_seq >= 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (organization_id, id)
);

-- Ed25519 keys per scope. Only the active key keeps its seed; rotation
-- wipes it (verify_only), retirement stops verification.
CREATE TABLE tokens.signing_keys (
  scope       text NOT NULL REFERENCES tokens.scopes,
  key_id      integer NOT NULL CHECK (key_id BETWEEN 1 AND 65535),
  public_key  bytea NOT NULL CHECK (pg_catalog.octet_length(public_key) = 32),
  seed        bytea CHECK (pg_catalog.octet_length(seed) = 32),
  state       text NOT NULL CHECK (state IN ('active', 'verify_only', 'retired')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rotated_at  timestamptz,
  retired_at  timestamptz,
  PRIMARY KEY (scope, key_id),
  CHECK ((state = 'active') = (seed IS NOT NULL))
);
CREATE UNIQUE INDEX signing_keys_one_active ON tokens.signing_keys (scope) WHERE state = 'active';

-- The current version of each signed payload.
CREATE TABLE tokens.codes (
  scope      text NOT NULL REFERENCES tokens.scopes,
  payload    bytea NOT NULL CHECK (pg_catalog.octet_length(payload) BETWEEN 1 AND 32),
  version    integer NOT NULL CHECK (version BETWEEN 1 AND 65535),
  issued_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  revoked_at timestamptz,
  PRIMARY KEY (scope, payload)
);

-- Revocation list: every version of payload up to up_to_version is revoked.
-- seq is per scope and assigned under the scope row lock, so it grows in
-- commit order: a reader that saw everything up to N never misses a later N-1.
CREATE TABLE tokens.revocations (
  scope         text NOT NULL REFERENCES tokens.scopes,
  seq           bigint NOT NULL CHECK (seq >= 1),
  payload       bytea NOT NULL,
  up_to_version integer NOT NULL CHECK (up_to_version BETWEEN 1 AND 65535),
  reason        text NOT NULL CHECK (reason IN ('reissued', 'revoked')),
  revoked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (scope, seq)
);

DO $rls$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['settings', 'purposes', 'tokens', 'failures', 'scopes', 'signing_keys',
                           'codes', 'revocations'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE tokens.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE tokens.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY no_direct_access ON tokens.%I USING (false)', t);
    EXECUTE pg_catalog.format('REVOKE ALL ON tokens.%I FROM PUBLIC', t);
  END LOOP;
END
$rls$;

-- the pepper and the purposes are configuration worth dumping; tokens are not secret-free but are state
SELECT pg_catalog.pg_extension_config_dump('tokens.settings', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.purposes', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.tokens', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.scopes', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.codes', '');
SELECT pg_catalog.pg_extension_config_dump('tokens.revocations', '');

INSERT INTO tokens.settings (pepper) VALUES (tokens._new_secret());

-------------------------------------------------------------------------------
-- Secret tokens
-------------------------------------------------------------------------------

-- Who is calling, for throttling: the signed-in user, else the client address
-- from X-Forwarded-For (settings.forwarded_for_hop), else the database role.
CREATE FUNCTION tokens.caller() RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE
  claims jsonb := NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  sub text := COALESCE(claims ->> 'sub', NULLIF(pg_catalog.current_setting('request.jwt.claim.sub', true), ''));
  headers jsonb;
  hops text[];
  hop integer;
BEGIN
  IF sub IS NOT NULL THEN
    RETURN 'uid:' || sub;
  END IF;
  SELECT s.forwarded_for_hop INTO hop FROM tokens.settings s;
  headers := NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb;
  IF hop > 0 AND headers ? 'x-forwarded-for' THEN
    hops := pg_catalog.regexp_split_to_array(pg_catalog.btrim(headers ->> 'x-forwarded-for'), '\s*,\s*');
    IF pg_catalog.array_length(hops, 1) >= hop THEN
      RETURN 'ip:' || hops[pg_catalog.array_length(hops, 1) - hop + 1];
    END IF;
    RETURN 'ip:' || hops[1];
  END IF;
  RETURN 'role:' || session_user;
END
$fn$;

CREATE FUNCTION tokens.define_purpose(
    purpose text, prefix text,
    default_ttl interval DEFAULT '7 days', max_ttl interval DEFAULT '30 days',
    max_uses_limit integer DEFAULT 100, max_failures integer DEFAULT 10,
    failure_window interval DEFAULT '15 minutes')
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
BEGIN
  IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{0,39}$' THEN
    PERFORM tokens.raise('invalid_argument', 'A purpose is 1 to 40 characters of a-z, 0-9 and _, starting with a letter.');
  END IF;
  IF prefix IS NULL OR prefix !~ '^[a-z][a-z0-9]{1,11}$' THEN
    PERFORM tokens.raise('invalid_argument', 'A prefix is 2 to 12 characters of a-z and 0-9, starting with a letter.',
                         'Pick something secret scanners can match, such as sltr for transfers.');
  END IF;
  IF EXISTS (SELECT 1 FROM tokens.purposes p WHERE p.prefix = define_purpose.prefix
                                               AND p.purpose <> define_purpose.purpose) THEN
    PERFORM tokens.raise('invalid_argument', 'Another purpose already uses this prefix.');
  END IF;
  IF default_ttl IS NULL OR max_ttl IS NULL OR default_ttl <= interval '0' OR max_ttl < default_ttl THEN
    PERFORM tokens.raise('invalid_argument', 'default_ttl must be positive and at most max_ttl.');
  END IF;
  IF max_uses_limit IS NULL OR max_uses_limit NOT BETWEEN 1 AND 1000000
     OR max_failures IS NULL OR max_failures NOT BETWEEN 1 AND 10000 THEN
    PERFORM tokens.raise('invalid_argument', 'max_uses_limit is 1..1000000 and max_failures 1..10000.');
  END IF;
  IF failure_window IS NULL OR failure_window < interval '1 second' OR failure_window > interval '1 day'
     OR pg_catalog.date_part('month', failure_window) <> 0 THEN
    PERFORM tokens.raise('invalid_argument', 'failure_window is between 1 second and 1 day.');
  END IF;
  INSERT INTO tokens.purposes AS p (purpose, prefix, default_ttl, max_ttl, max_uses_limit, max_failures, failure_window)
  VALUES (purpose, prefix, default_ttl, max_ttl, max_uses_limit, max_failures, failure_window)
  ON CONFLICT ON CONSTRAINT purposes_pkey DO UPDATE
     SET prefix = excluded.prefix, default_ttl = excluded.default_ttl, max_ttl = excluded.max_ttl,
         max_uses_limit = excluded.max_uses_limit, max_failures = excluded.max_failures,
         failure_window = excluded.failure_window;
END
$fn$;

CREATE FUNCTION tokens.issue(
    purpose text, subject text, ttl interval DEFAULT NULL, max_uses integer DEFAULT 1,
    metadata jsonb DEFAULT '{}'::jsonb, organization_id uuid DEFAULT NULL,
    OUT token_id uuid, OUT token text, OUT expires_at timestamptz)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_issue';
COMMENT ON FUNCTION tokens.issue(text, text, interval, integer, jsonb, uuid) IS
  'issue a secret token; the text is returned once and only its keyed hash is stored';

CREATE FUNCTION tokens.redeem(
    purpose text, token text, subject text DEFAULT NULL,
    OUT token_id uuid, OUT subject text, OUT metadata jsonb, OUT uses_left integer)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_redeem';
COMMENT ON FUNCTION tokens.redeem(text, text, text) IS
  'use a token once; subject, when given, must be the token''s (and is throttled on its own)';

CREATE FUNCTION tokens.peek(
    purpose text, token text, subject text DEFAULT NULL,
    OUT token_id uuid, OUT subject text, OUT metadata jsonb, OUT uses_left integer)
  RETURNS record LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'tokens_peek';
COMMENT ON FUNCTION tokens.peek(text, text, text) IS
  'check a token as redeem does (failures count the same) without using it';

CREATE FUNCTION tokens.revoke(token_id uuid, reason text DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE t tokens.tokens;
BEGIN
  IF pg_catalog.length(reason) > 200 THEN
    PERFORM tokens.raise('invalid_argument', 'The reason is at most 200 characters.');
  END IF;
  UPDATE tokens.tokens x SET revoked_at = pg_catalog.now(), revoke_reason = reason
   WHERE x.id = revoke.token_id AND x.revoked_at IS NULL
  RETURNING * INTO t;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM tokens.tokens x WHERE x.id = revoke.token_id) THEN
      PERFORM tokens.raise('token_not_found', 'No token has this id.');
    END IF;
    RETURN false;   -- already revoked
  END IF;
  PERFORM trail.log(t.organization_id, 'token.revoked', 'token:' || t.id::text,
                    pg_catalog.jsonb_build_object('purpose', t.purpose, 'subject', t.subject), reason);
  RETURN true;
END
$fn$;

CREATE FUNCTION tokens.revoke_subject(purpose text, subject text, reason text DEFAULT NULL) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE n integer := 0; t tokens.tokens;
BEGIN
  IF pg_catalog.length(reason) > 200 THEN
    PERFORM tokens.raise('invalid_argument', 'The reason is at most 200 characters.');
  END IF;
  FOR t IN UPDATE tokens.tokens x SET revoked_at = pg_catalog.now(), revoke_reason = reason
            WHERE x.purpose = revoke_subject.purpose AND x.subject = revoke_subject.subject
              AND x.revoked_at IS NULL
           RETURNING * LOOP
    n := n + 1;
    PERFORM trail.log(t.organization_id, 'token.revoked', 'token:' || t.id::text,
                      pg_catalog.jsonb_build_object('purpose', t.purpose, 'subject', t.subject), reason);
  END LOOP;
  RETURN n;
END
$fn$;

-------------------------------------------------------------------------------
-- Signed codes
-------------------------------------------------------------------------------

CREATE FUNCTION tokens._add_signing_key(scope text) RETURNS integer
  LANGUAGE c VOLATILE STRICT
  AS 'MODULE_PATHNAME', 'tokens_add_signing_key';

-- Revoke every version of payload up to up_to_version (re-issue or cancel).
CREATE FUNCTION tokens._revoke_versions(scope text, payload bytea, up_to_version integer, reason text)
  RETURNS bigint LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
  WITH s AS (
    UPDATE tokens.scopes x SET revocation_seq = x.revocation_seq + 1
     WHERE x.scope = _revoke_versions.scope RETURNING x.revocation_seq)
  INSERT INTO tokens.revocations (scope, seq, payload, up_to_version, reason)
  SELECT _revoke_versions.scope, s.revocation_seq, _revoke_versions.payload, up_to_version, reason FROM s
  RETURNING seq
$fn$;

CREATE FUNCTION tokens.public_keys(scope text)
  RETURNS TABLE (key_id integer, public_key text, state text, created_at timestamptz,
                 rotated_at timestamptz, retired_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT k.key_id, pg_catalog.encode(k.public_key, 'base64'), k.state, k.created_at, k.rotated_at, k.retired_at
    FROM tokens.signing_keys k WHERE k.scope = public_keys.scope ORDER BY k.key_id
$fn$;
COMMENT ON FUNCTION tokens.public_keys(text) IS 'every key of the scope (public halves only), for scanners';

-- The scope's active key; creates the scope and its first key when missing.
CREATE FUNCTION tokens.signing_key(scope text, organization_id uuid DEFAULT NULL,
    OUT key_id integer, OUT public_key text, OUT created_at timestamptz)
  RETURNS record LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE s tokens.scopes;
BEGIN
  IF scope IS NULL OR scope !~ '^[a-z0-9][a-z0-9._:-]{0,63}$' THEN
    PERFORM tokens.raise('invalid_argument',
      'A scope is 1 to 64 characters of a-z, 0-9 and . _ : -, starting with a letter or digit.');
  END IF;
  INSERT INTO tokens.scopes AS x (scope, organization_id) VALUES (signing_key.scope, signing_key.organization_id)
  ON CONFLICT ON CONSTRAINT scopes_pkey DO NOTHING;
  SELECT * INTO s FROM tokens.scopes x WHERE x.scope = signing_key.scope FOR UPDATE;
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  PERFORM trail.log(s.organization_id, 'signing_key.rotated', 'scope:' || rotate_signing_key.scope,
                    pg_catalog.jsonb_build_object('scope', rotate_signing_key.scope, 'old_key_id', old, 'key_id', new_id));
  RETURN new_id;
END
$fn$;

-- Codes signed by a retired key no longer verify. The active key cannot be retired.
CREATE FUNCTION tokens.retire_signing_key(scope text, key_id integer) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  PERFORM trail.log(s.organization_id, 'signing_key.retired', 'scope:' || retire_signing_key.scope,
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
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
  SELECT x.organization_id INTO org FROM tokens.scopes x WHERE x.scope = c.scope;
  PERFORM trail.log(org, 'code.revoked', 'code:' || c.scope,
                    pg_catalog.jsonb_build_object('scope', c.scope, 'payload', pg_catalog.encode(c.payload, 'hex'),
                                                  'version', c.version, 'seq', seq), reason);
  RETURN seq;
END
$fn$;

-- The delta feed: revocations of the scope after seq since, oldest first.
CREATE FUNCTION tokens.revocations(scope text, since bigint DEFAULT 0, max_rows integer DEFAULT 1000)
  RETURNS TABLE (seq bigint, payload bytea, up_to_version integer, reason text, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT r.seq, r.payload, r.up_to_version, r.reason, r.revoked_at
    FROM tokens.revocations r
   WHERE r.scope = revocations.scope AND r.seq > COALESCE(since, 0)
   ORDER BY r.seq
   LIMIT LEAST(GREATEST(COALESCE(max_rows, 1000), 1), 10000)
$fn$;

-- Everything an offline scanner needs, as one JSON document.
CREATE FUNCTION tokens.scanner_bundle(scope text, since bigint DEFAULT 0) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$
  SELECT pg_catalog.jsonb_build_object(
    'scope', s.scope,
    'format', 1,
    'signed_prefix', 'startlijn-code:v1' || pg_catalog.chr(10) || s.scope || pg_catalog.chr(10),
    'keys', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'key_id', k.key_id, 'public_key', pg_catalog.encode(k.public_key, 'base64')) ORDER BY k.key_id)
                        FROM tokens.signing_keys k WHERE k.scope = s.scope AND k.state <> 'retired'), '[]'::jsonb),
    'revocations', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'seq', r.seq, 'payload', pg_catalog.encode(r.payload, 'base64'),
                         'up_to_version', r.up_to_version) ORDER BY r.seq)
                        FROM tokens.revocations r WHERE r.scope = s.scope AND r.seq > COALESCE(since, 0)), '[]'::jsonb),
    'next_since', s.revocation_seq)
    FROM tokens.scopes s WHERE s.scope = scanner_bundle.scope
$fn$;

-------------------------------------------------------------------------------
-- Housekeeping
-------------------------------------------------------------------------------

-- Delete tokens that ended (expired, used up or revoked) more than keep ago,
-- and failure windows older than a day.
CREATE FUNCTION tokens.prune(keep interval DEFAULT '30 days') RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE n_tokens bigint; n_failures bigint;
BEGIN
  IF keep IS NULL OR keep < interval '0' THEN
    PERFORM tokens.raise('invalid_argument', 'keep must be zero or positive.');
  END IF;
  DELETE FROM tokens.tokens t
   WHERE LEAST(t.expires_at, COALESCE(t.revoked_at, 'infinity'),
               CASE WHEN t.uses >= t.max_uses THEN t.last_used_at ELSE 'infinity' END) < pg_catalog.now() - keep;
  GET DIAGNOSTICS n_tokens = ROW_COUNT;
  DELETE FROM tokens.failures f WHERE f.window_start < pg_catalog.now() - interval '1 day';
  GET DIAGNOSTICS n_failures = ROW_COUNT;
  RETURN pg_catalog.jsonb_build_object('tokens', n_tokens, 'failure_windows', n_failures);
END
$fn$;

CREATE FUNCTION tokens.schedule_pruning(schedule text DEFAULT '17 * * * *') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
    PERFORM tokens.raise('invalid_argument', 'Scheduled pruning runs through pg_cron, which is not installed.',
                         'CREATE EXTENSION pg_cron, or call tokens.prune() from your own scheduler.');
  END IF;
  RETURN cron.schedule('tokens-prune', schedule, 'SELECT tokens.prune()');
END
$fn$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the integrating system grants what it needs.
-------------------------------------------------------------------------------
DO $priv$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'tokens'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$priv$;
