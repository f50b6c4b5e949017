-- reduce-that-unallocates: warehouse reduced from 10 to 3: o2 moves to the full-but-one shipment, o3 fits nowhere and is given up
-- 1 statement(s); a unit of work whose only statement is one sends COMMIT with it (ProductSql.AndCommit)

-- statement 1: answers 4 changed row(s); no row means: Product LAMP changed after version 7 was read.
SET LOCAL plan_cache_mode = force_custom_plan;
WITH version_check AS (
    UPDATE products
    SET version_number = @ToVersion, last_event_sequence = last_event_sequence + cardinality(@EventIds::uuid[])
    WHERE sku = @Sku AND version_number = @FromVersion
    RETURNING sku, last_event_sequence
), events AS (
    INSERT INTO outbox (event_id, type, subject, sku_sequence, data, traceparent, tracestate)
    SELECT e.id, e.type, v.sku, v.last_event_sequence - cardinality(@EventIds::uuid[]) + e.n, e.data::json,
           @TraceParent::text, @TraceState::text
    FROM version_check v,
         unnest(@EventIds::uuid[], @EventTypes::text[], @EventData::text[]) WITH ORDINALITY AS e (id, type, data, n)
)
, added_batches AS (
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
-- @EventIds = {00000001-0000-0000-0000-000000000000, 00000002-0000-0000-0000-000000000000, 00000003-0000-0000-0000-000000000000, 00000004-0000-0000-0000-000000000000}
-- @EventTypes = {'allocation.batch.changed', 'allocation.line.reallocated', 'allocation.line.deallocated', 'allocation.out_of_stock'}
-- @EventData = {'{"ref":"warehouse","sku":"LAMP","qty":{"before":10,"after":3},"eta":{"before":null,"after":null}}', '{"orderid":"o2","sku":"LAMP","qty":1,"from":"warehouse","to":"shipment"}', '{"orderid":"o3","sku":"LAMP","qty":4,"batchref":"warehouse","reason":"batch_reduced"}', '{"orderid":"o3","sku":"LAMP","qty":4}'}
-- @TraceParent = NULL
-- @TraceState = NULL
-- @AddedBatchReferences = {}
-- @AddedBatchQuantities = {}
-- @AddedBatchEtas = {}
-- @AddedBatchAllocated = {}
-- @ChangedBatchReferences = {'warehouse', 'shipment'}
-- @ChangedBatchQuantities = {3, 6}
-- @ChangedBatchEtas = {NULL, 2026-12-01}
-- @ChangedBatchAllocatedChanges = {-5, 1}
-- @RemovedOrderIds = {'o3'}
-- @RemovedFromBatches = {'warehouse'}
-- @MovedOrderIds = {'o2'}
-- @MovedFromBatches = {'warehouse'}
-- @MovedToBatches = {'shipment'}
-- @AddedOrderIds = {}
-- @AddedQuantities = {}
-- @AddedToBatches = {}
