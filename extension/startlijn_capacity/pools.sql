-- startlijn_capacity/pools.sql: creating pools and items (SQL; the slot work is done
-- by the C functions).

-------------------------------------------------------------------------------
-- Pools, items, waitlist (SQL; the slot work is done by the C functions)
-------------------------------------------------------------------------------

CREATE FUNCTION capacity.create_pool(organization_id uuid, name text, capacity integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p capacity.pools;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF name IS NULL OR NOT capacity._valid_name(pg_catalog.btrim(name)) THEN
    PERFORM capacity.raise('invalid_name', 'A pool name has 1 to 200 characters, without control, zero-width or direction-changing characters.');
  END IF;
  INSERT INTO capacity.pools AS x (organization_id, name)
  VALUES (create_pool.organization_id, pg_catalog.btrim(create_pool.name))
  RETURNING x.* INTO p;
  PERFORM trail.log(p.organization_id, 'capacity.pool_created', 'pool:' || p.id::text,
                    pg_catalog.jsonb_build_object('pool_id', p.id, 'name', p.name));
  RETURN capacity.set_capacity(p.id, create_pool.capacity, 'created');
END
$$;

CREATE FUNCTION capacity.create_item(organization_id uuid, name text, pools jsonb)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  i capacity.items;
  e jsonb;
  pid uuid;
  n integer;
  u integer;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM capacity.raise('missing_argument', 'The argument organization_id is required.');
  END IF;
  IF name IS NULL OR NOT capacity._valid_name(pg_catalog.btrim(name)) THEN
    PERFORM capacity.raise('invalid_name', 'An item name has 1 to 200 characters, without control, zero-width or direction-changing characters.');
  END IF;
  IF pools IS NULL OR pg_catalog.jsonb_typeof(pools) <> 'array'
     OR pg_catalog.jsonb_array_length(pools) NOT BETWEEN 1 AND 20 THEN
    PERFORM capacity.raise('invalid_argument', 'pools is an array of 1 to 20 objects {"pool_id": uuid, "units": n}.');
  END IF;
  INSERT INTO capacity.items AS x (organization_id, name)
  VALUES (create_item.organization_id, pg_catalog.btrim(create_item.name))
  RETURNING x.* INTO i;
  FOR e IN SELECT v FROM pg_catalog.jsonb_array_elements(pools) v LOOP
    IF pg_catalog.jsonb_typeof(e) <> 'object' OR NOT e ? 'pool_id'
       OR (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(e) k WHERE k NOT IN ('pool_id', 'units')) > 0 THEN
      PERFORM capacity.raise('invalid_argument', 'Each pool is an object {"pool_id": uuid, "units": n}.');
    END IF;
    BEGIN
      pid := (e OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
      u := COALESCE((e OPERATOR(pg_catalog.->>) 'units')::integer, 1);
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
      PERFORM capacity.raise('invalid_argument', 'pool_id must be a uuid and units an integer.');
    END;
    IF u NOT BETWEEN 1 AND 1000 THEN
      PERFORM capacity.raise('invalid_quantity', 'units per item is 1 to 1000.');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM capacity.pools p
                    WHERE p.id = pid AND p.organization_id = create_item.organization_id) THEN
      PERFORM capacity.raise('pool_not_found', pg_catalog.format('No pool %s in this organization.', pid));
    END IF;
    INSERT INTO capacity.item_pools (organization_id, item_id, pool_id, units)
    VALUES (i.organization_id, i.id, pid, u)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
      PERFORM capacity.raise('duplicate_line', pg_catalog.format('Pool %s is listed twice.', pid));
    END IF;
  END LOOP;
  PERFORM trail.log(i.organization_id, 'capacity.item_created', 'item:' || i.id::text,
                    pg_catalog.jsonb_build_object('item_id', i.id, 'name', i.name, 'pools', pools));
  RETURN capacity.item_json(i.id);
END
$$;

CREATE FUNCTION capacity.item_json(item uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'item_id', i.id, 'organization_id', i.organization_id, 'name', i.name,
      'pools', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pool_id', ip.pool_id, 'units', ip.units)
                                             ORDER BY ip.pool_id)
                  FROM capacity.item_pools ip WHERE ip.item_id = i.id),
      'available', (SELECT pg_catalog.min(capacity.available(ip.pool_id) / ip.units)
                      FROM capacity.item_pools ip WHERE ip.item_id = i.id))
      FROM capacity.items i WHERE i.id = item
  $$;
