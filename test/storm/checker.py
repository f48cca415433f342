"""The storm's checker: every invariant, from what was committed (superuser
reads on `conn`) and what the clients saw (the journal, common.Journal).

Each check returns (problems, facts): a list of what is wrong (empty: the
invariant holds) and how many facts it compared. `conn` may be inside an open
transaction: the self-test (SELF_TEST) corrupts the database in a
transaction, runs the checks on that same connection, and rolls back.

In-doubt calls (outcome 'doubt': the connection died while COMMIT was in
flight) may have committed or not; each check accepts either, but never
twice, and never half.
"""

from collections import Counter, defaultdict

from common import su, su1


def ok_of(J, op):
    return J.of(op, 'ok')


def maybe(J, op):
    """ok and doubt: the calls that may have committed."""
    return J.of(op, 'ok') + J.of(op, 'doubt')


# --- capacity ---------------------------------------------------------------------
POOLS_SQL = """
SELECT p.id::text, p.capacity, p.waitlist_pending, p.next_slot,
       (SELECT count(*) FROM capacity.slots s WHERE s.pool_id = p.id),
       (SELECT count(*) FROM capacity.slots s WHERE s.pool_id = p.id AND s.held_until = 'infinity'),
       (SELECT count(*) FROM capacity.slots s WHERE s.pool_id = p.id AND s.held_until > now()
                                                AND s.held_until < 'infinity'),
       (SELECT COALESCE(sum((a.quantity - a.returned) * COALESCE(ip.units, 1)), 0)
          FROM capacity.allocations a LEFT JOIN capacity.item_pools ip ON ip.item_id = a.item_id
         WHERE a.pool_id = p.id OR ip.pool_id = p.id),
       (SELECT count(*) FROM capacity.waitlist w
         WHERE w.state IN ('waiting', 'offered')
           AND (w.pool_id = p.id OR w.item_id IN (SELECT ip.item_id FROM capacity.item_pools ip WHERE ip.pool_id = p.id))),
       capacity.pool_status(p.id)
  FROM capacity.pools p ORDER BY p.id"""


def check_not_oversold(conn, J, F):
    problems, facts = [], 0
    for pid, cap, _, nxt, slots, alloc, held, _, _, _ in su(conn, POOLS_SQL):
        facts += 1
        if slots != cap:
            problems.append('pool %s: %d unit rows for capacity %d' % (pid, slots, cap))
        if alloc + held > cap:
            problems.append('pool %s oversold: %d allocated + %d held > capacity %d' % (pid, alloc, held, cap))
    return problems, facts


def check_counters(conn, J, F):
    problems, facts = [], 0
    for pid, cap, pending, nxt, slots, alloc, held, by_alloc, waiting, status in su(conn, POOLS_SQL):
        facts += 4
        if (status['allocated'], status['held'], status['capacity']) != (alloc, held, cap):
            problems.append('pool %s: pool_status says %d allocated, %d held of %d; a recount %d, %d of %d'
                            % (pid, status['allocated'], status['held'], status['capacity'], alloc, held, cap))
        if by_alloc != alloc:
            problems.append('pool %s: allocations say %d units, %d unit rows are allocated' % (pid, by_alloc, alloc))
        if pending != waiting:
            problems.append('pool %s: waitlist_pending %d, %d entries waiting or offered' % (pid, pending, waiting))
        if status['waitlist_pending'] != pending:
            problems.append('pool %s: pool_status waitlist_pending %s, the column %d'
                            % (pid, status['waitlist_pending'], pending))
    # every hold's unit rows agree with its state
    for hid, state, units, stamped, infinite, allocated in su(conn, """
        SELECT h.id::text, h.state, h.units,
               (SELECT count(*) FROM capacity.slots s WHERE s.hold_id = h.id AND s.held_until > now()
                                                        AND s.held_until < 'infinity'),
               (SELECT count(*) FROM capacity.slots s WHERE s.hold_id = h.id AND s.held_until = 'infinity'),
               (SELECT COALESCE(sum((a.quantity - a.returned) * COALESCE((SELECT sum(ip.units) FROM capacity.item_pools ip
                                                                           WHERE ip.item_id = a.item_id), 1)), 0)
                  FROM capacity.allocations a WHERE a.hold_id = h.id)
          FROM capacity.holds h"""):
        facts += 1
        if state == 'confirmed':
            bad = stamped != 0 or infinite != allocated
        elif state == 'held':
            bad = infinite != 0 or allocated != 0 or stamped not in (0, units)
        else:
            bad = stamped != 0 or infinite != 0 or allocated != 0
        if bad:
            problems.append('hold %s (%s, %d units): %d units held, %d allocated, allocations say %d'
                            % (hid, state, units, stamped, infinite, allocated))
    return problems, facts


