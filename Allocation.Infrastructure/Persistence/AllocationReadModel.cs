using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

internal sealed class AllocationReadModel(NpgsqlDataSource dataSource) : IAllocationReadModel
{
    private const string AllocationsOfOrder = """
        SELECT ol.sku AS Sku, b.reference AS BatchReference
        FROM order_lines ol
        JOIN allocations a ON a.orderline_id = ol.id
        JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = @OrderId
        ORDER BY ol.sku
        """;

    private const string BatchByReference = """
        SELECT reference AS Reference, sku AS Sku, purchased_quantity AS PurchasedQuantity,
               eta AS Eta, allocated_quantity AS AllocatedQuantity
        FROM batches
        WHERE reference = @Reference
        """;

    // Each read owns its connection inside the guarded operation: abandoned at the deadline, it
    // still disposes the connection itself once Npgsql lets go of it.
    public Task<IReadOnlyList<OrderAllocation>> GetAllocationsAsync(string orderId, CancellationToken cancellationToken) =>
        ReadAsync(token => ReadAllocationsAsync(orderId, token), cancellationToken);

    public Task<BatchView?> GetBatchAsync(string reference, CancellationToken cancellationToken) =>
        ReadAsync(token => ReadBatchAsync(reference, token), cancellationToken);

    private Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken deadline) =>
        StoreErrors.RunAsync(dataSource, read, deadline);

    private async Task<IReadOnlyList<OrderAllocation>> ReadAllocationsAsync(string orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AllocationRow>(
            new CommandDefinition(AllocationsOfOrder, new { OrderId = orderId }, cancellationToken: cancellationToken));
        return rows.Select(row => new OrderAllocation(row.Sku, row.BatchReference)).ToList();
    }

    private async Task<BatchView?> ReadBatchAsync(string reference, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<BatchRow>(
            new CommandDefinition(BatchByReference, new { Reference = reference }, cancellationToken: cancellationToken));
        return row is null
            ? null
            : new BatchView(row.Reference, row.Sku, row.PurchasedQuantity, row.Eta, row.AllocatedQuantity);
    }

    private sealed class AllocationRow
    {
        public string Sku { get; init; } = "";

        public string BatchReference { get; init; } = "";
    }

    private sealed class BatchRow
    {
        public string Reference { get; init; } = "";

        public string Sku { get; init; } = "";

        public int PurchasedQuantity { get; init; }

        public DateOnly? Eta { get; init; }

        public int AllocatedQuantity { get; init; }
    }
}
