-- Bad input for every RPC: NULLs, empty and over-long strings, malformed
-- slugs and KvK numbers, unknown roles, non-existent ids and another
-- organisation's ids. Each gives its stable error code and writes nothing.
BEGIN;

-- capacity fixtures: a pool and an item in Loopgroep Utrecht (one unit,
-- held by someone), a pool in De Kromme Rijn
CREATE TEMP TABLE capfix AS
  SELECT (capacity.create_pool('00000000-0000-4000-b000-000000000001', 'Marathon', 1) ->> 'pool_id')::uuid AS pool1,
         (capacity.create_pool('00000000-0000-4000-b000-000000000002', 'Tijdrit', 5) ->> 'pool_id')::uuid AS pool2;
ALTER TABLE capfix ADD COLUMN item1 uuid, ADD COLUMN hold1 uuid, ADD COLUMN hold2 uuid;
UPDATE capfix SET item1 = (capacity.create_item('00000000-0000-4000-b000-000000000001', 'Marathon',
                                                jsonb_build_array(jsonb_build_object('pool_id', pool1))) ->> 'item_id')::uuid;
UPDATE capfix SET hold1 = (capacity.hold('00000000-0000-4000-b000-000000000001',
                                         jsonb_build_array(jsonb_build_object('item_id', item1, 'quantity', 1)),
                                         '10 minutes', '00000000-0000-4000-a000-000000000010') ->> 'hold_id')::uuid,
                  hold2 = (capacity.hold('00000000-0000-4000-b000-000000000002',
                                         jsonb_build_array(jsonb_build_object('pool_id', pool2, 'quantity', 1)),
                                         '10 minutes', 'order-77') ->> 'hold_id')::uuid;