def check_holds(conn, J, F):
    """No hold or allocation lost or duplicated; nothing confirmed that was not acknowledged."""
    problems, facts = [], 0
    db = {r[0]: r for r in su(conn, """
        SELECT h.idempotency_key, h.id::text, h.state, h.units, h.lines
          FROM capacity.holds h WHERE h.holder = 'storm-box'""")}
    allocs = defaultdict(list)
    for hid, aid, pool, q, ret in su(conn, "SELECT hold_id::text, id::text, COALESCE(pool_id, item_id)::text, "
                                           "quantity, returned FROM capacity.allocations"):
        allocs[hid].append((aid, pool, q, ret))
    acked_keys = {d['key'] for d in ok_of(J, 'hold')}
    maybe_keys = {d['key'] for d in maybe(J, 'hold')}
    for d in ok_of(J, 'hold'):
        facts += 1
        r = db.get(d['key'])
        if r is None or r[1] != d['hold_id']:
            problems.append('acknowledged hold %s is not there' % d['hold_id'])
        elif r[3] != sum(x['quantity'] for x in d['lines']):
            problems.append('hold %s has %d units, %d were held' % (r[1], r[3], sum(x['quantity'] for x in d['lines'])))
    for key, r in db.items():
        facts += 1
        if key not in maybe_keys:
            problems.append('hold %s is there but no client saw it acknowledged (or in doubt)' % r[1])
    confirm_ok = defaultdict(list)
    for d in ok_of(J, 'confirm'):
        confirm_ok[d['hold_id']].append(d['allocations'])
    confirm_maybe = {d['hold_id'] for d in maybe(J, 'confirm')}
    by_id = {r[1]: r for r in db.values()}
    for hid, state, units, lines in su(conn, "SELECT id::text, state, units, lines FROM capacity.holds "
                                             "WHERE id = ANY (%s::uuid[])", ([h for h in confirm_ok if h not in by_id],)):
        by_id[hid] = (None, hid, state, units, lines)          # waitlist offers the box office confirmed
    for hid, lists in confirm_ok.items():
        facts += 1
        r = by_id.get(hid)
        mine = sorted(a[0] for a in allocs.get(hid, []))
        if r is None or r[2] != 'confirmed':
            problems.append('acknowledged confirm of hold %s: the hold is %s' % (hid, r and r[2]))
        elif any(x != mine for x in lists):
            problems.append('hold %s: allocations %s, the confirm(s) answered %s' % (hid, mine, lists))
        elif len(mine) != len(r[4]) or sorted((a[1], a[2]) for a in allocs[hid]) != sorted(
                (x.get('pool_id') or x.get('item_id'), x['quantity']) for x in r[4]):
            problems.append('hold %s: allocations %s for lines %s' % (hid, allocs[hid], r[4]))
    participants = list({d['holder'] for d in J.of('wl_join')})
    for hid, state in su(conn, "SELECT id::text, state FROM capacity.holds WHERE state = 'confirmed' "
                               "AND (holder = 'storm-box' OR holder = ANY (%s))", (participants,)):
        facts += 1
        if hid not in confirm_maybe:
            problems.append('hold %s is confirmed but no client saw a confirm acknowledged (or in doubt)' % hid)
    for d in ok_of(J, 'release'):
        facts += 1
        r = by_id.get(d['hold_id'])
        if r is None or r[2] != 'released':
            problems.append('acknowledged release of hold %s: the hold is %s' % (d['hold_id'], r and r[2]))
    # returned units: each acknowledged return counted once
    ret_ok = Counter(d['allocation_id'] for d in ok_of(J, 'return'))
    ret_doubt = Counter(d['allocation_id'] for d in J.of('return', 'doubt'))
    returned = {a[0]: a[3] for hid, lst in allocs.items() if hid in by_id for a in lst}   # the box office's
    for aid in set(ret_ok) | set(ret_doubt) | {a for a, n in returned.items() if n}:
        facts += 1
        n = returned.get(aid, 0)
        if not (ret_ok[aid] <= n <= ret_ok[aid] + ret_doubt[aid]):
            problems.append('allocation %s: %d returned, %d returns acknowledged, %d in doubt'
                            % (aid, n, ret_ok[aid], ret_doubt[aid]))
    return problems, facts


