-- RLS matrix: every caller x every table x select/insert/update/delete,
-- run as PostgREST would (role + JWT claims), each statement rolled back.
-- 'rows=N' is what the caller sees or changes in Loopgroep Utrecht (org A);
-- 'error=42501' is a refused privilege. docs/security.md shows the same table.
BEGIN;

CREATE TEMP TABLE matrix (tbl text, action text, sql text,
  anon text, anna text, bram text, carla text, daan text, lars text, eva text, kim text, sanne text, service text);
-- callers: anna owner, bram admin, carla support, daan finance (all of A);
-- lars: timing company acting in A as support; eva: owner of B; kim: no organisation;
-- sanne: platform superadmin; service: service_role.
INSERT INTO matrix VALUES
 ('profiles', 'select', $$SELECT id FROM startlijn.profiles WHERE id IN ('00000000-0000-4000-a000-000000000001','00000000-0000-4000-a000-000000000002','00000000-0000-4000-a000-000000000003','00000000-0000-4000-a000-000000000004','00000000-0000-4000-a000-000000000009')$$,
  'error=42501', 'rows=5', 'rows=5', 'rows=5', 'rows=5', 'rows=0', 'rows=1', 'rows=0', 'rows=5', 'rows=5'),
 ('profiles', 'insert', $$INSERT INTO startlijn.profiles (id, full_name) VALUES ('00000000-0000-4000-a000-000000000099', 'Nieuw')$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('profiles', 'update', $$UPDATE startlijn.profiles SET full_name = 'Anna X' WHERE id = '00000000-0000-4000-a000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('profiles', 'delete', $$DELETE FROM startlijn.profiles WHERE id = '00000000-0000-4000-a000-000000000010'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501'),

 ('organizations', 'select', $$SELECT id FROM startlijn.organizations WHERE id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'rows=1', 'rows=1', 'rows=1', 'rows=1', 'rows=1', 'rows=0', 'rows=0', 'rows=1', 'rows=1'),
 ('organizations', 'insert', $$INSERT INTO startlijn.organizations (name, slug) VALUES ('Nep', 'nep-org')$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organizations', 'update', $$UPDATE startlijn.organizations SET name = 'Nep' WHERE id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organizations', 'delete', $$DELETE FROM startlijn.organizations WHERE id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501'),

 ('organization_members', 'select', $$SELECT id FROM startlijn.organization_members WHERE organization_id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'rows=5', 'rows=5', 'rows=5', 'rows=5', 'rows=0', 'rows=0', 'rows=0', 'rows=5', 'rows=5'),
 ('organization_members', 'insert', $$INSERT INTO startlijn.organization_members (organization_id, user_id, role) VALUES ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-a000-000000000011', 'owner')$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organization_members', 'update', $$UPDATE startlijn.organization_members SET role = 'owner' WHERE organization_id = '00000000-0000-4000-b000-000000000001' AND user_id = '00000000-0000-4000-a000-000000000003'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organization_members', 'delete', $$DELETE FROM startlijn.organization_members WHERE organization_id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501'),

 ('organization_relationships', 'select', $$SELECT id FROM startlijn.organization_relationships WHERE organization_id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'rows=1', 'rows=1', 'rows=0', 'rows=0', 'rows=1', 'rows=0', 'rows=0', 'rows=1', 'rows=1'),
 ('organization_relationships', 'insert', $$INSERT INTO startlijn.organization_relationships (organization_id, source_organization_id, relationship_type, granted_role) VALUES ('00000000-0000-4000-b000-000000000001', '00000000-0000-4000-b000-000000000002', 'agency', 'finance')$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organization_relationships', 'update', $$UPDATE startlijn.organization_relationships SET status = 'ended' WHERE organization_id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'rows=1'),
 ('organization_relationships', 'delete', $$DELETE FROM startlijn.organization_relationships WHERE organization_id = '00000000-0000-4000-b000-000000000001'$$,
  'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501', 'error=42501');

CREATE TEMP TABLE cases AS
  SELECT m.tbl, m.action, m.sql, x.who, x.expected
    FROM matrix m,
         LATERAL (VALUES ('anon', m.anon), ('anna', m.anna), ('bram', m.bram), ('carla', m.carla),
                         ('daan', m.daan), ('lars', m.lars), ('eva', m.eva), ('kim', m.kim),
                         ('sanne', m.sanne), ('service', m.service)) AS x(who, expected);

SELECT plan((SELECT count(*)::int FROM cases) + 4);

SELECT is(pgrst.sql_as(who, sql), expected, format('%s %s %s', who, action, tbl))
  FROM cases ORDER BY tbl, action, who;

-- the whole table for each caller: cross-tenant rows never show
SELECT is(pgrst.sql_as('eva', $$SELECT id FROM startlijn.organizations$$), 'rows=1',
  'eva sees only her own organisation');
SELECT is(pgrst.sql_as('kim', $$SELECT id FROM startlijn.organization_members$$), 'rows=0',
  'kim (no organisation) sees no memberships');
SELECT is(pgrst.sql_as('kim', $$SELECT id FROM startlijn.profiles$$), 'rows=1',
  'kim sees only her own profile');
-- a removed member loses access in the same statement
UPDATE startlijn.organization_members SET deleted_at = now()
 WHERE organization_id = '00000000-0000-4000-b000-000000000001' AND user_id = '00000000-0000-4000-a000-000000000003';
SELECT is(pgrst.sql_as('carla', $$SELECT id FROM startlijn.organizations WHERE id = '00000000-0000-4000-b000-000000000001'$$),
  'rows=0', 'carla sees nothing of org A once removed');

SELECT * FROM finish();
ROLLBACK;
