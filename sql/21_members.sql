\set SHOW_CONTEXT never
-- add_member / change_member_role / remove_member / leave_organization / list_members
\set utrecht '00000000-0000-4000-b000-000000000001'
\set kromme '00000000-0000-4000-b000-000000000002'
\set anna '00000000-0000-4000-a000-000000000001'
\set bram '00000000-0000-4000-a000-000000000002'
\set carla '00000000-0000-4000-a000-000000000003'
\set daan '00000000-0000-4000-a000-000000000004'
\set eva '00000000-0000-4000-a000-000000000005'
\set iris '00000000-0000-4000-a000-000000000009'
\set joost '00000000-0000-4000-a000-000000000010'
\set kim '00000000-0000-4000-a000-000000000011'

-- members see their co-members; others get not found, not an empty list
SELECT pgrst.show('carla', 'list_members', json_build_object('organization_id', :'utrecht')::jsonb) -> 'body' AS members;
SELECT pgrst.show('eva', 'list_members', json_build_object('organization_id', :'utrecht')::jsonb);
SELECT pgrst.show('lars', 'list_members', json_build_object('organization_id', :'utrecht')::jsonb);

-- admin Bram adds Kim as support, by email (case-insensitive)
SELECT pgrst.show('bram', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'email', 'KIM@example.com')::jsonb);
-- admins manage support and finance only
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'kim', 'role', 'finance')::jsonb) #> '{body,role}' AS role;
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'kim', 'role', 'admin')::jsonb);
SELECT pgrst.show('bram', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'owner', 'user_id', :'joost')::jsonb);
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'anna', 'role', 'support')::jsonb);
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'bram', 'role', 'owner')::jsonb);
SELECT pgrst.show('bram', 'remove_member', json_build_object('organization_id', :'utrecht', 'user_id', :'anna')::jsonb);
-- support and finance change nothing
SELECT pgrst.show('carla', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'kim', 'role', 'support')::jsonb);
SELECT pgrst.show('daan', 'remove_member', json_build_object('organization_id', :'utrecht', 'user_id', :'kim')::jsonb);
SELECT pgrst.show('carla', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'user_id', :'joost')::jsonb);
-- the timing company's staff act as support: no member management either
SELECT pgrst.show('lars', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'user_id', :'joost')::jsonb);

-- bad input to add_member, nothing written
SELECT pgrst.tenancy_digest() AS before \gset
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'user_id', :'joost', 'email', 'joost@example.nl')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'coach', 'user_id', :'joost')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', null, 'user_id', :'joost')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'email', 'not an email')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'email', '')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'email', 'nobody@example.nl')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'user_id', '00000000-0000-4000-a000-0000000000ff')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'support', 'user_id', :'carla')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', :'kromme', 'role', 'support', 'user_id', :'joost')::jsonb);
SELECT pgrst.show('anna', 'add_member', json_build_object('organization_id', null, 'role', 'support', 'user_id', :'joost')::jsonb);
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'joost', 'role', 'support')::jsonb);
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', null, 'role', 'support')::jsonb);
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'kromme', 'user_id', :'eva', 'role', 'support')::jsonb);
SELECT pgrst.show('anna', 'remove_member', json_build_object('organization_id', :'kromme', 'user_id', :'eva')::jsonb);
SELECT pgrst.show('anon', 'remove_member', json_build_object('organization_id', :'utrecht', 'user_id', :'kim')::jsonb);
SELECT pgrst.tenancy_digest() = :'before' AS nothing_written;

-- an organisation always keeps an owner
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'anna', 'role', 'admin')::jsonb);
SELECT pgrst.show('anna', 'leave_organization', json_build_object('organization_id', :'utrecht')::jsonb);
SELECT pgrst.show('anna', 'remove_member', json_build_object('organization_id', :'utrecht', 'user_id', :'anna')::jsonb);
-- only owners grant owner; with two owners one may step down
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'bram', 'role', 'owner')::jsonb) #> '{body,role}' AS role;
SELECT pgrst.show('anna', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'anna', 'role', 'admin')::jsonb) #> '{body,role}' AS role;
SELECT owner_count FROM startlijn.organizations WHERE id = :'utrecht';
-- Bram (now sole owner) cannot leave; he hands back to Anna first
SELECT pgrst.show('bram', 'leave_organization', json_build_object('organization_id', :'utrecht')::jsonb);
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'anna', 'role', 'owner')::jsonb) #> '{body,role}' AS role;
SELECT pgrst.show('bram', 'change_member_role', json_build_object('organization_id', :'utrecht', 'user_id', :'bram', 'role', 'admin')::jsonb) #> '{body,role}' AS role;
SELECT owner_count FROM startlijn.organizations WHERE id = :'utrecht';

-- removal is a soft delete: history stays, the person loses access at once
SELECT pgrst.show('bram', 'remove_member', json_build_object('organization_id', :'utrecht', 'user_id', :'kim')::jsonb);
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS active, count(*) AS rows
  FROM startlijn.organization_members WHERE user_id = :'kim';
SELECT pgrst.show('kim', 'list_members', json_build_object('organization_id', :'utrecht')::jsonb);
-- adding again creates a new membership
SELECT pgrst.show('bram', 'add_member', json_build_object('organization_id', :'utrecht', 'role', 'finance', 'user_id', :'kim')::jsonb) #> '{body,role}' AS role;
-- a member can leave
SELECT pgrst.show('kim', 'leave_organization', json_build_object('organization_id', :'utrecht')::jsonb) #> '{body,removed_at}' IS NOT NULL AS left;
SELECT pgrst.show('kim', 'leave_organization', json_build_object('organization_id', :'utrecht')::jsonb);
-- Iris leaves Kromme Rijn but stays in Utrecht
SELECT pgrst.show('iris', 'leave_organization', json_build_object('organization_id', :'kromme')::jsonb) #> '{body,role}' AS left_role;
SELECT pgrst.stable(pgrst.call('iris', 'my_organizations'));
SELECT pgrst.show('eva', 'add_member', json_build_object('organization_id', :'kromme', 'role', 'finance', 'user_id', :'iris')::jsonb) #> '{body,role}' AS back;

-- removed memberships are frozen, also for direct writes
UPDATE startlijn.organization_members SET role = 'owner' WHERE user_id = :'kim' AND deleted_at IS NOT NULL;

-- the superadmin acts everywhere
SELECT pgrst.show('sanne', 'add_member', json_build_object('organization_id', :'kromme', 'role', 'owner', 'user_id', :'joost')::jsonb) #> '{body,role}' AS role;
SELECT pgrst.show('sanne', 'remove_member', json_build_object('organization_id', :'kromme', 'user_id', :'joost')::jsonb) #> '{body,role}' AS removed;
SELECT owner_count FROM startlijn.organizations WHERE id = :'kromme';
