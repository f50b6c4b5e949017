-- reduce-that-moves-many-lines: warehouse of 40 one-unit lines reduced to 0: every line moves; the statement is planned for its 40-element arrays
-- 2 statement(s); a unit of work whose only statement is one sends COMMIT with it (ProductSql.AndCommit)

-- statement 1: answers nothing
SET LOCAL plan_cache_mode = force_custom_plan;

-- statement 2: answers 42 changed row(s); no row means: Product LAMP changed after version 7 was read.
WITH version_check AS (
    UPDATE products
    SET version_number = @ToVersion, last_event_sequence = last_event_sequence + cardinality(@EventIds::uuid[])
    WHERE sku = @Sku AND version_number = @FromVersion
    RETURNING sku, last_event_sequence
), events AS (
    INSERT INTO outbox (event_id, type, subject, sku_sequence, data)
    SELECT e.id, e.type, v.sku, v.last_event_sequence - cardinality(@EventIds::uuid[]) + e.n, e.data::json
    FROM version_check v,
         unnest(@EventIds::uuid[], @EventTypes::text[], @EventData::text[]) WITH ORDINALITY AS e (id, type, data, n)
), added_batches AS (
    INSERT INTO batches (reference, sku, purchased_quantity, eta, allocated_quantity)
    SELECT n.reference, v.sku, n.purchased_quantity, n.eta, n.allocated_quantity
    FROM version_check v,
         unnest(@AddedBatchReferences::text[], @AddedBatchQuantities::int[], @AddedBatchEtas::date[], @AddedBatchAllocated::int[])
             AS n (reference, purchased_quantity, eta, allocated_quantity)
    RETURNING id, reference
), changed_batches AS (
    UPDATE batches b
    SET purchased_quantity = c.purchased_quantity, eta = c.eta, allocated_quantity = b.allocated_quantity + c.allocated_change
    FROM version_check v,
         unnest(@ChangedBatchReferences::text[], @ChangedBatchQuantities::int[], @ChangedBatchEtas::date[], @ChangedBatchAllocatedChanges::int[])
             AS c (reference, purchased_quantity, eta, allocated_change)
    WHERE b.reference = c.reference AND b.sku = v.sku
    RETURNING 1
), batch_ids AS (
    SELECT id, reference FROM batches WHERE sku = @Sku
    UNION ALL
    SELECT id, reference FROM added_batches
), removed_lines AS (
    DELETE FROM order_lines ol
    USING version_check v,
          unnest(@RemovedOrderIds::text[], @RemovedFromBatches::text[]) AS r (orderid, batch_reference),
          allocations a, batch_ids f
    WHERE ol.orderid = r.orderid AND ol.sku = v.sku
      AND a.orderline_id = ol.id AND f.id = a.batch_id AND f.reference = r.batch_reference
    RETURNING 1
), moved_lines AS (
    UPDATE allocations a SET batch_id = t.id
    FROM version_check v,
         unnest(@MovedOrderIds::text[], @MovedFromBatches::text[], @MovedToBatches::text[]) AS m (orderid, from_reference, to_reference),
         order_lines ol, batch_ids f, batch_ids t
    WHERE ol.orderid = m.orderid AND ol.sku = v.sku AND a.orderline_id = ol.id
      AND f.id = a.batch_id AND f.reference = m.from_reference AND t.reference = m.to_reference
    RETURNING 1
), added_lines AS (
    INSERT INTO order_lines (orderid, sku, qty)
    SELECT n.orderid, v.sku, n.qty
    FROM version_check v,
         unnest(@AddedOrderIds::text[], @AddedQuantities::int[]) WITH ORDINALITY AS n (orderid, qty, position)
    ORDER BY n.position
    RETURNING id, orderid
), added_allocations AS (
    INSERT INTO allocations (orderline_id, batch_id)
    SELECT l.id, t.id
    FROM added_lines l
    JOIN unnest(@AddedOrderIds::text[], @AddedToBatches::text[]) AS n (orderid, batch_reference) ON n.orderid = l.orderid
    JOIN batch_ids t ON t.reference = n.batch_reference
    RETURNING 1
)
SELECT ((SELECT count(*) FROM added_batches) + (SELECT count(*) FROM changed_batches)
      + (SELECT count(*) FROM removed_lines) + (SELECT count(*) FROM moved_lines)
      + (SELECT count(*) FROM added_lines) + (SELECT count(*) FROM added_allocations))::int