# --- payments -------------------------------------------------------------------------
def check_ledger(conn, J, F):
    problems, facts = [], 0
    for org, jid, cur, total in su(conn, "SELECT organization_id::text, journal_id, currency, total "
                                         "FROM payments.ledger_problems()"):
        problems.append('journal entry %s (%s, %s) does not balance: %s' % (jid, org, cur, total))
    facts += su1(conn, "SELECT count(*) FROM payments.journal")
    for org, cur, total in su(conn, "SELECT organization_id::text, currency, sum(amount) FROM payments.postings "
                                    "GROUP BY 1, 2 HAVING sum(amount) <> 0"):
        problems.append('organisation %s: postings in %s sum to %s' % (org, cur, total))
    for pid, status, captured, refunded, received, refunds_ok, refund_paid, paid_refunds in su(conn, """
        WITH j AS (SELECT payment_id, count(*) FILTER (WHERE kind = 'payment_received') AS received,
                          count(*) FILTER (WHERE kind = 'refund_paid') AS refund_paid
                     FROM payments.journal GROUP BY payment_id),
             r AS (SELECT payment_id, sum(amount) FILTER (WHERE status IN ('requested', 'pending', 'succeeded')) AS holding,
                          count(*) FILTER (WHERE status = 'succeeded') AS succeeded
                     FROM payments.refunds GROUP BY payment_id)
        SELECT p.id::text, p.status, p.captured, p.refunded, COALESCE(j.received, 0), COALESCE(r.holding, 0),
               COALESCE(j.refund_paid, 0), COALESCE(r.succeeded, 0)
          FROM payments.payments p LEFT JOIN j ON j.payment_id = p.id LEFT JOIN r ON r.payment_id = p.id"""):
        facts += 1
        if received != (1 if captured > 0 else 0):
            problems.append('payment %s (%s, captured %d): %d payment_received entries' % (pid, status, captured, received))
        if refunded != refunds_ok or refund_paid != paid_refunds:
            problems.append('payment %s: refunded %d, refunds holding money %d, %d succeeded, refund_paid entries %d'
                            % (pid, refunded, refunds_ok, paid_refunds, refund_paid))
    return problems, facts


def check_events_once(conn, J, F):
    problems, facts = [], 0
    applied = Counter()
    for ev, n in su(conn, "SELECT event_id, count(*) FROM payments.deliveries WHERE outcome = 'applied' "
                          "GROUP BY event_id"):
        applied[ev] = n
        facts += 1
        if n != 1:
            problems.append('provider event %s applied %d times' % (ev, n))
    events = {r[0]: r for r in su(conn, "SELECT event_id, outcome, status, payment_id::text FROM payments.events "
                                        "WHERE provider = 'stripe'")}
    sent_maybe = {d['event_id'] for d in maybe(J, 'webhook')}
    for d in ok_of(J, 'webhook'):
        facts += 1
        if d['result'] in ('applied', 'duplicate', 'out_of_order_ignored') and d['event_id'] not in events:
            problems.append('acknowledged delivery of %s (%s): no event recorded' % (d['event_id'], d['result']))
    for ev in events:
        if ev.startswith('evt_') and ev not in sent_maybe:
            problems.append('event %s recorded, but no delivery of it was acknowledged (or in doubt)' % ev)
    # a payment is paid by exactly one event
    for pid, n in su(conn, "SELECT payment_id::text, count(*) FROM payments.events WHERE status = 'paid' "
                           "AND outcome = 'applied' GROUP BY 1 HAVING count(*) > 1"):
        problems.append('payment %s paid by %d events' % (pid, n))
    return problems, facts


