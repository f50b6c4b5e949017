using Allocation.Application;
using Allocation.Domain;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// The one place a product's recorded changes become SQL: a pure function from a product (its events
/// and the state they led to) to the statements a commit sends, with their parameters. It reads no
/// clock and no database; event ids come from the caller, so a rendering can be checked in and
/// compared byte for byte (Allocation.Tests/Unit/Infrastructure/ProductChangesRenderingTests).
/// </summary>
internal static class ProductChanges
{
    /// <summary>
    /// The statements that store <paramref name="product"/>'s changes: none when it changed nothing;
    /// for a new product the row that makes it exist first; then one statement carrying every event
    /// and every state change, however many lines move: <see cref="ProductSql.RecordEvents"/> when
    /// only news, <see cref="ProductSql.AllocateLine"/> for one allocation (the hot path), otherwise
    /// <see cref="ProductSql.StoreChanges"/> (every batch's final values, every line change).
    /// </summary>
    /// <param name="product">The product, after the use case changed it.</param>
    /// <param name="isNew">The product is not stored yet (it was added, not loaded).</param>
    /// <param name="newEventId">Gives each event its id, in event order.</param>
    /// <param name="writer">The trace the events continue (the writing request's or command's); null when not traced.</param>
    /// <exception cref="InvalidOperationException">
    /// One unit of work gave back an order's line and allocated the same order again with another
    /// quantity: no use case does, and one statement cannot delete and insert the same line.
    /// </exception>
    public static IReadOnlyList<SqlStatement> Render(Product product, bool isNew, Func<Guid> newEventId, TraceContext? writer = null)
    {
        ArgumentNullException.ThrowIfNull(product);
        ArgumentNullException.ThrowIfNull(newEventId);
        if (product.Events.Count == 0)
        {
            return [];
        }

        var statements = new List<SqlStatement>(2);
        if (isNew)
        {
            statements.Add(new SqlStatement(
                ProductSql.InsertProduct,
                [new("Sku", product.Sku)],
                ExpectedRows: null,
                Conflict: $"Product {product.Sku} was created by a concurrent writer.",
                new Dictionary<string, Func<Exception, Exception>>
                {
                    ["products_pkey"] = error => new ConcurrencyConflict($"Product {product.Sku} was created by a concurrent writer.", error),
                }));
        }

        statements.Add(StoreChanges(product, newEventId, writer));
        return statements;
    }

    private static SqlStatement StoreChanges(Product product, Func<Guid> newEventId, TraceContext? writer)
    {
        var events = product.Events.Select(IntegrationEvents.Describe).ToArray();
        var parameters = new List<KeyValuePair<string, object?>>
        {
            new("Sku", product.Sku),
            new("FromVersion", product.LoadedVersionNumber),
            new("ToVersion", product.VersionNumber),
            new("EventIds", events.Select(_ => newEventId()).ToArray()),
            new("EventTypes", events.Select(e => e.Type).ToArray()),
            new("EventData", events.Select(e => e.Data).ToArray()),
            new("TraceParent", writer?.TraceParent),
            new("TraceState", writer?.TraceState),
        };
        var conflict = $"Product {product.Sku} changed after version {product.LoadedVersionNumber} was read.";

        // The hot path, a single allocation, needs none of the netting below (which would reach the same
        // statement): it runs thousands of times a second, and the netting's collections cost it about
        // a tenth of the service's own CPU per allocation.
        if (product.Events is [LineAllocated(var allocatedLine, var allocatedTo)])
        {
            return AllocateLine(product, parameters, allocatedLine.OrderId, allocatedLine.Quantity, allocatedTo, conflict);
        }

        var created = product.Events.OfType<BatchCreated>().Select(e => e.Reference).ToHashSet(StringComparer.Ordinal);
        var lines = NetLineChanges(product);
        var allocatedChanges = AllocatedChanges(product.Events);

        // Every batch a change touched, in the order the events first named it: added ones are inserted
        // with their final values, the others updated once to theirs.
        var touched = product.Events.SelectMany(BatchesNamed).Distinct(StringComparer.Ordinal)
            .Select(reference => product.Batches.Single(b => b.Reference == reference))
            .ToList();
        var added = touched.Where(b => created.Contains(b.Reference)).ToList();
        var changed = touched.Where(b => !created.Contains(b.Reference)).ToList();
        var removed = lines.Where(l => l is { From: not null, To: null }).ToList();
        var moved = lines.Where(l => l is { From: not null, To: not null }).ToList();
        var inserted = lines.Where(l => l is { From: null, To: not null }).ToList();

        var refusals = inserted.Count > 0 ? LineRefusals(product, inserted[0].OrderId) : [];

        if (touched.Count == 0 && lines.Count == 0)
        {
            return new SqlStatement(ProductSql.RecordEvents, parameters, ExpectedRows: 0, conflict, refusals);
        }

        var batchesOnlyCountLines = !product.Events.Any(e => e is BatchCreated or BatchChanged);
        if (batchesOnlyCountLines && lines is [{ From: null, To: { } batch } allocated] && touched is [var only] && only.Reference == batch)
        {
            return AllocateLine(product, parameters, allocated.OrderId, allocated.Quantity, batch, conflict);
        }

        parameters.AddRange(
        [
            new("AddedBatchReferences", added.Select(b => b.Reference).ToArray()),
            new("AddedBatchQuantities", added.Select(b => b.PurchasedQuantity).ToArray()),
            new("AddedBatchEtas", added.Select(b => b.Eta).ToArray()),
            new("AddedBatchAllocated", added.Select(b => allocatedChanges.GetValueOrDefault(b.Reference)).ToArray()),
            new("ChangedBatchReferences", changed.Select(b => b.Reference).ToArray()),
            new("ChangedBatchQuantities", changed.Select(b => b.PurchasedQuantity).ToArray()),
            new("ChangedBatchEtas", changed.Select(b => b.Eta).ToArray()),
            new("ChangedBatchAllocatedChanges", changed.Select(b => allocatedChanges.GetValueOrDefault(b.Reference)).ToArray()),
            new("RemovedOrderIds", removed.Select(l => l.OrderId).ToArray()),
            new("RemovedFromBatches", removed.Select(l => l.From).ToArray()),
            new("MovedOrderIds", moved.Select(l => l.OrderId).ToArray()),
            new("MovedFromBatches", moved.Select(l => l.From).ToArray()),
            new("MovedToBatches", moved.Select(l => l.To).ToArray()),
            new("AddedOrderIds", inserted.Select(l => l.OrderId).ToArray()),
            new("AddedQuantities", inserted.Select(l => l.Quantity).ToArray()),
            new("AddedToBatches", inserted.Select(l => l.To).ToArray()),
        ]);
        if (added.Count > 0)
        {
            var reference = added[0].Reference;
            refusals["batches_reference_key"] = _ => new DuplicateBatch(reference);
        }

        return new SqlStatement(
            ProductSql.StoreChanges,
            parameters,
            ExpectedRows: added.Count + changed.Count + removed.Count + moved.Count + (2 * inserted.Count),
            conflict,
            refusals);
    }

