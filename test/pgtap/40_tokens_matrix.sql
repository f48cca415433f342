-- startlijn_tokens: every error class, the throttles, rotation, RLS, and
-- "the token text is never stored" (every table of every schema searched).
BEGIN;
SELECT plan(46);

SELECT tokens.define_purpose('guest', 'slg', '30 days', '90 days', 10, 1000, '1 day');
SELECT tokens.define_purpose('invite', 'sli', '7 days', '7 days', 1, 3, '1 day');

-- helpers (pgrst.err, in test/helpers/pgrst.sql, gives the SQLSTATE and stable code of a call, or 'ok')
-- the same as an anonymous PostgREST caller from an address
CREATE FUNCTION pg_temp.err_from(ip text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('request.jwt.claims', '{"role":"anon"}', true);
  PERFORM set_config('request.headers', jsonb_build_object('x-forwarded-for', '198.51.100.7, ' || ip)::text, true);
  r := pgrst.err(sql);
  PERFORM set_config('request.jwt.claims', '', true);
  PERFORM set_config('request.headers', '', true);
  RETURN r;
END $$;

CREATE TEMP TABLE t AS
  SELECT 'guest' AS k, * FROM tokens.issue('guest', 'registration:1', max_uses => 2, metadata => '{"can": "edit"}')
  UNION ALL SELECT 'used', * FROM tokens.issue('guest', 'registration:2')
  UNION ALL SELECT 'expired', * FROM tokens.issue('guest', 'registration:3')
  UNION ALL SELECT 'revoked', * FROM tokens.issue('guest', 'registration:4')
  UNION ALL SELECT 'invite', * FROM tokens.issue('invite', 'member:9');
UPDATE tokens.tokens SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
 WHERE id = (SELECT token_id FROM t WHERE k = 'expired');
SELECT tokens.revoke((SELECT token_id FROM t WHERE k = 'revoked'), 'reissued by organiser');
SELECT tokens.redeem('guest', (SELECT token FROM t WHERE k = 'used'));
CREATE FUNCTION pg_temp.tok(k text) RETURNS text LANGUAGE sql AS $$ SELECT token FROM t WHERE t.k = tok.k $$;

-- issuing
SELECT matches((SELECT token FROM t WHERE k = 'guest'), '^slg_[A-Za-z0-9_-]{48}$', 'issue: prefix, underscore, 48 base64url characters');
SELECT is((SELECT count(DISTINCT token) FROM t), 5::bigint, 'issue: every token differs');
SELECT is(pgrst.err($$ SELECT tokens.issue('nope', 's') $$), 'PT404 purpose_not_found', 'issue: unknown purpose');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', NULL) $$), 'PT400 missing_argument', 'issue: no subject');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', '') $$), 'PT400 invalid_argument', 'issue: empty subject');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', E'a\nb') $$), 'PT400 invalid_argument', 'issue: control character in subject');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', repeat('x', 201)) $$), 'PT400 invalid_argument', 'issue: subject over 200 characters');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', ttl => '0 seconds') $$), 'PT400 invalid_argument', 'issue: ttl zero');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', ttl => '-1 hour') $$), 'PT400 invalid_argument', 'issue: negative ttl');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', ttl => '91 days') $$), 'PT400 invalid_argument', 'issue: ttl above the purpose maximum');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', max_uses => 0) $$), 'PT400 invalid_argument', 'issue: max_uses zero');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', max_uses => 11) $$), 'PT400 invalid_argument', 'issue: max_uses above the purpose limit');
SELECT is(pgrst.err($$ SELECT tokens.issue('guest', 's', metadata => '[1]') $$), 'PT400 invalid_argument', 'issue: metadata not an object');
SELECT is((SELECT count(*) FROM tokens.tokens), 5::bigint, 'issue: refused calls stored nothing');

-- redeeming: every error class has its own code
SELECT is(pgrst.err($$ SELECT tokens.redeem('guest', 'slg_tooshort') $$), 'PT400 token_malformed', 'redeem: wrong shape');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest',
            overlay(pg_temp.tok('guest') placing CASE WHEN substr(pg_temp.tok('guest'), 30, 1) = 'x' THEN 'y' ELSE 'x' END from 30 for 1))),
          'PT400 token_malformed', 'redeem: one mistyped character fails the checksum');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest', pg_temp.tok('invite'))), 'PT400 token_malformed',
          'redeem: a token of another purpose');