FROM version_check;
-- @Sku = 'LAMP'
-- @FromVersion = 7
-- @ToVersion = 8
-- @EventIds = {00000001-0000-0000-0000-000000000000, 00000002-0000-0000-0000-000000000000, 00000003-0000-0000-0000-000000000000, 00000004-0000-0000-0000-000000000000, 00000005-0000-0000-0000-000000000000, 00000006-0000-0000-0000-000000000000, 00000007-0000-0000-0000-000000000000, 00000008-0000-0000-0000-000000000000, 00000009-0000-0000-0000-000000000000, 0000000a-0000-0000-0000-000000000000, 0000000b-0000-0000-0000-000000000000, 0000000c-0000-0000-0000-000000000000, 0000000d-0000-0000-0000-000000000000, 0000000e-0000-0000-0000-000000000000, 0000000f-0000-0000-0000-000000000000, 00000010-0000-0000-0000-000000000000, 00000011-0000-0000-0000-000000000000, 00000012-0000-0000-0000-000000000000, 00000013-0000-0000-0000-000000000000, 00000014-0000-0000-0000-000000000000, 00000015-0000-0000-0000-000000000000, 00000016-0000-0000-0000-000000000000, 00000017-0000-0000-0000-000000000000, 00000018-0000-0000-0000-000000000000, 00000019-0000-0000-0000-000000000000, 0000001a-0000-0000-0000-000000000000, 0000001b-0000-0000-0000-000000000000, 0000001c-0000-0000-0000-000000000000, 0000001d-0000-0000-0000-000000000000, 0000001e-0000-0000-0000-000000000000, 0000001f-0000-0000-0000-000000000000, 00000020-0000-0000-0000-000000000000, 00000021-0000-0000-0000-000000000000, 00000022-0000-0000-0000-000000000000, 00000023-0000-0000-0000-000000000000, 00000024-0000-0000-0000-000000000000, 00000025-0000-0000-0000-000000000000, 00000026-0000-0000-0000-000000000000, 00000027-0000-0000-0000-000000000000, 00000028-0000-0000-0000-000000000000, 00000029-0000-0000-0000-000000000000}
-- @EventTypes = {'allocation.batch.changed', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated', 'allocation.line.reallocated'}
-- @EventData = {'{"ref":"warehouse","sku":"LAMP","qty":{"before":40,"after":0},"eta":{"before":null,"after":null}}', '{"orderid":"o01","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o02","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o03","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o04","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o05","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o06","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o07","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o08","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o09","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o10","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o11","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o12","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o13","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o14","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o15","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o16","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o17","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o18","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o19","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o20","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o21","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o22","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o23","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o24","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o25","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o26","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o27","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o28","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o29","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o30","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o31","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o32","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o33","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o34","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o35","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o36","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o37","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o38","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o39","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o40","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}'}
-- @AddedBatchReferences = {}
-- @AddedBatchQuantities = {}
-- @AddedBatchEtas = {}
-- @AddedBatchAllocated = {}
-- @ChangedBatchReferences = {'warehouse', 'shipment'}
-- @ChangedBatchQuantities = {0, 100}
-- @ChangedBatchEtas = {NULL, 2026-12-01}
-- @ChangedBatchAllocatedChanges = {-40, 40}
-- @RemovedOrderIds = {}
-- @RemovedFromBatches = {}
-- @MovedOrderIds = {'o01', 'o02', 'o03', 'o04', 'o05', 'o06', 'o07', 'o08', 'o09', 'o10', 'o11', 'o12', 'o13', 'o14', 'o15', 'o16', 'o17', 'o18', 'o19', 'o20', 'o21', 'o22', 'o23', 'o24', 'o25', 'o26', 'o27', 'o28', 'o29', 'o30', 'o31', 'o32', 'o33', 'o34', 'o35', 'o36', 'o37', 'o38', 'o39', 'o40'}
-- @MovedFromBatches = {'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse', 'warehouse'}
-- @MovedToBatches = {'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment', 'shipment'}
-- @AddedOrderIds = {}
-- @AddedQuantities = {}
-- @AddedToBatches = {}