# --- orders, registrations, entitlements, invoices -------------------------------------------
def check_orders(conn, J, F):
    problems, facts = [], 0
    orders = {r[0]: r for r in su(conn, """
        SELECT o.id::text, o.status, o.invoice_number, o.refunded, o.payment_id::text,
               (SELECT count(*) FROM startlijn.registrations r WHERE r.order_id = o.id),
               (SELECT count(*) FROM startlijn.registrations r WHERE r.order_id = o.id AND r.status = 'paid'),
               (SELECT count(*) FROM startlijn.entitlements n WHERE n.order_id = o.id),
               (SELECT count(*) FROM startlijn.entitlements n WHERE n.order_id = o.id AND n.status = 'valid'
                                                                 AND n.code IS NOT NULL)
          FROM startlijn.orders o WHERE o.event_id = %s::uuid""", (F['event'],))}
    lo, hi = len(ok_of(J, 'reserve')), len(maybe(J, 'reserve'))
    facts += 1
    if not lo <= len(orders) <= hi:
        problems.append('%d orders for %d acknowledged reservations (%d in doubt)' % (len(orders), lo, hi - lo))
    for d in ok_of(J, 'reserve'):
        facts += 1
        if d['order_id'] not in orders:
            problems.append('acknowledged order %s is not there' % d['order_id'])
    for d in ok_of(J, 'checkout'):
        facts += 1
        o = orders.get(d['order_id'])
        if o is None or o[1] == 'reserved' or o[5] != d['n']:
            problems.append('acknowledged checkout of %s: order %s with %s registrations for %d participants'
                            % (d['order_id'], o and o[1], o and o[5], d['n']))
    # a delivery and its replays (another client sending the same body again) pay one order
    info = {d['payment_id']: d for d in J.of('webhook') if d.get('kind') == 'paid' and d.get('order_id')}
    paid_maybe = {d['payment_id'] for d in maybe(J, 'webhook') if d.get('kind') == 'paid'}
    paid_ok = {info[d['payment_id']]['order_id']: info[d['payment_id']] for d in ok_of(J, 'webhook')
               if d.get('kind') == 'paid' and d['result'] == 'applied' and d['payment_id'] in info}
    cancel_ok = {d['order_id']: d for d in ok_of(J, 'cancel')}
    cancel_maybe = {d['order_id'] for d in maybe(J, 'cancel')}
    for oid, d in paid_ok.items():
        facts += 1
        o = orders.get(oid)
        want = ('paid', 'cancelled') if oid in cancel_maybe else ('paid',)
        if o is None or o[1] not in want or not o[2] or o[7] != d['n']:
            problems.append('order %s paid (acknowledged): %s, invoice %s, %s entitlements for %d'
                            % (oid, o and o[1], o and o[2], o and o[7], d['n']))
        elif o[1] == 'paid' and (o[6] != d['n'] or o[8] != d['n']):
            problems.append('paid order %s: %d paid registrations, %d valid entitlements with codes, for %d'
                            % (oid, o[6], o[8], d['n']))
    for oid, o in orders.items():
        if o[1] == 'paid' and o[2] and o[4] not in paid_maybe:
            problems.append('order %s is paid, but no paying delivery was acknowledged (or in doubt)' % oid)
    for oid, d in cancel_ok.items():
        facts += 1
        o = orders.get(oid)
        if o is None or o[1] != 'cancelled' or o[3] != d['amount']:
            problems.append('acknowledged cancellation of %s refunding %d: %s, refunded %s'
                            % (oid, d['amount'], o and o[1], o and o[3]))
    for d in ok_of(J, 'release_reservation'):
        facts += 1
        o = orders.get(d['order_id'])
        if o is None or o[1] != 'expired':
            problems.append('acknowledged release of reservation %s: %s' % (d['order_id'], o and o[1]))
    for d in ok_of(J, 'webhook'):
        if d.get('kind') == 'refund' and d['result'] == 'applied':
            facts += 1
            n = su1(conn, "SELECT count(*) FROM payments.refunds WHERE payment_id = %s::uuid AND status = 'succeeded' "
                          "AND amount = %s", (d['payment_id'], d['amount']))
            if n != 1:
                problems.append('acknowledged refund event for payment %s: %d succeeded refunds of %d'
                                % (d['payment_id'], n, d['amount']))
    return problems, facts


