using Allocation.Application.Allocations;
using Allocation.Application.Batches;

namespace Allocation.Application;

/// <summary>Reads that need no aggregate: straight from the store, no unit of work.</summary>
public interface IAllocationReadModel
{
    Task<IReadOnlyList<OrderAllocation>> GetAllocationsAsync(string orderId, CancellationToken cancellationToken);

    Task<BatchView?> GetBatchAsync(string reference, CancellationToken cancellationToken);
}
