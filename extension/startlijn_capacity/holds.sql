-- startlijn_capacity/holds.sql: the write paths (C, src/capacity/capacity.c): hold,
-- confirm, release, extend, return units, set capacity, promote the waitlist.

-------------------------------------------------------------------------------
-- The write paths (C, src/capacity/capacity.c)
-------------------------------------------------------------------------------

CREATE FUNCTION capacity.hold(
    organization_id uuid, lines jsonb, ttl interval, holder text, idempotency_key text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_hold';
COMMENT ON FUNCTION capacity.hold(uuid, jsonb, interval, text, text) IS
  'hold units for lines [{"item_id"|"pool_id": uuid, "quantity": n}], all or nothing; sold_out or try_again otherwise';

CREATE FUNCTION capacity.confirm(hold uuid) RETURNS jsonb
  LANGUAGE c VOLATILE STRICT
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_confirm';
COMMENT ON FUNCTION capacity.confirm(uuid) IS
  'turn a live hold into allocations, exactly once; a repeated confirm returns the same allocations';

CREATE FUNCTION capacity._close(hold uuid, reason text, expiring boolean) RETURNS jsonb
  LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_close';

CREATE FUNCTION capacity.release(hold uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE c VOLATILE SECURITY INVOKER
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_release';
COMMENT ON FUNCTION capacity.release(uuid, text) IS
  'give a live hold''s units back (an offer is declined); releasing a released or expired hold changes nothing';

CREATE FUNCTION capacity.extend(hold uuid, ttl interval) RETURNS jsonb
  LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_extend';

CREATE FUNCTION capacity.return_units(allocation uuid, quantity integer, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_return_units';

CREATE FUNCTION capacity.set_capacity(pool uuid, capacity integer, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE c VOLATILE
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_set_capacity';
COMMENT ON FUNCTION capacity.set_capacity(uuid, integer, text) IS
  'raise or lower a pool''s capacity; lowering below what is allocated plus held fails with capacity_in_use';

-- Offer freed units of a pool to its waitlist; returns the offers made.
CREATE FUNCTION capacity.promote(pool uuid) RETURNS integer
  LANGUAGE c VOLATILE STRICT
  SET lock_timeout = '3s'
  AS 'MODULE_PATHNAME', 'capacity_promote';
