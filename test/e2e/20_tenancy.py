#!/usr/bin/python3
"""Tenancy and audit end to end through the PostgREST-exact driver: every
mutating RPC committed as each kind of caller that may call it (owner, admin,
superadmin, the person themselves), its effect checked by a superuser query.
Changing owners commits through the deferred "an organisation keeps an owner"
trigger under the caller's role."""

import base64
import json
import os
import sys

from lib import ORG1, ORG2, USER, Tap

t = Tap()


def member(org, user):
    rows = t.su("SELECT role, deleted_at IS NOT NULL FROM startlijn.organization_members"
                " WHERE organization_id = %s::uuid AND user_id = %s::uuid ORDER BY created_at DESC LIMIT 1", (org, user))
    return tuple(rows[0]) if rows else None


# create_organization: any signed-in person
r = t.call('tenancy', 'kim', 'create_organization', {'name': 'Trail Team Veluwe', 'slug': 'trail-team-veluwe',
                                                     'kvk_number': '11223344'})
org_k = (r.get('body') or {}).get('id')
t.is_((t.su1('SELECT slug FROM startlijn.organizations WHERE id = %s::uuid', (org_k,)) if org_k else None,
       member(org_k, USER['kim']) if org_k else None),
      ('trail-team-veluwe', ('owner', False)), 'create_organization: committed, the caller is its owner')
t.call('tenancy', 'anon', 'create_organization', {'name': 'X', 'slug': 'xxx-anon'}, want=401)

# update_organization: owner, admin, superadmin
for who, org, name in (('kim', org_k, 'Trail Team Veluwe e.o.'), ('bram', ORG1, 'Loopgroep Utrecht e.o.'),
                       ('sanne', ORG2, 'Wielerclub De Kromme Rijn e.o.')):
    t.call('tenancy', who, 'update_organization', {'organization_id': org, 'name': name})
    t.is_(t.su1('SELECT name FROM startlijn.organizations WHERE id = %s::uuid', (org,)), name,
          'update_organization by %s: committed' % who)
t.call('tenancy', 'carla', 'update_organization', {'organization_id': ORG1, 'name': 'Nope'}, want=403)
t.call('tenancy', 'bram', 'update_organization', {'organization_id': ORG1, 'clear': ['kvk_number']})
t.is_(t.su1('SELECT kvk_number FROM startlijn.organizations WHERE id = %s::uuid', (ORG1,)), None,
      'update_organization clear: committed (a text[] argument typed from the signature)')

# add_member: owner (by email), admin (by user id), superadmin
t.call('tenancy', 'anna', 'add_member', {'organization_id': ORG1, 'role': 'support', 'email': 'joost@example.nl'})
t.is_(member(ORG1, USER['joost']), ('support', False), 'add_member by the owner (email): committed')
t.call('tenancy', 'bram', 'add_member', {'organization_id': ORG1, 'role': 'finance', 'user_id': USER['kim']})
t.is_(member(ORG1, USER['kim']), ('finance', False), 'add_member by an admin (user id): committed')
t.call('tenancy', 'sanne', 'add_member', {'organization_id': ORG2, 'role': 'support', 'user_id': USER['joost']})
t.is_(member(ORG2, USER['joost']), ('support', False), 'add_member by the superadmin: committed')
t.call('tenancy', 'bram', 'add_member', {'organization_id': ORG1, 'role': 'owner', 'user_id': USER['lars']}, want=403)
t.call('tenancy', 'kim', 'add_member', {'organization_id': org_k, 'role': 'owner', 'user_id': USER['joost']})
t.is_(member(org_k, USER['joost']), ('owner', False), 'add_member of a second owner: committed')

# change_member_role: owner, admin, superadmin
t.call('tenancy', 'anna', 'change_member_role', {'organization_id': ORG1, 'user_id': USER['joost'], 'role': 'finance'})
t.is_(member(ORG1, USER['joost']), ('finance', False), 'change_member_role by the owner: committed')
t.call('tenancy', 'bram', 'change_member_role', {'organization_id': ORG1, 'user_id': USER['kim'], 'role': 'support'})
t.is_(member(ORG1, USER['kim']), ('support', False), 'change_member_role by an admin: committed')
t.call('tenancy', 'sanne', 'change_member_role', {'organization_id': ORG2, 'user_id': USER['joost'], 'role': 'finance'})
t.is_(member(ORG2, USER['joost']), ('finance', False), 'change_member_role by the superadmin: committed')
# an owner steps down while another owner remains (the deferred owner check runs at COMMIT as authenticated)
t.call('tenancy', 'kim', 'change_member_role', {'organization_id': org_k, 'user_id': USER['kim'], 'role': 'admin'})
t.is_(member(org_k, USER['kim']), ('admin', False), 'change_member_role: an owner steps down, committed under authenticated')
t.call('tenancy', 'joost', 'change_member_role', {'organization_id': org_k, 'user_id': USER['joost'], 'role': 'admin'},
       want=409)
t.is_(member(org_k, USER['joost']), ('owner', False), 'change_member_role: the last owner stays owner')

# remove_member: owner, admin, superadmin
t.call('tenancy', 'bram', 'remove_member', {'organization_id': ORG1, 'user_id': USER['kim']})
t.is_(member(ORG1, USER['kim']), ('support', True), 'remove_member by an admin: committed')
t.call('tenancy', 'anna', 'remove_member', {'organization_id': ORG1, 'user_id': USER['joost']})
t.is_(member(ORG1, USER['joost']), ('finance', True), 'remove_member by the owner: committed')
t.call('tenancy', 'sanne', 'remove_member', {'organization_id': ORG2, 'user_id': USER['joost']})
t.is_(member(ORG2, USER['joost']), ('finance', True), 'remove_member by the superadmin: committed')

