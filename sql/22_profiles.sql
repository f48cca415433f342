\set SHOW_CONTEXT never
-- update_my_profile / my_profile: self-service; the email follows the JWT
\set kim '00000000-0000-4000-a000-000000000011'

SELECT pgrst.show('kim', 'my_profile');
SELECT pgrst.show('kim', 'update_my_profile', '{"full_name": "Kim de Vos", "phone": "+31687654321", "date_of_birth": "1995-02-28", "locale": "en-GB"}');
-- NULL keeps a value; clear removes it
SELECT pgrst.show('kim', 'update_my_profile', '{"clear": ["phone", "date_of_birth"]}');

-- bad input, nothing written
SELECT pgrst.tenancy_digest() AS before \gset
SELECT pgrst.show('kim', 'update_my_profile', '{"full_name": ""}');
SELECT pgrst.show('kim', 'update_my_profile', json_build_object('full_name', repeat('é', 201))::jsonb);
SELECT pgrst.show('kim', 'update_my_profile', '{"phone": "0612345678"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"phone": "+3161234567890123"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"date_of_birth": "1899-12-31"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"date_of_birth": "2999-01-01"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"date_of_birth": "31-12-1990"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"locale": "english"}');
SELECT pgrst.show('kim', 'update_my_profile', '{"clear": ["email"]}');
SELECT pgrst.show('kim', 'update_my_profile', '{"clear": ["phone"], "phone": "+31687654321"}');
-- there is no email argument: the address comes from the verified identity
SELECT pgrst.show('kim', 'update_my_profile', '{"email": "anna@loopgroep-utrecht.nl"}');
SELECT pgrst.show('anon', 'update_my_profile', '{"full_name": "Nobody"}');
SELECT pgrst.tenancy_digest() = :'before' AS nothing_written;

-- a brand-new auth user: the first call creates the profile from the JWT
\set noor '{"sub": "00000000-0000-4000-a000-000000000077", "email": "Nieuw@Example.NL"}'
SELECT pgrst.show(:'noor', 'my_profile');
SELECT pgrst.show(:'noor', 'update_my_profile', '{"full_name": "Noor Nieuw"}');
SELECT pgrst.show(:'noor', 'my_profile');
-- when their auth email changes, the next call mirrors it
SELECT pgrst.show('{"sub": "00000000-0000-4000-a000-000000000077", "email": "noor@example.nl"}',
  'update_my_profile') #> '{body,email}' AS email;
-- an address another profile already has is refused
SELECT pgrst.show('{"sub": "00000000-0000-4000-a000-000000000077", "email": "kim@example.com"}',
  'update_my_profile');
-- a token without an email claim keeps the stored address
SELECT pgrst.show('{"sub": "00000000-0000-4000-a000-000000000077"}',
  'update_my_profile', '{"locale": "en"}') #> '{body,email}' AS email;

-- nobody sets the superadmin flag through the API roles, not even the service role
BEGIN;
SET LOCAL ROLE service_role;
UPDATE startlijn.profiles SET is_superadmin = true WHERE id = :'kim';
ROLLBACK;
BEGIN;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', json_build_object('sub', :'kim', 'role', 'authenticated')::text, true);
UPDATE startlijn.profiles SET is_superadmin = true WHERE id = :'kim';
ROLLBACK;

-- the trigger behind the privilege: even with the column granted, refused
BEGIN;
GRANT UPDATE (is_superadmin) ON startlijn.profiles TO service_role;
SET LOCAL ROLE service_role;
UPDATE startlijn.profiles SET is_superadmin = true WHERE id = :'kim';
ROLLBACK;

-- created_at cannot be forged; updated_at follows the transaction
BEGIN;
UPDATE startlijn.profiles SET created_at = '2000-01-01', updated_at = '2000-01-01' WHERE id = :'kim';
SELECT created_at > '2001-01-01' AS created_kept, updated_at = now() AS updated_now
  FROM startlijn.profiles WHERE id = :'kim';
ROLLBACK;
