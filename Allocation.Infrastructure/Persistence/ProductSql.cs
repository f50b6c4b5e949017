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

    /// <summary>A new product starts at version 0; its first change moves it to 1 like any other.</summary>
    public const string InsertProduct = """
        INSERT INTO products (sku, version_number) VALUES (@Sku, 0)
        """;

    /// <summary>
    /// Every change statement starts with this: it moves the product from the version the change was
    /// made on to the next one, taking the product's row lock. When another writer got there first it
    /// matches no row, and every part of the statement below reads from it, so a loser writes nothing
    /// and locks nothing but (briefly, while it waits) the product row. The statement then returns no
    /// row, which is how the caller knows it lost.
    /// </summary>
    private const string VersionCheck = """
        WITH version_check AS (
            UPDATE products SET version_number = @ToVersion
            WHERE sku = @Sku AND version_number = @FromVersion
            RETURNING sku
        )
        """;

    public const string InsertBatch = VersionCheck + """
        INSERT INTO batches (reference, sku, purchased_quantity, eta)
        SELECT @Reference, sku, @PurchasedQuantity, @Eta FROM version_check
        RETURNING 1
        """;

    public const string InsertAllocation = VersionCheck + """
        , line AS (
            INSERT INTO order_lines (orderid, sku, qty)
            SELECT @OrderId, sku, @Quantity FROM version_check
            RETURNING id
        ), batch AS (
            UPDATE batches SET allocated_quantity = allocated_quantity + @Quantity
            WHERE reference = @BatchReference AND EXISTS (SELECT 1 FROM version_check)
            RETURNING id
        )
        INSERT INTO allocations (orderline_id, batch_id)
        SELECT line.id, batch.id FROM line CROSS JOIN batch
        RETURNING 1
        """;

    public const string DeleteAllocation = VersionCheck + """
        , line AS (
            DELETE FROM order_lines
            WHERE orderid = @OrderId AND sku = @Sku AND EXISTS (SELECT 1 FROM version_check)
            RETURNING id
        )
        UPDATE batches SET allocated_quantity = allocated_quantity - @Quantity
        WHERE reference = @BatchReference AND EXISTS (SELECT 1 FROM line)
        RETURNING 1
        """;
}
