#!/usr/bin/python3
"""Crash and storm (issue 26, part 2): run by test/tools/storm.sh on a
production-configured cluster it started (docs/reliability.md, "Crash and
storm"). Prints TAP and the figures; writes $STORM_OUT/report.json.

  1. crash: STORM_CLIENTS clients run the mix (test/storm/load.py) with a
     retention run going; after about STORM_CRASH_SECONDS, once the retention
     run has committed slices, the postmaster gets SIGKILL; the cluster is
     restarted (crash recovery); every invariant is checked
     (test/storm/checker.py); the retention job runs again and must resume
     where it stopped: the dead run is marked interrupted, the new one
     processes exactly the rows the dead one had not committed.
  2. storm: the same mix for STORM_SECONDS, a random client's backend
     terminated every 0.3 to 1.5 s (pg_terminate_backend from a separate
     connection), retention runs every few seconds; every invariant checked.
  3. the checker's self-test: one corruption per invariant, each in a
     rolled-back transaction, each must be detected.
"""

import json
import os
import subprocess
import sys
import threading
import time

from checker import check_retention_rows, run_checks, self_test
from common import Journal, psycopg2, su, su1, su_connect
from fixture import build
from load import Load, Shared, kill_postmaster

CLIENTS = int(os.environ.get('STORM_CLIENTS', '64'))
SECONDS = int(os.environ.get('STORM_SECONDS', '60'))
CRASH_SECONDS = int(os.environ.get('STORM_CRASH_SECONDS', '8'))
OUT = os.environ.get('STORM_OUT', '.')
SEED = int(os.environ.get('STORM_SEED', str(int(time.time()) % 100000)))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        if not cond:
            self.failed += 1
            for line in (diag or []) if isinstance(diag, list) else [diag] if diag else []:
                print('#   ' + str(line)[:400])
        sys.stdout.flush()
        return cond

    def note(self, text):
        print('# ' + text)
        sys.stdout.flush()


t = Tap()
report = {'clients': CLIENTS, 'storm_seconds': SECONDS, 'seed': SEED}
t0 = time.time()
t.note('seed %d, %d clients, storm %d s' % (SEED, CLIENTS, SECONDS))


