#!/usr/bin/python3
"""pgrst.py: call the startlijn API exactly as PostgREST 12 does, from outside the database.

A test driver, never part of the product. Per call it opens its own
transaction on its own connection and sends the statements PostgREST 12.2
sends for `POST /rpc/<fn>` (or `GET /rpc/<fn>?...`), in the same order:

  1. BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE    -- READ ONLY for a STABLE or
                                                         -- IMMUTABLE function and for GET
     (hasql-transaction's statement; the level is the function's or the role's
     default_transaction_isolation setting when it has one)
  2. select set_config('search_path', '"api", "public"', true),
            <set_config of the role's own settings (ALTER ROLE ... SET), if any>,
            set_config('role', <claims.role, 'anon' without a token>, true),
            set_config('request.jwt.claims', <the JWT's claims as JSON>, true),
            set_config('request.method', 'POST', true),
            set_config('request.path', '/rpc/<fn>', true),
            set_config('request.headers', <request headers, names lowercased, as JSON>, true),
            set_config('request.cookies', <cookies as JSON, '{}' without>, true)
            <, set_config of the function's statement_timeout /
               default_transaction_isolation settings, if any>
     (PostgREST.Query.setPgLocals)
  3. the call, with named arguments typed from the function's signature
     (PostgREST.Query.QueryBuilder.callPlanToQuery, Statements.prepareCall):
       WITH pgrst_source AS (
         SELECT pgrst_call.pgrst_scalar
           FROM (SELECT $1 AS json_data) pgrst_payload,
                LATERAL (SELECT "a", "b" FROM json_to_record(pgrst_payload.json_data)
                           AS _("a" uuid, "b" text) LIMIT 1) pgrst_body,
                LATERAL (SELECT "api"."fn"("a" := pgrst_body."a", "b" := pgrst_body."b") pgrst_scalar) pgrst_call)
       SELECT ..., coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null') AS body,
              nullif(current_setting('response.headers', true), '') AS response_headers,
              nullif(current_setting('response.status', true), '') AS response_status
         FROM (SELECT pgrst_source.pgrst_scalar FROM pgrst_source) _postgrest_t
     Only the arguments present in the body are passed (the others take their
     defaults). A function with a single unnamed json/jsonb parameter gets the
     raw body: "api"."fn"($1::json). Set-returning functions are aggregated to
     a JSON array (json_agg), TABLE/composite results as objects.
  4. COMMIT, with the role and the request settings still current (they are
     transaction-local, so deferred and constraint triggers run at COMMIT as
     the caller's role, as under PostgREST). An error at COMMIT is the call's
     error. Any earlier error: ROLLBACK. A serialization failure (40001) is
     retried, as hasql-transaction does.

Errors are mapped to HTTP statuses as PostgREST.Error.pgErrorStatus does
(PTnnn -> nnn; 23503, 23505 -> 409; 25006 -> 405; 42501 -> 401 for the anon
role, 403 otherwise; 42883, 42P01 -> 404; P0001 -> 400; 08 -> 503; 53 -> 503;
09, 25, 2D, 38, 39, 3B, 40, 54, 55, 57, 58, F0, HV, P0, XX -> 500; anything
else, e.g. 22xxx and 23514, -> 400). No matching function is PGRST202 (404),
several are PGRST203 (300), as in PostgREST's schema cache lookup (findProc).

Differences from a real PostgREST, none of which the API can observe:
statements go through libpq's simple protocol with the parameters inlined as
quoted literals (psycopg2) where PostgREST sends them as protocol parameters
of type unknown/json; the connection logs in as the superuser `postgres`
(libpq environment: PGHOST, PGPORT, PGUSER, PGDATABASE) where PostgREST logs in
as `authenticator` (set PGRST_DRIVER_USER=authenticator to do the same): in
both cases set_config('role', ...) is the only privilege the call uses. The
catalog lookups (the schema cache) and the resolution of demo callers to
claims run on a second connection, never inside the call's transaction.

Callers (`who`): 'anon' (no token), 'service' (a service_role token), a demo
user's lowercase first name ('anna', resolved through startlijn.profiles as
test/helpers/pgrst.sql's pgrst.claims does), a user's email, a user's uuid
(one not in startlijn.profiles is a brand-new user), a dict of claims (role
defaults to 'authenticated'; iat and exp default to now and an hour later),
or a JWT. For everyone but anon the driver signs an HS256 JWT with the
secret (jwt_secret, else PGRST_JWT_SECRET, else a test default; the command
line's --jwt-secret-file reads PostgREST's jwt-secret from a file) and sends
it as `Authorization: Bearer ...`; a JWT caller is sent as it is. PostgREST
verifies the token (HS256, signature, exp: otherwise 401 PGRST301) and the
claims it sets are the token's. This is the one implementation of callers
and tokens: test/tools/as.sh and test/tools/jwt.sh (`make run`'s dev server)
call this command line.

Library:
    from pgrst import Driver
    api = Driver()                                   # libpq environment
    r = api.call('anna', 'update_my_profile', {'phone': '+31612345678'})
    r['status'], r['body']                           # or r['code'], r['message'], r['details'], r['hint']
    api.post_raw('anon', 'stripe_webhook', raw_text, {'Stripe-Signature': ...})
    api.request('GET', '/rpc/my_profile', who='anna')
    api.curl("curl -X POST \"$API/rpc/...\" -H ... -d '...'", who='anna')
    api.su("SELECT ...", params)                     # a separate superuser query (rows)

Command line:
    python3 test/driver/pgrst.py --as anna POST /rpc/my_profile '{}'
    python3 test/driver/pgrst.py --as anna GET '/rpc/list_members?organization_id=00000000-0000-4000-b000-000000000001'
    python3 test/driver/pgrst.py --as anna -H 'Prefer: ...' POST /rpc/update_my_profile '{"phone": "+31612345678"}'
    python3 test/driver/pgrst.py --as anna curl -X POST "\$API/rpc/my_profile" -H "Authorization: Bearer \$TOKEN" -d '{}'
    python3 test/driver/pgrst.py --as anna --curl 'curl "$API/rpc/my_profile" -H "Authorization: Bearer $TOKEN"'
  prints "HTTP <status>" and the JSON body; exits 0 for a status below 400, 1 otherwise.
  In a curl command line $API, $TOKEN (a token of --as), $SERVICE_ROLE_KEY and
  the caller's environment are expanded; --set NAME=VALUE adds variables;
  `-d @file` and `--data-binary @file` read the file.
  --as takes anon, service, a demo first name, an email, a uuid, a JSON object
  of claims or a JWT. --headers '{"Name": "value"}' adds headers like -H.
  --jwt-secret-file FILE: the HS256 secret (PostgREST's jwt-secret) from FILE.
  --login ROLE: the call's connection logs in as ROLE (PGRST_DRIVER_USER).
  --plain (test/tools/as.sh): only the JSON body on stdout; on an error the
  message, details and hint as psql prints them and "HTTP <status> (SQLSTATE
  <code>)" (PostgREST's own errors: "HTTP <status> (PGRSTnnn)") on stderr,
  exit 1; with --sql the statements go to stderr as they are sent.
  --token [--ttl SECONDS] (test/tools/jwt.sh): print the JWT of --as instead
  of calling (anon: a role-only token, like Supabase's anon key).
  A caller that cannot be resolved, a bad argument or no connection: a
  message on stderr, exit 2.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import sys
import time
import urllib.parse

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # e.g. a pyenv python3 first on PATH: Debian's python3-psycopg2 is for /usr/bin/python3
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3') \
            and not os.environ.get('PGRST_DRIVER_REEXEC'):
        os.environ['PGRST_DRIVER_REEXEC'] = '1'
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    raise

DEFAULT_JWT_SECRET = 'startlijn-test-jwt-secret-0123456789abcdef'
ANON_ROLE = 'anon'
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
JWT_RE = re.compile(r'^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$')
CALLERS = 'anon, service, a demo user\'s first name, an email, a profile id, a JSON object of claims or a JWT'
# PostgREST 12's db-hoisted-tx-settings default
HOISTED = ('statement_timeout', 'plan_filter.statement_cost_limit', 'default_transaction_isolation')


class DriverError(Exception):
    pass


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def jwt_encode(claims, secret):
    head = b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}, separators=(',', ':')).encode())
    body = b64url(json.dumps(claims, separators=(',', ':')).encode())
    sig = hmac.new(secret.encode(), (head + '.' + body).encode(), hashlib.sha256).digest()
    return head + '.' + body + '.' + b64url(sig)


def is_jwt(who):
    return isinstance(who, str) and bool(JWT_RE.match(who))


def jwt_decode(token, secret):
    """The claims of an HS256 token signed with secret, or raise DriverError (PostgREST: 401 PGRST301)."""
    parts = token.split('.')
    if len(parts) != 3:
        raise DriverError('Expected 3 parts in JWT; got %d' % len(parts))
    try:
        alg = json.loads(b64url_decode(parts[0])).get('alg')
    except (ValueError, AttributeError):
        raise DriverError('JWT header unreadable')
    if alg != 'HS256':
        raise DriverError('JWT algorithm %s is not HS256' % alg)
    sig = hmac.new(secret.encode(), (parts[0] + '.' + parts[1]).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(b64url(sig), parts[2]):
        raise DriverError('JWSError JWSInvalidSignature')
    claims = json.loads(b64url_decode(parts[1]))
    if isinstance(claims.get('exp'), (int, float)) and claims['exp'] < time.time():
        raise DriverError('JWT expired')
    return claims


def http_status(sqlstate, message, authed):
    """PostgREST.Error.pgErrorStatus (v12.2)."""
    c = sqlstate or ''
    if c.startswith('08'):
        return 503
    if c.startswith('09'):
        return 500
    if c.startswith('0L') or c.startswith('0P'):
        return 403
    if c in ('23503', '23505'):
        return 409
    if c == '25006':
        return 405
    if c == '21000':
        return 400 if (message or '').endswith('requires a WHERE clause') else 500
    if c[:2] in ('25', '2D', '38', '39', '3B', '40'):
        return 500
    if c[:2] == '28':
        return 403
    if c == '53400':
        return 500
    if c.startswith('53'):
        return 503
    if c[:2] in ('54', '55', '58', 'F0', 'HV', 'XX'):
        return 500
    if c == '57P01':
        return 503
    if c.startswith('57'):
        return 500
    if c == 'P0001':
        return 400
    if c.startswith('P0'):
        return 500
    if c == '42883':
        return 406 if (message or '').startswith('function xmlagg(') else 404
    if c == '42P01':
        return 404
    if c == '42P17':
        return 500
    if c == '42501':
        return 403 if authed else 401
    if c.startswith('PT'):
        try:
            return int(c[2:])
        except ValueError:
            return 500
    return 400


def pg_ident(name):
    return '"' + name.replace('"', '""') + '"'


class Routine:
    def __init__(self, row):
        (self.schema, self.name, args, self.volatility, self.retset, self.composite,
         self.isolation, settings, self.media) = row
        # args: [[name, type, required, variadic], ...] in declaration order (input arguments only)
        self.params = [(a[0], a[1], a[2], a[3]) for a in (args or [])]
        self.settings = [tuple(s) for s in (settings or [])]

    @property
    def scalar(self):
        return not self.composite


class Driver:
    def __init__(self, dsn='', schema='api', extra_search_path=('public',), jwt_secret=None, login=None):
        self.schema = schema
        self.search_path = ', '.join(pg_ident(s) for s in (schema,) + tuple(extra_search_path))
        self.secret = jwt_secret or os.environ.get('PGRST_JWT_SECRET') or DEFAULT_JWT_SECRET
        self.dsn = dsn
        self.login = login or os.environ.get('PGRST_DRIVER_USER')
        self._conn = None                    # the calls (opened on first use)
        self._suconn = None                  # schema cache, callers, checks (opened on first use)
        self._routines = {}
        self._role_settings = {}
        self._callers = {}
        self.log = None                      # a list to record every statement sent, if set
        self.echo = None                     # a file to print every statement to as it is sent, if set

    @property
    def conn(self):
        if self._conn is None:
            self._conn = psycopg2.connect(self.dsn, **({'user': self.login} if self.login else {}))
            self._conn.autocommit = True     # BEGIN and COMMIT are sent explicitly, as hasql does
        return self._conn

    @property
    def suconn(self):
        if self._suconn is None:
            self._suconn = psycopg2.connect(self.dsn)
            self._suconn.autocommit = True
        return self._suconn

    # ---- the schema cache --------------------------------------------------
    def routines(self, fn):
        if fn not in self._routines:
            self._routines[fn] = [Routine(r) for r in self.su("""
                SELECT n.nspname, p.proname,
                       (SELECT json_agg(json_build_array(COALESCE(a.name, ''), a.type::regtype::text,
                                        a.idx <= (p.pronargs - p.pronargdefaults), COALESCE(a.mode = 'v', false))
                                        ORDER BY a.idx)
                          FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[]),
                                      COALESCE(p.proargnames, array_fill(NULL::text, ARRAY[p.pronargs])),
                                      COALESCE(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
                               WITH ORDINALITY AS a(type, name, mode, idx)
                         WHERE a.mode IN ('i', 'b', 'v')),
                       p.provolatile, p.proretset,
                       (t.typtype = 'c' OR COALESCE(p.proargmodes::text[] && '{t,b,o}', false)),
                       (SELECT lower(split_part(c, '=', 2)) FROM unnest(p.proconfig) c
                         WHERE c LIKE 'default_transaction_isolation=%%'),
                       (SELECT json_agg(json_build_array(split_part(c, '=', 1), substr(c, strpos(c, '=') + 1)))
                          FROM unnest(p.proconfig) c WHERE split_part(c, '=', 1) = ANY (%s)),
                       -- a domain named as a media type ("text/csv"): PostgREST 12's media type handlers
                       CASE WHEN t.typtype = 'd' AND t.typname LIKE '%%/%%' THEN t.typname END
                  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  JOIN pg_type t ON t.oid = p.prorettype
                 WHERE n.nspname = %s AND p.proname = %s AND p.prokind = 'f'
                   AND p.prorettype <> 'trigger'::regtype""", (list(HOISTED), self.schema, fn))]
        return self._routines[fn]

    def role_settings(self, role):
        """The role's own settings (ALTER ROLE ... SET) that PostgREST applies before set_config('role')."""
        if role not in self._role_settings:
            rows = self.su("""
                SELECT split_part(s, '=', 1), lower(substr(s, strpos(s, '=') + 1))
                  FROM pg_roles r, unnest(r.rolconfig) s
                 WHERE r.rolname = %s""", (role,))
            self._role_settings[role] = rows
        return self._role_settings[role]

    def reload(self):
        self._routines.clear()
        self._role_settings.clear()

    # ---- callers -----------------------------------------------------------
    def claims(self, who):
        """The claims of a caller's token (without iat/exp unless given), None for anon."""
        if isinstance(who, dict):
            c = dict(who)
            c.setdefault('role', 'authenticated')
            return c
        if who in (None, 'anon'):
            return None
        if who == 'service':
            return {'role': 'service_role'}
        if is_jwt(who):
            return jwt_decode(who, self.secret)
        if not isinstance(who, str) or not who:
            raise DriverError('unknown caller %r (%s)' % (who, CALLERS))
        if who not in self._callers:
            if UUID_RE.match(who):
                rows = self.su("SELECT id::text, email FROM startlijn.profiles WHERE id = %s::uuid", (who,))
                uid, email = (rows[0] if rows else (who, None))
            else:
                if '@' in who:
                    rows = self.su("SELECT id::text, email FROM startlijn.profiles WHERE email = %s", (who,))
                else:
                    rows = self.su("SELECT id::text, email FROM startlijn.profiles"
                                   " WHERE lower(split_part(full_name, ' ', 1)) = %s", (who,))
                if len(rows) != 1:
                    raise DriverError('unknown caller %r (%s)' % (who, CALLERS))
                uid, email = rows[0]
            c = {'sub': uid, 'role': 'authenticated', 'aud': 'authenticated'}
            if email:
                c['email'] = email
            self._callers[who] = c
        return dict(self._callers[who])

    def token(self, who, ttl=3600):
        """The JWT a client of this caller sends (a JWT caller: itself); None for anon."""
        if who in (None, 'anon'):
            return None
        return self.mint(who, ttl)

    def mint(self, who, ttl=3600):
        """An HS256 JWT for who, iat now and exp ttl seconds later unless the claims have them;
        anon: a role-only token (like Supabase's anon key)."""
        if is_jwt(who):
            return who
        c = {'role': ANON_ROLE} if who in (None, 'anon') else self.claims(who)
        now = int(time.time())
        c.setdefault('iat', now)
        c.setdefault('exp', now + int(ttl))
        return jwt_encode(c, self.secret)

    # ---- a superuser query, separate from the calls ------------------------
    def su(self, sql, params=None):
        with self.suconn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def su1(self, sql, params=None):
        rows = self.su(sql, params)
        return rows[0][0] if rows else None

    # ---- calls -------------------------------------------------------------
    def call(self, who, fn, args=None, headers=None):
        """POST /rpc/fn with a JSON object body."""
        return self.request('POST', '/rpc/' + fn, who=who, body=json.dumps(args if args is not None else {}),
                            headers=dict({'Content-Type': 'application/json'}, **(headers or {})))

    def post_raw(self, who, fn, body, headers=None, content_type='application/json'):
        """POST /rpc/fn with this exact body text (a webhook)."""
        return self.request('POST', '/rpc/' + fn, who=who, body=body,
                            headers=dict({'Content-Type': content_type}, **(headers or {})))

    def get(self, who, fn, params=None, headers=None):
        q = ('?' + urllib.parse.urlencode(params)) if params else ''
        return self.request('GET', '/rpc/' + fn + q, who=who, headers=headers)

    def request(self, method, path, who=None, body=None, headers=None):
        """One HTTP request as PostgREST would serve it: {'status', 'body'} or {'status', 'code', 'message', 'details', 'hint'}."""
        hdrs = {}
        for k, v in (headers or {}).items():
            hdrs[k.lower()] = v
        if who is not None and who != 'anon' and 'authorization' not in hdrs:
            hdrs['authorization'] = 'Bearer ' + self.token(who)
        # PostgREST: the claims are those of the verified bearer token; none: the anon role
        auth = hdrs.get('authorization', '')
        claims = {}
        if auth.lower().startswith('bearer '):
            try:
                claims = jwt_decode(auth[7:].strip(), self.secret)
            except (DriverError, ValueError) as e:
                return self._pgrst_error(401, 'PGRST301', str(e), None, None)
        role = claims.get('role') or ANON_ROLE
        claims = dict(claims, role=role)
        url = urllib.parse.urlsplit(path)
        m = re.match(r'^/rpc/([^/]+)$', url.path)
        if not m:
            return self._pgrst_error(404, 'PGRST125', 'Invalid path specified in request URL', None, None)
        fn = urllib.parse.unquote(m.group(1))
        method = method.upper()
        ctype = (hdrs.get('content-type') or 'application/json').split(';')[0].strip().lower()
        profile = hdrs.get('content-profile' if method == 'POST' else 'accept-profile')
        if profile is not None and profile != self.schema:
            return self._pgrst_error(406, 'PGRST106', 'The schema must be one of the following: ' + self.schema,
                                     None, None)
        hdrs.setdefault('host', 'localhost:3000')
        hdrs.setdefault('user-agent', 'startlijn-pgrst-driver/1.0')
        hdrs.setdefault('accept', '*/*')
        if body is not None:
            hdrs.setdefault('content-length', str(len(body.encode())))
        cookies = {}
        if 'cookie' in hdrs:
            for part in hdrs.pop('cookie').split(';'):
                if '=' in part:
                    k, v = part.split('=', 1)
                    cookies[k.strip()] = v.strip()
        # the arguments: query string for GET, the body's keys for POST
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        raw = None
        if method in ('GET', 'HEAD'):
            args = {k: v for k, v in query}
            keys = set(args)
            read_only_request = True
        elif method == 'POST':
            read_only_request = False
            if ctype == 'application/x-www-form-urlencoded':
                args = {k: v for k, v in urllib.parse.parse_qsl(body or '', keep_blank_values=True)}
                keys = set(args)
            else:
                raw = body if body not in (None, '') else '{}'
                try:
                    parsed = json.loads(raw)
                except ValueError as e:
                    return self._pgrst_error(400, 'PGRST102', 'Empty or invalid json', str(e), None)
                args = parsed if isinstance(parsed, dict) else {}
                keys = set(args) if isinstance(parsed, dict) else set()
        else:
            return self._pgrst_error(405, 'PGRST101', 'Only GET and POST verbs are allowed for functions', None, None)
        rout = self._find(fn, keys, method == 'POST', ctype)
        if isinstance(rout, dict):
            return rout
        # the statements
        iso = rout.isolation or dict(self.role_settings(role)).get('default_transaction_isolation') or 'read committed'
        iso = {'repeatable read': 'REPEATABLE READ', 'serializable': 'SERIALIZABLE'}.get(iso, 'READ COMMITTED')
        mode = 'READ ONLY' if read_only_request or rout.volatility in ('s', 'i') else 'READ WRITE'
        begin = 'BEGIN ISOLATION LEVEL %s %s' % (iso, mode)
        locals_ = [('search_path', self.search_path)]
        locals_ += [(k, v) for k, v in self.role_settings(role) if k != 'default_transaction_isolation']
        locals_ += [('role', role),
                    ('request.jwt.claims', json.dumps(claims, separators=(',', ':'), sort_keys=True)),
                    ('request.method', method),
                    ('request.path', url.path),
                    ('request.headers', json.dumps(hdrs, separators=(',', ':'))),
                    ('request.cookies', json.dumps(cookies, separators=(',', ':')))]
        locals_ += list(rout.settings)
        setsql = 'select ' + ', '.join('set_config(%s, %s, true)' for _ in locals_)
        setparams = [x for kv in locals_ for x in kv]
        # a function returning a media type domain answers its text as that
        # type when the client asks for it (Accept: text/csv)
        accept = hdrs.get('accept', '*/*')
        media = rout.media if rout.media and rout.scalar and not rout.retset and rout.media in accept else None
        callsql, callparams = self._call_sql(rout, keys, raw, args, media)
        for attempt in range(5):
            res = self._run(begin, setsql, setparams, callsql, callparams, role, media)
            if res.get('code') != '40001':
                break
        res['role'] = role
        return res

    def _find(self, fn, keys, is_post, ctype):
        """PostgREST.Plan.findProc."""
        procs = self.routines(fn)
        matched, fallback = [], []
        for p in procs:
            named = [x for x in p.params if x[0]]
            if p.params and len(named) != len(p.params):
                if len(p.params) == 1 and is_post and ctype == 'application/json' and p.params[0][1] in ('json', 'jsonb'):
                    fallback.append(p)
                continue
            req = {x[0] for x in p.params if x[2]}
            opt = {x[0] for x in p.params if not x[2]}
            if not p.params:
                ok = not keys
            elif not opt:
                ok = keys == req
            elif not req:
                ok = keys <= opt
            else:
                ok = (keys - opt) == req
            if ok:
                matched.append(p)
        if len(matched) == 1:
            return matched[0]
        if not matched and len(fallback) == 1:
            return fallback[0]
        if len(matched) > 1 or len(fallback) > 1:
            return self._pgrst_error(300, 'PGRST203', 'Could not choose the best candidate function between: '
                                     + ', '.join('%s.%s' % (self.schema, fn) for _ in matched or fallback), None, None)
        prms = ', '.join(sorted(keys))
        func = '%s.%s' % (self.schema, fn)
        det = ('Searched for the function %s%s%s, but no matches were found in the schema cache.'
               % (func, (' with parameter' + ('s ' if len(keys) > 1 else ' ') + prms) if keys else ' without parameters',
                  ' or with a single unnamed json/jsonb parameter' if is_post and ctype == 'application/json' else ''))
        return self._pgrst_error(404, 'PGRST202', 'Could not find the function %s(%s) in the schema cache' % (func, prms),
                                 det, None)

    def _call_sql(self, rout, keys, raw, args, media=None):
        qi = pg_ident(rout.schema) + '.' + pg_ident(rout.name)
        single = len(rout.params) == 1 and rout.params[0][0] == ''
        params = []
        if single:
            call_arg = '%s::' + rout.params[0][1]
            params.append(raw)
            frm = None
        else:
            prms = [p for p in rout.params if p[0] in keys]
            call_arg = ', '.join(('VARIADIC ' if p[3] else '') + pg_ident(p[0]) + ' := pgrst_body.' + pg_ident(p[0])
                                 for p in prms)
            if prms:
                # POST: the body as sent; GET and form posts: PostgREST builds a JSON object of the
                # (text) parameters (jsonRpcParams)
                payload = raw if raw is not None else json.dumps(args)
                frm = ('FROM (SELECT %s::json AS json_data) pgrst_payload, '
                       'LATERAL (SELECT ' + ', '.join(pg_ident(p[0]) for p in prms) +
                       ' FROM json_to_record(pgrst_payload.json_data) AS _(' +
                       ', '.join(pg_ident(p[0]) + ' ' + p[1] for p in prms) + ') LIMIT 1) pgrst_body, LATERAL ')
                params.append(payload)
            else:
                frm = 'FROM '
        if rout.scalar:
            call = '(SELECT ' + qi + '(' + call_arg + ') pgrst_scalar) pgrst_call'
            cols = 'pgrst_call.pgrst_scalar'
        else:
            call = qi + '(' + call_arg + ') pgrst_call'
            cols = 'pgrst_call.*'
        source = 'SELECT ' + cols + ' ' + (frm or 'FROM ') + call
        if media:
            body = "pg_catalog.string_agg(_postgrest_t.pgrst_scalar::text, '')"
            sel = 'SELECT pgrst_source.pgrst_scalar FROM pgrst_source'
        elif rout.scalar and rout.retset:
            body = "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')"
            sel = 'SELECT pgrst_source.pgrst_scalar FROM pgrst_source'
        elif rout.scalar:
            body = "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')"
            sel = 'SELECT pgrst_source.pgrst_scalar FROM pgrst_source'
        elif rout.retset:
            body = "coalesce(json_agg(_postgrest_t), '[]')"
            sel = 'SELECT pgrst_source.* FROM pgrst_source'
        else:
            body = "coalesce(json_agg(_postgrest_t)->0, 'null')"
            sel = 'SELECT pgrst_source.* FROM pgrst_source'
        sql = ('WITH pgrst_source AS (' + source + ') '
               'SELECT null::bigint AS total_result_set, ' +
               ('1' if not rout.retset else 'pg_catalog.count(_postgrest_t)') + ' AS page_total, ' +
               body + "::text AS body, nullif(current_setting('response.headers', true), '') AS response_headers, "
               "nullif(current_setting('response.status', true), '') AS response_status, "
               "'' AS response_inserted FROM (" + sel + ') _postgrest_t')
        return sql, params

    def _run(self, begin, setsql, setparams, callsql, callparams, role, media=None):
        cur = self.conn.cursor()
        step = 'begin'
        try:
            self._exec(cur, begin)
            step = 'set_config'
            self._exec(cur, setsql, setparams)
            step = 'call'
            self._exec(cur, callsql, callparams)
            row = cur.fetchone()
            step = 'commit'
            self._exec(cur, 'COMMIT')
        except psycopg2.Error as e:
            if self.conn.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                try:
                    self._exec(cur, 'ROLLBACK')
                except psycopg2.Error:
                    pass
            d = e.diag
            res = {'status': http_status(e.pgcode, d.message_primary, role != ANON_ROLE),
                   'code': e.pgcode, 'message': d.message_primary, 'details': d.message_detail,
                   'hint': d.message_hint}
            if step == 'commit':
                res['at_commit'] = True
            if d.context:
                res['context'] = d.context
            return res
        finally:
            cur.close()
        _, _, body, resp_headers, resp_status, _ = row
        status = int(resp_status) if resp_status else 200
        if media:
            res = {'status': status, 'body': body, 'content_type': media}
        else:
            res = {'status': status, 'body': json.loads(body) if body is not None else None}
        if resp_headers:
            res['headers'] = json.loads(resp_headers)
        return res

    def _exec(self, cur, sql, params=None):
        if self.log is not None or self.echo is not None:
            text = cur.mogrify(sql, params).decode() if params else sql
            if self.log is not None:
                self.log.append(text)
            if self.echo is not None:
                self.echo.write(text.rstrip() + ';\n')
                self.echo.flush()
        cur.execute(sql, params)

    @staticmethod
    def _pgrst_error(status, code, message, details, hint):
        return {'status': status, 'code': code, 'message': message, 'details': details, 'hint': hint}

    # ---- curl command lines (docs/api.md) -----------------------------------
    def curl(self, command, who=None, variables=None):
        """Run a curl command line as written in the docs: {'status', ...} plus 'request' (method, path)."""
        method, path, headers, body = self.parse_curl(command, who, variables)
        res = self.request(method, path, body=body, headers=headers)
        res['request'] = '%s %s' % (method, path)
        return res

    def parse_curl(self, command, who=None, variables=None):
        env = dict(os.environ)
        env.setdefault('API', 'http://127.0.0.1:3000')
        if who not in (None, 'anon'):
            env['TOKEN'] = self.token(who)
        env['SERVICE_ROLE_KEY'] = self.token('service')
        env.update(variables or {})
        text = re.sub(r'\\\n', ' ', command)
        text = re.sub(r'\$\{(\w+)\}|\$(\w+)', lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)
        argv = shlex.split(text, comments=True)
        if argv and argv[0] == 'curl':
            argv = argv[1:]
        method, url, headers, data, get_mode = None, None, {}, None, False
        i = 0
        while i < len(argv):
            a = argv[i]
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if a in ('-X', '--request'):
                method, i = nxt, i + 2
            elif a in ('-H', '--header'):
                k, _, v = nxt.partition(':')
                headers[k.strip()] = v.strip()
                i += 2
            elif a in ('-d', '--data', '--data-raw', '--data-binary', '--data-ascii'):
                v = nxt
                if a != '--data-raw' and v.startswith('@'):
                    with open(v[1:], 'rb') as f:
                        v = f.read().decode()
                    if a != '--data-binary':
                        v = v.replace('\r', '').replace('\n', '')
                data = v if data is None else data + '&' + v
                i += 2
            elif a in ('-G', '--get'):
                get_mode, i = True, i + 1
            elif a in ('-s', '--silent', '-i', '--include', '-v', '-S', '--fail', '-f'):
                i += 1
            elif a.startswith('-'):
                raise DriverError('unsupported curl option %s' % a)
            else:
                url, i = a, i + 1
        if url is None:
            raise DriverError('no URL in the curl command')
        u = urllib.parse.urlsplit(url)
        path = u.path
        m = re.search(r'/rpc/.*$', path)
        path = m.group(0) if m else path
        if u.query:
            path += '?' + u.query
        if get_mode and data is not None:
            path += ('&' if '?' in path else '?') + data
            data = None
        if method is None:
            method = 'POST' if data is not None else 'GET'
        if data is not None and not any(k.lower() == 'content-type' for k in headers):
            headers['Content-Type'] = 'application/x-www-form-urlencoded'   # curl's default for -d
        return method, path, headers, data


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description='Call the startlijn API as PostgREST 12 does (see the module docstring).')
    ap.add_argument('--as', dest='who', default='anon',
                    help="anon, service, a demo first name, an email, a uuid, a JSON object of claims or a JWT")
    ap.add_argument('-H', '--header', action='append', default=[], help="'Name: value'")
    ap.add_argument('--headers', help='request headers as a JSON object, after those of -H')
    ap.add_argument('--set', action='append', default=[], help='NAME=VALUE for a curl command line')
    ap.add_argument('--curl', help='a whole curl command line, as in docs/api.md')
    ap.add_argument('--sql', action='store_true', help='also print the statements sent')
    ap.add_argument('--plain', action='store_true',
                    help='the JSON body alone on stdout; errors and --sql on stderr (test/tools/as.sh)')
    ap.add_argument('--jwt-secret-file', help="the JWT secret (PostgREST's jwt-secret) from this file")
    ap.add_argument('--login', help='the role the call\'s connection logs in as (PGRST_DRIVER_USER)')
    ap.add_argument('--token', action='store_true', help='print the JWT of --as, call nothing (test/tools/jwt.sh)')
    ap.add_argument('--ttl', type=int, default=3600, help='--token: seconds until exp (default 3600)')
    ap.add_argument('rest', nargs=argparse.REMAINDER, help='METHOD PATH [BODY], or curl ARGS...')
    a = ap.parse_args(argv)
    try:
        return run(ap, a)
    except BrokenPipeError:                  # e.g. | head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DriverError, ValueError, OSError, psycopg2.Error) as e:
        print('pgrst.py: %s' % (str(e).strip() or type(e).__name__), file=sys.stderr)
        return 2