def check_invoices(conn, J, F):
    problems, facts = [], 0
    seqs = defaultdict(list)
    numbers = Counter()
    for org, year, seq, number in su(conn, "SELECT organization_id::text, invoice_year, invoice_seq, invoice_number "
                                           "FROM startlijn.orders WHERE invoice_seq IS NOT NULL"):
        seqs[(org, year)].append(seq)
        numbers[number] += 1
    counters = {(r[0], r[1]): r[2] for r in su(conn, "SELECT organization_id::text, year, last_number "
                                                     "FROM startlijn.invoice_counters")}
    for key in set(seqs) | set(counters):
        got = sorted(seqs.get(key, []))
        facts += len(got)
        if got != list(range(1, len(got) + 1)) or counters.get(key) != len(got):
            gaps = sorted(set(range(1, (max(got) if got else 0) + 1)) - set(got))[:5]
            dups = [s for s, n in Counter(got).items() if n > 1][:5]
            problems.append('invoices of %s %s: %d numbers, counter %s, gaps %s, duplicates %s'
                            % (key[0], key[1], len(got), counters.get(key), gaps, dups))
    for number, n in numbers.items():
        if n > 1:
            problems.append('invoice number %s used %d times' % (number, n))
    return problems, facts


# --- tokens, audited writes, the trail, retention -----------------------------------------------
def check_tokens(conn, J, F):
    problems, facts = [], 0
    tokens = {r[0]: r for r in su(conn, "SELECT id::text, uses, max_uses FROM tokens.tokens t WHERE t.purpose = 'storm'")}
    for d in ok_of(J, 'token_issue'):
        facts += 1
        if d['token_id'] not in tokens:
            problems.append('acknowledged token %s is not there' % d['token_id'])
    ok = Counter(d['token_id'] for d in ok_of(J, 'redeem'))
    doubt = Counter(d['token_id'] for d in J.of('redeem', 'doubt'))
    for tid, (_, uses, max_uses) in tokens.items():
        facts += 1
        if ok[tid] > max_uses:
            problems.append('token %s redeemed %d times (acknowledged), max %d' % (tid, ok[tid], max_uses))
        if not ok[tid] <= uses <= ok[tid] + doubt[tid]:
            problems.append('token %s: %d uses, %d redemptions acknowledged, %d in doubt' % (tid, uses, ok[tid], doubt[tid]))
    return problems, facts


def check_profiles(conn, J, F):
    problems, facts = [], 0
    calls = defaultdict(list)
    for out, d in J.outcomes('profile'):
        calls[d['user']].append((d['seq'], out, d['phone']))
    audit = dict(su(conn, "SELECT actor_uid::text, count(*) FROM trail.entries WHERE table_name = 'startlijn.profiles' "
                          "AND action = 'update' AND actor_uid = data_subject GROUP BY 1"))
    phones = dict(su(conn, "SELECT id::text, phone FROM startlijn.profiles WHERE id = ANY (%s::uuid[])",
                     ([u['sub'] for u in F['users']],)))
    for uid, lst in calls.items():
        facts += 2
        lst.sort()
        oks = [x for x in lst if x[1] == 'ok']
        last = oks[-1][0] if oks else 0
        allowed = ({oks[-1][2]} if oks else {None}) | {x[2] for x in lst if x[1] == 'doubt' and x[0] > last}
        if phones.get(uid) not in allowed:
            problems.append('user %s: phone %s, the last acknowledged write was %s' % (uid, phones.get(uid), allowed))
        n_ok, n_doubt = len(oks), sum(1 for x in lst if x[1] == 'doubt')
        if not n_ok <= audit.get(uid, 0) <= n_ok + n_doubt:
            problems.append('user %s: %d audit entries for %d acknowledged writes (%d in doubt)'
                            % (uid, audit.get(uid, 0), n_ok, n_doubt))
    return problems, facts


def check_trail(conn, J, F):
    problems = []
    su(conn, "SELECT trail.seal()")
    logs = [r[0] for r in su(conn, "SELECT DISTINCT log_id::text FROM trail.entries ORDER BY 1")]
    entries = su1(conn, "SELECT count(*) FROM trail.entries")
    for log in logs:
        v = su1(conn, "SELECT trail.verify(%s::uuid)", (log,))
        if not v or v.get('ok') is not True:
            problems.append('trail.verify(%s): %s' % (log, v))
    return problems, entries


