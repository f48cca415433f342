-- startlijn/addons.sql: add-ons sold with an entry or on their own (issue 24):
-- a T-shirt with size variants, parking, medal engraving (a free text with
-- a maximum length), a pasta party. Each variant has a price and VAT and,
-- optionally, its own stock: a pool of that size and a capacity item
-- drawing one unit from it (docs/catalog.md, "Add-ons").

CREATE TABLE startlijn.addons (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  name            text NOT NULL CHECK (startlijn.valid_name(name)),
  description     text CHECK (pg_catalog.length(description) <= 2000),
  standalone      boolean NOT NULL DEFAULT false,      -- may be bought without an entry
  max_per_entry   integer NOT NULL DEFAULT 1 CHECK (max_per_entry BETWEEN 1 AND 20),
  text_max_length integer CHECK (text_max_length BETWEEN 1 AND 200),   -- a free text (engraving), when set
  sort_order      integer NOT NULL DEFAULT 0 CHECK (sort_order BETWEEN -1000 AND 1000),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT addons_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT addons_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id)
);
CREATE INDEX addons_event_idx ON startlijn.addons (event_id) WHERE deleted_at IS NULL;

CREATE TABLE startlijn.addon_variants (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  organization_id uuid NOT NULL,
  event_id        uuid NOT NULL,
  addon_id        uuid NOT NULL,
  name            text NOT NULL CHECK (startlijn.valid_name(name)),
  price           bigint NOT NULL CHECK (price BETWEEN 0 AND 100000000),
  currency        text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  vat_rate        integer NOT NULL DEFAULT 0 CHECK (vat_rate BETWEEN 0 AND 10000),
  pool_id         uuid,                    -- its stock (NULL: not limited)
  item_id         uuid,                    -- the capacity item drawing from it
  sort_order      integer NOT NULL DEFAULT 0 CHECK (sort_order BETWEEN -1000 AND 1000),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  deleted_at      timestamptz,
  CONSTRAINT addon_variants_pkey PRIMARY KEY (id, organization_id),
  CONSTRAINT addon_variants_event_fkey FOREIGN KEY (organization_id, event_id) REFERENCES startlijn.events (organization_id, id),
  CONSTRAINT addon_variants_addon_fkey FOREIGN KEY (organization_id, addon_id) REFERENCES startlijn.addons (organization_id, id),
  CONSTRAINT addon_variants_pool_fkey FOREIGN KEY (organization_id, pool_id) REFERENCES capacity.pools (organization_id, id),
  CONSTRAINT addon_variants_item_fkey FOREIGN KEY (organization_id, item_id) REFERENCES capacity.items (organization_id, id),
  CONSTRAINT addon_variants_stock CHECK ((pool_id IS NULL) = (item_id IS NULL))
);
CREATE INDEX addon_variants_addon_idx ON startlijn.addon_variants (addon_id) WHERE deleted_at IS NULL;

CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.addons
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER touch_timestamps BEFORE INSERT OR UPDATE ON startlijn.addon_variants
  FOR EACH ROW EXECUTE FUNCTION startlijn.touch_timestamps();
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.addons
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();
CREATE TRIGGER catalog_child_guard BEFORE UPDATE ON startlijn.addon_variants
  FOR EACH ROW EXECUTE FUNCTION startlijn.catalog_child_guard();

ALTER TABLE startlijn.addons ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.addons FORCE ROW LEVEL SECURITY;
ALTER TABLE startlijn.addon_variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE startlijn.addon_variants FORCE ROW LEVEL SECURITY;
CREATE POLICY addons_select_members ON startlijn.addons FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY addons_service ON startlijn.addons FOR SELECT TO service_role USING (true);
CREATE POLICY addon_variants_select_members ON startlijn.addon_variants FOR SELECT TO authenticated
  USING (deleted_at IS NULL AND (organization_id = ANY ((SELECT startlijn.my_organization_ids())::uuid[])
                                 OR (SELECT startlijn.is_superadmin())));
CREATE POLICY addon_variants_service ON startlijn.addon_variants FOR SELECT TO service_role USING (true);
REVOKE ALL ON startlijn.addons, startlijn.addon_variants FROM PUBLIC;
GRANT SELECT ON startlijn.addons, startlijn.addon_variants TO authenticated, service_role;

