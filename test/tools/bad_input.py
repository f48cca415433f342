#!/usr/bin/python3
"""The full bad-input matrix (make test-reliability; docs/reliability.md,
"Fuzzing and bad input"): every case of test/e2e/badinput.py for every api
function and every caller, on the database of the libpq environment (the
demo data loaded). Prints TAP: the self-check, then one line per function
and pass (bad values, edge values) with its findings, then the figures.

    PGDATABASE=... python3 test/tools/bad_input.py [function ...]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

import badinput  # noqa: E402
from lib import Tap  # noqa: E402
from pgrst import Driver  # noqa: E402

t = Tap()
t0 = time.time()
badinput.prepare(t)
for name, ok, detail in badinput.self_check(lambda schema: Driver(schema=schema)):
    t.ok(ok, name, detail)
m = badinput.Matrix(t.api)
functions = m.functions()
if sys.argv[1:]:
    functions = [f for f in functions if f[0] in sys.argv[1:]]


def log(name, edge, found):
    t.ok(not found, '%s%s: %s' % (name, ' (edge values)' if edge else '', 'a documented error, nothing written'),
         '\n'.join(found[:40]) + ('\n... %d more' % (len(found) - 40) if len(found) > 40 else ''))


m.run(functions, log=log)
t.note(m.summary())
t.note('bad-input matrix: %d functions, %d calls, %d findings, %.0f s' % (
    len(m.functions_seen), m.calls, len(m.findings), time.time() - t0))
t.done()
