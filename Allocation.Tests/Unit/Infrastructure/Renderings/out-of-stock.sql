-- out-of-stock: order o9 wants 20 of LAMP and no batch has room: the version move and the event, no state
-- 1 statement(s); a unit of work whose only statement is one sends COMMIT with it (ProductSql.AndCommit)

-- statement 1: answers 0 changed row(s); no row means: Product LAMP changed after version 7 was read.
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
SELECT 0 FROM version_check;
-- @Sku = 'LAMP'
-- @FromVersion = 7
-- @ToVersion = 8
-- @EventIds = {00000001-0000-0000-0000-000000000000}
-- @EventTypes = {'allocation.out_of_stock'}
-- @EventData = {'{"orderid":"o9","sku":"LAMP","qty":20}'}
-- @TraceParent = NULL
-- @TraceState = NULL
