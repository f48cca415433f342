-- Distribution by organisation (Citus, docs/scaling.md "Where the schema
-- stands"): the schema is distributable by organization_id. Every table of
-- our extensions is classified: a tenant table (organization_id NOT NULL,
-- distributed by it), a reference table (replicated) or a coordinator table.
-- Citus requires every primary key, unique constraint and unique index of a
-- distributed table to include the distribution column, and a foreign key
-- between distributed tables to include it on both sides; these checks
-- prove it for every tenant table, with no list of exceptions. A new table
-- must be classified here (and in the doc).
BEGIN;
SELECT plan(17);

CREATE TEMP VIEW our_tables AS
  SELECT c.oid, c.oid::regclass::text AS name,
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                    AND NOT a.attisdropped AND a.attnotnull) AS tenant,
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                    AND NOT a.attisdropped AND NOT a.attnotnull) AS optional_tenant
    FROM pg_class c
   WHERE c.relkind IN ('r', 'p')
     AND c.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                    WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND e.extname LIKE 'startlijn%');
CREATE TEMP VIEW org_col AS
  SELECT a.attrelid, a.attnum FROM pg_attribute a WHERE a.attname = 'organization_id' AND NOT a.attisdropped;

-- replicated to every node: small, read-mostly, shared by all organisations
CREATE TEMP TABLE reference_tables (name text PRIMARY KEY);
INSERT INTO reference_tables VALUES
  ('startlijn.organizations'), ('startlijn.profiles'), ('startlijn.platform_settings'), ('startlijn.checkout_settings'),
  ('capacity.settings'), ('payments.settings'), ('payments.accounts'), ('payments.secrets'), ('payments.listeners'),
  ('tokens.purposes'), ('tokens.settings'), ('retention.config'), ('retention.profiles'), ('retention.periods'),
  ('retention.erasure_hooks'), ('retention.subject_checks'), ('trail.settings'), ('trail.signing_keys'),
  ('trail.tracked_tables');
-- kept on the coordinator: the audit logs and their sealer, queues and run
-- state of the jobs, webhook deliveries before their tenant is known, and
-- erasure requests, whose organization_id may be NULL (a subject's records
-- in every organisation)
CREATE TEMP TABLE coordinator_tables (name text PRIMARY KEY);
INSERT INTO coordinator_tables VALUES
  ('trail.entries'), ('trail.leaves'), ('trail.checkpoints'), ('trail.logs'), ('trail.sealer'),
  ('trail.subject_keys'), ('trail.forgotten_subjects'),
  ('payments.deliveries'), ('payments.fetch_queue'), ('payments.idempotency_keys'),
  ('retention.runs'), ('retention.pending_subjects'), ('retention.erasure_requests'),
  ('tokens.failures');

SELECT cmp_ok((SELECT count(*) FROM our_tables), '>=', 60::bigint, 'the check sees every table of our extensions');
SELECT cmp_ok((SELECT count(*) FROM our_tables WHERE tenant), '>=', 35::bigint, 'the check sees the tenant tables');

SELECT is_empty($$ SELECT name FROM our_tables t
                    WHERE NOT t.tenant
                      AND name NOT IN (SELECT name FROM reference_tables UNION ALL SELECT name FROM coordinator_tables) $$,
  'every table without a NOT NULL organization_id is a reference table or kept on the coordinator (docs/scaling.md)');

SELECT is_empty($$ SELECT r.name FROM (SELECT name FROM reference_tables UNION ALL SELECT name FROM coordinator_tables) r
                    LEFT JOIN our_tables t ON t.name = r.name
                    WHERE t.name IS NULL OR t.tenant $$,
  'every table named as reference or coordinator exists and is not a tenant table');

SELECT is_empty($$ SELECT name FROM our_tables WHERE optional_tenant
                    AND name NOT IN (SELECT name FROM coordinator_tables) $$,
  'a table whose organization_id may be NULL is kept on the coordinator (a NULL cannot be distributed)');

SELECT is_empty($$ SELECT name FROM our_tables t
                    WHERE t.tenant
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN org_col o ON o.attrelid = k.conrelid
                                       WHERE k.conrelid = t.oid AND k.contype = 'p' AND o.attnum = ANY (k.conkey)) $$,
  'every tenant table has a primary key that includes organization_id');

SELECT is_empty($$ SELECT t.name || ': ' || k.conname FROM our_tables t JOIN pg_constraint k ON k.conrelid = t.oid
                    WHERE t.tenant AND k.contype IN ('u', 'x')
                      AND NOT EXISTS (SELECT 1 FROM org_col o WHERE o.attrelid = t.oid AND o.attnum = ANY (k.conkey)) $$,
  'every unique and exclusion constraint of a tenant table includes organization_id');