def connect_wait(timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            return su_connect()
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def checks(phase, J, F):
    c0 = time.time()
    conn = connect_wait()
    res = run_checks(conn, J, F)
    problems, facts = check_retention_rows(conn, J, F) if phase != 'crash' else ([], 0)
    if phase != 'crash':
        res.append(('retention: every storm.people row has its retention date', problems, facts))
    conn.close()
    total = 0
    for name, problems, facts in res:
        total += facts
        t.ok(not problems, '%s: %s (%d facts)' % (phase, name, facts), problems[:8])
    report[phase + '_facts'] = total
    report[phase + '_invariants'] = '%d of %d ok' % (sum(1 for r in res if not r[1]), len(res))
    t.note('%s: %d facts checked in %.1f s' % (phase, total, time.time() - c0))
    return total


def mix_ran(J, phase, start):
    rows = J.rows[start:]
    seen = {}
    for op, out, d in rows:
        if out == 'ok':
            key = op if op != 'webhook' else 'webhook %s %s' % (d.get('kind'), d.get('result'))
            seen[key] = seen.get(key, 0) + 1
    need = ['hold', 'confirm', 'release', 'wl_join', 'reserve', 'checkout', 'webhook paid applied',
            'webhook paid duplicate', 'webhook processing out_of_order_ignored', 'cancel', 'webhook refund applied',
            'token_issue', 'redeem', 'profile']
    missing = [k for k in need if not seen.get(k)]
    if phase != 'crash':       # the crash phase is short: what it got before the crash is chance
        t.ok(not missing, '%s: every part of the mix was acknowledged at least once' % phase,
             ['missing: %s' % missing, json.dumps(seen, sort_keys=True)])
    gen = [d for op, out, d in rows if op == 'generator_error']
    t.ok(not gen, '%s: the load generator ran without errors of its own' % phase, [g['error'] for g in gen[:5]])
    t.note('%s acknowledged: %s' % (phase, ', '.join('%s %d' % kv for kv in sorted(seen.items()))))
    return seen


def outcomes(J, start):
    c = {'ok': 0, 'error': 0, 'lost': 0, 'doubt': 0}
    for op, out, d in J.rows[start:]:
        if op != 'generator_error':
            c[out] += 1
    return c


def errors(J, start):
    """the answered errors by call and code (sold_out, try_again, token_used_up, ...)"""
    c = {}
    for op, out, d in J.rows[start:]:
        if out == 'error' and op != 'generator_error':
            k = '%s %s' % (op, d.get('code'))
            c[k] = c.get(k, 0) + 1
    return dict(sorted(c.items(), key=lambda kv: -kv[1]))


F = build(CLIENTS)
N_PEOPLE = su1(connect_wait(), "SELECT count(*) FROM storm.people")
t.note('fixture: event %s, pools %s, %d storm.people rows (%.1f s)' % (F['event'], F['pools'], N_PEOPLE, time.time() - t0))
J = Journal()
shared = Shared()

# --- 1. crash ---------------------------------------------------------------------------
retention_err = []


def retention_run_until_crash():
    try:
        c = su_connect()
        su(c, "SET application_name = 'storm-retention'")
        su(c, "CALL retention.run(max_rows => 100000000, max_seconds => 600)")
        retention_err.append('the retention run completed before the crash')
    except psycopg2.Error as e:
        retention_err.append('ended by the crash: %s' % str(e).strip().splitlines()[0])


crash_t0 = time.time()
load = Load(F, J, CLIENTS, SEED, shared=shared)
load.start()
# the retention run starts when the crash is due (it would finish otherwise), and the crash comes as soon as
# its first slice has committed
time.sleep(CRASH_SECONDS)
rt = threading.Thread(target=retention_run_until_crash, daemon=True)
rt.start()
mon = su_connect()
while True:
    time.sleep(0.1)
    el = time.time() - crash_t0
    running = su(mon, "SELECT count(*) FROM retention.runs WHERE status = 'running'")[0][0]
    if el >= CRASH_SECONDS and running and su1(mon, "SELECT count(*) FROM (SELECT FROM storm.people "
                                                    "WHERE retention_until IS NOT NULL LIMIT 1) x"):
        break
    if el >= CRASH_SECONDS * 3:
        break
mon.close()
calls_before = J.calls
pm, kids = kill_postmaster(os.environ['STORM_DATA'])
t.note('crash after %.1f s and %d calls: SIGKILL to the postmaster (pid %d) and its %d processes'
       % (time.time() - crash_t0, calls_before, pm, kids))
stuck = load.finish()
rt.join(30)
t.ok(not stuck, 'crash: every client stopped', stuck)
r = subprocess.run(['bash', '-c', os.environ['STORM_RESTART']], capture_output=True, text=True)
t.ok(r.returncode == 0, 'crash: the cluster restarts after the SIGKILL (crash recovery)', [r.stdout, r.stderr])
crash_out = outcomes(J, 0)
report['crash'] = dict(seconds=round(time.time() - crash_t0, 1), calls=J.calls, outcomes=crash_out,
                       server_processes_killed=kids + 1, connections_refused=J.refused)
report['crash']['errors'] = errors(J, 0)
t.note('crash phase: %d calls: %s' % (J.calls, crash_out))
t.note('crash phase errors answered: %s' % report['crash']['errors'])
mix_ran(J, 'crash', 0)
checks('crash', J, F)

# the retention job resumes where it stopped
conn = connect_wait()
dead = su(conn, "SELECT id, status, computed, batches FROM retention.runs WHERE status = 'running'")
done_before = su1(conn, "SELECT count(*) FROM storm.people WHERE retention_until IS NOT NULL")
t.ok(len(dead) == 1 and 0 < done_before < N_PEOPLE,
     'crash: the retention run was cut off mid-way (%d of %d rows had committed retention dates; %s)'
     % (done_before, N_PEOPLE, retention_err[0] if retention_err else '?'), [repr(dead)])
r0 = time.time()
su(conn, "CALL retention.run(max_rows => 100000000, max_seconds => 600)")
t.note('the resumed retention run: %.1f s' % (time.time() - r0))
after = su(conn, "SELECT id, status, computed FROM retention.runs ORDER BY id DESC LIMIT 1")[0]
dead_after = su1(conn, "SELECT status FROM retention.runs WHERE id = %s", (dead[0][0],)) if dead else None
missing = su1(conn, "SELECT count(*) FROM storm.people WHERE retention_until IS NULL")
t.ok(dead_after == 'interrupted' and after[1] == 'completed' and after[2] == N_PEOPLE - done_before and missing == 0,
     'crash: the next retention run marks the dead one interrupted and resumes: it computes exactly the %d rows '
     'left (%d computed), none twice, none missed' % (N_PEOPLE - done_before, after[2]),
     ['dead run now %s; new run %r; %d rows without a date' % (dead_after, after, missing)])
report['retention'] = dict(rows=N_PEOPLE, committed_before_crash=done_before, resumed_run_computed=after[2],
                           dead_run_status=dead_after)
conn.close()

# --- 2. storm ----------------------------------------------------------------------------------
storm_t0 = time.time()
start = len(J.rows)
ret_runs = {'completed': 0, 'other': 0, 'errors': 0}


def retention_periodic(stop):
    c = None
    while not stop.wait(4.0):
        try:
            if c is None or c.closed:
                c = su_connect()
            su(c, "CALL retention.run(max_rows => 20000, max_seconds => 3)")
            st = su1(c, "SELECT status FROM retention.runs ORDER BY id DESC LIMIT 1")
            ret_runs['completed' if st in ('completed', 'limit_reached') else 'other'] += 1
        except psycopg2.Error:
            ret_runs['errors'] += 1
            c = None


load2 = Load(F, J, CLIENTS, SEED + 1, shared=shared, profile_seq=load.profile_seq)
load2.start()
load2.start_killer()
rt2 = threading.Thread(target=retention_periodic, args=(load2.stop,), daemon=True)
rt2.start()
next_note = storm_t0 + 10
while time.time() < storm_t0 + SECONDS:
    time.sleep(0.5)
    if time.time() >= next_note:
        next_note += 10 if SECONDS <= 120 else 60
        t.note('storm: %.0f s, %d calls, %d backends terminated' % (time.time() - storm_t0, J.calls, load2.terminated))
stuck = load2.finish()
rt2.join(60)
t.ok(not stuck, 'storm: every client stopped', stuck)
storm_out = outcomes(J, start)
report['storm'] = dict(seconds=round(time.time() - storm_t0, 1), calls=len(J.rows) - start, outcomes=storm_out,
                       terminated=load2.terminated, retention_runs=ret_runs,
                       calls_per_second=round((len(J.rows) - start) / max(1, time.time() - storm_t0), 1))
report['storm']['errors'] = errors(J, start)
t.note('storm errors answered: %s' % report['storm']['errors'])
t.note('storm: %d calls in %.0f s, %s; %d backends terminated; retention runs %s'
       % (len(J.rows) - start, time.time() - storm_t0, storm_out, load2.terminated, ret_runs))
t.ok(load2.terminated > 0 and storm_out['lost'] + storm_out['doubt'] > 0,
     'storm: clients were killed mid-call (%d backends terminated, %d calls lost, %d in doubt)'
     % (load2.terminated, storm_out['lost'], storm_out['doubt']))
t.ok(ret_runs['completed'] > 0, 'storm: retention runs completed while the load ran (%s)' % ret_runs)
mix_ran(J, 'storm', start)
checks('storm', J, F)

# no backend crashed, nothing panicked (the SIGKILL of the crash phase aside)
log = os.environ.get('STORM_LOG')
if log and os.path.exists(log):
    with open(log, errors='replace') as fh:
        bad = [ln.rstrip() for ln in fh if 'terminated by signal' in ln or 'PANIC' in ln or 'TRAP' in ln]
    t.ok(not bad, 'the server log shows no crashed backend and no PANIC', bad[:5])

# --- 3. the checker can fail --------------------------------------------------------------------
s0 = time.time()
st = self_test('', J, F)
t.note('self-test: %.1f s' % (time.time() - s0))
for name, detected, detail in st:
    t.ok(detected, 'self-test: %s is detected' % name, [detail])
    if detected:
        t.note('  -> %s' % detail[:200])
report['self_test'] = '%d of %d corruptions detected' % (sum(1 for x in st if x[1]), len(st))

report['calls'] = J.calls
report['outcomes'] = outcomes(J, 0)
report['seconds'] = round(time.time() - t0, 1)
report['failed'] = t.failed
with open(os.path.join(OUT, 'report.json'), 'w') as fh:
    json.dump(report, fh, indent=1, sort_keys=True)
t.note('STORM calls=%d ok=%d error=%d lost=%d doubt=%d terminated=%d facts=%d invariants=%s self_test=%s seconds=%.0f'
       % (J.calls, report['outcomes']['ok'], report['outcomes']['error'], report['outcomes']['lost'],
          report['outcomes']['doubt'], load2.terminated, report.get('crash_facts', 0) + report.get('storm_facts', 0),
          report.get('storm_invariants'), report['self_test'], time.time() - t0))
print('1..%d' % t.n)
sys.exit(1 if t.failed else 0)
