using Allocation.Application.Common;
using Allocation.Domain;

namespace Allocation.Application.Allocations;

/// <summary>Use cases about order lines: allocate, deallocate, and read an order's allocations.</summary>
public sealed class AllocationService(
    ProductWrites writes, IAllocationReadModel readModel, ConflictRetry retry, AllocationMetrics? metrics = null)
{
    /// <summary>Allocates the line to a batch of its SKU. Repeating the same line returns the same batch.</summary>
    /// <returns>The reference of the batch that holds the line.</returns>
    /// <exception cref="InvalidSku">The SKU has no batches.</exception>
    /// <exception cref="OutOfStock">No batch has room for the whole line.</exception>
    /// <exception cref="ConflictingOrderLine">The order already has this SKU with another quantity.</exception>
    public async Task<string> AllocateAsync(string orderId, string sku, int quantity, CancellationToken cancellationToken)
    {
        // Counted once the request's outcome is final, never per attempt: an attempt that lost a race is retried.
        try
        {
            var decision = await writes.WriteAsync(
                sku,
                async (uow, ct) =>
                {
                    var line = new OrderLine(orderId, sku, quantity);
                    var product = await uow.Products.GetAsync(sku, orderId, ct) ?? throw new InvalidSku(sku);
                    try
                    {
                        var allocatedTo = product.Allocate(line);
                        // An idempotent repeat changes nothing, so it records no event.
                        return new AllocationDecision(allocatedTo, Repeated: product.Events.Count == 0);
                    }
                    catch (OutOfStock)
                    {
                        // The refusal is an event other services hear about: it is committed like a change.
                        return new AllocationDecision(BatchReference: null, Repeated: false);
                    }
                },
                cancellationToken,
                // A repeat finds the line if the lost commit stored it, and answers with its batch.
                safeToRepeat: true);
            if (decision.BatchReference is null)
            {
                throw new OutOfStock(sku);
            }

            metrics?.Allocation(decision.Repeated ? AllocationOutcome.Repeated : AllocationOutcome.Allocated);
            return decision.BatchReference;
        }
        catch (Exception refusal) when (metrics is not null && OutcomeOf(refusal) is { } outcome)
        {
            metrics.Allocation(outcome);
            throw;
        }
    }

    /// <summary>Gives back the order's line for this SKU.</summary>
    /// <returns>The reference of the batch that held the line.</returns>
    /// <exception cref="LineNotAllocated">The order has no allocation for this SKU.</exception>
    public Task<string> DeallocateAsync(string orderId, string sku, CancellationToken cancellationToken) =>
        writes.WriteAsync(
            sku,
            async (uow, ct) =>
            {
                var product = await uow.Products.GetAsync(sku, orderId, ct)
                    ?? throw new LineNotAllocated(orderId, sku);
                return product.Deallocate(orderId);
            },
            cancellationToken);

    /// <exception cref="OrderAllocationsNotFound">The order has no allocations.</exception>
    public async Task<IReadOnlyList<OrderAllocation>> GetAllocationsAsync(string orderId, CancellationToken cancellationToken)
    {
        if (!Identifiers.IsValid(orderId))
        {
            // Nothing can be stored under it, and the database would refuse some of these (NUL) outright.
            throw new OrderAllocationsNotFound(orderId);
        }

        var allocations = await retry.ReadAsync(ct => readModel.GetAllocationsAsync(orderId, ct), cancellationToken);
        return allocations.Count > 0 ? allocations : throw new OrderAllocationsNotFound(orderId);
    }

    private static AllocationOutcome? OutcomeOf(Exception refusal) => refusal switch
    {
        OutOfStock => AllocationOutcome.OutOfStock,
        InvalidSku => AllocationOutcome.InvalidSku,
        ConflictingOrderLine => AllocationOutcome.ConflictingOrderLine,
        ConcurrencyConflict => AllocationOutcome.ConflictGaveUp,
        _ => null,
    };
}

/// <summary>What an allocation decided: the batch, or out of stock (no batch), stored as the answer of an Idempotency-Key.</summary>
public sealed record AllocationDecision(string? BatchReference, bool Repeated);
