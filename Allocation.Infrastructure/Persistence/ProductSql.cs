namespace Allocation.Infrastructure.Persistence;

/// <summary>The statements that load and store a product. Every value is a parameter.</summary>
internal static class ProductSql
{
    /// <summary>Two result sets: the product's batches, then the one order's line of this SKU.</summary>
    public const string Load = """
        SELECT p.version_number AS VersionNumber,
               b.reference AS Reference, b.purchased_quantity AS PurchasedQuantity,
               b.eta AS Eta, b.allocated_quantity AS AllocatedQuantity
        FROM products p
        LEFT JOIN batches b ON b.sku = p.sku
        WHERE p.sku = @Sku;

        SELECT ol.orderid AS OrderId, ol.qty AS Quantity, b.reference AS BatchReference
        FROM order_lines ol
        JOIN allocations a ON a.orderline_id = ol.id
        JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = @OrderId AND ol.sku = @Sku;
        """;

    public const string InsertProduct = """
        INSERT INTO products (sku, version_number) VALUES (@Sku, @VersionNumber)
        """;

    /// <summary>
    /// No row returned means another writer moved the version on: a conflict. Sent in the same
    /// round trip as the product's first change; it runs first, so it takes the product's row lock
    /// before anything else is written.
    /// </summary>
    public const string BumpVersion = """
        UPDATE products SET version_number = @VersionNumber
        WHERE sku = @Sku AND version_number = @LoadedVersionNumber
        RETURNING version_number;
        """;

    public const string InsertBatch = """
        INSERT INTO batches (reference, sku, purchased_quantity, eta)
        VALUES (@Reference, @Sku, @PurchasedQuantity, @Eta)
        """;

    public const string InsertAllocation = """
        WITH line AS (
            INSERT INTO order_lines (orderid, sku, qty) VALUES (@OrderId, @Sku, @Quantity)
            RETURNING id
        ), batch AS (
            UPDATE batches SET allocated_quantity = allocated_quantity + @Quantity
            WHERE reference = @BatchReference
            RETURNING id
        )
        INSERT INTO allocations (orderline_id, batch_id)
        SELECT line.id, batch.id FROM line CROSS JOIN batch
        """;

    public const string DeleteAllocation = """
        WITH line AS (
            DELETE FROM order_lines WHERE orderid = @OrderId AND sku = @Sku
            RETURNING id
        )
        UPDATE batches SET allocated_quantity = allocated_quantity - @Quantity
        WHERE reference = @BatchReference AND EXISTS (SELECT 1 FROM line)
        """;
}
