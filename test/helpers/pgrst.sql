-- Test helper (never part of the product): call api.* exactly as PostgREST does.
--
-- PostgREST, per request: one transaction; set_config('role', ...),
-- set_config('request.jwt.claims', <claims json>), set_config('request.headers',
-- <lowercased headers json>), set_config('request.method'/'request.path', ...),
-- then
--   SELECT ... FROM jsonb_to_record($body) AS _(arg type, ...), api.fn(arg := _.arg, ...)
-- with the argument types taken from the function's declaration.
--
--   pgrst.call(who, fn, args)   the JSON result, or the error raised as is
--   pgrst.try(who, fn, args)    {"status":..,"code":..,"message":..,"details":..,"hint":..}
--                               for errors (HTTP status mapped as PostgREST does),
--                               {"status":200,"body":...} otherwise; changes of a
--                               failed call are rolled back, as PostgREST does
--   pgrst.sql_as(who, sql)      run any SQL as that caller, always rolled back:
--                               'rows=N' or 'error=SQLSTATE' (for RLS matrices)
--
-- who: 'anon', 'service', a demo user's lowercase first name ('anna'), a uuid,
-- or a JSON object of claims ('{"sub": "…", "email": "…"}', role defaults to authenticated).

CREATE SCHEMA pgrst;
GRANT USAGE ON SCHEMA pgrst TO PUBLIC;

-- claims of a caller, as the JWT PostgREST verified would carry them
CREATE FUNCTION pgrst.claims(who text) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
BEGIN
  IF left(who, 1) = '{' THEN
    RETURN who::jsonb || jsonb_build_object('role', COALESCE(who::jsonb ->> 'role', 'authenticated'));
  ELSIF who = 'anon' THEN
    RETURN jsonb_build_object('role', 'anon');
  ELSIF who = 'service' THEN
    RETURN jsonb_build_object('role', 'service_role');
  END IF;
  IF who ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    SELECT pr.id, pr.email INTO p FROM startlijn.profiles pr WHERE pr.id = who::uuid;
    RETURN jsonb_strip_nulls(jsonb_build_object(
      'sub', who, 'role', 'authenticated', 'email', p.email, 'aud', 'authenticated'));
  END IF;
  SELECT pr.id, pr.email INTO p FROM startlijn.profiles pr
   WHERE lower(split_part(pr.full_name, ' ', 1)) = who;
  IF p.id IS NULL THEN
    RAISE EXCEPTION 'pgrst: unknown caller %', who;
  END IF;
  RETURN jsonb_build_object('sub', p.id, 'role', 'authenticated', 'email', p.email,
                            'aud', 'authenticated');
END
$$;

-- the SQL PostgREST would run for POST /rpc/<fn> with a JSON body
CREATE FUNCTION pgrst.rpc_sql(fn text, args jsonb) RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
  coldefs text[] := '{}';
  callargs text[] := '{}';
  k text;
  i int;
  found_arg boolean;