-------------------------------------------------------------------------------
-- Ids the caller may act on; JSON
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.catalog_addon(addon_id uuid, need text) RETURNS startlijn.addons
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT x.* FROM startlijn.addons x
   WHERE x.id = startlijn.catalog_child('startlijn.addons', catalog_addon.addon_id, 'addon_id', 'addon_not_found', catalog_addon.need)
$$;

CREATE FUNCTION startlijn.catalog_variant(variant_id uuid, need text) RETURNS startlijn.addon_variants
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT x.* FROM startlijn.addon_variants x
   WHERE x.id = startlijn.catalog_child('startlijn.addon_variants', catalog_variant.variant_id, 'variant_id', 'addon_variant_not_found', catalog_variant.need)
$$;

CREATE FUNCTION startlijn.variant_json(v startlijn.addon_variants) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'variant_id', v.id, 'addon_id', v.addon_id, 'name', v.name, 'price', v.price, 'currency', v.currency,
    'vat_rate', v.vat_rate, 'sort_order', v.sort_order, 'pool_id', v.pool_id, 'item_id', v.item_id,
    'stock', (SELECT p.capacity FROM capacity.pools p WHERE p.id = v.pool_id))
$$;

CREATE FUNCTION startlijn.addon_json(a startlijn.addons) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT pg_catalog.jsonb_build_object(
    'addon_id', a.id, 'event_id', a.event_id, 'name', a.name, 'description', a.description,
    'standalone', a.standalone, 'max_per_entry', a.max_per_entry, 'text_max_length', a.text_max_length,
    'sort_order', a.sort_order,
    'variants', COALESCE((SELECT pg_catalog.jsonb_agg(startlijn.variant_json(v) ORDER BY v.sort_order, v.name, v.id)
                            FROM startlijn.addon_variants v WHERE v.addon_id = a.id AND v.deleted_at IS NULL), '[]'))
$$;

-------------------------------------------------------------------------------
-- Add-ons and variants (owners and admins)
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.create_addon(event_id uuid, name text, description text, standalone boolean,
                                       max_per_entry integer, text_max_length integer, sort_order integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e startlijn.events := startlijn.catalog_event(event_id, 'write');
  a startlijn.addons;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(e.id);
  PERFORM startlijn.check_name(name);
  BEGIN
    INSERT INTO startlijn.addons AS x (organization_id, event_id, name, description, standalone, max_per_entry,
                                       text_max_length, sort_order)
    VALUES (e.organization_id, e.id, create_addon.name, create_addon.description, COALESCE(create_addon.standalone, false),
            COALESCE(create_addon.max_per_entry, 1), create_addon.text_max_length, COALESCE(create_addon.sort_order, 0))
    RETURNING x.* INTO a;
  EXCEPTION WHEN check_violation OR not_null_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  PERFORM trail.log(a.organization_id, 'catalog.addon_created', 'addon:' OPERATOR(pg_catalog.||) a.id::text,
                    pg_catalog.jsonb_build_object('event_id', e.id, 'addon_id', a.id, 'name', a.name));
  RETURN startlijn.addon_json(a);
END
$$;
CREATE FUNCTION api.create_addon(event_id uuid, name text DEFAULT NULL, description text DEFAULT NULL,
                                 standalone boolean DEFAULT NULL, max_per_entry integer DEFAULT NULL,
                                 text_max_length integer DEFAULT NULL, sort_order integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_addon(event_id, name, description, standalone, max_per_entry, text_max_length, sort_order) $$;

CREATE FUNCTION startlijn.update_addon(addon_id uuid, name text, description text, standalone boolean,
                                       max_per_entry integer, text_max_length integer, sort_order integer, clear text[])
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a startlijn.addons := startlijn.catalog_addon(addon_id, 'write');
  e startlijn.events;
  cl text[];
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(a.event_id);
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  cl := startlijn.check_clear(clear, ARRAY['description', 'text_max_length']);
  BEGIN
    UPDATE startlijn.addons x SET
      name = COALESCE(update_addon.name, x.name),
      description = CASE WHEN 'description' = ANY (cl) THEN NULL ELSE COALESCE(update_addon.description, x.description) END,
      standalone = COALESCE(update_addon.standalone, x.standalone),
      max_per_entry = COALESCE(update_addon.max_per_entry, x.max_per_entry),
      text_max_length = CASE WHEN 'text_max_length' = ANY (cl) THEN NULL
                             ELSE COALESCE(update_addon.text_max_length, x.text_max_length) END,
      sort_order = COALESCE(update_addon.sort_order, x.sort_order)
     WHERE x.id = a.id RETURNING x.* INTO a;
  EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  PERFORM trail.log(a.organization_id, 'catalog.addon_updated', 'addon:' OPERATOR(pg_catalog.||) a.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'addon_id', a.id, 'name', name, 'standalone', standalone, 'max_per_entry', max_per_entry,
                      'text_max_length', text_max_length, 'cleared', pg_catalog.to_jsonb(cl))));
  RETURN startlijn.addon_json(a);
