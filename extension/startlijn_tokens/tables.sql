-- startlijn_tokens: secret tokens and signed codes (schema tokens).
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
--
-- The install script extension/startlijn_tokens--<version>.sql is built by the Makefile
-- from extension/startlijn_tokens/*.sql in the order listed there; this file comes first.
-- tables.sql: preconditions, the tables, their row level security, what
-- pg_dump keeps and the pepper.

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
-- organization_id: the tenant; a token of no organisation (the platform's
-- own) has the nil UUID, so the tables can be distributed by organisation
-- (docs/scaling.md); the functions show it as NULL.
CREATE TABLE tokens.tokens (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  purpose         text NOT NULL REFERENCES tokens.purposes,
  organization_id uuid NOT NULL,
  subject         text NOT NULL CHECK (pg_catalog.length(subject) BETWEEN 1 AND 200),
  hash            bytea NOT NULL CHECK (pg_catalog.octet_length(hash) = 32),
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  max_uses        integer NOT NULL CHECK (max_uses >= 1),
  uses            integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at      timestamptz NOT NULL,
  last_used_at    timestamptz,
  revoked_at      timestamptz,
  revoke_reason   text CHECK (pg_catalog.length(revoke_reason) <= 200),
  CHECK (expires_at > created_at),
  PRIMARY KEY (id, organization_id),
  -- a hash is of 32 random bytes: unique anywhere; looked up by hash alone
  UNIQUE (hash, organization_id)
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
-- A scope's name is unique on the platform (tokens.signing_key creates it
-- under a lock on the name); organization_id as in tokens.tokens (the nil
-- UUID: no organisation), and the scope's keys, codes and revocations carry
-- their scope's.
CREATE TABLE tokens.scopes (
  scope           text NOT NULL CHECK (scope ~ '^[a-z0-9][a-z0-9._:-]{0,63}$'),
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  revocation_seq  bigint NOT NULL DEFAULT 0 CHECK (revocation_seq >= 0),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (scope, organization_id),
  UNIQUE (id, organization_id)
);

-- Ed25519 keys per scope. Only the active key keeps its seed; rotation
-- wipes it (verify_only), retirement stops verification.
CREATE TABLE tokens.signing_keys (
  scope       text NOT NULL,
  organization_id uuid NOT NULL,
  key_id      integer NOT NULL CHECK (key_id BETWEEN 1 AND 65535),
  public_key  bytea NOT NULL CHECK (pg_catalog.octet_length(public_key) = 32),
  seed        bytea CHECK (pg_catalog.octet_length(seed) = 32),
  state       text NOT NULL CHECK (state IN ('active', 'verify_only', 'retired')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rotated_at  timestamptz,
  retired_at  timestamptz,
  PRIMARY KEY (scope, key_id, organization_id),
  FOREIGN KEY (scope, organization_id) REFERENCES tokens.scopes (scope, organization_id),
  CHECK ((state = 'active') = (seed IS NOT NULL))
);
CREATE UNIQUE INDEX signing_keys_one_active ON tokens.signing_keys (scope, organization_id) WHERE state = 'active';

-- The current version of each signed payload.
CREATE TABLE tokens.codes (
  scope      text NOT NULL,
  organization_id uuid NOT NULL,
  payload    bytea NOT NULL CHECK (pg_catalog.octet_length(payload) BETWEEN 1 AND 32),
  version    integer NOT NULL CHECK (version BETWEEN 1 AND 65535),
  issued_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  revoked_at timestamptz,
  PRIMARY KEY (scope, payload, organization_id),
  FOREIGN KEY (scope, organization_id) REFERENCES tokens.scopes (scope, organization_id)
);

-- Revocation list: every version of payload up to up_to_version is revoked.
-- seq is per scope and assigned under the scope row lock, so it grows in
-- commit order: a reader that saw everything up to N never misses a later N-1.
CREATE TABLE tokens.revocations (
  scope         text NOT NULL,
  organization_id uuid NOT NULL,
  seq           bigint NOT NULL CHECK (seq >= 1),
  payload       bytea NOT NULL,
  up_to_version integer NOT NULL CHECK (up_to_version BETWEEN 1 AND 65535),
  reason        text NOT NULL CHECK (reason IN ('reissued', 'revoked')),
  revoked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (scope, seq, organization_id),
  FOREIGN KEY (scope, organization_id) REFERENCES tokens.scopes (scope, organization_id)
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
