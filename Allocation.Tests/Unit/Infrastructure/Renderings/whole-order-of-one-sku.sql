-- whole-order-of-one-sku: order o9 of one line, 2 of LAMP, through the whole-order rule: the same statement as an allocation, with the order's event too
-- 1 statement(s); a unit of work whose only statement is one sends COMMIT with it (ProductSql.AndCommit)

-- statement 1: answers 3 changed row(s); no row means: Product LAMP changed after version 7 was read.
-- a unique violation of order_lines_orderid_sku_key is refused, not retried
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
, line AS (
    INSERT INTO order_lines (orderid, sku, qty)
    SELECT @OrderId, sku, @Quantity FROM version_check
    RETURNING id
), batch AS (
    UPDATE batches SET allocated_quantity = allocated_quantity + @Quantity
    WHERE reference = @BatchReference AND sku = @Sku AND EXISTS (SELECT 1 FROM version_check)
    RETURNING id
), allocation AS (
    INSERT INTO allocations (orderline_id, batch_id)
    SELECT line.id, batch.id FROM line CROSS JOIN batch
    RETURNING 1
)
SELECT ((SELECT count(*) FROM line) + (SELECT count(*) FROM batch) + (SELECT count(*) FROM allocation))::int
FROM version_check;
-- @Sku = 'LAMP'
-- @FromVersion = 7
-- @ToVersion = 8
-- @EventIds = {00000001-0000-0000-0000-000000000000, 00000002-0000-0000-0000-000000000000}
-- @EventTypes = {'allocation.line.allocated', 'allocation.order.allocated'}
-- @EventData = {'{"orderid":"o9","sku":"LAMP","qty":2,"batchref":"warehouse"}', '{"orderid":"o9","lines":[{"sku":"LAMP","qty":2,"batchref":"warehouse"}]}'}
-- @TraceParent = NULL
-- @TraceState = NULL
-- @OrderId = 'o9'
-- @Quantity = 2
-- @BatchReference = 'warehouse'
