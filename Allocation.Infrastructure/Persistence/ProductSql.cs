namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// Every statement that loads or stores a product, each whole: what a commit sends is one of these
/// texts, parameterised by <see cref="ProductChanges.Render"/> (the checked-in renderings under
/// Allocation.Tests/Unit/Infrastructure/Renderings show each use case's statements and values).
/// Columns are aliased by nameof the row type's property that reads them (<see cref="ProductRow"/>,
/// <see cref="BatchRow"/>, <see cref="OrderLineRow"/>).
/// </summary>
internal static class ProductSql
{
    private const string Product = $"""
        SELECT version_number AS {nameof(ProductRow.VersionNumber)}
        FROM products
        WHERE sku = @Sku
        """;

    private const string Batches = $"""
        SELECT reference AS {nameof(BatchRow.Reference)}, purchased_quantity AS {nameof(BatchRow.PurchasedQuantity)},
               eta AS {nameof(BatchRow.Eta)}, allocated_quantity AS {nameof(BatchRow.AllocatedQuantity)}
        FROM batches
        WHERE sku = @Sku;
        """;

    /// <summary>Two result sets: the product, then its batches with their running totals; no lines.</summary>
    public const string LoadTotals = Product + ";\n" + Batches;

    /// <summary>
    /// The product, its batches, then the one order's line of this SKU. Each statement reads its own
    /// snapshot: a writer committing in between moves the version on, so the change made on this read
    /// loses the version check rather than commit on a torn view.
    /// </summary>
    public const string LoadForOrder = LoadTotals + $"""

        SELECT ol.orderid AS {nameof(OrderLineRow.OrderId)}, ol.qty AS {nameof(OrderLineRow.Quantity)},
               b.reference AS {nameof(OrderLineRow.BatchReference)}
        FROM order_lines ol
        JOIN allocations a ON a.orderline_id = ol.id
        JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = @OrderId AND ol.sku = @Sku;
        """;

    /// <summary>
    /// The product's row lock (the one its version move takes), then its batches: every writer of the
    /// SKU waits for this transaction, so what follows cannot lose the version check (ADR 10).
    /// </summary>
    public const string LoadTotalsLocked = Product + "\nFOR NO KEY UPDATE;\n" + Batches;

    /// <summary>
    /// Under the product's row lock, its batches, then every line of one batch, oldest allocation
    /// first (a line's id grows with each allocation; a line moved to another batch keeps its place).
    /// </summary>
    public const string LoadForBatchLocked = LoadTotalsLocked + $"""

        SELECT ol.orderid AS {nameof(OrderLineRow.OrderId)}, ol.qty AS {nameof(OrderLineRow.Quantity)},
               b.reference AS {nameof(OrderLineRow.BatchReference)}
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
    /// The head of every statement that stores a product's changes. <c>version_check</c> moves the
    /// product from the version the changes were made on to the next, taking its row lock, and numbers
    /// the events on from the SKU's last one; <c>events</c> writes them to the outbox, each with the trace
    /// context of the request or command that wrote it (NULL when tracing is off). Every other part
    /// reads from <c>version_check</c>: when another writer got there first it matches no row, the
    /// statement writes nothing (and locks nothing but, while it waits, the product row) and answers
    /// no row, which is how the caller knows it lost. Otherwise it answers how many rows it changed.
    /// </summary>
    private const string VersionMove = """
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
        """;

    /// <summary>A change that is only news (an allocation refused for want of stock): the version move and the events.</summary>
    public const string RecordEvents = VersionMove + """

        SELECT 0 FROM version_check
        """;

    /// <summary>
    /// The hot path, an allocation: the line, its allocation and its batch's total. A statement of its
    /// own rather than <see cref="StoreChanges"/>: it runs thousands of times a second, prepared, and
    /// its generic plan is right for any table size because every row it touches is found by a key.
    /// </summary>
    public const string AllocateLine = VersionMove + """

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
        FROM version_check
        """;

    /// <summary>
    /// Every other change of one product in one statement, whatever the number of lines: one row per
    /// touched batch, one array per kind of line change, one array of events.
    /// <para>
    /// Each touched batch is updated once, to its final quantity, ETA and allocated total
    /// (<c>allocated_quantity + the sum of its lines' changes</c>), so the oversell check holds for
    /// every row the statement writes. Lines are found by order and SKU and must be where the product
    /// saw them: the answer counts only rows that matched.
    /// </para>
    /// <para>
    /// It first asks for a plan made for its arrays. Npgsql prepares a statement once it repeats, and
    /// PostgreSQL's generic plan for a prepared statement guesses 10 elements for each
    /// <c>unnest(@array)</c>: it rescanned an array once per line (3,000 moved lines: 4.3 s instead of
    /// 0.06 s) and scanned all of <c>order_lines</c> for an empty one. <c>SET LOCAL</c> holds until the
    /// transaction ends, with the commit that follows; it travels in the same round trip.
    /// </para>
    /// </summary>
    public const string StoreChanges = "SET LOCAL plan_cache_mode = force_custom_plan;\n" + VersionMove + """

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
        FROM version_check
        """;

    /// <summary>
    /// Appended to a unit of work's only statement: the commit goes in the same round trip (Npgsql sends
    /// both as one batch with one Sync; when the statement fails the server skips the COMMIT). The
    /// statement's own answer is still the first one read.
    /// </summary>
    public const string AndCommit = """
        ;
        COMMIT
        """;

    /// <summary>
    /// The statements that can go alone, each with <see cref="AndCommit"/> appended once rather than on
    /// every execution (the hot path's text is about 1,400 characters: a copy of it was the largest
    /// string an allocation made). Found by reference: a statement's text is one of these constants.
    /// </summary>
    private static readonly Dictionary<object, string> Committed =
        new[] { RecordEvents, AllocateLine, StoreChanges }.ToDictionary(object (text) => text, text => text + AndCommit, ReferenceEqualityComparer.Instance);

    /// <summary><paramref name="statement"/> followed by <see cref="AndCommit"/>.</summary>
    public static string WithCommit(string statement) =>
        Committed.TryGetValue(statement, out var committed) ? committed : statement + AndCommit;
}
