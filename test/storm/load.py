"""The storm's mixed load: CLIENTS threads, each a client with its own
connection calling the API through the PostgREST-exact driver (or, for the
token service, its own SQL in its own transaction), recording every call in
the journal (common.Journal) with what it saw.

The mix (weights in MIX):
  box office   hold_capacity on pools that sell out (one or two lines, all or
               nothing), then confirm_hold (sometimes twice), release_hold or
               nothing (the hold runs out); return_capacity_units of a confirmed one
  waitlist     a new participant joins a sold-out pool's waitlist; later asks
               my_waitlist, and the box office confirms an offer (a hold in their name)
  checkout     a guest reserves (api.reserve), checks out (api.checkout), the
               relay records the provider's id (record_provider_payment, service
               role), Stripe posts payment_intent.succeeded, signed, as anon;
               sometimes payment_intent.processing first, sometimes after
               (reordered), sometimes the same delivery twice; or the guest gives
               the reservation back (release_reservation)
  replay       a delivery another client sent, again (a provider's retry)
  refund       finance cancels a paid order with a full or partial refund
               (cancel_order); Stripe's refund.updated succeeded follows
  tokens       a single-use token is issued (tokens.issue); two clients race to
               redeem it (tokens.redeem)
  profile      a user changes their phone number (update_my_profile, audited)
"""

import json
import os
import random
import signal
import threading
import time
import uuid

from common import BRAM, DAAN, ORG1, Client, psycopg2, su, su_connect
from lib import stripe_headers, stripe_obj, stripe_pi

MIX = (('box', 22), ('waitlist', 4), ('offer', 4), ('checkout', 30), ('replay', 5), ('refund', 8),
       ('token', 14), ('profile', 13))


def body(r):
    return r.get('body') if isinstance(r.get('body'), dict) else {}


def code_of(r):
    d = r.get('details') or ''
    return d.split(':', 1)[0] if ':' in d else r.get('code')


class Shared:
    def __init__(self):
        self.lock = threading.Lock()
        self.paid = []          # paid orders a refund may take
        self.deliveries = []    # webhook bodies sent (replays)
        self.tokens = []        # [token_id, token, subject, attempts left]
        self.waiters = []       # (claims, entry_id)

    def push(self, lst, x, cap=2000):
        with self.lock:
            lst.append(x)
            if len(lst) > cap:
                del lst[0]

    def pop(self, lst, rnd):
        with self.lock:
            if not lst:
                return None
            return lst.pop(rnd.randrange(len(lst)))


