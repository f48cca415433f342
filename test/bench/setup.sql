-- Benchmark schema: the same table four times. plain has no audit; audited
-- has trail.enable(); chain has the naive baseline of the issue: a PL/pgSQL
-- trigger extending a single-head SHA-256 hash chain (one row locked per insert);
-- supa has the supa_audit-style trigger (below).
CREATE EXTENSION IF NOT EXISTS startlijn_audit;
CREATE SCHEMA bench;
CREATE TABLE bench.plain (id bigserial PRIMARY KEY, organization_id uuid NOT NULL, payload text, amount int,
                          created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench.audited (LIKE bench.plain INCLUDING ALL);
CREATE TABLE bench.chain (LIKE bench.plain INCLUDING ALL);
SELECT trail.enable('bench.audited');

CREATE TABLE bench.chain_head (id int PRIMARY KEY, head bytea NOT NULL);
INSERT INTO bench.chain_head VALUES (1, sha256(''));
CREATE TABLE bench.chain_log (seq bigserial PRIMARY KEY, tbl text, row_data jsonb, hash bytea, at timestamptz DEFAULT now());
CREATE FUNCTION bench.chain_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb := to_jsonb(NEW);
  h bytea;
BEGIN
  UPDATE bench.chain_head SET head = sha256(head || convert_to(doc::text, 'UTF8')) WHERE id = 1 RETURNING head INTO h;
  INSERT INTO bench.chain_log (tbl, row_data, hash) VALUES (TG_TABLE_NAME, doc, h);
  RETURN NULL;
END $$;
CREATE TRIGGER chain AFTER INSERT ON bench.chain FOR EACH ROW EXECUTE FUNCTION bench.chain_trigger();

-- The write floor of an audited insert: the row and an entry-sized row
-- (386-byte body, the same columns and indexes as trail.entries) written by
-- one statement, no trigger, no encoding, no hashing. An audit trail that
-- writes one entry row per change in the same transaction cannot be faster.
CREATE TABLE bench.floor (LIKE bench.plain INCLUDING ALL);
CREATE TABLE bench.floor_entries (id bigserial PRIMARY KEY, log_id uuid NOT NULL, xact bigint NOT NULL,
  created_at timestamptz NOT NULL, action text NOT NULL, table_name text, actor_uid uuid, data_subject uuid,
  body text NOT NULL, leaf_hash bytea NOT NULL);
CREATE INDEX ON bench.floor_entries (log_id, id);
CREATE INDEX ON bench.floor_entries USING brin (xact);

-- The supa_audit-style baseline (supabase/supa_audit, the generic audit
-- trigger Supabase users would pick instead): a PL/pgSQL AFTER row trigger
-- that records to_jsonb(NEW) / to_jsonb(OLD) with the operation, a timestamp
-- and the table into one log table (its record_version, with its BRIN index
-- on ts and its index on table_oid), no hashing, no chain, no signature.
CREATE TABLE bench.supa (LIKE bench.plain INCLUDING ALL);
CREATE TABLE bench.record_version (id bigserial PRIMARY KEY, op text NOT NULL, ts timestamptz NOT NULL DEFAULT now(),
  table_oid oid NOT NULL, table_schema name NOT NULL, table_name name NOT NULL, record jsonb, old_record jsonb);
CREATE INDEX ON bench.record_version USING brin (ts);
CREATE INDEX ON bench.record_version (table_oid);
CREATE FUNCTION bench.supa_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench.record_version (op, ts, table_oid, table_schema, table_name, record, old_record)
  VALUES (TG_OP, now(), TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME,
          CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END,
          CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END);
  RETURN NULL;
END $$;
CREATE TRIGGER supa AFTER INSERT OR UPDATE OR DELETE ON bench.supa FOR EACH ROW EXECUTE FUNCTION bench.supa_trigger();
