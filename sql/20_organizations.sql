\set SHOW_CONTEXT never
-- create_organization / update_organization / my_organizations
\set anna '00000000-0000-4000-a000-000000000001'
\set utrecht '00000000-0000-4000-b000-000000000001'
\set kromme '00000000-0000-4000-b000-000000000002'

-- Joost (no organisation yet) creates one and becomes its owner
SELECT pgrst.show('joost', 'create_organization',
  '{"name": "Trail Team Veluwe", "slug": "trail-team-veluwe", "kvk_number": "11223344",
    "settings": {"default_locale": "nl"}}');
SELECT pgrst.show('joost', 'my_organizations');
SELECT o.slug, o.owner_count, m.role, p.full_name
  FROM startlijn.organizations o
  JOIN startlijn.organization_members m ON m.organization_id = o.id
  JOIN startlijn.profiles p ON p.id = m.user_id
 WHERE o.slug = 'trail-team-veluwe';

-- bad input: each a clear error, nothing written
SELECT pgrst.tenancy_digest() AS before \gset
SELECT pgrst.show('kim', 'create_organization', '{"name": null, "slug": "kim-club"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "", "slug": "kim-club"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": " Kim", "slug": "kim-club"}');
SELECT pgrst.show('kim', 'create_organization', json_build_object('name', repeat('x', 201), 'slug', 'kim-club')::jsonb);
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim\u0007Club", "slug": "kim-club"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": null}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": ""}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "Kim-Club"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim--club"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "-kim"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "ab"}');
SELECT pgrst.show('kim', 'create_organization', json_build_object('name', 'Kim Club', 'slug', repeat('k', 64))::jsonb);
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "admin"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "kvk_number": "1234567"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "kvk_number": "1234567a"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "kvk_number": ""}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "country": "nl"}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "country": null}');
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kim-club", "settings": [1, 2]}');
SELECT pgrst.show('kim', 'create_organization', json_build_object('name', 'Kim Club', 'slug', 'kim-club',
  'settings', json_build_object('blob', repeat('x', 70000)))::jsonb);
SELECT pgrst.show('kim', 'create_organization', '{"name": "Kim Club", "slug": "kromme-rijn"}');
SELECT pgrst.show('anon', 'create_organization', '{"name": "Kim Club", "slug": "kim-club"}');
SELECT pgrst.tenancy_digest() = :'before' AS nothing_written;

-- update: owners and admins only; NULL leaves a field as it is, clear empties it
SELECT pgrst.show('bram', 'update_organization',
  json_build_object('organization_id', :'utrecht', 'name', 'Loopgroep Utrecht e.o.', 'settings', '{"theme": "orange"}'::jsonb)::jsonb);
SELECT pgrst.show('anna', 'update_organization',
  json_build_object('organization_id', :'utrecht', 'clear', array['kvk_number'])::jsonb);
SELECT pgrst.show('anna', 'update_organization',
  json_build_object('organization_id', :'utrecht', 'kvk_number', '12345678', 'name', 'Loopgroep Utrecht')::jsonb);
SELECT pgrst.tenancy_digest() AS before \gset
SELECT pgrst.show('carla', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('daan', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('eva', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('joost', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('anon', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-0000000000ff", "name": "Nope"}');
SELECT pgrst.show('anna', 'update_organization', '{"organization_id": null, "name": "Nope"}');
SELECT pgrst.show('anna', 'update_organization', '{"organization_id": "not-a-uuid", "name": "Nope"}');
SELECT pgrst.show('anna', 'update_organization', json_build_object('organization_id', :'utrecht', 'slug', 'kromme-rijn')::jsonb);
SELECT pgrst.show('anna', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', '')::jsonb);
SELECT pgrst.show('anna', 'update_organization', json_build_object('organization_id', :'utrecht', 'clear', array['name'])::jsonb);
SELECT pgrst.show('anna', 'update_organization', json_build_object('organization_id', :'utrecht', 'clear', array['kvk_number'], 'kvk_number', '12345678')::jsonb);
SELECT pgrst.tenancy_digest() = :'before' AS nothing_written;

-- the timing company acts in Loopgroep Utrecht as support: it sees the
-- organisation but cannot change it; the superadmin can
SELECT pgrst.show('lars', 'update_organization', json_build_object('organization_id', :'utrecht', 'name', 'Hacked')::jsonb);
SELECT pgrst.show('sanne', 'update_organization', json_build_object('organization_id', :'kromme', 'country', 'BE')::jsonb) #> '{body,country}' AS country;
SELECT pgrst.show('sanne', 'update_organization', json_build_object('organization_id', :'kromme', 'country', 'NL')::jsonb) #> '{body,country}' AS country;

-- what each person sees in their organisation switcher
SELECT who, pgrst.stable(jsonb_path_query_array(pgrst.call(who, 'my_organizations'), '$[*] ? (@.slug != "trail-team-veluwe")')) AS orgs
  FROM unnest(array['anna', 'iris', 'lars', 'kim', 'sanne']) AS who;
