using Allocation.Application.Common;
using Allocation.Application.Idempotency;
using Allocation.Domain;

namespace Allocation.Application.Orders;

/// <summary>
/// Whole orders: every line allocated or none, and every line given back at once. One unit of work and
/// one commit over all of the order's products, loaded in SKU order (ordinal) so that two orders sharing
/// SKUs lock their products in the same order; a conflict on any of them runs the whole order again.
/// Serves the REST resource and the broker command alike: nothing here knows about either.
/// </summary>
/// <param name="writes">The one way to write products.</param>
/// <param name="readModel">What the order holds.</param>
/// <param name="retry">Retries of reads and writes.</param>
/// <param name="metrics">Counts each whole-order allocate once, by how it ended.</param>
/// <param name="request">The request's Idempotency-Key (the same scoped one <paramref name="writes"/> holds): says whether the answer was a replay.</param>
public sealed class OrderAllocationService(
    ProductWrites writes, IAllocationReadModel readModel, ConflictRetry retry, AllocationMetrics? metrics = null, IdempotentRequest? request = null)
{
    /// <summary>
    /// Allocates every line of the order, or none of them. Lines the order already holds with the same
    /// quantity (allocated by an earlier order call, or one at a time through allocate) count as
    /// allocated; when it holds them all, the answer is the same as the first time and nothing changes.
    /// </summary>
    /// <returns>Every line with its batch, or the SKUs without room (then nothing was allocated and only the rejection was recorded).</returns>
    /// <exception cref="InvalidOrder">The order breaks <see cref="OrderRules"/>.</exception>
    /// <exception cref="InvalidSkus">Some SKUs have no batches (all of them are named); nothing changes.</exception>
    /// <exception cref="ConflictingOrder">The order already holds other lines; nothing changes.</exception>
    public async Task<OrderAllocationResult> AllocateOrderAsync(
        string orderId, IReadOnlyCollection<RequestedLine> lines, CancellationToken cancellationToken)
    {
        if (OrderRules.Problem(orderId, lines) is { } problem)
        {
            // Bad input, not an outcome (as for single allocations): the 400s are in the request metrics.
            throw new InvalidOrder(problem);
        }

        // Counted once the order's outcome is final, never per attempt: an attempt that lost a race is retried
        // (here, or by the command consumer: see IdempotentRequest.RepeatsOnContention).
        try
        {
            var result = await DecideOrderAsync(orderId, lines, cancellationToken);
            metrics?.Order(
                request is { Replayed: true } ? OrderOutcome.Replayed
                : !result.IsAllocated ? OrderOutcome.OutOfStock
                : result.Repeated ? OrderOutcome.Repeated
                : OrderOutcome.Allocated);
            return result;
        }
        catch (Exception refusal) when (metrics is not null && OutcomeOf(refusal) is { } outcome
            && !(outcome == OrderOutcome.ConflictGaveUp && request is { RepeatsOnContention: true }))
        {
            metrics.Order(outcome);
            throw;
        }
    }

    private async Task<OrderAllocationResult> DecideOrderAsync(
        string orderId, IReadOnlyCollection<RequestedLine> lines, CancellationToken cancellationToken)
    {
        var requested = lines.Select(l => new OrderLine(orderId, l.Sku, l.Quantity)).ToList();
        // What the order holds under SKUs the request may not name: their products are loaded too, so
        // that the decision sees them (a request without them is another order, a conflict).
        var held = await retry.ReadAsync(ct => readModel.GetAllocationsAsync(orderId, ct), cancellationToken);
        var skus = SkuOrder(requested.Select(l => l.Sku).Concat(held.Select(h => h.Sku)));
        return await writes.WriteAsync(
            skus,
            async (uow, ct) =>
            {
                var (products, unknown) = await LoadAsync(uow, skus, orderId, ct);
                if (unknown.Count > 0)
                {
                    throw new InvalidSkus(orderId, unknown);
                }

                var decision = WholeOrder.Allocate(requested, products);
                return new OrderAllocationResult(
                    orderId,
                    [.. decision.Allocated.Select(OrderLineAllocation.From)],
                    decision.OutOfStockSkus,
                    Repeated: !decision.Changed);
            },
            cancellationToken,
            // A repeat finds the lines if the lost commit stored them, and answers with their batches.
            safeToRepeat: true);
    }

    /// <summary>Gives back every line the order holds, however each was allocated.</summary>
    /// <returns>The lines released, each with the batch that held it, in SKU order.</returns>
    /// <exception cref="OrderAllocationsNotFound">The order holds nothing.</exception>
    public async Task<OrderReleaseResult> DeallocateOrderAsync(string orderId, CancellationToken cancellationToken)
    {
        if (!Identifiers.IsValid(orderId))
        {
            // Nothing can be stored under it.
            throw new OrderAllocationsNotFound(orderId);
        }

        var held = await retry.ReadAsync(ct => readModel.GetAllocationsAsync(orderId, ct), cancellationToken);
        // Nothing held: still a write, with no product, so that a repeat with the Idempotency-Key of a
        // release that committed answers as that release did rather than 404.
        var skus = SkuOrder(held.Select(h => h.Sku));
        return await writes.WriteAsync(
            skus,
            async (uow, ct) =>
            {
                var (products, _) = await LoadAsync(uow, skus, orderId, ct);
                var released = WholeOrder.Deallocate(orderId, products);
                return released.Count > 0
                    ? new OrderReleaseResult(orderId, [.. released.Select(OrderLineAllocation.From)])
                    : throw new OrderAllocationsNotFound(orderId);
            },
            cancellationToken);
    }

    private static OrderOutcome? OutcomeOf(Exception refusal) => refusal switch
    {
        InvalidSkus => OrderOutcome.InvalidSku,
        ConflictingOrder => OrderOutcome.ConflictingOrder,
        ConcurrencyConflict => OrderOutcome.ConflictGaveUp,
        _ => null,
    };

    private static List<string> SkuOrder(IEnumerable<string> skus) =>
        [.. skus.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The products one after the other in the given (SKU) order: the order their changes are flushed and their rows locked in.</summary>
    private static async Task<(List<Product> Products, List<string> Unknown)> LoadAsync(
        IUnitOfWork uow, List<string> skus, string orderId, CancellationToken cancellationToken)
    {
        var (products, unknown) = (new List<Product>(skus.Count), new List<string>());
        foreach (var sku in skus)
        {
            if (await uow.Products.GetAsync(sku, orderId, cancellationToken) is { } product)
            {
                products.Add(product);
            }
            else
            {
                unknown.Add(sku);
            }
        }

        return (products, unknown);
    }
}
