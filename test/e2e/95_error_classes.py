#!/usr/bin/python3
"""docs/errors.md, "Errors raised before our code runs": each class in its
table, sent through the PostgREST-exact driver, answers the documented HTTP
status and code (issue 22.4). A change in PostgREST's or PostgreSQL's
behaviour, or in the table, fails here."""

import re

from lib import ORG1, Tap

t = Tap()
doc = open('docs/errors.md').read()
section = doc[doc.index('## Errors raised before our code runs'):]
documented = {}
for line in section.splitlines():
    m = re.match(r'^\| (.+?) \| (\d{3}) \| `([0-9A-Z]+)` \|', line)
    if m:
        documented[m.group(3)] = int(m.group(2))

cases = [
    ('22P02', 'anna', 'list_members', {'organization_id': 'not-a-uuid'}),
    ('22008', 'anna', 'update_my_profile', {'date_of_birth': '31-12-1990'}),
    ('22007', 'anna', 'hold_capacity', {'organization_id': ORG1, 'ttl': 'soon'}),
    ('22003', 'anna', 'create_capacity_pool', {'organization_id': ORG1, 'name': 'x', 'capacity': 99999999999}),
    ('PGRST202', 'anna', 'list_members', {'organization_id': ORG1, 'extra': 1}),
    ('PGRST202', 'anna', 'list_members', {}),
]
t.is_(sorted(documented), sorted({c[0] for c in cases}), 'the table documents exactly the classes tested here')
for code, who, fn, args in cases:
    r = t.api.call(who, fn, args)
    t.is_((r.get('status'), r.get('code')), (documented.get(code), code),
          '%s %s -> HTTP %s %s, as documented' % (fn, sorted(args), documented.get(code), code), r)
# every api function is granted to anon, so anon gets a business 401 (PT401), never 42501
r = t.api.call('anon', 'record_payment_status', {'provider': 'mollie', 'provider_ref': 'x', 'status': 'paid'})
t.is_((r.get('status'), r.get('code')), (401, 'PT401'), 'anon on a service-role RPC: a business 401', r)
t.done()