BEGIN
  SELECT pr.oid, pr.proretset, pr.proargnames, pr.proargmodes, pr.proallargtypes, pr.proargtypes,
         pr.pronargs, pr.prorettype
    INTO p
    FROM pg_proc pr JOIN pg_namespace n ON n.oid = pr.pronamespace
   WHERE n.nspname = 'api' AND pr.proname = fn;
  IF p.oid IS NULL THEN
    RAISE EXCEPTION 'Could not find the function api.%', fn USING ERRCODE = 'PGRST';
  END IF;
  FOR k IN SELECT jsonb_object_keys(COALESCE(args, '{}')) LOOP
    found_arg := false;
    FOR i IN 1 .. COALESCE(array_length(p.proargnames, 1), 0) LOOP
      IF p.proargnames[i] = k AND (p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b')) THEN
        coldefs := coldefs || format('%I %s', k,
          format_type(COALESCE(p.proallargtypes[i], (p.proargtypes::oid[])[i - 1]), NULL));
        callargs := callargs || format('%I := _.%I', k, k);
        found_arg := true;
      END IF;
    END LOOP;
    IF NOT found_arg THEN
      RAISE EXCEPTION 'Could not find the function api.%(%) in the schema cache', fn, k
        USING ERRCODE = 'PGRST';
    END IF;
  END LOOP;
  IF p.proretset THEN
    RETURN format('SELECT COALESCE(jsonb_agg(to_jsonb(r)), ''[]'') FROM %s api.%I(%s) r',
      CASE WHEN cardinality(coldefs) > 0
           THEN format('jsonb_to_record($1) AS _(%s), LATERAL', array_to_string(coldefs, ', ')) ELSE '' END,
      fn, array_to_string(callargs, ', '));
  END IF;
  RETURN format('SELECT to_jsonb(api.%I(%s)) %s', fn, array_to_string(callargs, ', '),
    CASE WHEN cardinality(coldefs) > 0
         THEN format('FROM jsonb_to_record($1) AS _(%s)', array_to_string(coldefs, ', ')) ELSE '' END);
END
$$;

-- request settings, local to the current transaction
-- (search_path is not emulated: every startlijn function pins its own.)
CREATE FUNCTION pgrst.begin_request(who text, method text, path text, headers jsonb)
  RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  claims jsonb := pgrst.claims(who);
  lower_headers jsonb;
BEGIN
  SELECT COALESCE(jsonb_object_agg(lower(key), value), '{}') INTO lower_headers
    FROM jsonb_each(COALESCE(headers, '{}'));
  lower_headers := jsonb_build_object('user-agent', 'pgrst-test/1.0', 'x-forwarded-for', '203.0.113.7')
                   || lower_headers;
  PERFORM set_config('request.jwt.claims', claims::text, true);
  PERFORM set_config('request.headers', lower_headers::text, true);
  PERFORM set_config('request.method', method, true);
  PERFORM set_config('request.path', path, true);
  PERFORM set_config('role', claims ->> 'role', true);
END
$$;

CREATE FUNCTION pgrst.end_request() RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM set_config('role', 'none', true);
  PERFORM set_config('request.jwt.claims', '', true);
  PERFORM set_config('request.headers', '', true);
  PERFORM set_config('request.method', '', true);
  PERFORM set_config('request.path', '', true);
END
$$;

CREATE FUNCTION pgrst.call(who text, fn text, args jsonb DEFAULT '{}', headers jsonb DEFAULT '{}')
  RETURNS jsonb
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  q text := pgrst.rpc_sql(fn, args);
  result jsonb;
BEGIN
  PERFORM pgrst.begin_request(who, 'POST', '/rpc/' || fn, headers);
  EXECUTE q INTO result USING COALESCE(args, '{}');
  PERFORM pgrst.end_request();
  RETURN result;
END
$$;

-- PostgREST's mapping of SQLSTATE to HTTP status (the part we rely on)
CREATE FUNCTION pgrst.http_status(state text, role text) RETURNS int
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT CASE
      WHEN state ~ '^PT[0-9]{3}$' THEN substr(state, 3)::int
      WHEN state = '42501' THEN CASE WHEN role = 'anon' THEN 401 ELSE 403 END
      WHEN state IN ('23505', '23503') THEN 409
      WHEN state = '23514' THEN 400
      WHEN state = 'P0001' THEN 400
      WHEN state LIKE '22%' THEN 400
      WHEN state = '42883' THEN 404
      WHEN state = 'PGRST' THEN 404
      WHEN state = '40001' THEN 409
      ELSE 500
    END
  $$;

CREATE FUNCTION pgrst.try(who text, fn text, args jsonb DEFAULT '{}', headers jsonb DEFAULT '{}')
  RETURNS jsonb
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  result jsonb;
  st text; msg text; det text; hnt text;
BEGIN
  BEGIN
    result := pgrst.call(who, fn, args, headers);
    RETURN jsonb_build_object('status', 200, 'body', result);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('status', pgrst.http_status(st, pgrst.claims(who) ->> 'role'),
      'code', st, 'message', msg, 'details', NULLIF(det, ''), 'hint', NULLIF(hnt, ''));
  END;
END
$$;

-- A POST whose raw body goes to a function with one unnamed json parameter
-- (how PostgREST calls webhook endpoints): {"status": response.status or
-- 200, "body": ...}, or the error mapped like pgrst.try. A failed call is
-- rolled back; a call that set response.status keeps its writes, as in PostgREST.
CREATE FUNCTION pgrst.post_raw(who text, fn text, body text, headers jsonb DEFAULT '{}')
  RETURNS jsonb
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  result jsonb;
  code text;
  st text; msg text; det text; hnt text;
BEGIN
  BEGIN
    PERFORM set_config('response.status', '', true);
    PERFORM pgrst.begin_request(who, 'POST', '/rpc/' || fn, headers);
    EXECUTE format('SELECT to_jsonb(api.%I($1::json))', fn) INTO result USING body;
    code := NULLIF(current_setting('response.status', true), '');
    PERFORM pgrst.end_request();
    RETURN jsonb_build_object('status', COALESCE(code::int, 200), 'body', result);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    PERFORM pgrst.end_request();
    RETURN jsonb_build_object('status', pgrst.http_status(st, pgrst.claims(who) ->> 'role'),
      'code', st, 'message', msg, 'details', NULLIF(det, ''), 'hint', NULLIF(hnt, ''));
  END;
END
$$;

-- Run sql as the current role: 'ok', or the SQLSTATE and the stable code
-- (the part of the detail before ':'), e.g. 'PT409 invalid_transition'.
-- The statement's changes are undone when it fails.
CREATE FUNCTION pgrst.err(sql text) RETURNS text
  LANGUAGE plpgsql
  AS $$
DECLARE st text; det text;
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, det = PG_EXCEPTION_DETAIL;
  RETURN st || ' ' || split_part(det, ':', 1);
END
$$;

-- Run sql as the caller (claims, role) and roll it back: 'rows=N' or 'error=SQLSTATE'.
CREATE FUNCTION pgrst.sql_as(who text, sql text) RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n bigint;
  outcome text;
BEGIN
  BEGIN
    PERFORM pgrst.begin_request(who, 'POST', '/sql', '{}');
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    outcome := 'rows=' || n;
    RAISE EXCEPTION USING ERRCODE = 'PGRSA', MESSAGE = outcome;   -- undo everything
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'PGRSA' THEN
      RETURN SQLERRM;
    END IF;
    RETURN 'error=' || SQLSTATE;
  END;
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgrst TO PUBLIC;

-- Deterministic view of a result for pg_regress: timestamps become "<ts>",
-- uuids that are not demo-data ids become "<uuid>".
CREATE FUNCTION pgrst.stable(j jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT CASE jsonb_typeof(j)
      WHEN 'object' THEN (SELECT COALESCE(jsonb_object_agg(key, pgrst.stable(value)), '{}') FROM jsonb_each(j))
      WHEN 'array' THEN (SELECT COALESCE(jsonb_agg(pgrst.stable(value) ORDER BY ord), '[]')
                           FROM jsonb_array_elements(j) WITH ORDINALITY AS e(value, ord))
      WHEN 'string' THEN CASE
        WHEN j #>> '{}' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d' THEN '"<ts>"'::jsonb
        WHEN j #>> '{}' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
             AND j #>> '{}' !~ '^00000000-0000-4000-' THEN '"<uuid>"'::jsonb
        ELSE j END
      ELSE j
    END
  $$;

-- pgrst.try with a deterministic result
CREATE FUNCTION pgrst.show(who text, fn text, args jsonb DEFAULT '{}', headers jsonb DEFAULT '{}')
  RETURNS jsonb
  LANGUAGE sql
  AS $$ SELECT pgrst.stable(pgrst.try(who, fn, args, headers)) $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgrst TO PUBLIC;

-- A digest of everything the tenancy tables hold, to prove "nothing was written".
CREATE FUNCTION pgrst.tenancy_digest() RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
      SELECT 'p' || to_jsonb(p)::text AS t FROM startlijn.profiles p
      UNION ALL SELECT 'o' || to_jsonb(o)::text FROM startlijn.organizations o
      UNION ALL SELECT 'm' || to_jsonb(m)::text FROM startlijn.organization_members m
      UNION ALL SELECT 'r' || to_jsonb(r)::text FROM startlijn.organization_relationships r
      -- the audit trail: a failed call records nothing either
      UNION ALL SELECT 'e' || count(*)::text || coalesce(max(e.id), 0)::text FROM trail.entries e
      UNION ALL SELECT 'k' || count(*)::text FROM trail.subject_keys k
      -- retention: requests, holds, settings and signals
      UNION ALL SELECT 'q' || to_jsonb(q)::text FROM retention.erasure_requests q
      UNION ALL SELECT 'h' || to_jsonb(h)::text FROM retention.holds h
      UNION ALL SELECT 's' || to_jsonb(s)::text FROM retention.settings s
      UNION ALL SELECT 'n' || to_jsonb(n)::text FROM retention.notifications n
      -- capacity: pools, items, holds, allocations, waitlists, slots
      UNION ALL SELECT 'cp' || to_jsonb(x)::text FROM capacity.pools x
      UNION ALL SELECT 'ci' || to_jsonb(x)::text FROM capacity.items x
      UNION ALL SELECT 'cj' || to_jsonb(x)::text FROM capacity.item_pools x
      UNION ALL SELECT 'ch' || to_jsonb(x)::text FROM capacity.holds x
      UNION ALL SELECT 'ca' || to_jsonb(x)::text FROM capacity.allocations x
      UNION ALL SELECT 'cw' || to_jsonb(x)::text FROM capacity.waitlist x
      -- the catalog
      UNION ALL SELECT 'ev' || to_jsonb(x)::text FROM startlijn.events x
      UNION ALL SELECT 'co' || to_jsonb(x)::text FROM startlijn.courses x
      UNION ALL SELECT 'wa' || to_jsonb(x)::text FROM startlijn.waves x
      UNION ALL SELECT 'tt' || to_jsonb(x)::text FROM startlijn.ticket_types x
      UNION ALL SELECT 'pt' || to_jsonb(x)::text FROM startlijn.price_tiers x
      UNION ALL SELECT 'ad' || to_jsonb(x)::text FROM startlijn.addons x
      UNION ALL SELECT 'av' || to_jsonb(x)::text FROM startlijn.addon_variants x
      UNION ALL SELECT 'cs' || md5(string_agg(to_jsonb(x)::text, '' ORDER BY x.pool_id, x.slot_no)) FROM capacity.slots x
    ) x
  $$;
