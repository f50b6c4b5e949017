using Allocation.Application;
using Allocation.Domain;
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

    public async Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken)
    {
        var command = new CommandDefinition(
            ProductSql.Load, new { Sku = sku, OrderId = orderId }, transaction, cancellationToken: cancellationToken);
        await using var results = await connection.QueryMultipleAsync(command);
        var batchRows = (await results.ReadAsync<BatchRow>()).AsList();
        var lineRows = (await results.ReadAsync<LineRow>()).AsList();
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
        var product = new Product(sku, batches, batchRows[0].VersionNumber);
        _loaded.Add(product);
        return product;
    }

    public void Add(Product product)
    {
        ArgumentNullException.ThrowIfNull(product);
        _added.Add(product);
    }

    /// <summary>Writes every tracked product's changes; called by the unit of work before it commits.</summary>
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

            await StoreChangesAsync(product, cancellationToken);
        }

        foreach (var product in _loaded)
        {
            await StoreChangesAsync(product, cancellationToken);
        }
    }

    /// <summary>One statement per change, each moving the product one version on from where the change was made.</summary>
    private async Task StoreChangesAsync(Product product, CancellationToken cancellationToken)
    {
        var version = product.LoadedVersionNumber;
        foreach (var change in product.Changes)
        {
            if (await StoreAsync(product.Sku, change, version, cancellationToken) is null)
            {
                throw new ConcurrencyConflict($"Product {product.Sku} changed after version {version} was read.");
            }

            version++;
        }
    }

    /// <returns>1 when the change was stored; null when the product was no longer at <paramref name="fromVersion"/>.</returns>
    private async Task<int?> StoreAsync(string sku, ProductChange change, int fromVersion, CancellationToken cancellationToken)
    {
        var toVersion = fromVersion + 1;
        object LineChange(OrderLine line, string batchReference) => new
        {
            Sku = sku,
            FromVersion = fromVersion,
            ToVersion = toVersion,
            line.OrderId,
            line.Quantity,
            BatchReference = batchReference,
        };

        var (sql, parameters) = change switch
        {
            BatchAdded(var batch) => (ProductSql.InsertBatch, new
            {
                Sku = sku,
                FromVersion = fromVersion,
                ToVersion = toVersion,
                batch.Reference,
                batch.PurchasedQuantity,
                batch.Eta,
            }),
            LineAllocated(var line, var batchReference) => (ProductSql.InsertAllocation, LineChange(line, batchReference)),
            LineDeallocated(var line, var batchReference) => (ProductSql.DeleteAllocation, LineChange(line, batchReference)),
            _ => throw new InvalidOperationException($"No SQL for product change {change.GetType().Name}."),
        };

        try
        {
            return await connection.ExecuteScalarAsync<int?>(
                new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException error) when (change is BatchAdded added && error is
        { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "batches_reference_key" })
        {
            throw new DuplicateBatch(added.Batch.Reference);
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
