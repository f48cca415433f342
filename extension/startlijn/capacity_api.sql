-- startlijn/capacity_api.sql: capacity through the API (startlijn_capacity).
--
-- Owners and admins of an organisation create pools and the items that draw
-- from them, change capacity, and work the box office: hold, confirm,
-- release, extend and return units. Every member reads the pools and items
-- (exact figures); owners, admins and support read holds and waitlists (they
-- name people). A signed-in participant joins and leaves a waitlist and
-- follows their entries and offers. Another organisation's pools, items,
-- holds, allocations and entries are reported as not found.
--
-- The generic functions of startlijn_capacity take bare ids; every wrapper
-- below first proves that the id belongs to the caller's organisation.
-- See docs/capacity.md (section "Through the API") and docs/api.md.

-------------------------------------------------------------------------------
-- Who may act, and whose ids these are
-------------------------------------------------------------------------------

-- 'manage': owners, admins (and the superadmin) change pools and holds;
-- 'people': they and support read holds and waitlists;
-- 'read':   every member reads pools and items.
CREATE FUNCTION startlijn.require_capacity_role(organization_id uuid, need text) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT CASE need
    WHEN 'manage' THEN startlijn.require_org_roles(organization_id, '{owner,admin,superadmin}',
                                                   'Only owners and admins manage capacity.')
    WHEN 'people' THEN startlijn.require_org_roles(organization_id, '{owner,admin,support,superadmin}',
                                                   'Only owners, admins and support see holds and waitlists.')
    ELSE startlijn.require_org_roles(organization_id, '{owner,admin,support,finance,superadmin}', NULL) END
$$;