class Worker(threading.Thread):
    def __init__(self, n, load):
        super().__init__(daemon=True, name='storm-client-%d' % n)
        self.n = n
        self.load = load
        self.rnd = random.Random(load.seed * 1000 + n)
        self.cl = Client(load.f['cache'])
        self.cl.api.dsn = 'application_name=storm-client'
        self.user = load.f['users'][n]
        self.seq = load.profile_seq.get(n, 0)
        self.ops = [name for name, w in MIX for _ in range(w)]

    def run(self):
        J = self.load.journal
        while not self.load.stop.is_set():
            op = self.rnd.choice(self.ops)
            try:
                getattr(self, 'op_' + op)()
            except Exception as e:  # a bug in the generator itself: count it, do not hide it
                J.add('generator_error', 'error', op=op, error='%s: %s' % (type(e).__name__, e))
                time.sleep(0.05)
        self.load.profile_seq[self.n] = self.seq
        self.cl.close()

    def call(self, op, who, fn, args=None, raw=None, headers=None, **data):
        r, o = self.cl.call(who, fn, args, headers=headers, raw=raw)
        if o == 'refused':                 # no connection (the server is down): nothing was sent
            time.sleep(0.05)
        if o != 'ok':
            data['code'] = code_of(r)
        if o in ('lost', 'doubt') and self.cl.api._conn is None:
            time.sleep(0.02)           # the server is down or the backend was terminated: reconnect
        return r, o, data

    # --- box office ---------------------------------------------------------
    def op_box(self):
        J, rnd, pools = self.load.journal, self.rnd, self.load.f['pools']
        x = rnd.random()
        if x < 0.7:
            lines = [{'pool_id': pools[rnd.randrange(2)], 'quantity': rnd.randint(1, 3)}]
        elif x < 0.9:
            lines = [{'pool_id': pools[0], 'quantity': 1}, {'pool_id': pools[1], 'quantity': rnd.randint(1, 2)}]
        else:
            lines = [{'pool_id': pools[2], 'quantity': rnd.randint(1, 4)}]
        key = str(uuid.uuid4())
        r, o, d = self.call('hold', BRAM, 'hold_capacity', dict(organization_id=ORG1, lines=lines, ttl='3 minutes',
                                                               holder='storm-box', idempotency_key=key))
        hold = body(r).get('hold_id')
        J.add('hold', o, key=key, lines=lines, hold_id=hold, **d)
        if o != 'ok':
            return
        x = rnd.random()
        if x < 0.6:
            r, o, d = self.call('confirm', BRAM, 'confirm_hold', dict(organization_id=ORG1, hold_id=hold))
            allocs = sorted(a['allocation_id'] for a in (body(r).get('allocations') or []))
            J.add('confirm', o, hold_id=hold, allocations=allocs, **d)
            if o == 'ok' and rnd.random() < 0.15:
                r2, o2, d2 = self.call('confirm', BRAM, 'confirm_hold', dict(organization_id=ORG1, hold_id=hold))
                again = sorted(a['allocation_id'] for a in (body(r2).get('allocations') or []))
                J.add('confirm', o2, hold_id=hold, allocations=again, repeat=True, **d2)
            if o == 'ok' and allocs and rnd.random() < 0.15:
                r, o, d = self.call('return', BRAM, 'return_capacity_units', dict(
                    organization_id=ORG1, allocation_id=allocs[0], quantity=1, reason='storm'))
                J.add('return', o, allocation_id=allocs[0], quantity=1, **d)
        elif x < 0.85:
            r, o, d = self.call('release', BRAM, 'release_hold', dict(organization_id=ORG1, hold_id=hold,
                                                                     reason='storm'))
            J.add('release', o, hold_id=hold, **d)
        # else: left to run out

    # --- waitlist -------------------------------------------------------------
    def op_waitlist(self):
        who = {'sub': str(uuid.uuid4()), 'email': 'wacht-%s@example.nl' % uuid.uuid4().hex[:10]}
        pool = self.load.f['pools'][self.rnd.randrange(2)]
        r, o, d = self.call('wl_join', who, 'join_waitlist', dict(organization_id=ORG1, pool_id=pool, quantity=1))
        self.load.journal.add('wl_join', o, holder=who['sub'], pool=pool, entry_id=body(r).get('entry_id'), **d)
        if o == 'ok':
            self.load.shared.push(self.load.shared.waiters, (who, body(r).get('entry_id')))

    def op_offer(self):
        w = self.load.shared.pop(self.load.shared.waiters, self.rnd)
        if w is None:
            return
        who, entry = w
        r, o, d = self.call('my_waitlist', who, 'my_waitlist')
        if o != 'ok':
            return
        entries = r.get('body') if isinstance(r.get('body'), list) else (body(r).get('entries') or [])
        offer = [e for e in entries if isinstance(e, dict) and e.get('state') == 'offered' and e.get('hold_id')]
        if offer:
            # a pool's offer is a hold in the participant's name; the box office confirms it
            hold = offer[0]['hold_id']
            r, o, d = self.call('confirm', BRAM, 'confirm_hold', dict(organization_id=ORG1, hold_id=hold))
            allocs = sorted(a['allocation_id'] for a in (body(r).get('allocations') or []))
            self.load.journal.add('confirm', o, hold_id=hold, allocations=allocs, offer=True, **d)
        elif self.rnd.random() < 0.2:
            r, o, d = self.call('wl_leave', who, 'leave_waitlist', dict(entry_id=entry))
            self.load.journal.add('wl_leave', o, entry_id=entry, **d)
        else:
            self.load.shared.push(self.load.shared.waiters, w)

    # --- checkout and webhooks ---------------------------------------------------
    def webhook(self, b, kind, **data):
        r, o, d = self.call('webhook', 'anon', 'stripe_webhook', raw=b, headers=stripe_headers(b))
        data.update(d)
        res = body(r).get('outcome') if o == 'ok' else None
        self.load.journal.add('webhook', o, kind=kind, event_id=json.loads(b)['id'], result=res, **data)
        return o, res

    def op_checkout(self):
        J, rnd, f = self.load.journal, self.rnd, self.load.f
        tt = f['tt_small'] if rnd.random() < 0.5 else f['tt_large']
        qty = rnd.randint(1, 2)
        r, o, d = self.call('reserve', 'anon', 'reserve', dict(event_id=f['event'], idempotency_key=str(uuid.uuid4()),
                                                               lines=[{'ticket_type_id': tt, 'quantity': qty}]))
        order = body(r)
        J.add('reserve', o, order_id=order.get('order_id'), n=qty, **d)
        if o != 'ok':
            return
        oid, token = order['order_id'], order['order_token']
        if rnd.random() < 0.1:
            r, o, d = self.call('release_reservation', 'anon', 'release_reservation',
                                dict(order_id=oid, order_token=token))
            J.add('release_reservation', o, order_id=oid, **d)
            return
        tag = uuid.uuid4().hex[:12]
        people = [dict(ticket_type_id=tt, first_name='Storm', last_name='Loper %s %d' % (tag, i), gender='x',
                       date_of_birth='19%02d-0%d-1%d' % (60 + rnd.randrange(40), 1 + i, rnd.randrange(10)), answers={})
                  for i in range(qty)]
        r, o, d = self.call('checkout', 'anon', 'checkout', dict(
            order_id=oid, order_token=token, buyer={'email': 'koper-%s@example.nl' % tag, 'name': 'Storm Koper'},
            participants=people, idempotency_key=str(uuid.uuid4())))
        co = body(r)
        J.add('checkout', o, order_id=oid, n=qty, **d)
        if o != 'ok' or not co.get('payment'):
            return
        pid, total = co['payment']['payment_id'], co['total']
        pi = 'pi_' + pid.replace('-', '')[:24]
        r, o, d = self.call('provider_ref', 'service', 'record_provider_payment', dict(payment_id=pid, provider_ref=pi))
        J.add('provider_ref', o, payment_id=pid, **d)
        if o != 'ok':
            return
        info = dict(order_id=oid, payment_id=pid, n=qty, total=total)
        if rnd.random() < 0.2:     # in order: processing, then succeeded
            self.webhook(stripe_pi('evt_proc_' + pid, 'payment_intent.processing', pi, total), 'processing', **info)
        b = stripe_pi('evt_paid_' + pid, 'payment_intent.succeeded', pi, total)
        o, res = self.webhook(b, 'paid', **info)
        self.load.shared.push(self.load.shared.deliveries, b)
        if o == 'ok' and res == 'applied':
            self.load.shared.push(self.load.shared.paid, dict(info, pi=pi))
        x = rnd.random()
        if x < 0.25:               # the same delivery again
            self.webhook(b, 'paid', again=True, **info)
        elif x < 0.4:              # reordered: processing after succeeded
            self.webhook(stripe_pi('evt_late_' + pid, 'payment_intent.processing', pi, total), 'processing',
                         late=True, **info)

    def op_replay(self):
        with self.load.shared.lock:
            d = self.load.shared.deliveries
            b = d[self.rnd.randrange(len(d))] if d else None
        if b is not None:
            pid = json.loads(b)['id'][len('evt_paid_'):]
            self.webhook(b, 'paid', again=True, replay=True, payment_id=pid)

    def op_refund(self):
        J, rnd = self.load.journal, self.rnd
        p = self.load.shared.pop(self.load.shared.paid, rnd)
        if p is None:
            return
        amount = p['total'] if rnd.random() < 0.5 else p['total'] // 2
        r, o, d = self.call('cancel', DAAN, 'cancel_order', dict(order_id=p['order_id'], reason='storm',
                                                                refund_amount=amount))
        J.add('cancel', o, order_id=p['order_id'], payment_id=p['payment_id'], amount=amount, **d)
        if o == 'ok' and rnd.random() < 0.7:
            re = 're_' + uuid.uuid4().hex[:20]
            b = stripe_obj('evt_refund_' + re, 'refund.updated', {
                'id': re, 'object': 'refund', 'amount': amount, 'currency': 'eur', 'payment_intent': p['pi'],
                'status': 'succeeded'})
            self.webhook(b, 'refund', payment_id=p['payment_id'], amount=amount)

    # --- tokens -----------------------------------------------------------------
    def op_token(self):
        J, sh = self.load.journal, self.load.shared
        t = None
        with sh.lock:
            if sh.tokens and self.rnd.random() < 0.7:
                t = sh.tokens[self.rnd.randrange(len(sh.tokens))]
                t[3] -= 1
                if t[3] <= 0:
                    sh.tokens.remove(t)
        if t is None:
            subject = 'storm-ticket-' + uuid.uuid4().hex[:16]
            rows, o = self.cl.sql("SELECT token_id::text, token FROM tokens.issue('storm', %s, max_uses => 1, "
                                  "organization_id => %s::uuid)", (subject, ORG1))
            J.add('token_issue', o, subject=subject, token_id=rows[0][0] if o == 'ok' else None)
            if o == 'ok':
                sh.push(sh.tokens, [rows[0][0], rows[0][1], subject, 2])
            return
        rows, o = self.cl.sql("SELECT token_id::text, uses_left FROM tokens.redeem('storm', %s, %s)", (t[1], t[2]))
        J.add('redeem', o, token_id=t[0], code=((rows or {}).get('details') or rows.get('code') or '').split(':')[0] if o == 'error' else None)

    # --- audited writes -------------------------------------------------------------
    def op_profile(self):
        self.seq += 1
        phone = '+316%02d%06d' % (self.n, self.seq)
        r, o, d = self.call('profile', self.user, 'update_my_profile', dict(phone=phone))
        self.load.journal.add('profile', o, user=self.user['sub'], phone=phone, seq=self.seq, **d)


