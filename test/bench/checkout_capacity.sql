-- The capacity engine alone for the same buyers: a hold and its confirm,
-- two transactions (the engine's own calls, as the superuser).
SELECT (SELECT v FROM bench_c.ctx WHERE k = 'item') AS item \gset
SELECT capacity.hold('00000000-0000-4000-b000-000000000001',
         jsonb_build_array(jsonb_build_object('item_id', :item::text, 'quantity', 1)), '15 minutes', 'bench') ->> 'hold_id' AS h \gset
SELECT capacity.confirm(:h::uuid);
