using Allocation.Application;
using Allocation.Domain;
using Allocation.Infrastructure.Telemetry;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// Loads products with hand-written SQL and tracks them for the unit of work, which stores them:
/// <see cref="Changes"/> hands it the statements (<see cref="ProductChanges.Render"/>) in the order
/// the products were first touched.
/// </summary>
internal sealed class DapperProductRepository(NpgsqlConnection connection, NpgsqlTransaction transaction)
    : IProductRepository
{
    /// <summary>Every product loaded or added, in that order, and whether it was added (is not stored yet).</summary>
    private readonly List<(Product Product, bool IsNew)> _tracked = [];

    public Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
        orderId is null
            ? LoadAsync(ProductSql.LoadTotals, new { Sku = sku }, sku, ProductScope.TotalsOnly, readsLines: false, cancellationToken)
            : LoadAsync(ProductSql.LoadForOrder, new { Sku = sku, OrderId = orderId }, sku, ProductScope.ForOrder(orderId), readsLines: true, cancellationToken);

    public Task<Product?> GetForChangeAsync(string sku, CancellationToken cancellationToken) =>
        LoadAsync(ProductSql.LoadTotalsLocked, new { Sku = sku }, sku, ProductScope.TotalsOnly, readsLines: false, cancellationToken);

    public async Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken)
    {
        var product = await LoadAsync(
            ProductSql.LoadForBatchLocked,
            new { Sku = sku, BatchReference = batchReference },
            sku,
            ProductScope.ForBatch(batchReference),
            readsLines: true,
            cancellationToken);
        var batch = product?.Batches.SingleOrDefault(b => b.Reference == batchReference);
        if (batch is { AllLinesKnown: false })
        {
            // The load takes the product's row lock before it reads the batch and its lines, so no writer
            // of this SKU can commit in between; a total torn from its lines means the data is not what
            // the writers keep it as. Refuse rather than hand the product a partial view.
            throw new InvalidOperationException($"Batch {batchReference}'s allocated total does not match its lines.");
        }

        return batch is null ? null : product;
    }

    public void Add(Product product)
    {
        ArgumentNullException.ThrowIfNull(product);
        _tracked.Add((product, IsNew: true));
    }

    /// <summary>The statements that store every tracked product's changes, product by product.</summary>
    /// <param name="newEventId">Gives each event its id.</param>
    /// <param name="writer">The trace the events continue; null when not traced.</param>
    public List<SqlStatement> Changes(Func<Guid> newEventId, TraceContext? writer) =>
        [.. _tracked.SelectMany(tracked => ProductChanges.Render(tracked.Product, tracked.IsNew, newEventId, writer))];

    private async Task<Product?> LoadAsync(
        string sql, object parameters, string sku, ProductScope scope, bool readsLines, CancellationToken cancellationToken)
    {
        var command = new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken);
        await using var results = await connection.QueryMultipleAsync(command);
        var productRow = await results.ReadSingleOrDefaultAsync<ProductRow>();
        var batchRows = (await results.ReadAsync<BatchRow>()).AsList();
        var lineRows = readsLines ? (await results.ReadAsync<OrderLineRow>()).AsList() : [];
        if (productRow is null)
        {
            return null;
        }

        var batches = batchRows.Select(row => Batch.Restore(
            row.Reference,
            sku,
            row.PurchasedQuantity,
            row.Eta,
            row.AllocatedQuantity,
            lineRows.Where(line => line.BatchReference == row.Reference)
                .Select(line => new OrderLine(line.OrderId, sku, line.Quantity))));
        var product = new Product(sku, batches, productRow.VersionNumber, scope);
        _tracked.Add((product, IsNew: false));
        return product;
    }
}
