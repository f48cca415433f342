\set SHOW_CONTEXT never
-- startlijn_audit through the API: recording, reading, sealing, proofs,
-- crypto-shredding, append-only, tamper evidence
\set utrecht '00000000-0000-4000-b000-000000000001'
\set kromme '00000000-0000-4000-b000-000000000002'
\set kim '00000000-0000-4000-a000-000000000011'

-- the demo data was recorded as it was loaded; start from a sealed trail
SELECT (trail.seal() ->> 'complete')::boolean AS sealed;
SELECT count(*) > 0 AS demo_recorded FROM trail.entries;

-- owner Anna renames her club through PostgREST, with a request id
SELECT pgrst.show('anna', 'update_organization',
  json_build_object('organization_id', :'utrecht', 'name', 'Loopgroep Utrecht-Oost')::jsonb,
  '{"X-Request-Id": "req-42"}') #> '{body,name}' AS renamed;

-- ... and reads it back: who, from where, what changed (old and new)
SELECT pgrst.stable(e - 'leaf_hash' - 'xid' - 'id' - 'sealed') AS newest
  FROM jsonb_array_elements(pgrst.call('anna', 'audit_entries',
         json_build_object('organization_id', :'utrecht', 'page_size', 1)::jsonb) -> 'entries') e;

-- an update that changes nothing but updated_at is no state change: not recorded
SELECT count(*) AS before FROM trail.entries \gset
UPDATE startlijn.organizations SET updated_at = now() WHERE id = :'utrecht';
SELECT count(*) - :before AS recorded FROM trail.entries;

-- who reads: owner, admin and finance yes; support no; other tenants not found
SELECT who, pgrst.try(who, 'audit_entries', json_build_object('organization_id', :'utrecht', 'page_size', 1)::jsonb)
              -> 'details' AS refused
  FROM unnest(ARRAY['anna', 'bram', 'daan', 'carla', 'eva', 'kim', 'sanne', 'anon']) who;

-- filters and paging: by table and action, newest first, next_before
SELECT jsonb_array_length(b -> 'entries') AS n, (b ->> 'next_before') IS NOT NULL AS more,
       (SELECT bool_and(e ->> 'table' = 'startlijn.organization_members') FROM jsonb_array_elements(b -> 'entries') e) AS only_members
  FROM pgrst.call('bram', 'audit_entries', json_build_object('organization_id', :'utrecht',
         'table_name', 'startlijn.organization_members', 'action', 'insert', 'page_size', 2)::jsonb) b;

-- a business event with a reason, recorded by the platform
SELECT trail.log(:'utrecht', 'payment.applied', 'payment:pay_1', '{"amount": 2500, "currency": "EUR"}', 'mollie webhook') > 0 AS logged;
SELECT e -> 'details' AS details, e ->> 'reason' AS reason, e #>> '{actor,kind}' AS actor
  FROM jsonb_array_elements(pgrst.call('daan', 'audit_entries',
         json_build_object('organization_id', :'utrecht', 'action', 'payment.applied')::jsonb) -> 'entries') e;

-- personal data: Kim's new name is stored encrypted under her key
SELECT pgrst.show('kim', 'update_my_profile', '{"full_name": "Kim de Vries"}') #> '{body,full_name}' AS name;
SELECT position('de Vries' IN body) = 0 AS no_plaintext, body::jsonb #> '{personal,box}' IS NOT NULL AS encrypted
  FROM trail.entries WHERE table_name = 'startlijn.profiles' ORDER BY id DESC LIMIT 1;
-- the superadmin reads the platform log, decrypted
SELECT e #> '{personal,values}' AS personal, e -> 'changed' AS changed
  FROM jsonb_array_elements(pgrst.call('sanne', 'audit_entries',
         '{"organization_id": null, "table_name": "startlijn.profiles", "page_size": 1}') -> 'entries') e;

-- sealing: entries join their log; checkpoints are signed notes
SELECT (s ->> 'complete')::boolean AS complete, (s ->> 'sealed')::int > 0 AS sealed FROM trail.seal() s;
SELECT regexp_replace(pgrst.call('anna', 'audit_checkpoint', json_build_object('organization_id', :'utrecht')::jsonb) #>> '{}',
       '^(\S+)\n(\d+)\n(\S+)\n\n— (\S+) (\S+)\n$', 'origin=\1 size>0=\2 root=<b64> signer=\4') ~ 'size>0=[1-9]' AS checkpoint_shape;
SELECT pgrst.call('anon', 'audit_public_key') #>> '{}' ~ '^startlijn\.local/trail\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' AS vkey_shape;

-- an inclusion proof for Anna's rename, against the signed checkpoint
SELECT e ->> 'id' AS rename_entry FROM jsonb_array_elements(pgrst.call('anna', 'audit_entries',
  json_build_object('organization_id', :'utrecht', 'table_name', 'startlijn.organizations')::jsonb) -> 'entries') e
  WHERE e ->> 'action' = 'update' LIMIT 1 \gset