SELECT is(pgrst.err($$ SELECT tokens.redeem('nope', 'x') $$), 'PT404 purpose_not_found', 'redeem: unknown purpose');
SELECT is(pgrst.err($$ SELECT tokens.redeem('guest', NULL) $$), 'PT400 missing_argument', 'redeem: no token');
-- a well-formed token that was never issued (valid checksum, random secret)
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest',
            (SELECT 'slg_' || translate(encode(s || int4send(0), 'base64'), '+/=', '-_') FROM (SELECT gen_random_uuid()::text::bytea AS s) x))),
          'PT400 token_malformed', 'redeem: a forged token without the right checksum');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest', pg_temp.tok('expired'))), 'PT410 token_expired', 'redeem: expired');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest', pg_temp.tok('used'))), 'PT410 token_used_up', 'redeem: used up');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest', pg_temp.tok('revoked'))), 'PT410 token_revoked', 'redeem: revoked');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L, %L)', 'guest', pg_temp.tok('guest'), 'registration:2')),
          'PT404 token_not_found', 'redeem: a real token for another subject is not found');
SELECT results_eq(format('SELECT subject, metadata, uses_left FROM tokens.peek(%L, %L)', 'guest', pg_temp.tok('guest')),
          $$ VALUES ('registration:1', '{"can": "edit"}'::jsonb, 2) $$, 'peek: shows the token without using it');
SELECT results_eq(format('SELECT uses_left FROM tokens.redeem(%L, %L, %L) UNION ALL SELECT uses_left FROM tokens.redeem(%L, %L)',
                         'guest', pg_temp.tok('guest'), 'registration:1', 'guest', pg_temp.tok('guest')),
          $$ VALUES (1), (0) $$, 'redeem: a two-use guest link works twice');
SELECT is(pgrst.err(format('SELECT tokens.redeem(%L, %L)', 'guest', pg_temp.tok('guest'))), 'PT410 token_used_up', '... and not a third time');

-- throttling per caller: invite allows 3 failures a day per caller and per subject
SELECT is(ARRAY[pg_temp.err_from('203.0.113.1', format('SELECT tokens.redeem(%L, %L)', 'invite', pg_temp.tok('used'))),
                pg_temp.err_from('203.0.113.1', $$ SELECT tokens.redeem('invite', 'sli_' || repeat('A', 48)) $$)],
          ARRAY['PT400 token_malformed', 'PT400 token_malformed'], 'throttle: malformed texts are not counted (nothing was looked up)');
SELECT is(ARRAY(SELECT pg_temp.err_from('203.0.113.1', format('SELECT tokens.redeem(%L, %L, %L)', 'invite', pg_temp.tok('invite'), 'member:' || i))
                  FROM generate_series(1, 3) i),
          ARRAY['PT404 token_not_found', 'PT404 token_not_found', 'PT404 token_not_found'], 'throttle: three failures from one address');
SELECT is(pg_temp.err_from('203.0.113.1', format('SELECT tokens.redeem(%L, %L)', 'invite', pg_temp.tok('invite'))),
          'PT429 too_many_attempts', 'throttle: then even the right token is refused from that address');
SELECT is(pg_temp.err_from('203.0.113.2', format('SELECT tokens.peek(%L, %L)', 'invite', pg_temp.tok('invite'))),
          'ok', 'throttle: another address is not affected');
-- throttling per subject: failures against member:77 from three addresses lock member:77
SELECT is(ARRAY(SELECT pg_temp.err_from('192.0.2.' || i, format('SELECT tokens.redeem(%L, %L, %L)', 'invite', pg_temp.tok('invite'), 'member:77'))
                  FROM generate_series(1, 3) i),
          ARRAY['PT404 token_not_found', 'PT404 token_not_found', 'PT404 token_not_found'], 'throttle: three failures for one subject');
SELECT is(pg_temp.err_from('192.0.2.50', format('SELECT tokens.redeem(%L, %L, %L)', 'invite', pg_temp.tok('invite'), 'member:77')),
          'PT429 too_many_attempts', 'throttle: the subject is locked for every address');
SELECT is(pg_temp.err_from('192.0.2.51', format('SELECT (tokens.redeem(%L, %L, %L)).subject', 'invite', pg_temp.tok('invite'), 'member:9')),
          'ok', 'throttle: other subjects are not');
