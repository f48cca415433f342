"""pgrst_http.py: the Supabase API gateway and PostgREST 12 in front of the
test cluster, over HTTP, for the relay tests (test/relay/run.py). A test
tool, never part of the product.

    POST /rest/v1/rpc/<fn>          (what a relay and a provider's webhook call)

The gateway part (Kong's key-auth on /rest/v1, as Supabase configures it):
the request must carry a known API key, in the `apikey` header or the
`apikey` query parameter (providers' webhooks cannot send headers); unknown
or missing: 401 as the gateway answers. The key is then removed
(hide_credentials) and /rest/v1 stripped before PostgREST sees the request.

The PostgREST part is test/driver/pgrst.py's Driver.request, the same code
the end-to-end suites use: the role and claims from the verified bearer
token (none: anon), request.headers and request.jwt.claims set
transaction-locally, one transaction per call, named arguments typed from
the signature, COMMIT under the caller's role, PTnnn -> HTTP nnn. Each
request thread has its own Driver (its own connections). The answer is
PostgREST's: the JSON body with the status, or {code, message, details,
hint}.

Fault injection: fail_next[fn] = n answers the next n calls of fn with 503
before they reach PostgREST (a gateway or network failure), so a test can
make a relay lose the answer of a call."""

import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'driver'))
from pgrst import Driver  # noqa: E402


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api_keys, jwt_secret=None):
        super().__init__(('127.0.0.1', 0), Handler)
        self.api_keys = set(api_keys)
        self.jwt_secret = jwt_secret
        self.local = threading.local()
        self.lock = threading.Lock()
        self.fail_next = {}
        self.calls = []                       # (fn, role, HTTP status) of every call that reached PostgREST
        self.drivers = []

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]

    def driver(self):
        d = getattr(self.local, 'driver', None)
        if d is None:
            d = self.local.driver = Driver(jwt_secret=self.jwt_secret)
            with self.lock:
                self.drivers.append(d)
        return d

    def take_failure(self, fn):
        with self.lock:
            n = self.fail_next.get(fn, 0)
            if n > 0:
                self.fail_next[fn] = n - 1
                return True
        return False

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        for d in self.drivers:
            for c in (d._conn, d._suconn):
                if c is not None:
                    c.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'startlijn-test-gateway/1.0'

    def log_message(self, *args):
        pass

    def handle(self):
        # one connection per thread: its Driver (and database connections) ends with it
        try:
            super().handle()
        finally:
            gw = self.server
            d = getattr(gw.local, 'driver', None)
            if d is not None:
                gw.local.driver = None
                with gw.lock:
                    gw.drivers.remove(d)
                for c in (d._conn, d._suconn):
                    if c is not None:
                        c.close()

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(405, {'code': 'PGRST101', 'message': 'this test gateway serves POST /rest/v1/rpc/<fn> only'})

    def do_POST(self):
        gw = self.server
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode() if n else ''
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        # the gateway: key-auth with hide_credentials
        key = self.headers.get('apikey') or dict(query).get('apikey')
        if not key:
            return self.answer(401, {'message': 'No API key found in request'})
        if key not in gw.api_keys:
            return self.answer(401, {'message': 'Invalid API key'})
        query = [(k, v) for k, v in query if k != 'apikey']
        m = re.match(r'^/rest/v1(/rpc/[^/]+)$', url.path)
        if not m:
            return self.answer(404, {'message': 'no Route matched with those values'})
        fn = urllib.parse.unquote(m.group(1)[5:])
        if gw.take_failure(fn):
            return self.answer(503, {'message': 'upstream unavailable (injected by the test)'})
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ('apikey', 'content-length', 'connection')}
        path = m.group(1) + ('?' + urllib.parse.urlencode(query) if query else '')
        res = gw.driver().request('POST', path, body=body, headers=headers)
        with gw.lock:
            gw.calls.append((fn, res.get('role'), res['status']))
        if 'body' in res:
            return self.answer(res['status'], res['body'])
        return self.answer(res['status'], {k: res.get(k) for k in ('code', 'message', 'details', 'hint')})