def check_retention_rows(conn, J, F):
    problems = []
    n, missing = su(conn, "SELECT count(*), count(*) FILTER (WHERE retention_until IS NULL) FROM storm.people")[0]
    if missing:
        problems.append('%d of %d storm.people rows have no retention date after a completed run' % (missing, n))
    return problems, n


CHECKS = (
    ('capacity: nothing oversold (per pool allocated + held <= capacity, a unit row per place)', check_not_oversold),
    ('capacity: the engine\'s counters equal a recount (pool_status, waitlist_pending, allocations vs unit rows, '
     'every hold\'s units)', check_counters),
    ('capacity: no hold or allocation lost or duplicated, none confirmed unacknowledged', check_holds),
    ('payments: the ledger balances (every entry, every organisation; payment_received once per captured payment)',
     check_ledger),
    ('payments: each provider event applied exactly once', check_events_once),
    ('checkout: no acknowledged order, registration, entitlement or cancellation lost, none paid unacknowledged',
     check_orders),
    ('checkout: invoice numbers gapless per organisation and year, equal to the counter', check_invoices),
    ('tokens: each acknowledged redemption counted once, none beyond max_uses', check_tokens),
    ('audited writes: the last acknowledged profile write is there, one audit entry per write', check_profiles),
    ('audit: trail.verify ok for every log', check_trail),
)


def run_checks(conn, J, F, checks=CHECKS):
    """[(name, problems, facts)]"""
    out = []
    for name, fn in checks:
        try:
            problems, facts = fn(conn, J, F)
        except Exception as e:  # a check that cannot run is a failure, not a pass
            problems, facts = ['the check itself failed: %s: %s' % (type(e).__name__, str(e).strip())], 0
        out.append((name, problems, facts))
    return out


# --- the self-test: one corruption per invariant, each must be detected ----------------------------
def _one(conn, sql, params=None):
    rows = su(conn, sql, params)
    if not rows or rows[0][0] is None:
        raise LookupError('no row to corrupt: ' + sql.split('\n')[0][:80])
    return rows[0][0]


