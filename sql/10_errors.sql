\set SHOW_CONTEXT never
-- Business errors: PTnnn SQLSTATE, lowercase message, detail starting with
-- the stable code, optional hint. psql shows the same as PostgREST returns.
SELECT startlijn.raise('slug_taken');
SELECT startlijn.raise('organization_not_found', 'Organization 42 is gone.', 'Reload the list.');
\set VERBOSITY sqlstate
SELECT startlijn.raise('slug_taken');
SELECT startlijn.raise('not_authenticated');
\set VERBOSITY default
-- an unknown code is a bug in our code, reported as an internal error
SELECT startlijn.raise('no_such_code');
SELECT startlijn.raise(NULL);

-- the registry: codes are unique and map to 4xx
SELECT count(*) AS codes, count(DISTINCT code) AS distinct_codes,
       bool_and(http_status BETWEEN 400 AND 499) AS all_4xx,
       bool_and(sqlstate = 'PT' || http_status) AS sqlstate_is_status,
       bool_and(message = lower(message) AND message !~ '\.$') AS messages_lowercase
  FROM startlijn.error_codes();

-- through the API, as PostgREST returns it
SELECT pgrst.show('anon', 'my_organizations');
SELECT pgrst.show('anna', 'create_organization', '{"name": "X", "slug": "loopgroep-utrecht"}');
-- PostgREST-side errors for unknown arguments stay PostgREST's
SELECT pgrst.show('anna', 'create_organization', '{"naam": "X"}');
