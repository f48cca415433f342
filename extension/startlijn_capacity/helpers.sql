-- startlijn_capacity/helpers.sql: the waitlist counter and timestamp triggers, and
-- the reads: holds, waitlist entries and pools as JSON, exact and approximate
-- availability.

-------------------------------------------------------------------------------
-- Internal helpers
-------------------------------------------------------------------------------

-- The pools a waitlist entry draws from.
CREATE FUNCTION capacity._entry_pools(pool_id uuid, item_id uuid) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN _entry_pools.pool_id IS NOT NULL THEN ARRAY[_entry_pools.pool_id]
           ELSE (SELECT COALESCE(pg_catalog.array_agg(ip.pool_id ORDER BY ip.pool_id), '{}')
                   FROM capacity.item_pools ip WHERE ip.item_id = _entry_pools.item_id) END
  $$;

-- Keep pools.waitlist_pending equal to the open (waiting or offered)
-- entries per pool. Pool rows are locked in id order: no deadlock between
-- two entries touching the same pools.
CREATE FUNCTION capacity._waitlist_pending() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  was_open boolean := TG_OP = 'UPDATE' AND OLD.state IN ('waiting', 'offered');
  is_open boolean := NEW.state IN ('waiting', 'offered');
  delta integer;
  pools uuid[];
BEGIN
  delta := is_open::integer - was_open::integer;
  IF delta <> 0 THEN
    pools := capacity._entry_pools(NEW.pool_id, NEW.item_id);
    PERFORM 1 FROM capacity.pools p WHERE p.id = ANY (pools) ORDER BY p.id FOR NO KEY UPDATE;
    UPDATE capacity.pools p SET waitlist_pending = p.waitlist_pending + delta
     WHERE p.id = ANY (pools);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER waitlist_pending AFTER INSERT OR UPDATE OF state ON capacity.waitlist
  FOR EACH ROW EXECUTE FUNCTION capacity._waitlist_pending();

CREATE FUNCTION capacity._touch() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN NEW.updated_at := pg_catalog.now(); RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON capacity.pools
  FOR EACH ROW EXECUTE FUNCTION capacity._touch();
CREATE TRIGGER touch BEFORE UPDATE ON capacity.allocations
  FOR EACH ROW EXECUTE FUNCTION capacity._touch();

-- A hold as the write functions return it (NULL when there is none).
CREATE FUNCTION capacity.hold_info(hold uuid) RETURNS jsonb
  LANGUAGE c STABLE STRICT
  AS 'MODULE_PATHNAME', 'capacity_hold_info';

CREATE FUNCTION capacity.waitlist_json(w capacity.waitlist) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'entry_id', w.id, 'organization_id', w.organization_id, 'pool_id', w.pool_id,
      'item_id', w.item_id, 'holder', w.holder, 'quantity', w.quantity, 'priority', w.priority,
      'state', w.state, 'hold_id', w.hold_id, 'created_at', w.created_at,
      'offered_at', w.offered_at, 'closed_at', w.closed_at,
      'offer_expires_at', (SELECT h.expires_at FROM capacity.holds h
                            WHERE h.id = w.hold_id AND w.state = 'offered'),
      'position', CASE WHEN w.state = 'waiting' THEN
        (SELECT pg_catalog.count(*) + 1 FROM capacity.waitlist o
          WHERE o.state = 'waiting' AND o.organization_id = w.organization_id
            AND (o.pool_id = w.pool_id OR o.item_id = w.item_id)
            AND (o.priority > w.priority
                 OR (o.priority = w.priority AND (o.created_at, o.id) < (w.created_at, w.id)))) END))
  $$;

-- Exact counts of a pool, as of now.
CREATE FUNCTION capacity.pool_status(pool uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'pool_id', p.id, 'organization_id', p.organization_id, 'name', p.name,
      'capacity', p.capacity, 'allocated', c.allocated, 'held', c.held, 'free', c.free,
      'waitlist_pending', p.waitlist_pending,
      'available', CASE WHEN p.waitlist_pending > 0 THEN 0 ELSE c.free END,
      'approx_available', p.approx_available, 'approx_at', p.approx_at)
      FROM capacity.pools p,
           LATERAL (SELECT pg_catalog.count(*) FILTER (WHERE s.held_until = 'infinity') AS allocated,
                           pg_catalog.count(*) FILTER (WHERE s.held_until >= pg_catalog.now()
                                                         AND s.held_until < 'infinity') AS held,
                           pg_catalog.count(*) FILTER (WHERE s.held_until < pg_catalog.now()) AS free
                      FROM capacity.slots s WHERE s.pool_id = p.id) c
     WHERE p.id = pool
  $$;

-- Units a new public hold could take from the pool right now (exact):
-- zero while the waitlist has entries, whose offers come first.
CREATE FUNCTION capacity.available(pool uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN p.waitlist_pending > 0 THEN 0
           ELSE (SELECT pg_catalog.count(*)::integer FROM capacity.slots s
                  WHERE s.pool_id = p.id AND s.held_until < pg_catalog.now()) END
      FROM capacity.pools p WHERE p.id = pool
  $$;

-- Cheap read for listing pages: the figure the last sweep (or capacity
-- change) computed, at most settings.approx_refresh plus the sweep
-- interval old. Never use it to decide whether a sale may happen.
CREATE FUNCTION capacity.available_approx(pool uuid) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT p.approx_available FROM capacity.pools p WHERE p.id = pool $$;

CREATE FUNCTION capacity._refresh_approx(pools uuid[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    WITH u AS (
      UPDATE capacity.pools p
         SET approx_available = CASE WHEN p.waitlist_pending > 0 THEN 0 ELSE
               (SELECT pg_catalog.count(*)::integer FROM capacity.slots s
                 WHERE s.pool_id = p.id AND s.held_until < pg_catalog.now()) END,
             approx_at = pg_catalog.now()
       WHERE p.id = ANY (pools)
      RETURNING 1)
    SELECT pg_catalog.count(*)::integer FROM u
  $$;

-- A display name (pools, items): 1 to 200 characters, no control,
-- zero-width or direction-changing characters (the platform's validator).
CREATE FUNCTION capacity._valid_name(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'startlijn_valid_name';