END
$$;
CREATE FUNCTION api.update_addon(addon_id uuid, name text DEFAULT NULL, description text DEFAULT NULL,
                                 standalone boolean DEFAULT NULL, max_per_entry integer DEFAULT NULL,
                                 text_max_length integer DEFAULT NULL, sort_order integer DEFAULT NULL,
                                 clear text[] DEFAULT '{}')
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_addon(addon_id, name, description, standalone, max_per_entry, text_max_length, sort_order, clear) $$;

CREATE FUNCTION startlijn.create_addon_variant(addon_id uuid, name text, price bigint, currency text,
                                               vat_rate integer, stock integer, sort_order integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a startlijn.addons := startlijn.catalog_addon(addon_id, 'write');
  e startlijn.events;
  v startlijn.addon_variants;
  pool uuid;
  item uuid;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(a.event_id);
  PERFORM startlijn.check_name(name);
  IF stock IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(a.organization_id, NULL, stock);
    pool := (capacity.create_pool(a.organization_id, e.name || ' ' || a.name || ' ' || name, stock)
             OPERATOR(pg_catalog.->>) 'pool_id')::uuid;
    item := (capacity.create_item(a.organization_id, e.name || ' ' || a.name || ' ' || name,
                                  pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('pool_id', pool)))
             OPERATOR(pg_catalog.->>) 'item_id')::uuid;
  END IF;
  BEGIN
    INSERT INTO startlijn.addon_variants AS x (organization_id, event_id, addon_id, name, price, currency, vat_rate,
                                               pool_id, item_id, sort_order)
    VALUES (a.organization_id, a.event_id, a.id, create_addon_variant.name, create_addon_variant.price,
            COALESCE(create_addon_variant.currency, 'EUR'), COALESCE(create_addon_variant.vat_rate, 0), pool, item,
            COALESCE(create_addon_variant.sort_order, 0))
    RETURNING x.* INTO v;
  EXCEPTION WHEN check_violation OR not_null_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  PERFORM trail.log(a.organization_id, 'catalog.addon_variant_created', 'addon_variant:' OPERATOR(pg_catalog.||) v.id::text,
                    pg_catalog.jsonb_build_object('addon_id', a.id, 'variant_id', v.id, 'name', v.name,
                                                  'price', v.price, 'stock', stock));
  RETURN startlijn.variant_json(v);
