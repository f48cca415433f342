-- startlijn/base.sql: the schemas, business errors, timestamps and the validators
-- (C) used by CHECK constraints and RPCs.

-------------------------------------------------------------------------------
-- Schemas and C helpers
-------------------------------------------------------------------------------
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'startlijn: the RPC surface PostgREST exposes (db-schemas = api)';
COMMENT ON SCHEMA startlijn IS 'startlijn: platform tables and internals (not exposed)';

GRANT USAGE ON SCHEMA api TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA startlijn TO authenticated, service_role;
GRANT USAGE ON SCHEMA startlijn TO anon;

-- Business errors (PTnnn). See docs/errors.md.
CREATE FUNCTION startlijn.raise(code text, detail text DEFAULT NULL, hint text DEFAULT NULL)
  RETURNS void LANGUAGE c VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_raise';
COMMENT ON FUNCTION startlijn.raise(text, text, text) IS
  'raise the business error with this stable code as SQLSTATE PTnnn (docs/errors.md)';

CREATE FUNCTION startlijn.error_codes(
    OUT code text, OUT sqlstate text, OUT http_status integer, OUT message text, OUT detail text)
  RETURNS SETOF record LANGUAGE c IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'startlijn_error_codes';

GRANT EXECUTE ON FUNCTION startlijn.error_codes() TO anon, authenticated, service_role;

CREATE FUNCTION startlijn.touch_timestamps() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'startlijn_touch_timestamps';

-- Bytes for secrets (src/startlijn/sl_bytes_sql.c, libsodium): 16 random
-- bytes (randombytes_buf) for salts and keys, and a guest's data subject
-- as a keyed hash: the first 16 bytes of HMAC-SHA-256(key, normalised
-- e-mail) as a version 8 uuid (startlijn.guest_subject reads the key)
CREATE FUNCTION startlijn.random_salt() RETURNS bytea
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_random_salt';
CREATE FUNCTION startlijn.keyed_subject(key bytea, email text) RETURNS uuid
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_keyed_subject';

-- Validators (C, src/common/sl_validate.c). Used by CHECK constraints and RPCs.
CREATE FUNCTION startlijn.valid_slug(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_slug';
CREATE FUNCTION startlijn.valid_kvk(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_kvk';
CREATE FUNCTION startlijn.valid_country(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_country';
CREATE FUNCTION startlijn.valid_email(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_email';
CREATE FUNCTION startlijn.valid_phone(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_phone';
CREATE FUNCTION startlijn.valid_locale(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_locale';
CREATE FUNCTION startlijn.valid_name(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'startlijn_valid_name';
