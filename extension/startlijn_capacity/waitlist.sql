-- startlijn_capacity/waitlist.sql: joining and leaving a waitlist.


CREATE FUNCTION capacity.join_waitlist(
    organization_id uuid, holder text, quantity integer,
    pool_id uuid DEFAULT NULL, item_id uuid DEFAULT NULL, priority integer DEFAULT 0)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w capacity.waitlist;
  s capacity.settings;
  pid uuid;
BEGIN
  SELECT * INTO s FROM capacity.settings;
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF (pool_id IS NULL) = (item_id IS NULL) THEN
    PERFORM capacity.raise('invalid_argument', 'Pass exactly one of pool_id and item_id.');
  END IF;
  IF holder IS NULL OR pg_catalog.length(holder) NOT BETWEEN 1 AND 200 THEN
    PERFORM capacity.raise('invalid_argument', 'The holder has 1 to 200 characters.');
  END IF;
  IF quantity IS NULL OR quantity < 1 OR quantity > s.max_quantity THEN
    PERFORM capacity.raise('invalid_quantity', pg_catalog.format('The quantity must be 1 to %s.', s.max_quantity));
  END IF;
  IF priority IS NULL OR priority NOT BETWEEN -1000 AND 1000 THEN
    PERFORM capacity.raise('invalid_argument', 'The priority is -1000 to 1000.');
  END IF;
  IF pool_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM capacity.pools p
       WHERE p.id = join_waitlist.pool_id AND p.organization_id = join_waitlist.organization_id) THEN
    PERFORM capacity.raise('pool_not_found');
  END IF;
  IF item_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM capacity.items i
       WHERE i.id = join_waitlist.item_id AND i.organization_id = join_waitlist.organization_id) THEN
    PERFORM capacity.raise('item_not_found');
  END IF;
  INSERT INTO capacity.waitlist AS x (organization_id, pool_id, item_id, holder, quantity, priority)
  VALUES (join_waitlist.organization_id, join_waitlist.pool_id, join_waitlist.item_id,
          join_waitlist.holder, join_waitlist.quantity, join_waitlist.priority)
  ON CONFLICT DO NOTHING
  RETURNING x.* INTO w;
  IF w.id IS NULL THEN
    PERFORM capacity.raise('already_on_waitlist', NULL, 'Leave the waitlist first to change the quantity.');
  END IF;
  PERFORM trail.log(w.organization_id, 'capacity.waitlist_joined', 'waitlist:' || w.id::text,
                    pg_catalog.jsonb_build_object('entry_id', w.id, 'pool_id', w.pool_id, 'item_id', w.item_id,
                                                  'quantity', w.quantity, 'priority', w.priority));
  -- units that are free now go to the queue at once (this entry, if it is next)
  FOREACH pid IN ARRAY capacity._entry_pools(w.pool_id, w.item_id) LOOP
    PERFORM capacity.promote(pid);
  END LOOP;
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = w.id;
  RETURN capacity.waitlist_json(w);
END
$$;

-- Leave the waitlist; an entry holding an offer declines it (its units
-- pass to the next entry).
CREATE FUNCTION capacity.leave_waitlist(entry uuid, reason text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  SET lock_timeout = '3s'
  AS $$
DECLARE
  w capacity.waitlist;
  pid uuid;
BEGIN
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = entry FOR UPDATE;
  IF w.id IS NULL THEN
    PERFORM capacity.raise('waitlist_entry_not_found');
  END IF;
  IF w.state = 'offered' THEN
    PERFORM capacity._close(w.hold_id, COALESCE(reason, 'declined'), false);
  ELSIF w.state = 'waiting' THEN
    UPDATE capacity.waitlist x SET state = 'left', closed_at = pg_catalog.now() WHERE x.id = w.id;
    PERFORM trail.log(w.organization_id, 'capacity.waitlist_left', 'waitlist:' || w.id::text,
                      pg_catalog.jsonb_build_object('entry_id', w.id), reason);
    -- the head leaving may let the next entries be served
    FOREACH pid IN ARRAY capacity._entry_pools(w.pool_id, w.item_id) LOOP
      PERFORM capacity.promote(pid);
    END LOOP;
  END IF;
  SELECT * INTO w FROM capacity.waitlist x WHERE x.id = entry;
  RETURN capacity.waitlist_json(w);
END
$$;
