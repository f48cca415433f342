-- Distribution by organisation (Citus, docs/scaling.md "Where the schema
-- stands"): every table of our extensions is classified, and the tables that
-- still stand in the way of distributing by organization_id are exactly the
-- ones docs/scaling.md names. A new table must be classified here (and in the
-- doc); a tenant table must not add to the lists of what is left to change;
-- a table that gets fixed must leave the list (so the doc stays true).
BEGIN;
SELECT plan(7);

CREATE TEMP VIEW our_tables AS
  SELECT c.oid, c.oid::regclass::text AS name,
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                    AND NOT a.attisdropped) AS tenant
    FROM pg_class c
   WHERE c.relkind IN ('r', 'p')
     AND c.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                    WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%');

-- replicated to every node: small, read-mostly, shared by all organisations
CREATE TEMP TABLE reference_tables (name text PRIMARY KEY);
INSERT INTO reference_tables VALUES
  ('startlijn.organizations'), ('startlijn.profiles'), ('startlijn.platform_settings'), ('startlijn.checkout_settings'),
  ('capacity.settings'), ('payments.settings'), ('payments.accounts'), ('payments.secrets'), ('payments.listeners'),
  ('tokens.purposes'), ('tokens.settings'), ('retention.config'), ('retention.profiles'), ('retention.periods'),
  ('retention.erasure_hooks'), ('retention.subject_checks'), ('trail.settings'), ('trail.signing_keys'),
  ('trail.tracked_tables');
-- kept on the coordinator: the audit logs and their sealer, queues and run
-- state of the jobs, webhook deliveries before their tenant is known
CREATE TEMP TABLE coordinator_tables (name text PRIMARY KEY);
INSERT INTO coordinator_tables VALUES
  ('trail.entries'), ('trail.leaves'), ('trail.checkpoints'), ('trail.logs'), ('trail.sealer'),
  ('trail.subject_keys'), ('trail.forgotten_subjects'),
  ('payments.deliveries'), ('payments.fetch_queue'), ('payments.idempotency_keys'),
  ('retention.runs'), ('retention.pending_subjects'), ('tokens.failures');
-- tenant data without an organization_id column yet (keyed by a token scope)
CREATE TEMP TABLE tenant_without_column (name text PRIMARY KEY);
INSERT INTO tenant_without_column VALUES ('tokens.codes'), ('tokens.revocations'), ('tokens.signing_keys');
-- tenant tables whose primary key does not include organization_id yet
CREATE TEMP TABLE pk_without_tenant (name text PRIMARY KEY);
INSERT INTO pk_without_tenant VALUES
  ('startlijn.events'), ('startlijn.courses'), ('startlijn.waves'), ('startlijn.ticket_types'),
  ('startlijn.price_tiers'), ('startlijn.addons'), ('startlijn.addon_variants'), ('startlijn.discount_codes'),
  ('startlijn.orders'), ('startlijn.order_items'), ('startlijn.registrations'), ('startlijn.entitlements'),
  ('startlijn.organization_members'), ('startlijn.organization_relationships'),
  ('capacity.pools'), ('capacity.items'), ('capacity.holds'), ('capacity.allocations'), ('capacity.waitlist'),
  ('capacity.slots'), ('capacity.item_pools'),
  ('payments.payments'), ('payments.refunds'), ('payments.chargebacks'), ('payments.journal'),
  ('payments.fee_rules'), ('payments.postings'), ('payments.events'),
  ('retention.holds'), ('retention.erasure_requests'), ('retention.notifications'),
  ('tokens.tokens'), ('tokens.scopes');

SELECT cmp_ok((SELECT count(*) FROM our_tables), '>=', 60::bigint, 'the check sees every table of our extensions');

SELECT is_empty($$ SELECT name FROM our_tables t
                    WHERE NOT t.tenant
                      AND name NOT IN (SELECT name FROM reference_tables UNION ALL SELECT name FROM coordinator_tables
                                       UNION ALL SELECT name FROM tenant_without_column) $$,
  'every table without organization_id is a reference table, kept on the coordinator, or a named gap (docs/scaling.md)');

SELECT is_empty($$ SELECT r.name FROM (SELECT name FROM reference_tables UNION ALL SELECT name FROM coordinator_tables
                                       UNION ALL SELECT name FROM tenant_without_column) r
                    LEFT JOIN our_tables t ON t.name = r.name
                    WHERE t.name IS NULL OR t.tenant $$,
  'every table named as reference, coordinator or gap exists and has no organization_id');

SELECT is_empty($$ SELECT name FROM our_tables t
                    WHERE t.tenant
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a
                                        ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
                                       WHERE k.conrelid = t.oid AND k.contype = 'p' AND a.attname = 'organization_id')
                      AND name NOT IN (SELECT name FROM pk_without_tenant) $$,
  'no new tenant table has a primary key without organization_id');

SELECT is_empty($$ SELECT p.name FROM pk_without_tenant p JOIN our_tables t ON t.name = p.name
                    WHERE EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a
                                    ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
                                   WHERE k.conrelid = t.oid AND k.contype = 'p' AND a.attname = 'organization_id')
                    UNION ALL
                    SELECT p.name FROM pk_without_tenant p WHERE p.name NOT IN (SELECT name FROM our_tables WHERE tenant) $$,
  'the list of primary keys still to change is exact (a fixed table leaves it)');

-- unique constraints and foreign keys of tenant tables: a table that already
-- has its primary key right must have every unique key and every foreign key
-- to another tenant table include organization_id too
SELECT is_empty($$ SELECT t.name || ': ' || k.conname FROM our_tables t JOIN pg_constraint k ON k.conrelid = t.oid
                    WHERE t.tenant AND t.name NOT IN (SELECT name FROM pk_without_tenant)
                      AND k.contype IN ('u', 'x')
                      AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                                         AND a.attnum = ANY (k.conkey) AND a.attname = 'organization_id') $$,
  'tenant tables with a tenant primary key have no unique constraint without organization_id');

SELECT is_empty($$ SELECT t.name || ' -> ' || k.confrelid::regclass::text FROM our_tables t
                      JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
                      JOIN our_tables r ON r.oid = k.confrelid AND r.tenant
                    WHERE t.tenant AND t.name NOT IN (SELECT name FROM pk_without_tenant)
                      AND r.name NOT IN (SELECT name FROM pk_without_tenant)
                      AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                                         AND a.attnum = ANY (k.conkey) AND a.attname = 'organization_id') $$,
  'foreign keys between tenant tables with tenant primary keys include organization_id');

SELECT * FROM finish();
ROLLBACK;
