-- startlijn_retention 0.1 -> 0.2: erasure hooks; retention.period() in C.
--
-- The system integrating retention may hold personal data of a subject
-- outside labelled tables (an account profile, memberships). An erasure
-- hook is a function `fn(request uuid, subject uuid, organization_id uuid)
-- RETURNS jsonb` called by the erasure step after the labelled tables and
-- before the subject's audit key is destroyed, in the same transaction; its
-- result (when not NULL) goes into the receipt under the hook's name.
-- organization_id is NULL for a request covering every organisation.

\echo Use "ALTER EXTENSION startlijn_retention UPDATE TO '0.2'" to load this file. \quit

-- retention.period() in C: the same lookup the guard trigger and the job
-- use (one query, prepared once per session), instead of an SQL function
-- planned again on every call. Same arguments, defaults and results.
CREATE OR REPLACE FUNCTION retention.period(organization_id uuid, classification text, result text DEFAULT NULL)
  RETURNS interval LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'retention_period';

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
ALTER TABLE retention.erasure_hooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention.erasure_hooks FORCE ROW LEVEL SECURITY;
CREATE POLICY no_direct_access ON retention.erasure_hooks USING (false);
REVOKE ALL ON retention.erasure_hooks FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('retention.erasure_hooks', 'WHERE extension IS NULL');

-- Register (or replace) a hook. The function must exist with the signature
-- (uuid, uuid, uuid) and return jsonb.
CREATE FUNCTION retention.add_erasure_hook(name text, fn regprocedure, "position" integer DEFAULT 100,
                                           extension name DEFAULT NULL)
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
DECLARE
  p pg_catalog.pg_proc;
BEGIN
  IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,39}$' OR name IN ('tables', 'audit_trail', 'run') THEN
    PERFORM retention.raise('invalid_argument', 'A hook name is 1 to 40 characters of a-z, 0-9 and _, and not tables, audit_trail or run.');
  END IF;
  SELECT * INTO p FROM pg_catalog.pg_proc x WHERE x.oid = fn;
  IF p.oid IS NULL OR p.pronargs <> 3 OR p.prokind <> 'f' OR p.prorettype <> 'jsonb'::pg_catalog.regtype
     OR p.proargtypes[0] <> 'uuid'::pg_catalog.regtype OR p.proargtypes[1] <> 'uuid'::pg_catalog.regtype
     OR p.proargtypes[2] <> 'uuid'::pg_catalog.regtype THEN
    PERFORM retention.raise('invalid_argument', 'An erasure hook is a function (request uuid, subject uuid, organization_id uuid) returning jsonb.');
  END IF;
  INSERT INTO retention.erasure_hooks AS h (name, function, position, extension)
  VALUES (add_erasure_hook.name, pg_catalog.format('%I.%I', p.pronamespace::regnamespace::text, p.proname),
          COALESCE(add_erasure_hook.position, 100), add_erasure_hook.extension)
  ON CONFLICT ON CONSTRAINT erasure_hooks_pkey DO UPDATE
     SET function = EXCLUDED.function, position = EXCLUDED.position, extension = EXCLUDED.extension;
  PERFORM trail.log(NULL, 'retention.erasure_hook_added', 'retention.erasure_hooks:' OPERATOR(pg_catalog.||) name,
                    pg_catalog.jsonb_build_object('name', name, 'function', fn::text), NULL);
END
$fn$;

CREATE FUNCTION retention.remove_erasure_hook(name text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
  AS $fn$
BEGIN
  DELETE FROM retention.erasure_hooks h WHERE h.name = remove_erasure_hook.name;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM trail.log(NULL, 'retention.erasure_hook_removed', 'retention.erasure_hooks:' OPERATOR(pg_catalog.||) name,
                    pg_catalog.jsonb_build_object('name', name), NULL);
  RETURN true;
END
$fn$;

REVOKE ALL ON FUNCTION retention.add_erasure_hook(text, regprocedure, integer, name),
                       retention.remove_erasure_hook(text) FROM PUBLIC;
