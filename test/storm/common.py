"""Shared by the storm's load generator, checker and fixture (test/storm/).

Every API call goes through the PostgREST-exact driver (test/driver/pgrst.py):
one transaction per call on the client's own connection, the caller's role
and claims set transaction-locally, COMMIT under that role. A client records
each call with its outcome:

  ok      the COMMIT was acknowledged: the call's effects must be there, once
  error   the server answered an error: the transaction rolled back, nothing
          of it may be there
  lost    the connection died before COMMIT was sent: nothing may be there
  doubt   the connection died while COMMIT was in flight (a kill): the call
          may or may not have committed, and either way exactly once
  refused no connection could be opened (the server is down): not a call
"""

import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'driver'))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))
import psycopg2  # noqa: E402
from pgrst import Driver  # noqa: E402

ORG1 = '00000000-0000-4000-b000-000000000001'
ORG2 = '00000000-0000-4000-b000-000000000002'
ORG3 = '00000000-0000-4000-b000-000000000003'
ANNA = {'sub': '00000000-0000-4000-a000-000000000001', 'email': 'anna@example.com'}   # owner of ORG1
BRAM = {'sub': '00000000-0000-4000-a000-000000000002', 'email': 'bram@example.com'}   # admin of ORG1
DAAN = {'sub': '00000000-0000-4000-a000-000000000004', 'email': 'daan@example.com'}   # finance of ORG1

# connection failures: the server went away or terminated the backend
CONN_CODES = ('57P01', '57P02', '57P03')


def outcome(res, conn_failed):
    """ok / error / lost / doubt for a driver result (see the module docstring)."""
    code = res.get('code')
    if 'body' in res and res['status'] < 400:
        return 'ok'
    if conn_failed or code is None or (code or '').startswith('08') or code in CONN_CODES:
        return 'doubt' if res.get('at_commit') else 'lost'
    return 'error'


class Journal:
    """What every client saw: (op, outcome, data) records, appended from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []
        self.calls = 0
        self.refused = 0
        self.by_outcome = {'ok': 0, 'error': 0, 'lost': 0, 'doubt': 0}

    def add(self, op, out, **data):
        with self.lock:
            if out == 'refused':         # no connection could be opened: not a call
                self.refused += 1
                return
            self.rows.append((op, out, data))
            self.calls += 1
            self.by_outcome[out] = self.by_outcome.get(out, 0) + 1

    def of(self, op, out=None):
        return [d for (o, x, d) in self.rows if o == op and (out is None or x == out)]

    def outcomes(self, op):
        return [(x, d) for (o, x, d) in self.rows if o == op]


class Client:
    """A client: one driver (one connection for its calls), the shared schema cache."""

    def __init__(self, cache):
        self.api = Driver()
        self.api._routines = cache['routines']
        self.api._role_settings = cache['roles']
        self.pid = None            # the backend of the call in flight (for the killer)

    def call(self, who, fn, args=None, headers=None, raw=None):
        conn_failed = False
        opened = False
        try:
            if self.api._conn is None:
                c = self.api.conn
                self.pid = c.get_backend_pid()
            opened = True
            if raw is not None:
                res = self.api.post_raw(who, fn, raw, headers)
            else:
                res = self.api.call(who, fn, args, headers)
        except psycopg2.Error as e:
            # the connection could not be opened (nothing was sent) or broke outside the driver's handling
            # (when the break came inside the call, where is unknown: in doubt)
            res = {'status': 503, 'code': getattr(e, 'pgcode', None), 'message': str(e), 'at_commit': opened}
            conn_failed = True
            if not opened:
                return res, 'refused'

        if self.api._conn is not None and self.api._conn.closed:
            self.api._conn = None
            self.pid = None
            conn_failed = True
        return res, outcome(res, conn_failed)

    def sql(self, sql, params=None):
        """One statement in its own transaction on the client's connection (a service's own SQL call):
        (rows or None, outcome)."""
        step = 'begin'
        try:
            if self.api._conn is None:
                try:
                    c = self.api.conn
                except psycopg2.OperationalError:
                    return None, 'refused'
                self.pid = c.get_backend_pid()
            cur = self.api.conn.cursor()
            cur.execute('BEGIN')
            step = 'call'
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            step = 'commit'
            cur.execute('COMMIT')
            return rows, 'ok'
        except psycopg2.Error as e:
            code = e.pgcode
            conn = self.api._conn
            if conn is not None and not conn.closed:
                try:
                    conn.cursor().execute('ROLLBACK')
                except psycopg2.Error:
                    pass
            if conn is not None and conn.closed:
                self.api._conn = None
                self.pid = None
                return None, ('doubt' if step == 'commit' else 'lost')
            if code is None or code.startswith('08') or code in CONN_CODES:
                return None, ('doubt' if step == 'commit' else 'lost')
            return {'code': code, 'message': e.diag.message_primary, 'details': e.diag.message_detail}, 'error'

    def close(self):
        for c in (self.api._conn, self.api._suconn):
            try:
                if c is not None:
                    c.close()
            except psycopg2.Error:
                pass


def su_connect():
    c = psycopg2.connect('')
    c.autocommit = True
    return c


def su(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def su1(conn, sql, params=None):
    rows = su(conn, sql, params)
    return rows[0][0] if rows else None