    /// <summary><see cref="ProductSql.AllocateLine"/>: the version move and its events, then one line allocated to one batch.</summary>
    private static SqlStatement AllocateLine(
        Product product, List<KeyValuePair<string, object?>> parameters, string orderId, int quantity, string batch, string conflict)
    {
        parameters.Add(new("OrderId", orderId));
        parameters.Add(new("Quantity", quantity));
        parameters.Add(new("BatchReference", batch));
        return new SqlStatement(ProductSql.AllocateLine, parameters, ExpectedRows: 3, conflict, LineRefusals(product, orderId));
    }

    /// <summary>What a unique violation means for a statement that inserts an order's line.</summary>
    private static Dictionary<string, Func<Exception, Exception>> LineRefusals(Product product, string orderId) => new()
    {
        // Not contention: the losing writer of a race writes nothing (the version check), so only a
        // product loaded without this order's line could get here.
        ["order_lines_orderid_sku_key"] = error => new InvalidOperationException(
            $"Order {orderId} already holds sku {product.Sku}: the product was loaded without that order's line.", error),
    };

    /// <summary>A line's batch before the unit of work (null: not allocated) and after it.</summary>
    private sealed record LineChange(string OrderId, int Quantity, string? From, string? To);

    /// <summary>
    /// What the events did to each order's line, netted: a line moved twice moved once, a line taken
    /// off and put back where it was did not change. In the order the events first named each line.
    /// </summary>
    private static List<LineChange> NetLineChanges(Product product)
    {
        var byOrder = new Dictionary<string, LineChange>(StringComparer.Ordinal);
        var order = new List<string>();

        void Record(OrderLine line, string? from, string? to)
        {
            if (!byOrder.TryGetValue(line.OrderId, out var earlier))
            {
                order.Add(line.OrderId);
                byOrder[line.OrderId] = new LineChange(line.OrderId, line.Quantity, from, to);
                return;
            }

            if (earlier.From is not null && earlier.To is null && to is not null && line.Quantity != earlier.Quantity)
            {
                throw new InvalidOperationException(
                    $"Order {line.OrderId}'s line of {product.Sku} was given back and allocated again with another quantity in one unit of work.");
            }

            byOrder[line.OrderId] = earlier with { To = to, Quantity = line.Quantity };
        }

        foreach (var change in product.Events)
        {
            switch (change)
            {
                case LineAllocated(var line, var batch):
                    Record(line, null, batch);
                    break;
                case LineDeallocated(var line, var batch, _):
                    Record(line, batch, null);
                    break;
                case LineReallocated(var line, var from, var to):
                    Record(line, from, to);
                    break;
            }
        }

        return [.. order.Select(id => byOrder[id]).Where(l => l.From != l.To)];
    }

    /// <summary>How much each batch's allocated total changed, summed over the events.</summary>
    private static Dictionary<string, int> AllocatedChanges(IEnumerable<ProductEvent> events)
    {
        var changes = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string batch, int quantity) => changes[batch] = changes.GetValueOrDefault(batch) + quantity;
        foreach (var change in events)
        {
            switch (change)
            {
                case LineAllocated(var line, var batch):
                    Add(batch, line.Quantity);
                    break;
                case LineDeallocated(var line, var batch, _):
                    Add(batch, -line.Quantity);
                    break;
                case LineReallocated(var line, var from, var to):
                    Add(from, -line.Quantity);
                    Add(to, line.Quantity);
                    break;
            }
        }

        return changes;
    }

    private static IEnumerable<string> BatchesNamed(ProductEvent change) => change switch
    {
        BatchCreated created => [created.Reference],
        BatchChanged changed => [changed.Reference],
        LineAllocated allocated => [allocated.BatchReference],
        LineDeallocated deallocated => [deallocated.BatchReference],
        LineReallocated reallocated => [reallocated.FromBatchReference, reallocated.ToBatchReference],
        StockRanOut or OrderEvent => [],
        _ => throw new InvalidOperationException($"No SQL for product event {change.GetType().Name}."),
    };
}
