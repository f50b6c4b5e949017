using Allocation.Application;
using Allocation.Domain;
using Allocation.Infrastructure.Events;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// Loads products with hand-written SQL and stores them by replaying their recorded changes
/// inside the unit of work's transaction.
/// </summary>
internal sealed class DapperProductRepository(NpgsqlConnection connection, NpgsqlTransaction transaction)
    : IProductRepository
{
    private readonly List<Product> _loaded = [];
    private readonly List<Product> _added = [];

    public Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
        orderId is null
            ? LoadAsync(ProductSql.LoadTotals, new { Sku = sku }, sku, ProductScope.TotalsOnly, readsLines: false, cancellationToken)
            : LoadAsync(ProductSql.LoadForOrder, new { Sku = sku, OrderId = orderId }, sku, ProductScope.ForOrder(orderId), readsLines: true, cancellationToken);

    public async Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken)
    {
        var product = await LoadAsync(
            ProductSql.LoadForBatch,
            new { Sku = sku, BatchReference = batchReference },
            sku,
            ProductScope.ForBatch(batchReference),
            readsLines: true,
            cancellationToken);
        var batch = product?.Batches.SingleOrDefault(b => b.Reference == batchReference);
        if (batch is { AllLinesKnown: false })
        {
            // Each statement of the load reads its own snapshot: a change committed between them tears
            // the batch's total from its lines. Read again rather than hand the product a partial view.
            throw new ConcurrencyConflict($"Batch {batchReference} changed while its lines were being read.");
        }

        return batch is null ? null : product;
    }

    public void Add(Product product)
    {
        ArgumentNullException.ThrowIfNull(product);
        _added.Add(product);
    }

    /// <summary>
    /// True when the whole flush is one statement: one product loaded, no product added, and a change
    /// that is a single statement (an allocation, a deallocation, a refusal). Then COMMIT can travel
    /// with it in one round trip (<see cref="FlushAndCommitAsync"/>): nothing can fail between them.
    /// </summary>
    public bool IsOneStatement =>
        _added.Count == 0
        && _loaded.Count(p => p.Events.Count > 0) <= 1
        && _loaded.All(p => StateChanges(p.Events).Count <= 1);

    /// <summary>
    /// Writes the one statement of <see cref="IsOneStatement"/> and COMMIT in one round trip (Npgsql
    /// sends a multi-statement command as one batch with one Sync): when the statement fails, the
    /// server skips the COMMIT and the transaction rolls back; when it loses the version check it has
    /// written nothing (guarantee 11), so the COMMIT commits nothing.
    /// </summary>
    /// <exception cref="ConcurrencyConflict">Another writer changed the product first.</exception>
    public async Task FlushAndCommitAsync(CancellationToken cancellationToken)
    {
        var product = _loaded.FirstOrDefault(p => p.Events.Count > 0);
        if (product is null)
        {
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        await StoreAsync(product, cancellationToken, commit: true);
    }

    /// <summary>Writes every tracked product's changes and events; called by the unit of work before it commits.</summary>
    /// <exception cref="ConcurrencyConflict">Another writer changed (or created) one of the products first.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var product in _added)
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    ProductSql.InsertProduct, new { product.Sku }, transaction, cancellationToken: cancellationToken));
            }
            catch (PostgresException error) when (error is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "products_pkey" })
            {
                throw new ConcurrencyConflict($"Product {product.Sku} was created by a concurrent writer.", error);
            }

            await StoreAsync(product, cancellationToken);
        }

        foreach (var product in _loaded)
        {
            await StoreAsync(product, cancellationToken);
        }
    }

    private async Task<Product?> LoadAsync(
        string sql, object parameters, string sku, ProductScope scope, bool readsLines, CancellationToken cancellationToken)
    {
        var command = new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken);
        await using var results = await connection.QueryMultipleAsync(command);
        var batchRows = (await results.ReadAsync<BatchRow>()).AsList();
        var lineRows = readsLines ? (await results.ReadAsync<LineRow>()).AsList() : [];
        if (batchRows.Count == 0)
        {
            return null;
        }

        var batches = batchRows
            .Where(row => row.Reference is not null)
            .Select(row => Batch.Restore(
                row.Reference!,
                sku,
                row.PurchasedQuantity,
                row.Eta,
                row.AllocatedQuantity,
                lineRows.Where(line => line.BatchReference == row.Reference)
                    .Select(line => new OrderLine(line.OrderId, sku, line.Quantity))));
        var product = new Product(sku, batches, batchRows[0].VersionNumber, scope);
        _loaded.Add(product);
        return product;
    }

    /// <summary>
    /// The first statement moves the version on and writes every event to the outbox together with
    /// the first state change (one round trip for an allocation); any further state changes follow
    /// under the row lock it took.
    /// </summary>
    /// <param name="product">The product whose changes are stored.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    /// <param name="commit">The changes are one statement and COMMIT goes with it.</param>
    private async Task StoreAsync(Product product, CancellationToken cancellationToken, bool commit = false)
    {
        if (product.Events.Count == 0)
        {
            return;
        }

        var changes = StateChanges(product.Events);
        var events = product.Events.Select(IntegrationEvents.Describe).ToArray();
        var first = Parameters(product, changes.Count > 0 ? changes[0] : null);
        first.Add("FromVersion", product.LoadedVersionNumber);
        first.Add("EventCount", events.Length);
        first.Add("EventIds", events.Select(_ => Guid.CreateVersion7()).ToArray());
        first.Add("EventTypes", events.Select(e => e.Type).ToArray());
        first.Add("EventData", events.Select(e => e.Data).ToArray());
        var firstSql = ProductSql.VersionMove + (changes.Count > 0 ? Sql(changes[0]) : ProductSql.NoStateChange)
            + (commit ? ProductSql.AndCommit : "");
        if (await ExecuteAsync(firstSql, first, changes.Count > 0 ? changes[0] : null, cancellationToken) is null)
        {
            throw new ConcurrencyConflict($"Product {product.Sku} changed after version {product.LoadedVersionNumber} was read.");
        }

        foreach (var change in changes.Skip(1))
        {
            if (await ExecuteAsync(ProductSql.VersionHeld + Sql(change), Parameters(product, change), change, cancellationToken) is null)
            {
                throw new InvalidOperationException($"Product {product.Sku}: {change} did not apply although the product was locked.");
            }
        }
    }

    /// <summary>
    /// The events that change stored state (not news: a refusal, an order's outcome), in an order in which each statement leaves the rows valid:
    /// a batch's new quantity is written after the lines that no longer fit have moved off it, so
    /// the oversell check holds at every statement.
    /// </summary>
    private static List<ProductEvent> StateChanges(IReadOnlyList<ProductEvent> events) =>
    [
        .. events.Where(e => e is not StockRanOut and not BatchChanged and not OrderEvent),
        .. events.OfType<BatchChanged>(),
    ];

    private static string Sql(ProductEvent change) => change switch
    {
        BatchCreated => ProductSql.InsertBatch,
        BatchChanged => ProductSql.UpdateBatch,
        LineAllocated => ProductSql.InsertAllocation,
        LineDeallocated => ProductSql.DeleteAllocation,
        LineReallocated => ProductSql.MoveAllocation,
        _ => throw new InvalidOperationException($"No SQL for product event {change.GetType().Name}."),
    };

    private static DynamicParameters Parameters(Product product, ProductEvent? change)
    {
        var parameters = new DynamicParameters();
        parameters.Add("Sku", product.Sku);
        parameters.Add("ToVersion", product.VersionNumber);
        switch (change)
        {
            case BatchCreated created:
                parameters.Add("Reference", created.Reference);
                parameters.Add("PurchasedQuantity", created.Quantity);
                parameters.Add("Eta", created.Eta);
                break;
            case BatchChanged changed:
                parameters.Add("Reference", changed.Reference);
                parameters.Add("PurchasedQuantity", changed.QuantityAfter);
                parameters.Add("Eta", changed.EtaAfter);
                break;
            case LineAllocated(var line, var batchReference):
                AddLine(parameters, line, batchReference);
                break;
            case LineDeallocated(var line, var batchReference, _):
                AddLine(parameters, line, batchReference);
                break;
            case LineReallocated(var line, var from, var to):
                AddLine(parameters, line, from);
                parameters.Add("ToBatchReference", to);
                break;
        }

        return parameters;
    }

    private static void AddLine(DynamicParameters parameters, OrderLine line, string batchReference)
    {
        parameters.Add("OrderId", line.OrderId);
        parameters.Add("Quantity", line.Quantity);
        parameters.Add("BatchReference", batchReference);
    }

    /// <returns>1 when the statement applied; null when the product was no longer at the version it expected.</returns>
    private async Task<int?> ExecuteAsync(string sql, DynamicParameters parameters, ProductEvent? change, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.ExecuteScalarAsync<int?>(
                new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException error) when (change is BatchCreated created && error is
        { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "batches_reference_key" })
        {
            throw new DuplicateBatch(created.Reference);
        }
        catch (PostgresException error) when (change is LineAllocated allocated && error is
        { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "order_lines_orderid_sku_key" })
        {
            // Not contention: the losing writer of a race writes nothing (the version check), so only a
            // product loaded without this order's line could get here.
            throw new InvalidOperationException(
                $"Order {allocated.Line.OrderId} already holds sku {allocated.Line.Sku}: the product was loaded without that order's line.",
                error);
        }
    }

    private sealed class BatchRow
    {
        public int VersionNumber { get; init; }

        public string? Reference { get; init; }

        public int PurchasedQuantity { get; init; }

        public DateOnly? Eta { get; init; }

        public int AllocatedQuantity { get; init; }
    }

    private sealed class LineRow
    {
        public string OrderId { get; init; } = "";

        public int Quantity { get; init; }

        public string BatchReference { get; init; } = "";
    }
}