END
$$;
CREATE FUNCTION api.create_addon_variant(addon_id uuid, name text DEFAULT NULL, price bigint DEFAULT NULL,
                                         currency text DEFAULT NULL, vat_rate integer DEFAULT NULL,
                                         stock integer DEFAULT NULL, sort_order integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.create_addon_variant(addon_id, name, price, currency, vat_rate, stock, sort_order) $$;

CREATE FUNCTION startlijn.update_addon_variant(variant_id uuid, name text, price bigint, currency text,
                                               vat_rate integer, stock integer, sort_order integer)
  RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v startlijn.addon_variants := startlijn.catalog_variant(variant_id, 'write');
  e startlijn.events;
  st text; con text; col text;
BEGIN
  e := startlijn.lock_changeable_event(v.event_id);
  IF name IS NOT NULL THEN PERFORM startlijn.check_name(name); END IF;
  IF ((price IS NOT NULL AND price <> v.price) OR (currency IS NOT NULL AND currency <> v.currency)
      OR (vat_rate IS NOT NULL AND vat_rate <> v.vat_rate))
     AND v.item_id IS NOT NULL AND startlijn.item_sold(v.item_id) + startlijn.item_held(v.item_id) > 0 THEN
    PERFORM startlijn.raise('has_sales', 'The price, currency and VAT of a variant with sales cannot change.',
                            'Create a new variant for the new price.');
  END IF;
  IF stock IS NOT NULL THEN
    PERFORM startlijn.check_capacity_limit(v.organization_id, v.pool_id, stock);
  END IF;
  BEGIN
    UPDATE startlijn.addon_variants x SET
      name = COALESCE(update_addon_variant.name, x.name),
      price = COALESCE(update_addon_variant.price, x.price),
      currency = COALESCE(update_addon_variant.currency, x.currency),
      vat_rate = COALESCE(update_addon_variant.vat_rate, x.vat_rate),
      sort_order = COALESCE(update_addon_variant.sort_order, x.sort_order)
     WHERE x.id = v.id RETURNING x.* INTO v;
  EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM startlijn.catalog_refuse(st, con, col);
  END;
  IF stock IS NOT NULL THEN
    IF v.pool_id IS NULL THEN
      -- no stock so far (and so nothing counted): the variant gets a pool and an item now
      UPDATE startlijn.addon_variants x
         SET pool_id = p.pool, item_id = (capacity.create_item(v.organization_id, e.name || ' ' || v.name,
                                            pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('pool_id', p.pool)))
                                          OPERATOR(pg_catalog.->>) 'item_id')::uuid
        FROM (SELECT (capacity.create_pool(v.organization_id, e.name || ' ' || v.name, update_addon_variant.stock)
                      OPERATOR(pg_catalog.->>) 'pool_id')::uuid AS pool) p
       WHERE x.id = v.id RETURNING x.* INTO v;
    ELSE
      PERFORM capacity.set_capacity(v.pool_id, stock, 'add-on stock changed');
    END IF;
  END IF;
  PERFORM trail.log(v.organization_id, 'catalog.addon_variant_updated', 'addon_variant:' OPERATOR(pg_catalog.||) v.id::text,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                      'variant_id', v.id, 'name', name, 'price', price, 'currency', currency, 'vat_rate', vat_rate,
                      'stock', stock)));
  RETURN startlijn.variant_json(v);
END
$$;
CREATE FUNCTION api.update_addon_variant(variant_id uuid, name text DEFAULT NULL, price bigint DEFAULT NULL,
                                         currency text DEFAULT NULL, vat_rate integer DEFAULT NULL,
                                         stock integer DEFAULT NULL, sort_order integer DEFAULT NULL)
  RETURNS jsonb LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.update_addon_variant(variant_id, name, price, currency, vat_rate, stock, sort_order) $$;

-- Delete an add-on (with its variants) or one variant, softly: refused
-- (item_in_use) while a variant is sold, held or waited for in the capacity
-- engine, or named by an open order (reserved, pending or paid), which
-- covers variants without stock. The variant's row lock orders this
-- against reserve (FOR SHARE before it prices and holds).
-- (plpgsql: orders.sql, later in the script, has the orders)
CREATE FUNCTION startlijn.variants_in_use(variant_ids uuid[]) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN (SELECT v.name FROM startlijn.addon_variants v
           WHERE v.id = ANY (variant_ids)
             AND (startlijn.item_busy(v.item_id)
                  OR EXISTS (SELECT 1 FROM startlijn.order_items i JOIN startlijn.orders o ON o.id = i.order_id
                              WHERE i.variant_id = v.id AND o.status IN ('reserved', 'pending', 'paid')))
           ORDER BY v.sort_order, v.name, v.id LIMIT 1);
END
$$;

