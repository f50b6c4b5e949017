namespace Allocation.Domain;

/// <summary>A business rule refused the request; the message is meant for the caller.</summary>
public abstract class DomainException(string message) : Exception(message);

/// <summary>No batch of the SKU has room for the whole line.</summary>
public sealed class OutOfStock(string sku) : DomainException($"Out of stock for sku {sku}")
{
    public string Sku { get; } = sku;
}

/// <summary>The order already holds this SKU with a different quantity.</summary>
public sealed class ConflictingOrderLine(OrderLine existing, string batchReference, int requestedQuantity)
    : DomainException(
        $"Order {existing.OrderId} already has {existing.Quantity} of sku {existing.Sku} allocated to batch {batchReference}; " +
        $"a repeat with quantity {requestedQuantity} would change it. Deallocate first to change the quantity.")
{
    public OrderLine Existing { get; } = existing;

    public string BatchReference { get; } = batchReference;
}

/// <summary>The order has no allocation for this SKU.</summary>
public sealed class LineNotAllocated(string orderId, string sku)
    : DomainException($"Order {orderId} has no allocation for sku {sku}")
{
    public string OrderId { get; } = orderId;

    public string Sku { get; } = sku;
}

/// <summary>A batch with this reference already exists.</summary>
public sealed class DuplicateBatch(string reference)
    : DomainException($"Batch {reference} already exists")
{
    public string Reference { get; } = reference;
}

/// <summary>
/// A use case asked a product to decide about lines it was not loaded with. A bug in the caller,
/// never the caller's input: deciding anyway could allocate an order twice or lose a line.
/// </summary>
public sealed class OutsideLoadedScope(string sku, ProductScope scope, string wanted)
    : InvalidOperationException($"Product {sku} was loaded with {scope}, so it cannot decide about {wanted}.");

/// <summary>
/// The order already holds lines that the request would change: a SKU with another quantity, or a SKU
/// the request does not have. Deallocate the order first to change its lines.
/// </summary>
public sealed class ConflictingOrder(string orderId, IReadOnlyList<AllocatedLine> held)
    : DomainException(
        $"Order {orderId} already holds " +
        string.Join(", ", held.Select(h => $"{h.Line.Quantity} of sku {h.Line.Sku} (batch {h.BatchReference})")) +
        "; a request with other lines would change it. Deallocate the order first to change its lines.")
{
    public string OrderId { get; } = orderId;

    /// <summary>What the order holds, in SKU order.</summary>
    public IReadOnlyList<AllocatedLine> Held { get; } = held;
}