def run(ap, a):
    secret = None
    if a.jwt_secret_file:
        with open(a.jwt_secret_file) as f:
            secret = f.read().strip()
        if not secret:
            raise DriverError('no JWT secret in %s' % a.jwt_secret_file)
    who = a.who
    if who.startswith('{'):
        who = json.loads(who)
        if not isinstance(who, dict):
            raise DriverError('--as: a JSON object of claims expected')
    api = Driver(jwt_secret=secret, login=a.login)
    if a.token:
        if a.rest:
            ap.print_usage(sys.stderr)
            return 2
        print(api.mint(who, a.ttl))
        return 0
    headers = {}
    for h in a.header:
        if ':' not in h:
            raise DriverError("-H: 'Name: value' expected, got %r" % h)
        k, v = h.split(':', 1)
        headers[k.strip()] = v.strip()
    if a.headers:
        extra = json.loads(a.headers)
        if not isinstance(extra, dict):
            raise DriverError('--headers: a JSON object expected')
        for k, v in extra.items():
            for old in [x for x in headers if x.lower() == k.lower()]:
                del headers[old]
            headers[k] = v if isinstance(v, str) else json.dumps(v)
    if a.sql:
        if a.plain:
            api.echo = sys.stderr
            sys.stderr.write('-- logged in as %s\n' % api.conn.info.user)
        else:
            api.log = []
    variables = dict(s.split('=', 1) for s in a.set)
    if a.curl or (a.rest and a.rest[0] == 'curl'):
        cmd = a.curl or ' '.join(shlex.quote(x) for x in a.rest)
        res = api.curl(cmd, who=who, variables=variables)
    elif len(a.rest) in (2, 3):
        body = a.rest[2] if len(a.rest) == 3 else None
        if body is not None and not any(k.lower() == 'content-type' for k in headers):
            headers['Content-Type'] = 'application/json'
        res = api.request(a.rest[0], a.rest[1], who=who, body=body, headers=headers)
    else:
        ap.print_usage(sys.stderr)
        return 2
    if a.plain:
        return print_plain(res)
    if a.sql:
        for s in api.log:
            print(s.rstrip() + ';')
    print('HTTP %d' % res['status'])
    out = {'body': res['body']} if 'body' in res else {k: res.get(k) for k in ('code', 'message', 'details', 'hint')}
    print(json.dumps(out['body'] if 'body' in out else out, indent=2, ensure_ascii=False))
    return 0 if res['status'] < 400 else 1


def print_plain(res):
    """test/tools/as.sh's output: the body on stdout; an error as psql prints it, and the HTTP status, on stderr."""
    if 'body' in res:
        if res.get('content_type'):
            sys.stdout.write(res['body'] or '')
        else:
            print(json.dumps(res['body'], ensure_ascii=False))
        if res['status'] < 400:
            return 0
        print('HTTP %d' % res['status'], file=sys.stderr)
        return 1
    for label, key in (('ERROR', 'message'), ('DETAIL', 'details'), ('HINT', 'hint')):
        if res.get(key):
            print('%s:  %s' % (label, res[key]), file=sys.stderr)
    code = res.get('code') or ''
    print('HTTP %d (%s)' % (res['status'], code if code.startswith('PGRST') else 'SQLSTATE ' + code), file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
