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
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var product in _added)
        {
            await ExecuteAsync(ProductSql.InsertProduct, new { product.Sku, product.VersionNumber }, cancellationToken);
            foreach (var change in product.Changes)
            {
                await ApplyAsync(change, versionCheck: null, cancellationToken);
            }
        }

        foreach (var product in _loaded.Where(p => p.Changes.Count > 0))
        {
            var versionCheck = new { product.Sku, product.VersionNumber, product.LoadedVersionNumber };
            if (await ApplyAsync(product.Changes[0], versionCheck, cancellationToken) is null)
            {
                throw new ConcurrencyConflict(
                    $"Product {product.Sku} changed after version {product.LoadedVersionNumber} was read.");
            }

            foreach (var change in product.Changes.Skip(1))
            {
                await ApplyAsync(change, versionCheck: null, cancellationToken);
            }
        }
    }

    /// <summary>Runs one change's SQL, preceded in the same round trip by the version check when given.</summary>
    /// <returns>The new version when a check was made and passed; null when it failed or none was made.</returns>
    private async Task<int?> ApplyAsync(ProductChange change, object? versionCheck, CancellationToken cancellationToken)
    {
        var (sql, parameters) = change switch
        {
            BatchAdded(var batch) => (ProductSql.InsertBatch, (object)new { batch.Reference, batch.Sku, batch.PurchasedQuantity, batch.Eta }),
            LineAllocated(var line, var batchReference) =>
                (ProductSql.InsertAllocation, new { line.OrderId, line.Sku, line.Quantity, BatchReference = batchReference }),
            LineDeallocated(var line, var batchReference) =>
                (ProductSql.DeleteAllocation, new { line.OrderId, line.Sku, line.Quantity, BatchReference = batchReference }),
            _ => throw new InvalidOperationException($"No SQL for product change {change.GetType().Name}."),
        };

        var command = new DynamicParameters(parameters);
        if (versionCheck is not null)
        {
            command.AddDynamicParams(versionCheck);
            sql = ProductSql.BumpVersion + sql;
        }

        try
        {
            return await connection.ExecuteScalarAsync<int?>(
                new CommandDefinition(sql, command, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException error) when (change is BatchAdded added && error is
        { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "batches_reference_key" })
        {
            throw new DuplicateBatch(added.Batch.Reference);
        }
    }

    private Task<int> ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));

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