-- The id when it names a row of the organisation; the *_not_found error of
-- its kind otherwise (also for another organisation's row: no existence leak).
CREATE FUNCTION startlijn.capacity_id(organization_id uuid, kind text, id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  found boolean;
BEGIN
  IF id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', pg_catalog.format('The argument %s_id is required.', kind));
  END IF;
  found := CASE kind
    WHEN 'pool' THEN EXISTS (SELECT 1 FROM capacity.pools x
                              WHERE x.id = capacity_id.id AND x.organization_id = capacity_id.organization_id)
    WHEN 'item' THEN EXISTS (SELECT 1 FROM capacity.items x
                              WHERE x.id = capacity_id.id AND x.organization_id = capacity_id.organization_id)
    WHEN 'hold' THEN EXISTS (SELECT 1 FROM capacity.holds x
                              WHERE x.id = capacity_id.id AND x.organization_id = capacity_id.organization_id)
    WHEN 'allocation' THEN EXISTS (SELECT 1 FROM capacity.allocations x
                              WHERE x.id = capacity_id.id AND x.organization_id = capacity_id.organization_id)
    WHEN 'waitlist_entry' THEN EXISTS (SELECT 1 FROM capacity.waitlist x
                              WHERE x.id = capacity_id.id AND x.organization_id = capacity_id.organization_id) END;
  IF NOT found THEN
    PERFORM startlijn.raise(kind || '_not_found');
  END IF;
  RETURN id;
END
$$;

-------------------------------------------------------------------------------
-- Pools and items (owners and admins write, members read)
-------------------------------------------------------------------------------

CREATE FUNCTION startlijn.create_capacity_pool(organization_id uuid, name text, capacity integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  IF capacity IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument capacity is required.');
  END IF;
  PERFORM startlijn.check_capacity_limit(organization_id, NULL, capacity);
  RETURN capacity.create_pool(organization_id, name, capacity);
END
$$;
CREATE FUNCTION api.create_capacity_pool(organization_id uuid, name text DEFAULT NULL, capacity integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_capacity_pool(organization_id, name, capacity) $$;

CREATE FUNCTION startlijn.set_pool_capacity(organization_id uuid, pool_id uuid, capacity integer, reason text)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  PERFORM startlijn.check_capacity_limit(organization_id, startlijn.capacity_id(organization_id, 'pool', pool_id), capacity);
  RETURN capacity.set_capacity(startlijn.capacity_id(organization_id, 'pool', pool_id), capacity,
                               NULLIF(pg_catalog.btrim(reason), ''));
END
$$;
CREATE FUNCTION api.set_pool_capacity(organization_id uuid, pool_id uuid DEFAULT NULL, capacity integer DEFAULT NULL,
                                      reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.set_pool_capacity(organization_id, pool_id, capacity, reason) $$;

-- exact figures per pool, by name
CREATE FUNCTION startlijn.capacity_pools(organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'read');
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(capacity.pool_status(p.id) ORDER BY p.name, p.id)
                     FROM capacity.pools p WHERE p.organization_id = capacity_pools.organization_id), '[]');
END
$$;
CREATE FUNCTION api.capacity_pools(organization_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.capacity_pools(organization_id) $$;

CREATE FUNCTION startlijn.create_capacity_item(organization_id uuid, name text, pools jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.create_item(organization_id, name, pools);
END
$$;
CREATE FUNCTION api.create_capacity_item(organization_id uuid, name text DEFAULT NULL, pools jsonb DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_capacity_item(organization_id, name, pools) $$;

CREATE FUNCTION startlijn.capacity_items(organization_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'read');
  RETURN COALESCE((SELECT pg_catalog.jsonb_agg(capacity.item_json(i.id) ORDER BY i.name, i.id)
                     FROM capacity.items i WHERE i.organization_id = capacity_items.organization_id), '[]');
END
$$;
CREATE FUNCTION api.capacity_items(organization_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.capacity_items(organization_id) $$;

-------------------------------------------------------------------------------
-- The box office: holds, confirmation, returns (owners and admins)
-------------------------------------------------------------------------------

-- A hold for a participant (holder: their user id, or any reference such as
-- an order number; the caller's own id when left out). The TTL defaults to
-- 15 minutes, the life of an iDEAL payment.
CREATE FUNCTION startlijn.hold_capacity(organization_id uuid, lines jsonb, ttl interval, holder text,
                                        idempotency_key text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.hold(organization_id, lines, COALESCE(ttl, interval '15 minutes'),
                       COALESCE(holder, auth.uid()::text), idempotency_key);
END
$$;
CREATE FUNCTION api.hold_capacity(organization_id uuid, lines jsonb DEFAULT NULL, ttl interval DEFAULT NULL,
                                  holder text DEFAULT NULL, idempotency_key text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.hold_capacity(organization_id, lines, ttl, holder, idempotency_key) $$;

CREATE FUNCTION startlijn.confirm_hold(organization_id uuid, hold_id uuid) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.confirm(startlijn.capacity_id(organization_id, 'hold', hold_id));
END
$$;
CREATE FUNCTION api.confirm_hold(organization_id uuid, hold_id uuid DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.confirm_hold(organization_id, hold_id) $$;

CREATE FUNCTION startlijn.release_hold(organization_id uuid, hold_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.release(startlijn.capacity_id(organization_id, 'hold', hold_id),
                          NULLIF(pg_catalog.btrim(reason), ''));
END
$$;
CREATE FUNCTION api.release_hold(organization_id uuid, hold_id uuid DEFAULT NULL, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.release_hold(organization_id, hold_id, reason) $$;

CREATE FUNCTION startlijn.extend_hold(organization_id uuid, hold_id uuid, ttl interval) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.extend(startlijn.capacity_id(organization_id, 'hold', hold_id), ttl);
END
$$;
CREATE FUNCTION api.extend_hold(organization_id uuid, hold_id uuid DEFAULT NULL, ttl interval DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.extend_hold(organization_id, hold_id, ttl) $$;

-- a cancellation: confirmed units go back (to the waitlist first)
CREATE FUNCTION startlijn.return_capacity_units(organization_id uuid, allocation_id uuid, quantity integer,
                                                reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  RETURN capacity.return_units(startlijn.capacity_id(organization_id, 'allocation', allocation_id), quantity,
                               NULLIF(pg_catalog.btrim(reason), ''));
END
$$;
CREATE FUNCTION api.return_capacity_units(organization_id uuid, allocation_id uuid DEFAULT NULL,
                                          quantity integer DEFAULT NULL, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.return_capacity_units(organization_id, allocation_id, quantity, reason) $$;

-- holds of the organisation, newest first; state as the buyer sees it
-- (a held hold past its expiry is 'expired'); page with before.
CREATE FUNCTION startlijn.capacity_holds(organization_id uuid, state text, holder text, before timestamptz,
                                         max_rows integer) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'people');
  IF state IS NOT NULL AND state NOT IN ('held', 'confirmed', 'released', 'expired') THEN
    PERFORM startlijn.raise('invalid_argument', 'state is one of held, confirmed, released, expired.');
  END IF;
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
    PERFORM startlijn.raise('invalid_argument', 'max_rows is 1 to 1000.');
  END IF;
  RETURN COALESCE((
    SELECT pg_catalog.jsonb_agg(capacity.hold_info(h.id) ORDER BY h.created_at DESC, h.id)
      FROM (SELECT x.id, x.created_at FROM capacity.holds x
             WHERE x.organization_id = capacity_holds.organization_id
               AND (capacity_holds.holder IS NULL OR x.holder = capacity_holds.holder)
               AND (capacity_holds.before IS NULL OR x.created_at < capacity_holds.before)
               AND (capacity_holds.state IS NULL
                    OR CASE WHEN x.state = 'held' AND x.expires_at <= pg_catalog.now() THEN 'expired'
                            ELSE x.state END = capacity_holds.state)
             ORDER BY x.created_at DESC, x.id LIMIT max_rows) h), '[]');
END
$$;
CREATE FUNCTION api.capacity_holds(organization_id uuid, state text DEFAULT NULL, holder text DEFAULT NULL,
                                   before timestamptz DEFAULT NULL, max_rows integer DEFAULT 100)
  RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT startlijn.capacity_holds(organization_id, state, holder, before, max_rows) $$;

-------------------------------------------------------------------------------
-- Waitlists
-------------------------------------------------------------------------------

-- The queue of a pool or an item, in serving order, with open entries only
-- unless include_closed.
CREATE FUNCTION startlijn.capacity_waitlist(organization_id uuid, pool_id uuid, item_id uuid,
                                            include_closed boolean) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM startlijn.require_capacity_role(organization_id, 'people');
  IF (pool_id IS NULL) = (item_id IS NULL) THEN
    PERFORM startlijn.raise('invalid_argument', 'Pass exactly one of pool_id and item_id.');
  END IF;
  IF pool_id IS NOT NULL THEN
    PERFORM startlijn.capacity_id(organization_id, 'pool', pool_id);
  ELSE
    PERFORM startlijn.capacity_id(organization_id, 'item', item_id);
  END IF;
  RETURN COALESCE((
    SELECT pg_catalog.jsonb_agg(capacity.waitlist_json(w)
                                ORDER BY w.state NOT IN ('waiting', 'offered'), w.priority DESC, w.created_at, w.id)
      FROM capacity.waitlist w
     WHERE w.organization_id = capacity_waitlist.organization_id
       AND (w.pool_id = capacity_waitlist.pool_id OR w.item_id = capacity_waitlist.item_id)
       AND (COALESCE(include_closed, false) OR w.state IN ('waiting', 'offered'))), '[]');
END
$$;
CREATE FUNCTION api.capacity_waitlist(organization_id uuid, pool_id uuid DEFAULT NULL, item_id uuid DEFAULT NULL,
                                      include_closed boolean DEFAULT false)
  RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT startlijn.capacity_waitlist(organization_id, pool_id, item_id, include_closed) $$;

-- Join a waitlist. A participant joins for themselves (at most 10 places,
-- priority 0); owners and admins may put someone else on it (holder) and
-- set a priority, up to the engine's maximum quantity.
CREATE FUNCTION startlijn.join_waitlist(organization_id uuid, quantity integer, pool_id uuid, item_id uuid,
                                        holder text, priority integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
BEGIN
  IF organization_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF holder IS NOT NULL OR COALESCE(priority, 0) <> 0 THEN
    -- someone else, or a priority: owners and admins only
    PERFORM startlijn.require_capacity_role(organization_id, 'manage');
  ELSE
    IF NOT EXISTS (SELECT 1 FROM startlijn.organizations o
                    WHERE o.id = join_waitlist.organization_id AND o.deleted_at IS NULL) THEN
      PERFORM startlijn.raise('organization_not_found');
    END IF;
    IF quantity > 10 THEN
      PERFORM startlijn.raise('invalid_quantity', 'A participant asks for at most 10 places.',
                              'For a larger group, contact the organizer.');
    END IF;
  END IF;
  IF quantity IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument quantity is required.');
  END IF;
  RETURN capacity.join_waitlist(organization_id, COALESCE(holder, uid::text), quantity,
                                pool_id, item_id, COALESCE(priority, 0));
END
$$;
CREATE FUNCTION api.join_waitlist(organization_id uuid, quantity integer DEFAULT 1, pool_id uuid DEFAULT NULL,
                                  item_id uuid DEFAULT NULL, holder text DEFAULT NULL, priority integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.join_waitlist(organization_id, quantity, pool_id, item_id, holder, priority) $$;

-- Leave a waitlist (an entry holding an offer declines it: the units pass
-- to the next entry). The participant leaves their own entry; owners and
-- admins of its organisation may take any entry off.
CREATE FUNCTION startlijn.leave_waitlist(entry_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid uuid := startlijn.require_user();
  w capacity.waitlist;
BEGIN
  IF entry_id IS NULL THEN
    PERFORM startlijn.raise('missing_argument', 'The argument entry_id is required.');
  END IF;
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = entry_id;
  IF w.id IS NULL
     OR (w.holder IS DISTINCT FROM uid::text
         AND COALESCE(startlijn.caller_role(w.organization_id), '') NOT IN ('owner', 'admin', 'superadmin')) THEN
    PERFORM startlijn.raise('waitlist_entry_not_found');
  END IF;
  RETURN capacity.leave_waitlist(entry_id, NULLIF(pg_catalog.btrim(reason), ''));
END
$$;
CREATE FUNCTION api.leave_waitlist(entry_id uuid DEFAULT NULL, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.leave_waitlist(entry_id, reason) $$;

-- The caller's own entries in every organisation, open ones first: position
-- while waiting, the offer and until when it stands while offered.
CREATE FUNCTION startlijn.my_waitlist() RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF auth.uid() IS NULL THEN
    PERFORM startlijn.raise('not_authenticated', NULL, 'Sign in and send the access token as a Bearer token.');
  END IF;
  RETURN COALESCE((
    SELECT pg_catalog.jsonb_agg(capacity.waitlist_json(w) OPERATOR(pg_catalog.||)
                                pg_catalog.jsonb_build_object('organization_name', o.name)
                                ORDER BY w.state NOT IN ('waiting', 'offered'), w.created_at DESC, w.id)
      FROM capacity.waitlist w
      JOIN startlijn.organizations o ON o.id = w.organization_id
     WHERE w.holder = auth.uid()::text), '[]');
END
$$;
CREATE FUNCTION api.my_waitlist() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$ SELECT startlijn.my_waitlist() $$;

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------
-- as for every RPC: anon is told not_authenticated (401) by the check inside
GRANT EXECUTE ON FUNCTION
  startlijn.create_capacity_pool(uuid, text, integer), startlijn.set_pool_capacity(uuid, uuid, integer, text),
  startlijn.capacity_pools(uuid), startlijn.create_capacity_item(uuid, text, jsonb), startlijn.capacity_items(uuid),
  startlijn.hold_capacity(uuid, jsonb, interval, text, text), startlijn.confirm_hold(uuid, uuid),
  startlijn.release_hold(uuid, uuid, text), startlijn.extend_hold(uuid, uuid, interval),
  startlijn.return_capacity_units(uuid, uuid, integer, text),
  startlijn.capacity_holds(uuid, text, text, timestamptz, integer),
  startlijn.capacity_waitlist(uuid, uuid, uuid, boolean),
  startlijn.join_waitlist(uuid, integer, uuid, uuid, text, integer), startlijn.leave_waitlist(uuid, text),
  startlijn.my_waitlist(),
  api.create_capacity_pool(uuid, text, integer), api.set_pool_capacity(uuid, uuid, integer, text),
  api.capacity_pools(uuid), api.create_capacity_item(uuid, text, jsonb), api.capacity_items(uuid),
  api.hold_capacity(uuid, jsonb, interval, text, text), api.confirm_hold(uuid, uuid),
  api.release_hold(uuid, uuid, text), api.extend_hold(uuid, uuid, interval),
  api.return_capacity_units(uuid, uuid, integer, text),
  api.capacity_holds(uuid, text, text, timestamptz, integer),
  api.capacity_waitlist(uuid, uuid, uuid, boolean),
  api.join_waitlist(uuid, integer, uuid, uuid, text, integer), api.leave_waitlist(uuid, text),
  api.my_waitlist()
  TO anon, authenticated, service_role;
