-- Seeds :skus SKUs with 3 batches each (warehouse stock, then two shipments) and :history
-- earlier allocations spread across the SKUs. Run with psql -v skus=N -v history=M.
-- Batches are large so that the load itself never runs out of stock.
INSERT INTO products (sku, version_number)
SELECT 'sku-' || lpad(i::text, 6, '0'), 0
FROM generate_series(0, :skus - 1) AS i;

INSERT INTO batches (reference, sku, purchased_quantity, eta)
SELECT 'batch-' || lpad(i::text, 6, '0') || '-' || j,
       'sku-' || lpad(i::text, 6, '0'),
       100000000,
       CASE WHEN j = 1 THEN NULL ELSE date '2030-01-01' + j END
FROM generate_series(0, :skus - 1) AS i, generate_series(1, 3) AS j;

INSERT INTO order_lines (orderid, sku, qty)
SELECT 'hist-' || k, 'sku-' || lpad((k % :skus)::text, 6, '0'), 1
FROM generate_series(0, :history - 1) AS k;

INSERT INTO allocations (orderline_id, batch_id)
SELECT ol.id, b.id
FROM order_lines ol
JOIN batches b ON b.reference = 'batch-' || substr(ol.sku, 5) || '-1';

UPDATE batches b SET allocated_quantity = totals.quantity
FROM (SELECT a.batch_id, sum(ol.qty) AS quantity
      FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id
      GROUP BY a.batch_id) AS totals
WHERE totals.batch_id = b.id;

VACUUM ANALYZE;