class Load:
    """CLIENTS workers until stop(); optionally a killer terminating random client backends."""

    def __init__(self, f, journal, clients, seed, shared=None, profile_seq=None):
        self.f = f
        self.journal = journal
        self.clients = clients
        self.seed = seed
        self.stop = threading.Event()
        self.shared = shared or Shared()
        self.profile_seq = profile_seq if profile_seq is not None else {}
        self.workers = []
        self.terminated = 0
        self.killer = None

    def start(self):
        self.workers = [Worker(i, self) for i in range(self.clients)]
        for w in self.workers:
            w.start()

    def start_killer(self, lo=0.3, hi=1.5):
        def kill():
            rnd = random.Random(self.seed)
            conn = su_connect()
            while not self.stop.wait(rnd.uniform(lo, hi)):
                w = rnd.choice(self.workers)
                pid = w.cl.pid
                if pid is None:
                    continue
                try:
                    if su(conn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE pid = %s AND application_name = 'storm-client'", (pid,)) == [(True,)]:
                        self.terminated += 1
                except psycopg2.Error:
                    conn = su_connect()
            conn.close()
        self.killer = threading.Thread(target=kill, daemon=True, name='storm-killer')
        self.killer.start()

    def finish(self, timeout=60):
        self.stop.set()
        for w in self.workers:
            w.join(timeout)
        if self.killer:
            self.killer.join(timeout)
        return [w.name for w in self.workers if w.is_alive()]


def children_of(pid):
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as fh:
                    st = fh.read()
                if int(st[st.rindex(')') + 2:].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError):
                pass
    return out


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as fh:
            st = fh.read()
        return st[st.rindex(')') + 2] != 'Z'
    except OSError:
        return False


def kill_postmaster(datadir):
    """SIGKILL to the postmaster and at once to every process it started, as a
    power cut or the OOM killer taking the machine's database down would: no
    backend finishes its statement (a backend whose postmaster died alone
    would run its statement to the end, and a long CALL would even complete).
    Returns (postmaster pid, number of its processes)."""
    with open(os.path.join(datadir, 'postmaster.pid')) as fh:
        pm = int(fh.readline())
    kids = children_of(pm)
    os.kill(pm, signal.SIGKILL)
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.time() + 30
    while time.time() < deadline and (alive(pm) or any(alive(k) for k in kids)):
        time.sleep(0.05)
    # a dead postmaster nobody has reaped yet (a zombie) still answers kill(pid, 0), and the restart would
    # take it for a running server: once it is a zombie, its lock files are stale, as after a reboot
    deadline = time.time() + 1
    while time.time() < deadline and os.path.exists('/proc/%d' % pm):
        time.sleep(0.05)
    if os.path.exists('/proc/%d' % pm) and not alive(pm):
        os.unlink(os.path.join(datadir, 'postmaster.pid'))
        sock = os.environ.get('PGHOST', '')          # the socket's lock file names it too
        if os.path.isdir(sock):
            for f in os.listdir(sock):
                if f.startswith('.s.PGSQL.') and f.endswith('.lock'):
                    os.unlink(os.path.join(sock, f))
    return pm, len(kids)