-- unique indexes without a constraint (partial ones, expressions): the
-- column itself must be a key column, not only inside an expression
SELECT is_empty($$ SELECT t.name || ': ' || i.indexrelid::regclass::text FROM our_tables t JOIN pg_index i ON i.indrelid = t.oid
                    WHERE t.tenant AND i.indisunique
                      AND NOT EXISTS (SELECT 1 FROM org_col o WHERE o.attrelid = t.oid
                                         AND o.attnum = ANY (i.indkey::int2[])) $$,
  'every unique index of a tenant table has organization_id as a key column');

SELECT is_empty($$ SELECT t.name || ' -> ' || k.confrelid::regclass::text FROM our_tables t
                      JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
                      JOIN our_tables r ON r.oid = k.confrelid AND r.tenant
                    WHERE t.tenant
                      AND NOT EXISTS (SELECT 1 FROM org_col o, org_col p, generate_subscripts(k.conkey, 1) n
                                       WHERE o.attrelid = t.oid AND p.attrelid = r.oid
                                         AND k.conkey[n] = o.attnum AND k.confkey[n] = p.attnum) $$,
  'every foreign key between tenant tables pairs organization_id with organization_id');

SELECT is_empty($$ SELECT t.name || ' -> ' || r.name FROM our_tables t
                      JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
                      JOIN our_tables r ON r.oid = k.confrelid
                    WHERE (t.tenant AND r.name IN (SELECT name FROM coordinator_tables))
                       OR (NOT t.tenant AND r.tenant) $$,
  'no foreign key from a tenant table to a coordinator table, nor from a reference or coordinator table to a tenant table');

-- the composite keys make a cross-tenant reference impossible: a pool of
-- one organisation cannot be drawn from by another organisation's item or
-- carry its units
INSERT INTO capacity.pools (id, organization_id, name) VALUES
  ('00000000-0000-4000-9000-0000000000a1', '00000000-0000-4000-9000-00000000000a', 'pool of A');
INSERT INTO capacity.items (id, organization_id, name) VALUES
  ('00000000-0000-4000-9000-0000000000a2', '00000000-0000-4000-9000-00000000000a', 'item of A'),
  ('00000000-0000-4000-9000-0000000000b2', '00000000-0000-4000-9000-00000000000b', 'item of B');
SELECT lives_ok($$ INSERT INTO capacity.item_pools (organization_id, item_id, pool_id) VALUES
                   ('00000000-0000-4000-9000-00000000000a', '00000000-0000-4000-9000-0000000000a2',
                    '00000000-0000-4000-9000-0000000000a1') $$,
  'an item draws from a pool of its own organisation');
SELECT throws_ok($$ INSERT INTO capacity.item_pools (organization_id, item_id, pool_id) VALUES
                    ('00000000-0000-4000-9000-00000000000b', '00000000-0000-4000-9000-0000000000b2',
                     '00000000-0000-4000-9000-0000000000a1') $$,
  '23503', NULL, 'an item cannot draw from a pool of another organisation (the composite foreign key refuses it)');

-- tokens: a scope's name stays unique on the platform, its codes carry its
-- organisation, and a token or scope of no organisation is stored under the
-- nil UUID (shown as NULL)
SELECT tokens.signing_key('dist-scope', '00000000-0000-4000-b000-000000000001');
SELECT is(pgrst.err($$ SELECT tokens.signing_key('dist-scope', '00000000-0000-4000-b000-000000000002') $$),
  'PT404 scope_not_found', 'a scope name another organisation holds is refused');
SELECT is((SELECT array_agg(organization_id::text) FROM tokens.scopes WHERE scope = 'dist-scope'),
  ARRAY['00000000-0000-4000-b000-000000000001'], 'the scope exists once, in its organisation');
SELECT tokens.sign_code('dist-scope', '\x0102');
SELECT is((SELECT organization_id FROM tokens.codes WHERE scope = 'dist-scope'), '00000000-0000-4000-b000-000000000001',
  'a code carries its scope''s organisation');
SELECT throws_ok($$ INSERT INTO tokens.codes (scope, organization_id, payload, version)
                    VALUES ('dist-scope', '00000000-0000-4000-b000-000000000002', '\x0103', 1) $$,
  '23503', NULL, 'a code cannot name a scope of another organisation (the composite foreign key refuses it)');
SELECT tokens.signing_key('dist-platform-scope');
SELECT is((SELECT organization_id FROM tokens.scopes WHERE scope = 'dist-platform-scope'),
  '00000000-0000-0000-0000-000000000000'::uuid, 'a scope of no organisation is stored under the nil UUID');

SELECT * FROM finish();
ROLLBACK;
