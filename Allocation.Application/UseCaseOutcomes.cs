namespace Allocation.Application;

// What a use case answers when the request cannot be met: the caller's business, never a fault.

/// <summary>The SKU has no batches, so nothing can be allocated from it.</summary>
public sealed class InvalidSku(string sku) : Exception($"Invalid sku {sku}")
{
    public string Sku { get; } = sku;
}

/// <summary>Something the caller asked for by its identity does not exist.</summary>
public abstract class NotFound(string message) : Exception(message);

public sealed class BatchNotFound(string reference) : NotFound($"Batch {reference} not found")
{
    public string Reference { get; } = reference;
}

public sealed class OrderAllocationsNotFound(string orderId) : NotFound($"Order {orderId} has no allocations")
{
    public string OrderId { get; } = orderId;
}