SELECT p ->> 'leaf_index' IS NOT NULL AS has_index, jsonb_array_length(p -> 'proof') >= 1 AS has_path,
       (p ->> 'tree_size')::int > (p ->> 'leaf_index')::int AS in_tree,
       p ->> 'checkpoint' LIKE (p ->> 'origin') || E'\n' || (p ->> 'tree_size') || E'\n' || (p ->> 'root') || E'\n\n— %' AS signed_head
  FROM pgrst.call('anna', 'audit_proof', json_build_object('entry_id', :rename_entry)::jsonb) p;
SELECT pgrst.try('carla', 'audit_proof', json_build_object('entry_id', :rename_entry)::jsonb) -> 'details' AS support;
SELECT pgrst.try('eva', 'audit_proof', json_build_object('entry_id', :rename_entry)::jsonb) -> 'details' AS other_tenant;
SELECT split_part(pgrst.try('anna', 'audit_proof', json_build_object('entry_id', :rename_entry, 'tree_size', 0)::jsonb) ->> 'details', ':', 1) AS size_zero;
SELECT (trail.consistency_proof(:'utrecht', 1) ->> 'new_size')::int = (trail.verify(:'utrecht') ->> 'tree_size')::int AS consistency_to_head;

-- everything verifies
SELECT trail.verify(:'utrecht') -> 'ok' AS org_ok, trail.verify() -> 'ok' AS platform_ok;

-- crypto-shredding: Kim's key is destroyed; her values are gone, proofs still verify
SELECT trail.forget_subject(:'kim', 'erasure request (AVG art. 17)') - 'subject' AS forgotten;
SELECT e #> '{personal,forgotten}' AS forgotten, e #> '{personal,values}' AS personal
  FROM jsonb_array_elements(pgrst.call('sanne', 'audit_entries',
         '{"organization_id": null, "table_name": "startlijn.profiles", "page_size": 1}') -> 'entries') e;
SELECT (trail.seal() ->> 'complete')::boolean AS sealed;
SELECT trail.verify() -> 'ok' AS platform_ok_after_forgetting;

-- append-only for every role, the superuser included
UPDATE trail.entries SET action = 'x' WHERE id = :rename_entry;
DELETE FROM trail.entries WHERE id = :rename_entry;
TRUNCATE trail.entries;
DELETE FROM trail.leaves;
UPDATE trail.checkpoints SET note = '';
SET session_replication_role = replica;
DELETE FROM trail.entries WHERE id = :rename_entry;
RESET session_replication_role;

-- tamper evidence: with triggers disabled, a superuser changes one byte of one entry
BEGIN;
ALTER TABLE trail.entries DISABLE TRIGGER ALL;
UPDATE trail.entries SET body = replace(body, 'Utrecht-Oost', 'Utrecht-Oist') WHERE id = :rename_entry;
SELECT (v ->> 'entry')::bigint = :rename_entry AS names_the_entry, v ->> 'what' AS what,
       v ->> 'expected' <> v ->> 'found' AS hashes_differ
  FROM trail.verify(:'utrecht') v;
ROLLBACK;
-- ... a forged leaf hash to match is caught by the tree, a dropped leaf by the count
BEGIN;
ALTER TABLE trail.entries DISABLE TRIGGER ALL;
ALTER TABLE trail.leaves DISABLE TRIGGER ALL;
UPDATE trail.entries SET body = replace(body, 'Utrecht-Oost', 'Utrecht-Oist') WHERE id = :rename_entry;
UPDATE trail.entries SET leaf_hash = sha256('\x00'::bytea || convert_to(body, 'UTF8')) WHERE id = :rename_entry;
UPDATE trail.leaves SET hashes = overlay(hashes placing sha256('\x00'::bytea || convert_to(e.body, 'UTF8')) from 1 for 32)
  FROM trail.entries e WHERE e.id = :rename_entry AND leaves.entry_id = e.id;
SELECT (v ->> 'entry')::bigint >= :rename_entry AS at_or_after_the_entry, v ->> 'what' AS what FROM trail.verify(:'utrecht') v;
ROLLBACK;
SELECT trail.verify(:'utrecht') -> 'ok' AS untouched;
-- an operator's insert trigger on trail.entries still fires: entries are
-- written directly only while the table has none (docs/audit.md)
BEGIN;
CREATE TABLE pg_temp.seen (entry_id bigint, action text);
CREATE FUNCTION pg_temp.copy_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO pg_temp.seen VALUES (NEW.id, NEW.action); RETURN NEW; END $$;
CREATE TRIGGER operator_copy AFTER INSERT ON trail.entries FOR EACH ROW EXECUTE FUNCTION pg_temp.copy_entry();
SELECT trail.log(:'utrecht', 'operator.check', 'check:1', '{}', 'trigger test') AS checked \gset
SELECT entry_id = :checked AS fired, action FROM pg_temp.seen;
DROP TRIGGER operator_copy ON trail.entries;
SELECT trail.log(:'utrecht', 'operator.check', 'check:2', '{}', 'without the trigger') > :checked AS direct_again;
SELECT (SELECT count(*) FROM pg_temp.seen) AS still_one,
       (SELECT count(*) FROM trail.entries WHERE action = 'operator.check') AS both_recorded;
ROLLBACK;