def corruptions(J, F):
    """(name, the check that must see it, fn(conn)) -- fn corrupts inside the caller's transaction."""
    confirmed = [d['hold_id'] for d in ok_of(J, 'confirm')]
    released = [d['hold_id'] for d in ok_of(J, 'release')]
    paid = [d['order_id'] for d in ok_of(J, 'webhook') if d.get('kind') == 'paid' and d['result'] == 'applied'
            and d.get('order_id')]
    redeemed = [d['token_id'] for d in ok_of(J, 'redeem')]
    users = [d['user'] for d in ok_of(J, 'profile')]
    pool = F['pools'][0]

    def oversell(c):
        # the pool's capacity one below the units in use (as a lost update of the capacity would leave it)
        su(c, "UPDATE capacity.pools p SET capacity = (SELECT count(*) - 1 FROM capacity.slots s WHERE s.pool_id = p.id "
              "AND s.held_until > now()) WHERE id = %s", (pool,))

    def counter(c):
        su(c, "UPDATE capacity.pools SET waitlist_pending = waitlist_pending + 1 WHERE id = %s", (pool,))

    def lose_allocation(c):
        su(c, "DELETE FROM capacity.allocations WHERE hold_id = %s::uuid", (confirmed[-1],))

    def duplicate_allocation(c):
        su(c, "INSERT INTO capacity.allocations (organization_id, hold_id, item_id, pool_id, quantity) "
              "SELECT organization_id, hold_id, item_id, pool_id, quantity FROM capacity.allocations "
              "WHERE hold_id = %s::uuid LIMIT 1", (confirmed[0],))

    def confirm_unacked(c):
        su(c, "UPDATE capacity.holds SET state = 'confirmed' WHERE id = %s::uuid", (released[0],))

    def unbalance(c):
        jid = _one(c, "SELECT max(journal_id) FROM payments.postings")
        su(c, "UPDATE payments.postings SET amount = amount + 1 WHERE journal_id = %s AND line = 1", (jid,))

    def apply_twice(c):
        su(c, "INSERT INTO payments.deliveries (provider, account_id, event_id, payment_id, outcome) "
              "SELECT provider, account_id, event_id, payment_id, outcome FROM payments.deliveries "
              "WHERE outcome = 'applied' AND event_id LIKE 'evt_paid_%%' LIMIT 1")

    def lose_order(c):
        su(c, "DELETE FROM startlijn.entitlements WHERE order_id = %s::uuid", (paid[-1],))

    def invoice_gap(c):
        # the counter handed out a number no order kept: a gap
        su(c, "UPDATE startlijn.invoice_counters SET last_number = last_number + 1 WHERE organization_id = %s::uuid",
           (F.get('org', '00000000-0000-4000-b000-000000000001'),))

    def token_double(c):
        su(c, "UPDATE tokens.tokens SET uses = 0 WHERE id = %s::uuid", (redeemed[0],))

    def lose_write(c):
        su(c, "UPDATE startlijn.profiles SET phone = '+31600000000' WHERE id = %s::uuid", (users[-1],))

    def tamper_trail(c):
        eid = _one(c, "SELECT max(entry_id) FROM trail.leaves")
        su(c, "UPDATE trail.entries SET body = replace(body, '\"action\":', '\"action\" :') WHERE id = %s", (eid,))

    def skip_retention(c):
        su(c, "UPDATE storm.people SET retention_until = NULL WHERE id = (SELECT id FROM storm.people ORDER BY id LIMIT 1)")

    C = {name: fn for name, fn in CHECKS}
    return (
        ('a pool\'s capacity one below its units in use', C[CHECKS[0][0]], oversell, 'capacity.pools'),
        ('a pool\'s waitlist counter off by one', C[CHECKS[1][0]], counter, 'capacity.pools'),
        ('an acknowledged confirm\'s allocations deleted', C[CHECKS[2][0]], lose_allocation, 'capacity.allocations'),
        ('an allocation duplicated', C[CHECKS[2][0]], duplicate_allocation, 'capacity.allocations'),
        ('a released hold marked confirmed', C[CHECKS[2][0]], confirm_unacked, 'capacity.holds'),
        ('a posting changed by one cent', C[CHECKS[3][0]], unbalance, 'payments.postings'),
        ('a provider event applied a second time', C[CHECKS[4][0]], apply_twice, 'payments.deliveries'),
        ('a paid order\'s entitlements lost', C[CHECKS[5][0]], lose_order, 'startlijn.entitlements'),
        ('an invoice number skipped (a gap)', C[CHECKS[6][0]], invoice_gap, 'startlijn.invoice_counters'),
        ('a redeemed token\'s use lost', C[CHECKS[7][0]], token_double, 'tokens.tokens'),
        ('an acknowledged profile write lost', C[CHECKS[8][0]], lose_write, 'startlijn.profiles'),
        ('an audit entry\'s body changed', C[CHECKS[9][0]], tamper_trail, 'trail.entries'),
        ('a retention row skipped', check_retention_rows, skip_retention, 'storm.people'),
    )


def self_test(dsn, J, F):
    """[(name, detected, detail)]: each corruption in its own transaction, rolled back."""
    import psycopg2
    out = []
    conn = psycopg2.connect(dsn)
    conn.autocommit = False
    clean_before = set()
    import time
    for name, check, fn, table in corruptions(J, F):
        t0 = time.time()
        try:
            with conn.cursor() as cur:
                # a lock the corruption cannot get is a failure, not a hang
                cur.execute("SET LOCAL lock_timeout = '30s'")
                # no foreign keys, and no guard (append-only, status machines) on the corrupted table
                cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute('ALTER TABLE %s DISABLE TRIGGER USER' % table)
            if check not in clean_before:         # the check passes on the uncorrupted database
                clean, _ = check(conn, J, F)
                if clean:
                    out.append((name, False, 'the check failed before the corruption: %s' % clean[:2]))
                    continue
                clean_before.add(check)
            fn(conn)
            problems, _ = check(conn, J, F)
            out.append((name, bool(problems), '%s (%.1f s)' % (problems[0] if problems else 'not detected',
                                                               time.time() - t0)))
        except Exception as e:
            out.append((name, False, 'self-test error: %s: %s' % (type(e).__name__, str(e).strip())))
        finally:
            conn.rollback()
    conn.close()
    return out
