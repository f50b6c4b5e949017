namespace Allocation.Infrastructure.Persistence;

/// <summary>The statements that load and store a product. Every value is a parameter.</summary>
internal static class ProductSql
{
    private const string Batches = """
        SELECT p.version_number AS VersionNumber,
               b.reference AS Reference, b.purchased_quantity AS PurchasedQuantity,
               b.eta AS Eta, b.allocated_quantity AS AllocatedQuantity
        FROM products p
        LEFT JOIN batches b ON b.sku = p.sku
        WHERE p.sku = @Sku;
        """;

    /// <summary>The product's batches and their running totals, no lines.</summary>
    public const string LoadTotals = Batches;

    /// <summary>Two result sets: the product's batches, then the one order's line of this SKU.</summary>
    public const string LoadForOrder = Batches + """

        SELECT ol.orderid AS OrderId, ol.qty AS Quantity, b.reference AS BatchReference
        FROM order_lines ol
        JOIN allocations a ON a.orderline_id = ol.id
        JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = @OrderId AND ol.sku = @Sku;
        """;

    /// <summary>
    /// Two result sets: the product's batches, then every line of one batch, oldest allocation first
    /// (a line's id grows with each allocation; a line moved to another batch keeps its place).
    /// </summary>
    public const string LoadForBatch = Batches + """

        SELECT ol.orderid AS OrderId, ol.qty AS Quantity, b.reference AS BatchReference
        FROM batches b
        JOIN allocations a ON a.batch_id = b.id
        JOIN order_lines ol ON ol.id = a.orderline_id
        WHERE b.reference = @BatchReference AND b.sku = @Sku
        ORDER BY ol.id;
        """;

    /// <summary>A new product starts at version 0; its first change moves it to 1 like any other.</summary>
    public const string InsertProduct = """
        INSERT INTO products (sku, version_number) VALUES (@Sku, 0)
        """;

    /// <summary>
    /// The first statement of a product's changes starts with this: it moves the product from the
    /// version the changes were made on to the next one, taking the product's row lock, and writes the
    /// events to the outbox numbered on from the SKU's last event. When another writer got there first
    /// it matches no row, and every part of the statement reads from it, so a loser writes nothing
    /// and locks nothing but (briefly, while it waits) the product row. The statement then returns no
    /// row, which is how the caller knows it lost.
    /// </summary>
    public const string VersionMove = """
        WITH version_check AS (
            UPDATE products
            SET version_number = @ToVersion, last_event_sequence = last_event_sequence + @EventCount
            WHERE sku = @Sku AND version_number = @FromVersion
            RETURNING sku, last_event_sequence
        ), events AS (
            INSERT INTO outbox (event_id, type, subject, sku_sequence, data)
            SELECT e.id, e.type, v.sku, v.last_event_sequence - @EventCount + e.n, e.data::json
            FROM version_check v,
                 unnest(@EventIds::uuid[], @EventTypes::text[], @EventData::text[]) WITH ORDINALITY AS e (id, type, data, n)
        )

        """;

    /// <summary>
    /// Later statements of the same changes start with this instead: the transaction holds the
    /// product's row lock from the first one, so the version is still the one it moved to.
    /// </summary>
    public const string VersionHeld = """
        WITH version_check AS (
            SELECT sku FROM products WHERE sku = @Sku AND version_number = @ToVersion
        )

        """;

    /// <summary>
    /// Appended to a use case's only statement: the commit goes in the same round trip. The statement's
    /// own result is still the first one read.
    /// </summary>
    public const string AndCommit = """
        ;
        COMMIT
        """;

    // The changes themselves: each follows VersionMove or VersionHeld and reads from version_check.

    /// <summary>For a change that is only news (a line found no room): the version move and the events.</summary>
    public const string NoStateChange = """
        SELECT 1 FROM version_check
        """;

    public const string InsertBatch = """
        INSERT INTO batches (reference, sku, purchased_quantity, eta)
        SELECT @Reference, sku, @PurchasedQuantity, @Eta FROM version_check
        RETURNING 1
        """;

    public const string UpdateBatch = """
        UPDATE batches SET purchased_quantity = @PurchasedQuantity, eta = @Eta
        WHERE reference = @Reference AND EXISTS (SELECT 1 FROM version_check)
        RETURNING 1
        """;

    public const string InsertAllocation = """
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

    public const string DeleteAllocation = """
        , line AS (
            DELETE FROM order_lines
            WHERE orderid = @OrderId AND sku = @Sku AND EXISTS (SELECT 1 FROM version_check)
            RETURNING id
        )
        UPDATE batches SET allocated_quantity = allocated_quantity - @Quantity
        WHERE reference = @BatchReference AND EXISTS (SELECT 1 FROM line)
        RETURNING 1
        """;

    /// <summary>Moves a line's allocation to another batch, and the quantity with it.</summary>
    public const string MoveAllocation = """
        , moved AS (
            UPDATE allocations SET batch_id = (SELECT id FROM batches WHERE reference = @ToBatchReference)
            WHERE orderline_id = (
                SELECT ol.id FROM order_lines ol
                WHERE ol.orderid = @OrderId AND ol.sku = @Sku AND ol.qty = @Quantity)
              AND EXISTS (SELECT 1 FROM version_check)
            RETURNING 1
        ), source AS (
            UPDATE batches SET allocated_quantity = allocated_quantity - @Quantity
            WHERE reference = @BatchReference AND EXISTS (SELECT 1 FROM moved)
            RETURNING 1
        )
        UPDATE batches SET allocated_quantity = allocated_quantity + @Quantity
        WHERE reference = @ToBatchReference AND EXISTS (SELECT 1 FROM source)
        RETURNING 1
        """;
}
