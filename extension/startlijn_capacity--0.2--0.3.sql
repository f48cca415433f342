-- startlijn_capacity 0.2 -> 0.3: less work per buyer on a ticket drop
--
-- 1. capacity.release is the C function itself. It was an SQL wrapper
--    around capacity._close, and PostgreSQL parses and plans the body of
--    an SQL function on every call. Same arguments, same answers; it no
--    longer needs SECURITY DEFINER (the C code runs its SQL as the owner
--    of schema capacity, like hold and confirm).
-- 2. The idempotency keys of holds are unique through a partial index
--    over the holds that have a key. Holds without a key (most of a box
--    office's and a benchmark's) no longer add an index entry when they
--    are placed and again when they are confirmed or released.
--
-- The shared library also plans its statements generically from this
-- release on (docs/capacity.md, "Where the time goes"); that needs no
-- change here.

\echo Use "ALTER EXTENSION startlijn_capacity UPDATE TO '0.3'" to load this file. \quit

CREATE OR REPLACE FUNCTION capacity.release(hold uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE c VOLATILE SECURITY INVOKER
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_release';
COMMENT ON FUNCTION capacity.release(uuid, text) IS
  'give a live hold''s units back (an offer is declined); releasing a released or expired hold changes nothing';

CREATE UNIQUE INDEX holds_idempotency ON capacity.holds (organization_id, holder, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
ALTER TABLE capacity.holds DROP CONSTRAINT holds_organization_id_holder_idempotency_key_key;