CREATE FUNCTION startlijn.delete_addon(addon_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a startlijn.addons := startlijn.catalog_addon(addon_id, 'write');
  e startlijn.events;
  ids uuid[];
  busy text;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  e := startlijn.lock_changeable_event(a.event_id);
  SELECT pg_catalog.array_agg(v.id ORDER BY v.id) INTO ids
    FROM (SELECT x.id FROM startlijn.addon_variants x WHERE x.addon_id = a.id AND x.deleted_at IS NULL
           ORDER BY x.id FOR UPDATE) v;
  busy := startlijn.variants_in_use(ids);
  IF busy IS NOT NULL THEN
    PERFORM startlijn.raise('item_in_use', pg_catalog.format('%s (%s) is sold, held, waited for or in an open order.', a.name, busy),
                            'Stop selling it instead: delete the variants that are not in use.');
  END IF;
  UPDATE startlijn.addon_variants x SET deleted_at = pg_catalog.now() WHERE x.id = ANY (ids);
  UPDATE startlijn.addons x SET deleted_at = pg_catalog.now() WHERE x.id = a.id RETURNING x.* INTO a;
  PERFORM trail.log(a.organization_id, 'catalog.addon_deleted', 'addon:' OPERATOR(pg_catalog.||) a.id::text,
                    pg_catalog.jsonb_build_object('event_id', a.event_id, 'addon_id', a.id, 'name', a.name,
                                                  'variant_ids', COALESCE(pg_catalog.to_jsonb(ids), '[]')),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN pg_catalog.jsonb_build_object('addon_id', a.id, 'deleted', true);
END
$$;
CREATE FUNCTION api.delete_addon(addon_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_addon(addon_id, reason) $$;

CREATE FUNCTION startlijn.delete_addon_variant(variant_id uuid, reason text) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v startlijn.addon_variants := startlijn.catalog_variant(variant_id, 'write');
  e startlijn.events;
BEGIN
  IF reason IS NOT NULL AND pg_catalog.length(reason) > 500 THEN
    PERFORM startlijn.raise('invalid_argument', 'A reason has at most 500 characters.');
  END IF;
  e := startlijn.lock_changeable_event(v.event_id);
  PERFORM 1 FROM startlijn.addon_variants x WHERE x.id = v.id FOR UPDATE;
  IF startlijn.variants_in_use(ARRAY[v.id]) IS NOT NULL THEN
    PERFORM startlijn.raise('item_in_use', pg_catalog.format('%s is sold, held, waited for or in an open order.', v.name),
                            'Keep it; a variant with sales cannot go.');
  END IF;
  UPDATE startlijn.addon_variants x SET deleted_at = pg_catalog.now() WHERE x.id = v.id RETURNING x.* INTO v;
  PERFORM trail.log(v.organization_id, 'catalog.addon_variant_deleted', 'addon_variant:' OPERATOR(pg_catalog.||) v.id::text,
                    pg_catalog.jsonb_build_object('addon_id', v.addon_id, 'variant_id', v.id, 'name', v.name),
                    NULLIF(pg_catalog.btrim(reason), ''));
  RETURN pg_catalog.jsonb_build_object('variant_id', v.id, 'deleted', true);
END
$$;
CREATE FUNCTION api.delete_addon_variant(variant_id uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE sql VOLATILE
  AS $$ SELECT startlijn.delete_addon_variant(variant_id, reason) $$;

GRANT EXECUTE ON FUNCTION
  startlijn.delete_addon(uuid, text), startlijn.delete_addon_variant(uuid, text),
  api.delete_addon(uuid, text), api.delete_addon_variant(uuid, text),
  startlijn.create_addon(uuid, text, text, boolean, integer, integer, integer),
  startlijn.update_addon(uuid, text, text, boolean, integer, integer, integer, text[]),
  startlijn.create_addon_variant(uuid, text, bigint, text, integer, integer, integer),
  startlijn.update_addon_variant(uuid, text, bigint, text, integer, integer, integer),
  api.create_addon(uuid, text, text, boolean, integer, integer, integer),
  api.update_addon(uuid, text, text, boolean, integer, integer, integer, text[]),
  api.create_addon_variant(uuid, text, bigint, text, integer, integer, integer),
  api.update_addon_variant(uuid, text, bigint, text, integer, integer, integer)
  TO anon, authenticated, service_role;