-- the organisation (Loopgroep Utrecht) plus extra, with the names of the
-- fixtures above ("pool1", ...) replaced by their ids anywhere in it
CREATE FUNCTION pg_temp.c(extra jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001') ||
         replace(replace(replace(replace(replace(extra::text,
           '"pool1"', to_jsonb(f.pool1)::text), '"pool2"', to_jsonb(f.pool2)::text),
           '"item1"', to_jsonb(f.item1)::text), '"hold1"', to_jsonb(f.hold1)::text),
           '"hold2"', to_jsonb(f.hold2)::text)::jsonb
    FROM capfix f $$;

CREATE TEMP TABLE bad (who text, fn text, args jsonb, code text);
INSERT INTO bad VALUES
 -- create_organization
 ('kim', 'create_organization', '{"name": null, "slug": "kim-club"}', 'missing_argument'),
 ('kim', 'create_organization', '{"name": "", "slug": "kim-club"}', 'invalid_name'),
 ('kim', 'create_organization', jsonb_build_object('name', repeat('n', 201), 'slug', 'kim-club'), 'invalid_name'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": null}', 'missing_argument'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": ""}', 'invalid_slug'),
 ('kim', 'create_organization', jsonb_build_object('name', 'Kim', 'slug', repeat('s', 64)), 'invalid_slug'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim club"}', 'invalid_slug'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim-club", "kvk_number": "123"}', 'invalid_kvk_number'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim-club", "kvk_number": "123456789"}', 'invalid_kvk_number'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim-club", "country": ""}', 'invalid_country'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim-club", "settings": "x"}', 'invalid_settings'),
 ('kim', 'create_organization', '{"name": "Kim", "slug": "kim-club", "settings": null}', 'invalid_settings'),
 ('anon', 'create_organization', '{"name": "Kim", "slug": "kim-club"}', 'not_authenticated'),
 -- update_organization
 ('anna', 'update_organization', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-0000000000ff"}', 'organization_not_found'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000002", "name": "X"}', 'organization_not_found'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001", "slug": "Bad Slug"}', 'invalid_slug'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001", "kvk_number": ""}', 'invalid_kvk_number'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001", "clear": ["slug"]}', 'invalid_argument'),
 ('anna', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001", "clear": [null]}', 'invalid_argument'),
 ('carla', 'update_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "X"}', 'insufficient_role'),
 -- add_member
 ('anna', 'add_member', '{"organization_id": null, "role": "support", "user_id": "00000000-0000-4000-a000-000000000010"}', 'missing_argument'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "", "user_id": "00000000-0000-4000-a000-000000000010"}', 'invalid_role'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "superadmin", "user_id": "00000000-0000-4000-a000-000000000010"}', 'invalid_role'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "support", "user_id": null, "email": null}', 'missing_argument'),
 ('anna', 'add_member', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001', 'role', 'support', 'email', repeat('a', 250) || '@x.nl'), 'invalid_email'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "support", "user_id": "00000000-0000-4000-a000-0000000000ff"}', 'profile_not_found'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000002", "role": "support", "user_id": "00000000-0000-4000-a000-000000000010"}', 'organization_not_found'),
 ('anna', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "admin", "user_id": "00000000-0000-4000-a000-000000000002"}', 'already_member'),
 ('bram', 'add_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "role": "admin", "user_id": "00000000-0000-4000-a000-000000000010"}', 'owner_required'),
 -- change_member_role
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": null, "role": "admin"}', 'missing_argument'),
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000003", "role": null}', 'missing_argument'),
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000003", "role": "Owner"}', 'invalid_role'),
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000005", "role": "admin"}', 'member_not_found'),
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000002", "user_id": "00000000-0000-4000-a000-000000000005", "role": "admin"}', 'organization_not_found'),
 ('daan', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000003", "role": "finance"}', 'insufficient_role'),
 ('anna', 'change_member_role', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000001", "role": "admin"}', 'last_owner'),
 -- remove_member
 ('anna', 'remove_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": null}', 'missing_argument'),
 ('anna', 'remove_member', '{"organization_id": null, "user_id": "00000000-0000-4000-a000-000000000003"}', 'missing_argument'),
 ('anna', 'remove_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-0000000000ff"}', 'member_not_found'),
 ('anna', 'remove_member', '{"organization_id": "00000000-0000-4000-b000-000000000002", "user_id": "00000000-0000-4000-a000-000000000006"}', 'organization_not_found'),
 ('bram', 'remove_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000001"}', 'owner_required'),
 ('anna', 'remove_member', '{"organization_id": "00000000-0000-4000-b000-000000000001", "user_id": "00000000-0000-4000-a000-000000000001"}', 'last_owner'),
 -- leave_organization
 ('anna', 'leave_organization', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'leave_organization', '{"organization_id": "00000000-0000-4000-b000-000000000002"}', 'organization_not_found'),
 ('lars', 'leave_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'member_not_found'),
 ('anna', 'leave_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'last_owner'),
 ('anon', 'leave_organization', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'not_authenticated'),
 -- list_members
 ('anna', 'list_members', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'list_members', '{"organization_id": "00000000-0000-4000-b000-000000000002"}', 'organization_not_found'),
 ('lars', 'list_members', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anon', 'list_members', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'not_authenticated'),
 -- audit_entries, audit_checkpoint, audit_proof, audit_public_key
 ('anon', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'not_authenticated'),
 ('anna', 'audit_entries', '{"organization_id": null}', 'insufficient_role'),
 ('anna', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000002"}', 'organization_not_found'),
 ('carla', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000001", "page_size": 0}', 'invalid_argument'),
 ('anna', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000001", "page_size": 501}', 'invalid_argument'),
 ('anna', 'audit_entries', '{"organization_id": "00000000-0000-4000-b000-000000000001", "since": "2026-02-01", "until": "2026-01-01"}', 'invalid_argument'),
 ('carla', 'audit_checkpoint', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'audit_checkpoint', '{"organization_id": "00000000-0000-4000-b000-0000000000ff"}', 'organization_not_found'),
 ('anna', 'audit_proof', '{"entry_id": null}', 'missing_argument'),
 ('anna', 'audit_proof', '{"entry_id": 999999999}', 'entry_not_found'),
 ('eva', 'audit_proof', '{"entry_id": 1}', 'entry_not_found'),
 ('anon', 'audit_proof', '{"entry_id": 1}', 'not_authenticated'),
 -- my_organizations, my_profile
 ('anon', 'my_organizations', '{}', 'not_authenticated'),
 ('anon', 'my_profile', '{}', 'not_authenticated'),
 ('{"sub": "00000000-0000-4000-a000-000000000088"}', 'my_profile', '{}', 'profile_not_found'),
 -- update_my_profile
 ('kim', 'update_my_profile', '{"full_name": ""}', 'invalid_name'),
 ('kim', 'update_my_profile', jsonb_build_object('full_name', repeat('x', 201)), 'invalid_name'),
 ('kim', 'update_my_profile', '{"phone": ""}', 'invalid_phone'),
 ('kim', 'update_my_profile', '{"locale": ""}', 'invalid_locale'),
 ('kim', 'update_my_profile', '{"date_of_birth": "0001-01-01"}', 'invalid_date_of_birth'),
 ('kim', 'update_my_profile', '{"clear": ["is_superadmin"]}', 'invalid_argument'),
 ('anon', 'update_my_profile', '{"full_name": "X"}', 'not_authenticated'),
 -- payments (the webhook endpoints answer bad input with an HTTP status, not an
 -- error: test/pgtap/60_payments_matrix.sql)
 ('anon', 'payments', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'not_authenticated'),
 ('anna', 'payments', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'payments', '{"organization_id": "00000000-0000-4000-b000-000000000002"}', 'organization_not_found'),
 ('bram', 'payments', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'payment', '{"payment_id": null}', 'missing_argument'),
 ('anna', 'payment', '{"payment_id": "00000000-0000-4000-d000-0000000000ff"}', 'payment_not_found'),
 ('anon', 'payment', '{"payment_id": "00000000-0000-4000-d000-0000000000ff"}', 'not_authenticated'),
 ('carla', 'ledger_balances', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'ledger_balances', '{"organization_id": "00000000-0000-4000-b000-0000000000ff"}', 'organization_not_found'),
 ('anon', 'request_refund', '{"payment_id": "00000000-0000-4000-d000-0000000000ff"}', 'not_authenticated'),
 ('daan', 'request_refund', '{"payment_id": "00000000-0000-4000-d000-0000000000ff"}', 'payment_not_found'),
 ('daan', 'request_refund', '{"payment_id": "00000000-0000-4000-d000-0000000000ff", "idempotency_key": "two words"}', 'invalid_idempotency_key'),
 ('daan', 'resolve_payment_exception', '{"payment_id": "00000000-0000-4000-d000-0000000000ff", "resolution": "allocated"}', 'payment_not_found'),
 ('anna', 'set_fee_rule', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "x", "account": "platform_fee_revenue"}', 'insufficient_role'),
 ('sanne', 'set_fee_rule', '{"organization_id": "00000000-0000-4000-b000-000000000001", "name": "x", "account": "somewhere"}', 'invalid_fee_rule'),
 ('anon', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_x", "status": "paid"}', 'not_authenticated'),
 ('daan', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_x", "status": "paid"}', 'insufficient_role'),
 ('service', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_x", "status": "bogus"}', 'invalid_argument'),
 ('service', 'record_payment_status', '{"provider": "mollie", "provider_ref": null, "status": "paid"}', 'missing_argument'),
 ('service', 'record_payment_status', '{"provider": "mollie", "provider_ref": "tr_unknown", "status": "paid"}', 'payment_not_found'),
 ('daan', 'payment_fetches', '{"max_rows": 5}', 'insufficient_role'),
 -- retention and erasure
 ('anon', 'request_erasure', '{}', 'not_authenticated'),
 ('anna', 'request_erasure', '{}', 'last_owner'),
 ('kim', 'request_erasure', jsonb_build_object('reason', repeat('r', 2001)), 'invalid_argument'),
 ('anon', 'my_erasure_requests', '{}', 'not_authenticated'),
 ('anna', 'request_subject_erasure', '{"organization_id": "00000000-0000-4000-b000-000000000001", "reason": "x"}', 'missing_argument'),
 ('anna', 'request_subject_erasure', '{"organization_id": "00000000-0000-4000-b000-000000000001", "subject": "00000000-0000-4000-a000-000000000004", "reason": " "}', 'missing_argument'),
 ('anna', 'request_subject_erasure', '{"organization_id": "00000000-0000-4000-b000-000000000001", "subject": "00000000-0000-4000-a000-000000000004", "reason": null}', 'missing_argument'),
 ('anna', 'request_subject_erasure', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001', 'subject', '00000000-0000-4000-a000-000000000004', 'reason', repeat('r', 2001)), 'invalid_argument'),
 ('anna', 'request_subject_erasure', '{"organization_id": "00000000-0000-4000-b000-000000000002", "subject": "00000000-0000-4000-a000-000000000010", "reason": "x"}', 'organization_not_found'),
 ('carla', 'request_subject_erasure', '{"organization_id": "00000000-0000-4000-b000-000000000001", "subject": "00000000-0000-4000-a000-000000000004", "reason": "x"}', 'insufficient_role'),
 ('anna', 'erasure_requests', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'erasure_requests', '{"organization_id": "00000000-0000-4000-b000-000000000001", "status": "open"}', 'invalid_argument'),
 ('daan', 'erasure_requests', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001", "max_rows": 0}', 'invalid_argument'),
 ('anna', 'retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001", "max_rows": 501}', 'invalid_argument'),
 ('lars', 'retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 ('anna', 'acknowledge_retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'invalid_argument'),
 ('anna', 'acknowledge_retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001", "ids": []}', 'invalid_argument'),
 ('carla', 'acknowledge_retention_notifications', '{"organization_id": "00000000-0000-4000-b000-000000000001", "ids": [1]}', 'insufficient_role'),
 ('anon', 'retention_settings', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'not_authenticated'),
 ('eva', 'retention_settings', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'organization_not_found'),
 ('bram', 'configure_retention', '{"organization_id": "00000000-0000-4000-b000-000000000001", "profile": "provisa"}', 'insufficient_role'),
 ('anna', 'configure_retention', '{"organization_id": "00000000-0000-4000-b000-000000000001", "profile": "vng_2021"}', 'retention_profile_not_found'),
 ('anna', 'configure_retention', '{"organization_id": "00000000-0000-4000-b000-000000000001", "strategy": "blur"}', 'invalid_argument'),
 ('anna', 'configure_retention', '{"organization_id": "00000000-0000-4000-b000-000000000001", "grace": "2 years"}', 'invalid_argument'),
 ('anna', 'configure_retention', '{"organization_id": "00000000-0000-4000-b000-000000000001", "grace": "-1 day"}', 'invalid_argument'),
 ('anna', 'place_legal_hold', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'missing_argument'),
 ('anna', 'place_legal_hold', jsonb_build_object('organization_id', '00000000-0000-4000-b000-000000000001', 'reason', repeat('r', 2001)), 'missing_argument'),
 ('carla', 'place_legal_hold', '{"organization_id": "00000000-0000-4000-b000-000000000001", "reason": "x"}', 'insufficient_role'),
 ('anna', 'lift_legal_hold', '{"organization_id": "00000000-0000-4000-b000-000000000001", "reason": "x"}', 'missing_argument'),
 ('anna', 'lift_legal_hold', '{"organization_id": "00000000-0000-4000-b000-000000000001", "hold_id": "00000000-0000-4000-e000-0000000000ff", "reason": "x"}', 'legal_hold_not_found'),
 ('anna', 'legal_holds', '{"organization_id": null}', 'missing_argument'),
 ('carla', 'legal_holds', '{"organization_id": "00000000-0000-4000-b000-000000000001"}', 'insufficient_role'),
 -- capacity (0.5): roles, another organisation's ids, values
 ('anon', 'create_capacity_pool', pg_temp.c('{"name": "10 km", "capacity": 10}'), 'not_authenticated'),
 ('carla', 'create_capacity_pool', pg_temp.c('{"name": "10 km", "capacity": 10}'), 'insufficient_role'),
 ('eva', 'create_capacity_pool', pg_temp.c('{"name": "10 km", "capacity": 10}'), 'organization_not_found'),
 ('anna', 'create_capacity_pool', pg_temp.c('{"name": "", "capacity": 10}'), 'invalid_name'),
 ('anna', 'create_capacity_pool', pg_temp.c('{"name": "10 km"}'), 'missing_argument'),
 ('anna', 'create_capacity_pool', pg_temp.c('{"name": "10 km", "capacity": -1}'), 'invalid_capacity'),
 ('anna', 'create_capacity_pool', pg_temp.c('{"name": "10 km", "capacity": 100000001}'), 'invalid_capacity'),
 ('anna', 'set_pool_capacity', pg_temp.c('{"capacity": 10}'), 'missing_argument'),
 ('anna', 'set_pool_capacity', pg_temp.c('{"pool_id": "pool2", "capacity": 10}'), 'pool_not_found'),
 ('anna', 'set_pool_capacity', pg_temp.c('{"pool_id": "pool1", "capacity": 0}'), 'capacity_in_use'),
 ('anna', 'set_pool_capacity', pg_temp.c('{"pool_id": "pool1"}'), 'missing_argument'),
 ('daan', 'set_pool_capacity', pg_temp.c('{"pool_id": "pool1", "capacity": 10}'), 'insufficient_role'),
 ('anon', 'capacity_pools', pg_temp.c('{}'), 'not_authenticated'),
 ('eva', 'capacity_pools', pg_temp.c('{}'), 'organization_not_found'),
 ('anna', 'capacity_pools', '{"organization_id": null}', 'missing_argument'),
 ('anna', 'create_capacity_item', pg_temp.c('{"name": "10 km"}'), 'invalid_argument'),
 ('anna', 'create_capacity_item', pg_temp.c('{"name": "10 km", "pools": [{"pool_id": "pool2"}]}'), 'pool_not_found'),
 ('anna', 'create_capacity_item', pg_temp.c('{"name": "10 km", "pools": [{"pool_id": "pool1", "units": 0}]}'), 'invalid_quantity'),
 ('anna', 'create_capacity_item', pg_temp.c('{"name": "10 km", "pools": [{"pool_id": "pool1"}, {"pool_id": "pool1"}]}'), 'duplicate_line'),
 ('carla', 'create_capacity_item', pg_temp.c('{"name": "10 km", "pools": [{"pool_id": "pool1"}]}'), 'insufficient_role'),
 ('eva', 'capacity_items', pg_temp.c('{}'), 'organization_not_found'),
 ('anon', 'capacity_items', pg_temp.c('{}'), 'not_authenticated'),
 ('anna', 'hold_capacity', pg_temp.c('{}'), 'missing_argument'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 1}]}'), 'sold_out'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 0}]}'), 'invalid_quantity'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"pool_id": "pool2", "quantity": 1}]}'), 'pool_not_found'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 1}, {"item_id": "item1", "quantity": 1}]}'), 'duplicate_line'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 1}], "ttl": "-5 minutes"}'), 'invalid_ttl'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 1}], "ttl": "2 days"}'), 'invalid_ttl'),
 ('anna', 'hold_capacity', pg_temp.c('{"lines": "all"}'), 'invalid_lines'),
 ('carla', 'hold_capacity', pg_temp.c('{"lines": [{"item_id": "item1", "quantity": 1}]}'), 'insufficient_role'),
 ('anna', 'confirm_hold', pg_temp.c('{}'), 'missing_argument'),
 ('anna', 'confirm_hold', pg_temp.c('{"hold_id": "hold2"}'), 'hold_not_found'),
 ('daan', 'confirm_hold', pg_temp.c('{"hold_id": "hold1"}'), 'insufficient_role'),
 ('anna', 'release_hold', pg_temp.c('{"hold_id": "hold2"}'), 'hold_not_found'),
 ('anna', 'release_hold', pg_temp.c(jsonb_build_object('hold_id', 'hold1', 'reason', repeat('r', 2001))), 'invalid_argument'),
 ('carla', 'release_hold', pg_temp.c('{"hold_id": "hold1"}'), 'insufficient_role'),
 ('anna', 'extend_hold', pg_temp.c('{"hold_id": "hold1"}'), 'missing_argument'),
 ('anna', 'extend_hold', pg_temp.c('{"hold_id": "hold1", "ttl": "0 minutes"}'), 'invalid_ttl'),
 ('anna', 'extend_hold', pg_temp.c('{"hold_id": "hold1", "ttl": "3 hours"}'), 'invalid_ttl'),
 ('anna', 'extend_hold', pg_temp.c('{"hold_id": "hold2", "ttl": "5 minutes"}'), 'hold_not_found'),
 ('anna', 'return_capacity_units', pg_temp.c('{"quantity": 1}'), 'missing_argument'),
 ('anna', 'return_capacity_units', pg_temp.c('{"allocation_id": "hold1", "quantity": 1}'), 'allocation_not_found'),
 ('carla', 'return_capacity_units', pg_temp.c('{"allocation_id": "hold1", "quantity": 1}'), 'insufficient_role'),
 ('daan', 'capacity_holds', pg_temp.c('{}'), 'insufficient_role'),
 ('anna', 'capacity_holds', pg_temp.c('{"state": "gone"}'), 'invalid_argument'),
 ('anna', 'capacity_holds', pg_temp.c('{"max_rows": 0}'), 'invalid_argument'),
 ('eva', 'capacity_holds', pg_temp.c('{}'), 'organization_not_found'),
 ('anna', 'capacity_waitlist', pg_temp.c('{}'), 'invalid_argument'),
 ('anna', 'capacity_waitlist', pg_temp.c('{"pool_id": "pool1", "item_id": "item1"}'), 'invalid_argument'),
 ('anna', 'capacity_waitlist', pg_temp.c('{"pool_id": "pool2"}'), 'pool_not_found'),
 ('daan', 'capacity_waitlist', pg_temp.c('{"pool_id": "pool1"}'), 'insufficient_role'),
 ('anon', 'join_waitlist', pg_temp.c('{"item_id": "item1"}'), 'not_authenticated'),
 ('kim', 'join_waitlist', '{"organization_id": null, "item_id": "00000000-0000-4000-e000-0000000000ff"}', 'missing_argument'),
 ('kim', 'join_waitlist', '{"organization_id": "00000000-0000-4000-b000-0000000000ff", "item_id": "00000000-0000-4000-e000-0000000000ff"}', 'organization_not_found'),
 ('kim', 'join_waitlist', pg_temp.c('{"item_id": "item1", "quantity": 11}'), 'invalid_quantity'),
 ('kim', 'join_waitlist', pg_temp.c('{"item_id": "item1", "quantity": 0}'), 'invalid_quantity'),
 ('kim', 'join_waitlist', pg_temp.c('{"item_id": "item1", "quantity": null}'), 'missing_argument'),
 ('kim', 'join_waitlist', pg_temp.c('{}'), 'invalid_argument'),
 ('kim', 'join_waitlist', pg_temp.c('{"pool_id": "pool2"}'), 'pool_not_found'),
 ('kim', 'join_waitlist', pg_temp.c('{"item_id": "item1", "priority": 5}'), 'organization_not_found'),
 ('kim', 'join_waitlist', pg_temp.c('{"item_id": "item1", "holder": "someone"}'), 'organization_not_found'),
 ('carla', 'join_waitlist', pg_temp.c('{"item_id": "item1", "holder": "someone"}'), 'insufficient_role'),
 ('anon', 'leave_waitlist', '{"entry_id": "00000000-0000-4000-e000-0000000000ff"}', 'not_authenticated'),
 ('kim', 'leave_waitlist', '{}', 'missing_argument'),
 ('kim', 'leave_waitlist', '{"entry_id": "00000000-0000-4000-e000-0000000000ff"}', 'waitlist_entry_not_found'),
 ('anon', 'my_waitlist', '{}', 'not_authenticated');

SELECT plan((SELECT count(*)::int * 2 FROM bad) + 1);

SELECT is((SELECT count(DISTINCT fn)::int FROM bad),
          -- audit_public_key takes nothing and serves anyone: no bad input exists;
          -- webhook endpoints record bad input and answer with an HTTP status
          (SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'api'::regnamespace
              AND proname <> 'audit_public_key' AND proname NOT LIKE '%webhook'),
          'every api function has bad-input cases');

CREATE TEMP TABLE outcome AS
  SELECT b.*, pgrst.tenancy_digest() AS before,
         pgrst.try(b.who, b.fn, b.args) AS result,
         pgrst.tenancy_digest() AS after
    FROM bad b;

SELECT is(split_part(result ->> 'details', ':', 1), code,
          format('%s %s %s -> %s', who, fn, left(args::text, 60), code))
  FROM outcome;
SELECT is(after, before, format('%s %s %s writes nothing', who, fn, left(args::text, 60)))
  FROM outcome;

SELECT * FROM finish();
ROLLBACK;