SELECT is((SELECT count(*) FROM tokens.failures f
            WHERE octet_length(f.bucket) <> 16 OR strpos(f::text, '203.0.113') > 0
               OR strpos(f::text, encode('member:77', 'hex')) > 0 OR strpos(f::text, 'member:77') > 0), 0::bigint,
          'throttle: buckets are keyed hashes (no address or subject stored)');

-- the token text is never stored: search every row of every table, as text
SELECT is((WITH needles AS (
             SELECT token AS n FROM t
             UNION ALL SELECT substr(token, strpos(token, '_') + 1) FROM t
             UNION ALL SELECT encode(substr(decode(translate(substr(token, strpos(token, '_') + 1), '-_', '+/'), 'base64'), 1, 32), 'hex') FROM t)
           SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace, needles,
                  LATERAL (SELECT (xpath('/row/c/text()', query_to_xml(format(
                     'SELECT count(*) AS c FROM %I.%I x WHERE strpos(x::text, %L) > 0', s.nspname, c.relname, n),
                     false, true, '')))[1]::text::int AS hits) h
            WHERE c.relkind = 'r' AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND s.nspname NOT LIKE 'pg_temp%' AND h.hits > 0),
          0::bigint, 'no table holds a token''s text, its base64url body or its secret bytes (the trail included)');

-- signed codes: keys, bad input, rotation, retirement
SELECT tokens.signing_key('scope-a');
SELECT tokens.signing_key('scope-b');
SELECT tokens.rotate_signing_key('scope-b');
CREATE TEMP TABLE c AS SELECT tokens.sign_code('scope-a', '\x01') AS a1, tokens.sign_code('scope-b', '\x01') AS b1;
SELECT is(pgrst.err($$ SELECT tokens.sign_code('nope', '\x01') $$), 'PT404 scope_not_found', 'sign: unknown scope');
SELECT is(pgrst.err($$ SELECT tokens.sign_code('scope-a', '') $$) || ' / ' ||
          pgrst.err(format('SELECT tokens.sign_code(%L, %L)', 'scope-a', decode(repeat('ab', 33), 'hex'))),
          'PT400 invalid_argument / PT400 invalid_argument', 'sign: payloads of 0 and 33 bytes are refused');
SELECT is(pgrst.err($$ SELECT tokens.verify_code('scope-a', 'not base45!') $$) || ' / ' ||
          pgrst.err($$ SELECT tokens.verify_code('scope-a', 'BB8') $$),
          'PT400 code_malformed / PT400 code_malformed', 'verify: not base45, and base45 too short for a code');
SELECT is((SELECT status FROM tokens.verify_code('scope-a', (SELECT b1 FROM c))), 'unknown_key',
          'verify: a code signed by another scope''s key 2 names a key scope-a does not have');
SELECT tokens.rotate_signing_key('scope-a');
SELECT is((SELECT status FROM tokens.verify_code('scope-a', (SELECT b1 FROM c))), 'bad_signature',
          'verify: after scope-a has a key 2, the foreign code fails its signature');
SELECT is((SELECT status FROM tokens.verify_code('scope-a', (SELECT a1 FROM c))), 'valid',
          'rotation: codes of the previous key still verify');
SELECT tokens.retire_signing_key('scope-a', 1);
SELECT is((SELECT status FROM tokens.verify_code('scope-a', (SELECT a1 FROM c))), 'retired_key',
          'retirement: codes of a retired key no longer verify');
SELECT is(pgrst.err($$ SELECT tokens.retire_signing_key('scope-a', 2) $$), 'PT404 signing_key_not_found',
          'retirement: the active key cannot be retired');
SELECT is((SELECT count(*) FROM tokens.signing_keys WHERE seed IS NOT NULL), 2::bigint,
          'keys: only the two active keys keep a seed');

-- nobody but the owner touches the tables or the functions
SELECT is(ARRAY[pgrst.sql_as('anon', 'SELECT * FROM tokens.tokens'), pgrst.sql_as('kim', 'SELECT * FROM tokens.settings'),
                pgrst.sql_as('service', 'SELECT * FROM tokens.signing_keys'),
                pgrst.sql_as('kim', $$ SELECT tokens.issue('guest', 'x') $$),
                pgrst.sql_as('anon', $$ SELECT tokens.verify_code('scope-a', 'x') $$)],
          ARRAY['error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501'],
          'privileges: no API role reads the tables or calls the functions directly');

SELECT * FROM finish();
ROLLBACK;
