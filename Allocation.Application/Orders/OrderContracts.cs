using System.Text.Json.Serialization;
using Allocation.Domain;

namespace Allocation.Application.Orders;

/// <summary>One line of an order to allocate: a SKU and its quantity.</summary>
public sealed record RequestedLine(string Sku, int Quantity);

/// <summary>One line of an order and the batch that holds it (or held it, when given back).</summary>
public sealed record OrderLineAllocation(string Sku, int Quantity, string BatchReference)
{
    internal static OrderLineAllocation From(AllocatedLine allocated) =>
        new(allocated.Line.Sku, allocated.Line.Quantity, allocated.BatchReference);
}

/// <summary>
/// What allocating a whole order answered: every line with its batch, or the SKUs without room (and
/// then nothing was allocated). Out of stock is an answer, not a fault. Stored as the answer of an
/// Idempotency-Key, so it is plain data.
/// </summary>
/// <param name="OrderId">The order.</param>
/// <param name="Lines">Every line with its batch, in SKU order (ordinal); empty when the order was rejected.</param>
/// <param name="OutOfStockSkus">The SKUs whose batches had no room for their line, in SKU order; empty when allocated.</param>
/// <param name="Repeated">The order already held every line: nothing changed and nothing was recorded.</param>
public sealed record OrderAllocationResult(
    string OrderId, IReadOnlyList<OrderLineAllocation> Lines, IReadOnlyList<string> OutOfStockSkus, bool Repeated)
{
    /// <summary>Every line is allocated (otherwise none is).</summary>
    [JsonIgnore]
    public bool IsAllocated => OutOfStockSkus.Count == 0;
}

/// <summary>What giving back a whole order released: each line with the batch that held it, in SKU order.</summary>
public sealed record OrderReleaseResult(string OrderId, IReadOnlyList<OrderLineAllocation> Lines);

/// <summary>Some SKUs of the order have no batches: nothing can be allocated from them, so nothing of the order is.</summary>
public sealed class InvalidSkus(string orderId, IReadOnlyList<string> skus)
    : Exception($"Invalid sku{(skus.Count == 1 ? "" : "s")} {string.Join(", ", skus)} in order {orderId}")
{
    public string OrderId { get; } = orderId;

    /// <summary>Every SKU of the order without batches, in SKU order.</summary>
    public IReadOnlyList<string> Skus { get; } = skus;
}

/// <summary>
/// The order breaks the input rules (<see cref="OrderRules"/>). The API refuses such a request before
/// it gets here; a caller that does not validate (a broker command) learns it from this.
/// </summary>
public sealed class InvalidOrder(string reason) : Exception(reason);
