#!/usr/bin/python3
"""Every curl example of docs/api.md, run through the PostgREST-exact driver
against the demo data, in the order of the document. An example passes when
PostgREST would have found its function (no 404 PGRST202), the database did
not fail (no 5xx) and no privilege was missing (no SQLSTATE 42501): business
answers such as 404 organization_not_found or 409 last_owner are fine, and
are listed. Placeholders ($ORG, $PAYMENT, "…" ids) are replaced by demo ids
created here; examples that cannot run verbatim say why."""

import json
import os
import re
import tempfile

from lib import ORG1, USER, Tap, create_payment, payments_fixture, stripe_headers, stripe_pi

t = Tap()
api = t.api
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
doc = open(os.path.join(root, 'docs', 'api.md')).read()

# --- demo objects the examples name -----------------------------------------
acc = payments_fixture(t)
payment = create_payment(t, acc, 'stripe', 'pi_docs_1', 10000)
create_payment(t, acc, 'mollie', 'tr_WDqYK6vllg', 2500)
# the example payment is paid (a superuser applies the signed event: setup, not under test)
body = stripe_pi('evt_docs_1', 'payment_intent.succeeded', 'pi_docs_1', 10000)
t.su("SELECT set_config('request.headers', %s, false)", (json.dumps({k.lower(): v for k, v in stripe_headers(body).items()}),))
t.su('SELECT payments.receive(%s, %s::json)', ('stripe', body))
t.su("RESET request.headers")
pool = api.call('anna', 'create_capacity_pool', {'organization_id': ORG1, 'name': 'Docs', 'capacity': 10})['body']['pool_id']
item = api.call('anna', 'create_capacity_item', {'organization_id': ORG1, 'name': 'Docs item',
                                                 'pools': [{'pool_id': pool}]})['body']['item_id']
hold = api.call('anna', 'hold_capacity', {'organization_id': ORG1, 'lines': [{'item_id': item, 'quantity': 2}]})['body']['hold_id']
alloc = api.call('anna', 'confirm_hold', {'organization_id': ORG1, 'hold_id': hold})['body']['allocations'][0]['allocation_id']
hold2 = api.call('anna', 'hold_capacity', {'organization_id': ORG1, 'lines': [{'item_id': item, 'quantity': 1}]})['body']['hold_id']
entry = api.call('kim', 'join_waitlist', {'organization_id': ORG1, 'item_id': item}).get('body', {}).get('entry_id')
legal = api.call('anna', 'place_legal_hold', {'organization_id': ORG1, 'reason': 'Docs'})['body']['id']
t.su('SELECT trail.seal()')
sealed = t.su1('SELECT max(entry_id) FROM trail.leaves WHERE log_id = %s::uuid', (ORG1,))
# a draft event of the demo organisation with a course, a wave and a ticket type
docs_event = api.call('anna', 'create_event', {'organization_id': ORG1, 'name': 'Docs loop', 'slug': 'docs-loop',
                                               'type': 'running', 'starts_at': '2027-10-03T10:00:00+02:00',
                                               'ends_at': '2027-10-03T16:00:00+02:00'})['body']['event_id']
docs_course = api.call('anna', 'create_course', {'event_id': docs_event, 'name': '5 km', 'distance_m': 5000,
                                                 'capacity': 100})['body']['course_id']
docs_wave = api.call('anna', 'create_wave', {'course_id': docs_course, 'name': 'A', 'places': 50,
                                             'starts_at': '2027-10-03T10:00:00+02:00'})['body']['wave_id']
docs_tt = api.call('anna', 'create_ticket_type', {'event_id': docs_event, 'course_id': docs_course, 'name': '5 km',
                                                  'price': 1500})['body']['ticket_type_id']
docs_addon = api.call('anna', 'create_addon', {'event_id': docs_event, 'name': 'T-shirt'})['body']['addon_id']
docs_variant = api.call('anna', 'create_addon_variant', {'addon_id': docs_addon, 'name': 'M', 'price': 1500,
                                                         'stock': 10})['body']['variant_id']
event_file = os.path.join(tempfile.mkdtemp(), 'event.json')
with open(event_file, 'w') as f:
    f.write(stripe_pi('evt_docs_2', 'payment_intent.succeeded', 'pi_docs_1', 10000))

variables = {'API': 'http://127.0.0.1:3000', 'ORG': ORG1, 'PERSON': USER['iris'], 'PAYMENT': payment, 'HOLD': legal}
ellipsis = {'organization_id': ORG1, 'pool_id': pool, 'item_id': item, 'hold_id': hold2, 'allocation_id': alloc,
            'entry_id': entry or '…', 'event_id': docs_event, 'course_id': docs_course, 'wave_id': docs_wave,
            'ticket_type_id': docs_tt, 'addon_id': docs_addon, 'variant_id': docs_variant}
who_for = {'set_fee_rule': 'sanne'}            # superadmin only
why = {
    'stripe_webhook': 'the signature is elided ("4077...147b") and event.json is not in the docs: run with a sample '
                      'event.json, so the answer is 400 malformed_header',
    'audit_proof': 'entry 1234 is an example id: replaced by a sealed entry of the demo organisation',
}

# --- the examples ---------------------------------------------------------------
examples = []
for m in re.finditer(r'```sh\n(.*?)```', doc, re.S):
    start = doc.count('\n', 0, m.start()) + 2
    lines = m.group(1).split('\n')
    cur, cur_line = None, None
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith('#') or not s:
            continue
        if s.startswith('curl '):
            if cur:
                examples.append((cur_line, cur))
            cur, cur_line = s, start + i
        elif cur is not None:
            cur += '\n' + line
        if cur is not None and not line.rstrip().endswith('\\'):
            examples.append((cur_line, cur))
            cur = None
    if cur:
        examples.append((cur_line, cur))

t.note('%d curl examples in docs/api.md' % len(examples))
for line, cmd in examples:
    fn = re.search(r'/rpc/(\w+)', cmd).group(1)
    run = cmd.replace('@event.json', '@' + event_file)
    for k, v in ellipsis.items():
        run = run.replace('"%s": "…"' % k, '"%s": "%s"' % (k, v)).replace('%s=…' % k, '%s=%s' % (k, v))
    if fn == 'audit_proof':
        run = run.replace('"entry_id": 1234', '"entry_id": %d' % sealed)
    who = who_for.get(fn, 'anna') if '$TOKEN' in cmd else 'anon'
    try:
        r = api.curl(run, who=who, variables=variables)
    except Exception as e:  # noqa: BLE001 - report any parsing problem as the example's failure
        t.ok(False, 'docs/api.md:%d %s: the example runs' % (line, fn), repr(e))
        continue
    st = r['status']
    answer = ('%d' % st) + ('' if 'body' in r else ' %s %s' % (r.get('code'), (r.get('details') or r.get('message') or '')[:70]))
    good = not (st == 404 and r.get('code') == 'PGRST202') and st < 500 and r.get('code') != '42501'
    caller = r.get('role') if r.get('role') != 'authenticated' else ('the superadmin' if who == 'sanne' else who)
    t.ok(good, 'docs/api.md:%d %s %s as %s -> %s' % (line, r['request'].split(' ')[0], fn, caller, answer),
         json.dumps({k: r.get(k) for k in ('code', 'message', 'details', 'hint', 'at_commit')}, ensure_ascii=False))
    if fn in why:
        t.note('  not verbatim: ' + why[fn])
    if '…' in run:
        t.note('  not verbatim: a "…" placeholder had no demo id to stand for it')
t.ok(len(examples) >= 40, 'docs/api.md has its curl examples (%d)' % len(examples))
t.done()
