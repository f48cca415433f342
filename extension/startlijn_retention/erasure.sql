-- startlijn_retention/erasure.sql: erasure requests and the erasure hooks of the
-- integrating system (the table is in tables.sql).

-------------------------------------------------------------------------------
-- Erasure requests
-------------------------------------------------------------------------------

-- Record a request to erase a subject's personal data (in one organisation,
-- or in every one when organization_id is NULL). Returns the request id; a
-- repeated request returns the open one. The job executes it.
CREATE FUNCTION retention.request_erasure(
    subject uuid, organization_id uuid DEFAULT NULL, reason text DEFAULT NULL, requested_by text DEFAULT NULL)
  RETURNS uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- Does the organisation hold records about the subject in a managed table?
-- (The integrating system adds its own relationships, e.g. memberships.)
CREATE FUNCTION retention.holds_records_of(organization_id uuid, subject uuid) RETURNS boolean
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'retention_holds_records_of';
COMMENT ON FUNCTION retention.holds_records_of(uuid, uuid) IS
  'true when a managed (labelled) table holds a row of the organisation about the subject';

CREATE FUNCTION retention.execute_erasure(request uuid) RETURNS jsonb
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_execute_erasure';
COMMENT ON FUNCTION retention.execute_erasure(uuid) IS
  'execute one erasure request now, in this transaction; returns its receipt (the job does the same for every open request)';

CREATE FUNCTION retention.erasure_request(request uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT pg_catalog.jsonb_build_object('id', e.id, 'subject', e.subject, 'organization_id', e.organization_id,
           'status', e.status, 'received_at', e.received_at, 'completed_at', e.completed_at, 'receipt', e.receipt)
    FROM retention.erasure_requests e WHERE e.id = request
$fn$;

-- Register (or replace) a hook. The function must exist with the signature
-- (uuid, uuid, uuid) and return jsonb.
CREATE FUNCTION retention.add_erasure_hook(name text, fn regprocedure, "position" integer DEFAULT 100,
                                           extension name DEFAULT NULL)
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- Register (or replace) a subject check: fn(subject uuid) RETURNS boolean,
-- true while the integrating system still knows the subject (a live
-- account). The job keeps the audit-trail key of such a subject after its
-- labelled records are anonymised (tables.sql, retention.subject_checks).
CREATE FUNCTION retention.add_subject_check(name text, fn regprocedure, extension name DEFAULT NULL)
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  p pg_catalog.pg_proc;
BEGIN
  IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,39}$' THEN
    PERFORM retention.raise('invalid_argument', 'A check name is 1 to 40 characters of a-z, 0-9 and _.');
  END IF;
  SELECT * INTO p FROM pg_catalog.pg_proc x WHERE x.oid = fn;
  IF p.oid IS NULL OR p.pronargs <> 1 OR p.prokind <> 'f' OR p.prorettype <> 'boolean'::pg_catalog.regtype
     OR p.proargtypes[0] <> 'uuid'::pg_catalog.regtype THEN
    PERFORM retention.raise('invalid_argument', 'A subject check is a function (subject uuid) returning boolean.');
  END IF;
  INSERT INTO retention.subject_checks AS c (name, function, extension)
  VALUES (add_subject_check.name, pg_catalog.format('%I.%I', p.pronamespace::regnamespace::text, p.proname),
          add_subject_check.extension)
  ON CONFLICT ON CONSTRAINT subject_checks_pkey DO UPDATE
     SET function = EXCLUDED.function, extension = EXCLUDED.extension;
  PERFORM trail.log(NULL, 'retention.subject_check_added', 'retention.subject_checks:' OPERATOR(pg_catalog.||) name,
                    pg_catalog.jsonb_build_object('name', name, 'function', fn::text), NULL);
END
$fn$;