# leave_organization: any member, not the last owner
t.call('tenancy', 'carla', 'leave_organization', {'organization_id': ORG1})
t.is_(member(ORG1, USER['carla']), ('support', True), 'leave_organization by support: committed')
t.call('tenancy', 'kim', 'leave_organization', {'organization_id': org_k})
t.is_(member(org_k, USER['kim']), ('admin', True), 'leave_organization by an admin: committed')
t.call('tenancy', 'joost', 'leave_organization', {'organization_id': org_k}, want=409)
t.is_(member(org_k, USER['joost']), ('owner', False), 'leave_organization: the last owner cannot leave')

# update_my_profile: the person themselves
t.call('profile', 'iris', 'update_my_profile', {'phone': '+31687654321', 'date_of_birth': '1991-02-03'})
t.is_(tuple(t.su("SELECT phone, date_of_birth::text FROM startlijn.profiles WHERE id = %s::uuid", (USER['iris'],))[0]),
      ('+31687654321', '1991-02-03'), 'update_my_profile: committed (a date argument typed from the signature)')
t.call('profile', 'joost', 'update_my_profile', {'clear': ['phone', 'date_of_birth']})
t.is_(tuple(t.su("SELECT phone, date_of_birth FROM startlijn.profiles WHERE id = %s::uuid", (USER['joost'],))[0]),
      (None, None), 'update_my_profile clear: committed')
new = {'sub': '00000000-0000-4000-a000-000000000099', 'email': 'nieuw@example.nl'}
t.call('profile', new, 'update_my_profile', {'full_name': 'Nieuwe Loper'})
t.is_(t.su1("SELECT full_name FROM startlijn.profiles WHERE id = %s::uuid", (new['sub'],)), 'Nieuwe Loper',
      'update_my_profile: a first call creates the profile from the JWT (committed)')
t.call('profile', 'anon', 'update_my_profile', {'full_name': 'X'}, want=401)
r = t.call('profile', 'iris', 'my_profile')
t.is_((r.get('body') or {}).get('phone'), '+31687654321', 'my_profile reads it back (read-only transaction)')

# audit: checkpoint and proof are VOLATILE (they sign); owners, admins and finance
t.su('SELECT trail.seal()')
n0 = t.su1('SELECT count(*) FROM trail.checkpoints WHERE log_id = %s::uuid', (ORG1,))
for who in ('anna', 'daan'):
    r = t.call('audit', who, 'audit_checkpoint', {'organization_id': ORG1})
    t.ok(isinstance(r.get('body'), str) and '\n' in r['body'], 'audit_checkpoint by %s: a signed note' % who, r)
t.ok(t.su1('SELECT count(*) FROM trail.checkpoints WHERE log_id = %s::uuid', (ORG1,)) >= max(n0, 1),
     'audit_checkpoint: committed, a checkpoint of the log exists')
eid = t.su1('SELECT max(entry_id) FROM trail.leaves WHERE log_id = %s::uuid', (ORG1,))
for who in ('bram', 'daan'):
    r = t.call('audit', who, 'audit_proof', {'entry_id': eid})
    t.is_((r.get('body') or {}).get('leaf_index') is not None, True, 'audit_proof by %s: an inclusion proof' % who, r)
t.call('audit', 'carla', 'audit_proof', {'entry_id': eid}, want=404)

# issue 20.5: a verifier with API access alone. An entry holding a number
# JSON parsers round (1/7.0 as numeric): the proof carries the stored bytes,
# docs/examples/verify_entry.py checks them with openssl; re-encoding the
# parsed entry would not hash to the leaf.
import subprocess, tempfile  # noqa: E402
pid = t.su1("SELECT trail.log(%s::uuid, 'test.precision', 'x', jsonb_build_object('ratio', 1/7.0))", (ORG1,))
t.su('SELECT trail.seal()')
r = t.call('audit', 'anna', 'audit_proof', {'entry_id': pid})
proof = r.get('body') or {}
t.ok('0.14285714285714285714' in (proof.get('body') or ''), 'audit_proof returns the stored body with the full-precision number', proof)
stored = t.su1('SELECT body FROM trail.entries WHERE id = %s', (pid,))
t.is_(base64.b64decode(proof.get('body_base64') or '').decode(), stored, 'body_base64 is the stored bytes')
vkey = t.api.call('anon', 'audit_public_key').get('body')
with tempfile.TemporaryDirectory() as d:
    pf = os.path.join(d, 'proof.json')
    with open(pf, 'w') as f:
        json.dump(proof, f)
    v = subprocess.run([sys.executable, 'docs/examples/verify_entry.py', '-', pf, vkey], capture_output=True, text=True)
    t.ok(v.returncode == 0, 'verify_entry.py verifies the entry from the API answer alone', v.stdout + v.stderr)
    reencoded = dict(proof, body_base64=base64.b64encode(json.dumps(json.loads(stored), separators=(',', ':'),
                                                                     sort_keys=True).encode()).decode())
    with open(pf, 'w') as f:
        json.dump(reencoded, f)
    v = subprocess.run([sys.executable, 'docs/examples/verify_entry.py', '-', pf, vkey], capture_output=True, text=True)
    t.ok(v.returncode != 0, 're-encoding the parsed entry does not verify (why the stored bytes are returned)', v.stdout)
r = t.call('audit', 'anna', 'audit_entries', {'organization_id': ORG1, 'page_size': 5})
t.ok(len((r.get('body') or {}).get('entries') or []) == 5, 'audit_entries: the trail of what was committed above', r)
r = t.api.get('anna', 'audit_entries', {'organization_id': ORG1, 'table_name': 'startlijn.organization_members',
                                        'page_size': 3})
t.status(r, 200, 'audit_entries with GET and query parameters (read-only)')
t.done()
